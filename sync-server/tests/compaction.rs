//! Server-side compaction folds the update log into a snapshot without changing the document,
//! and a cold load from snapshot + tail gives the same state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use sqlx::PgPool;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_logs_are_compacted_and_reload_identically() {
    let db = fresh_database().await;
    let mut settings = settings(&db, None);
    // 10 rows, or 80 updates (rows may hold several of a burst's updates).
    settings.compact_after = 10;
    settings.doc_idle_secs = 0;
    let server = sync_server::app::start(&settings).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &dir.path().join("ada.db"),
        &ws_url(&server),
        &token("ada", FIRM),
    );
    ada.open(&doc);
    for i in 0..180 {
        ada.type_text(&doc, &format!("w{i} "));
    }
    ada.wait_synced(WAIT).await;
    grant(&server, &token("ada", FIRM), &doc, "ben", "viewer").await;

    let pool = PgPool::connect(&db).await.unwrap();
    let id = doc_id(&pool, doc.as_str()).await;
    // Compaction runs in the background after the threshold: wait for its snapshot.
    let folded = updates_folded(&pool, id, 10).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM doc_updates WHERE doc_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        rows < 180,
        "compaction removed folded rows ({rows} left, {folded} folded)"
    );
    assert_eq!(stored_text(&db, &doc, "body").await, ada.body(&doc));

    // A second laptop loads the document cold (the first one leaves so it is unloaded).
    ada.disconnect().await;
    let mut ben = Laptop::online(
        &dir.path().join("ben.db"),
        &ws_url(&server),
        &token("ben", FIRM),
    );
    ben.open(&doc);
    ben.wait_until("the whole draft", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("w179 ")
    })
    .await;
    assert_eq!(ben.body(&doc), ada.body(&doc));
}
