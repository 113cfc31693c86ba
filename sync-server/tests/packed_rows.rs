//! A lawyer's updates to one document in one group commit share one row of the update log
//! (`persist::pack`): a burst of keystrokes costs Postgres a row per commit, not per key, and
//! reads back whole and in order, through the server, after `migrate down` (one row per update
//! again, for the previous release) and after `migrate up` again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::*;
use common::*;
use protocol::{Frame, Message, SyncMessage};
use sqlx::PgPool;
use yrs::{Doc, GetString, Text, Transact};

/// The last migration before update rows could hold several updates.
const BEFORE_PACKING: i64 = 20261207000068;
const KEYSTROKES: usize = 400;

/// `KEYSTROKES` one-letter updates sent at once, without waiting for acks, then every ack
/// awaited; returns the text typed.
async fn burst(url: &str, doc: &str, token: &str) -> String {
    burst_of(url, doc, token, KEYSTROKES).await
}

async fn burst_of(url: &str, doc: &str, token: &str, keystrokes: usize) -> String {
    let (mut socket, _) = open(url, doc, token).await;
    let ydoc = Doc::with_client_id(61);
    let body = ydoc.get_or_insert_text("body");
    for i in 0..keystrokes {
        let update = {
            let mut txn = ydoc.transact_mut();
            let letter = char::from(b'a' + (i % 26) as u8).to_string();
            body.insert(&mut txn, i as u32, &letter);
            txn.encode_update_v1()
        };
        send(
            &mut socket,
            Frame::new(doc, Message::Sync(SyncMessage::Update(update))),
        )
        .await;
    }
    let mut acked = 0;
    while acked < keystrokes {
        match next(&mut socket).await.unwrap().message {
            Message::SyncStatus(true) => acked += 1,
            Message::SyncStatus(false) => panic!("an update was refused"),
            _ => {}
        }
    }
    body.get_string(&ydoc.transact())
}

/// What the previous release reads: every row's bytes as one update, in id order.
async fn text_read_one_update_per_row(pool: &PgPool, id: i64) -> String {
    let updates = sqlx::query_as::<_, (i64, Vec<u8>)>(
        "SELECT id, bytes FROM doc_updates WHERE doc_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    let stored = sync_server::db::sync::StoredDocument {
        snapshot: None,
        updates,
    };
    text_of(&stored, "body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_keystrokes_takes_fewer_rows_and_survives_migrating_down_and_up() {
    let firm = Firm::one_instance().await;
    let name = draft_name(&new_case());
    let typed = burst(&firm.url(), name.as_str(), &token("ada", FIRM)).await;
    assert_eq!(typed.len(), KEYSTROKES);

    let pool = PgPool::connect(&firm.database).await.unwrap();
    let id = doc_id(&pool, name.as_str()).await;
    let (rows, updates): (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(parts)::bigint FROM doc_updates WHERE doc_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(updates, KEYSTROKES as i64, "every keystroke is stored");
    assert!(
        rows <= KEYSTROKES as i64 / 4,
        "{KEYSTROKES} keystrokes sent at once took {rows} rows"
    );
    assert_eq!(firm.stored_body(&name).await, typed);

    // A laptop opening the draft gets all of it.
    let mut laptop = firm.laptop("ada");
    laptop.open(&name);
    laptop
        .wait_until(
            "the whole draft",
            std::time::Duration::from_secs(30),
            |store| store.text(&name, "body").unwrap() == typed,
        )
        .await;

    // The matter goes under legal hold: migrating down rewrites its rows all the same, and the
    // hold still refuses deletes afterwards.
    sqlx::query(
        "UPDATE cases SET legal_hold = true WHERE id = (SELECT case_id FROM documents WHERE id = $1)",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    sync_server::migrate::down(&pool, Some(BEFORE_PACKING))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM doc_updates WHERE doc_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, KEYSTROKES as i64, "one row per update again");
    assert_eq!(text_read_one_update_per_row(&pool, id).await, typed);
    let refused = sqlx::query("DELETE FROM doc_updates WHERE doc_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect_err("the legal hold still refuses deletes");
    assert!(refused.to_string().contains("legal hold"), "{refused}");

    sync_server::migrate::up(&pool, None).await.unwrap();
    assert_eq!(firm.stored_body(&name).await, typed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_says_it_holds_more_updates_than_it_does_fails_the_load_with_a_clear_error() {
    let firm = Firm::one_instance().await;
    let name = draft_name(&new_case());
    burst(&firm.url(), name.as_str(), &token("ada", FIRM)).await;
    let pool = PgPool::connect(&firm.database).await.unwrap();
    let id = doc_id(&pool, name.as_str()).await;
    sqlx::query(
        "UPDATE doc_updates SET parts = parts + 1 WHERE id = (SELECT min(id) FROM doc_updates
         WHERE doc_id = $1 AND parts > 1)",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let error = sync_server::db::sync::load_document(&mut conn, id)
        .await
        .err()
        .expect("the load fails");
    assert!(error.to_string().contains("says it holds"), "{error}");
}

/// Rows that each hold many updates still bring compaction, at eight times the threshold in
/// updates: a load applies every update, however few rows hold them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_few_rows_holding_many_updates_is_compacted() {
    let firm = Firm::one_instance_with(|settings| settings.compact_after = 50).await;
    let name = draft_name(&new_case());
    let typed = burst_of(&firm.url(), name.as_str(), &token("ada", FIRM), 1_000).await;
    let pool = PgPool::connect(&firm.database).await.unwrap();
    let id = doc_id(&pool, name.as_str()).await;
    let folded = updates_folded(&pool, id, 1).await;
    assert!(folded >= 400, "only {folded} updates folded");
    assert_eq!(firm.stored_body(&name).await, typed);
}
