//! A wall reaches the laptop: with the real server and a real laptop (SQLCipher store + sync
//! client), a lawyer screened off a matter loses every trace of it on the laptop, is told how
//! many unsent changes went with it, and a transient failure (server stopped, restarted,
//! sockets closed) purges nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use local::{DocName, SyncEvent, SyncState};

const WAIT: Duration = Duration::from_secs(20);

async fn screen(server: &sync_server::app::Running, case_id: &str, user: &str) {
    let (status, body) = rest(
        server,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{case_id}/screens/{user}"),
        &token("ada", FIRM),
        Some(serde_json::json!({"reason": "conflict"})),
    )
    .await;
    assert!((200..300).contains(&status), "screen: {status} {body}");
}

/// What a laptop heard while waiting: the removal (if any) and every denial.
#[derive(Debug, Default)]
struct Heard {
    removed: Vec<(local::CaseId, String, usize)>,
    denied: Vec<(DocName, String)>,
}

/// Collect events until `done` holds for what was heard (or the laptop's state).
async fn listen(
    laptop: &mut Laptop,
    what: &str,
    done: impl Fn(&Heard, &SyncState, &local::Store) -> bool,
) -> Heard {
    let mut heard = Heard::default();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if done(&heard, &laptop.state, &laptop.store) {
            return heard;
        }
        let events = laptop.events.as_mut().expect("online");
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(SyncEvent::State(state))) => laptop.state = state,
            Ok(Some(SyncEvent::MatterRemoved {
                case_id,
                reason,
                discarded_changes,
            })) => heard.removed.push((case_id, reason, discarded_changes)),
            Ok(Some(SyncEvent::Denied { doc, reason })) => heard.denied.push((doc, reason)),
            Ok(Some(_)) => {}
            Ok(None) => panic!("sync client stopped while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}: heard {heard:?}"),
        }
    }
}

/// Write a paragraph into the draft's editor content (what search indexes) and tell the client.
fn write_paragraph(laptop: &Laptop, draft: &DocName, text: &str) {
    use yrs::{WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};
    laptop
        .store
        .edit(draft, |_, txn| {
            let fragment = txn.get_or_insert_xml_fragment("default");
            let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
            paragraph.push_back(txn, XmlTextPrelim::new(text));
        })
        .unwrap();
}

fn holds_case(store: &local::Store, case_id: &local::CaseId) -> bool {
    store
        .documents()
        .unwrap()
        .iter()
        .any(|doc| doc.case_id() == *case_id)
}

/// ada starts a matter with a draft and makes ben an editor; ben's laptop syncs it, and ben has a
/// matter of his own. Returns (ada, ben, walled draft, ben's own draft).
async fn two_lawyers(firm: &Firm) -> (Laptop, Laptop, DocName, DocName) {
    let walled = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.write_and_sync(&walled, "Privileged zanzibar strategy. ", WAIT)
        .await;
    write_paragraph(&ada, &walled, "The zanzibar settlement figure.");
    ada.wait_synced(WAIT).await;
    grant(firm.server(), &token("ada", FIRM), &walled, "ben", "editor").await;

    let own = draft_name(&new_case());
    let mut ben = firm.laptop("ben");
    ben.write_and_sync(&own, "Ben's own kilimanjaro matter. ", WAIT)
        .await;
    ben.open(&walled);
    ben.wait_until(
        "ben has the matter",
        WAIT,
        body_contains(&walled, "zanzibar"),
    )
    .await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ben.store.search("zanzibar").unwrap().len(), 1);
    (ada, ben, walled, own)
}

fn go_offline(laptop: &mut Laptop) {
    laptop.handle.as_ref().unwrap().go_offline();
}

fn go_online(laptop: &mut Laptop) {
    laptop.handle.as_ref().unwrap().go_online();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_purges_the_matter_from_the_laptop_with_its_unsent_edits() {
    let firm = Firm::one_instance().await;
    let (_ada, mut ben, walled, own) = two_lawyers(&firm).await;
    let case = walled.case_id();

    // Offline, ben keeps writing in the matter: two changes that never reach the server.
    go_offline(&mut ben);
    listen(&mut ben, "offline", |_, state, _| {
        *state == SyncState::Offline
    })
    .await;
    ben.type_text(&walled, "Ben's unsent zanzibar note one. ");
    ben.type_text(&walled, "Ben's unsent zanzibar note two. ");
    assert_eq!(ben.store.pending_count().unwrap(), 2);

    // The firm walls ben off while his laptop is away; it learns when it reconnects.
    screen(firm.server(), case.as_str(), "ben").await;
    go_online(&mut ben);
    let heard = listen(&mut ben, "the matter's removal", |heard, _, _| {
        !heard.removed.is_empty()
    })
    .await;

    assert_eq!(
        heard.removed,
        [(case, "document not found".to_owned(), 2)],
        "one removal, with the two discarded changes"
    );
    assert!(!holds_case(&ben.store, &case), "no document of the matter");
    assert!(ben.store.search("zanzibar").unwrap().is_empty());
    assert_eq!(ben.store.pending_count().unwrap(), 0);
    assert!(ben.store.drafts(&case).unwrap().is_empty());
    let removed = ben.store.removed_matters().unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].case_id, case);
    // His own matter is untouched, and the client settles instead of retrying the matter.
    assert_eq!(ben.body(&own), "Ben's own kilimanjaro matter. ");
    let after = listen(&mut ben, "synced after the removal", |_, state, _| {
        *state == SyncState::Synced
    })
    .await;
    assert!(after.removed.is_empty(), "removed once: {after:?}");
    assert!(
        after.denied.iter().all(|(doc, _)| doc.case_id() != case),
        "the client does not reopen the matter: {after:?}"
    );
    // The unsent text went nowhere.
    assert!(!firm.stored_body(&walled).await.contains("unsent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_revocation_purges_an_open_matter_at_once() {
    let firm = Firm::one_instance().await;
    let (_ada, mut ben, walled, own) = two_lawyers(&firm).await;
    let case = walled.case_id();

    screen(firm.server(), case.as_str(), "ben").await;
    let heard = listen(&mut ben, "the matter's removal", |heard, _, _| {
        !heard.removed.is_empty()
    })
    .await;

    assert_eq!(heard.removed, [(case, "access revoked".to_owned(), 0)]);
    assert!(!holds_case(&ben.store, &case));
    assert!(ben.store.search("zanzibar").unwrap().is_empty());
    assert!(holds_case(&ben.store, &own.case_id()));

    // Reconnecting later neither brings it back nor reports it again.
    go_offline(&mut ben);
    listen(&mut ben, "offline", |_, state, _| {
        *state == SyncState::Offline
    })
    .await;
    go_online(&mut ben);
    let after = listen(&mut ben, "synced again", |_, state, _| {
        *state == SyncState::Synced
    })
    .await;
    assert!(after.removed.is_empty(), "{after:?}");
    assert!(!holds_case(&ben.store, &case));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matter_the_server_never_granted_is_kept_when_refused() {
    let firm = Firm::one_instance().await;
    let url = firm.url();
    // ada's matter exists on the server; ben was never a member of it.
    let foreign = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.write_and_sync(&foreign, "ada's matter. ", WAIT).await;

    // ben wrote into that matter id offline (say, restored from an old backup): the server
    // refuses it, but it was never acknowledged to this laptop, so it is not destroyed.
    let mut ben = Laptop::offline(&firm.store_path("ben"));
    // ben signed in before (a matter written before any sign-in would stay local-only).
    let account = local::Account::of_token(&url, &token("ben", FIRM)).unwrap();
    ben.store.bind_account(&account).unwrap();
    ben.type_text(&foreign, "ben's offline words. ");
    ben.connect(&url, &token("ben", FIRM));
    let heard = listen(&mut ben, "the refusal", |heard, _, _| {
        !heard.denied.is_empty()
    })
    .await;

    assert_eq!(heard.denied[0].1, "document not found");
    assert!(heard.removed.is_empty());
    assert_eq!(ben.body(&foreign), "ben's offline words. ");
    assert_eq!(ben.store.pending_count().unwrap(), 1, "kept in the outbox");
    assert!(ben.store.removed_matters().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_and_restarted_server_purges_nothing() {
    let mut firm = Firm::one_instance().await;
    let addr = firm.server().addr;
    let (_ada, mut ben, walled, _own) = two_lawyers(&firm).await;
    let case = walled.case_id();

    // The server goes away under the open connection ("service restart" close) ...
    let server = firm.instances.remove(0);
    server.shutdown.send(()).unwrap();
    server.task.await.unwrap();
    listen(&mut ben, "the connection lost", |_, state, _| {
        *state == SyncState::Offline
    })
    .await;
    ben.type_text(&walled, "Written while the server was down. ");
    // ... and comes back on the same address; the laptop reconnects on its own.
    let mut config = settings(&firm.database, None);
    config.bind = addr;
    let _server = sync_server::app::start(&config).await.unwrap();
    let heard = listen(&mut ben, "synced after the restart", |_, state, store| {
        *state == SyncState::Synced && store.pending_count().unwrap() == 0
    })
    .await;

    assert!(heard.removed.is_empty(), "{heard:?}");
    assert!(holds_case(&ben.store, &case));
    assert!(ben.body(&walled).contains("server was down"));
    assert!(ben.store.removed_matters().unwrap().is_empty());
    assert!(firm.stored_body(&walled).await.contains("server was down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_lawyer_from_the_matter_purges_it_too() {
    let firm = Firm::one_instance().await;
    let (_ada, mut ben, walled, own) = two_lawyers(&firm).await;
    let case = walled.case_id();

    let (status, body) = rest(
        firm.server(),
        reqwest::Method::DELETE,
        &format!("/api/v1/cases/{case}/members/ben"),
        &token("ada", FIRM),
        None,
    )
    .await;
    assert!(
        (200..300).contains(&status),
        "remove member: {status} {body}"
    );
    let heard = listen(&mut ben, "the matter's removal", |heard, _, _| {
        !heard.removed.is_empty()
    })
    .await;

    assert_eq!(heard.removed, [(case, "access revoked".to_owned(), 0)]);
    assert!(!holds_case(&ben.store, &case));
    assert!(ben.store.search("zanzibar").unwrap().is_empty());
    assert!(holds_case(&ben.store, &own.case_id()));
}
