//! A Redis outage degrades to single-instance service and recovers without losing anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_during_a_redis_outage_converge_once_it_returns() {
    let port = free_port();
    let redis = PrivateRedis::start_on(port).await;
    let redis_url = format!("redis://127.0.0.1:{port}");
    let db = fresh_database().await;
    let first = start_server(&db, Some(redis_url.clone())).await;
    let second = start_server(&db, Some(redis_url.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &dir.path().join("ada.db"),
        &ws_url(&first),
        &token("ada", FIRM),
    );
    ada.write_and_sync(&doc, "[before]", WAIT).await;
    grant(&first, &token("ada", FIRM), &doc, "ben", "editor").await;
    let mut ben = Laptop::online(
        &dir.path().join("ben.db"),
        &ws_url(&second),
        &token("ben", FIRM),
    );
    ben.open(&doc);
    ben.wait_until("text via redis", WAIT, body_contains(&doc, "[before]"))
        .await;

    // Redis goes away. Each instance keeps serving (and acking) its own clients.
    drop(redis);
    ada.type_text(&doc, "[ada during]");
    ben.type_text(&doc, "[ben during]");
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert!(
        stored_text(&db, &doc, "body")
            .await
            .contains("[ada during]")
    );
    assert!(
        stored_text(&db, &doc, "body")
            .await
            .contains("[ben during]")
    );

    // Redis returns on the same address: instances re-read Postgres and everyone converges.
    let _redis = PrivateRedis::start_on(port).await;
    ada.wait_until("ben's outage edit", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("[ben during]")
    })
    .await;
    ben.wait_until("ada's outage edit", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("[ada during]")
    })
    .await;
    // And live fan-out works again.
    ada.type_text(&doc, "[after]");
    ben.wait_until("live edit after recovery", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("[after]")
    })
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(stored_text(&db, &doc, "body").await, ada.body(&doc));
}
