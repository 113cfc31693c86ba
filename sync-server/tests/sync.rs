//! End-to-end sync through the real server, Postgres, Redis and encrypted local stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_laptops_converge_through_one_server() {
    let firm = Firm::one_instance().await;
    let (mut ada, mut ben, doc) = firm
        .ada_shares_a_draft_with_ben("The Tenant shall pay rent. ", 0, WAIT)
        .await;
    ben.type_text(&doc, "The Landlord shall repair.");
    ada.wait_until("ben's text", WAIT, body_contains(&doc, "repair"))
        .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(
        firm.stored_body(&doc).await,
        ada.body(&doc),
        "Postgres holds what both see"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_instances_joined_by_redis_converge() {
    let firm = Firm::two_instances_with_redis(&redis_url()).await;
    let (mut ada, mut ben, doc) = firm.ada_shares_a_draft_with_ben("[start]", 1, WAIT).await;
    for round in 0..5 {
        ada.type_text(&doc, &format!("[ada {round}]"));
        ben.type_text(&doc, &format!("[ben {round}]"));
    }
    ada.wait_until(
        "ben's edits via redis",
        WAIT,
        body_contains(&doc, "[ben 4]"),
    )
    .await;
    ben.wait_until(
        "ada's edits via redis",
        WAIT,
        body_contains(&doc, "[ada 4]"),
    )
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(firm.stored_body(&doc).await, ada.body(&doc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_both_laptops_survive_restart_and_converge() {
    let firm = Firm::one_instance().await;
    let doc = draft_name(&new_case());
    // Both start from a shared draft.
    {
        let mut ada = firm.laptop("ada");
        ada.write_and_sync(&doc, "Shared clause. ", WAIT).await;
        grant(firm.server(), &token("ada", FIRM), &doc, "ben", "editor").await;
        ada.disconnect().await;
        let mut ben = firm.laptop("ben");
        ben.open(&doc);
        ben.wait_until("shared clause", WAIT, body_contains(&doc, "Shared"))
            .await;
        ben.disconnect().await;
    }
    // On the plane: both edit offline, then the processes exit.
    {
        let ada = Laptop::offline(&firm.store_path("ada"));
        let ben = Laptop::offline(&firm.store_path("ben"));
        for i in 0..20 {
            ada.type_text(&doc, &format!("a{i} "));
            ben.type_text(&doc, &format!("b{i} "));
        }
        assert_eq!(ada.store.pending_count().unwrap(), 20);
    }
    // Landed: new processes reopen the stores and reconnect.
    let mut ada = firm.laptop("ada");
    let mut ben = firm.laptop("ben");
    ada.open(&doc);
    ben.open(&doc);
    ada.wait_until("ben's offline edits", WAIT, body_contains(&doc, "b19"))
        .await;
    ben.wait_until("ada's offline edits", WAIT, body_contains(&doc, "a19"))
        .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    let text = ada.body(&doc);
    assert_eq!(text, ben.body(&doc));
    for i in 0..20 {
        assert!(
            text.contains(&format!("a{i} ")) && text.contains(&format!("b{i} ")),
            "edit {i} lost: {text}"
        );
    }
    assert_eq!(firm.stored_body(&doc).await, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_firms_cannot_open_a_matter() {
    let firm = Firm::one_instance().await;
    let doc = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.write_and_sync(&doc, "Privileged and confidential.", WAIT)
        .await;
    let mut eve = Laptop::online(
        &firm.store_path("eve"),
        &firm.url(),
        &token("eve", "firm-other"),
    );
    eve.open(&doc);
    let (denied, reason) = eve.wait_denied(WAIT).await;
    assert_eq!(denied, doc);
    assert_eq!(reason, "document not found");
    assert_eq!(
        eve.body(&doc),
        "",
        "nothing of the matter reached the other firm"
    );
}
