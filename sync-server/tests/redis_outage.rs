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
    let firm = Firm::two_instances_with_redis(&redis.url()).await;
    let (mut ada, mut ben, doc) = firm.ada_shares_a_draft_with_ben("[before]", 1, WAIT).await;

    // Redis goes away. Each instance keeps serving (and acking) its own clients.
    drop(redis);
    ada.type_text(&doc, "[ada during]");
    ben.type_text(&doc, "[ben during]");
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert!(firm.stored_body(&doc).await.contains("[ada during]"));
    assert!(firm.stored_body(&doc).await.contains("[ben during]"));

    // Redis returns on the same address: instances re-read Postgres and everyone converges.
    let _redis = PrivateRedis::start_on(port).await;
    ada.wait_until(
        "ben's outage edit",
        WAIT,
        body_contains(&doc, "[ben during]"),
    )
    .await;
    ben.wait_until(
        "ada's outage edit",
        WAIT,
        body_contains(&doc, "[ada during]"),
    )
    .await;
    // And live fan-out works again.
    ada.type_text(&doc, "[after]");
    ben.wait_until(
        "live edit after recovery",
        WAIT,
        body_contains(&doc, "[after]"),
    )
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(firm.stored_body(&doc).await, ada.body(&doc));
}
