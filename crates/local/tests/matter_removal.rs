//! A wall reaches the laptop: when the firm removes a lawyer from a matter, the store forgets
//! that matter completely (documents, unsent edits, dashboard rows, deadlines, search index,
//! future exports) and keeps only a tombstone without content. Real SQLCipher files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::Path;

use hub_local::store::matter_record::CaseFields;
use hub_local::{CaseId, DocName, FixedKey, Store, export_archive, import_archive};
use yrs::{WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};

const PASSPHRASE: &str = "correct horse battery staple";

fn open(path: &Path, key: &str) -> Store {
    Store::open(path, &FixedKey(key.into())).unwrap()
}

fn write_paragraph(store: &Store, draft: &DocName, text: &str) {
    store
        .edit(draft, |_, txn| {
            let fragment = txn.get_or_insert_xml_fragment("default");
            let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
            paragraph.push_back(txn, XmlTextPrelim::new(text));
        })
        .unwrap();
}

/// A matter with a deadline, a party and two drafts with text; returns its id and drafts.
fn matter(store: &Store, title: &str, words: &str) -> (CaseId, Vec<DocName>) {
    let case = store
        .create_case(&CaseFields {
            title: title.into(),
            client: format!("{title} client"),
            ..CaseFields::default()
        })
        .unwrap();
    store
        .add_deadline(&case, "2026-12-24", &format!("{words} filing"), "court")
        .unwrap();
    store
        .add_party(&case, "client", &format!("{words} Ltd"))
        .unwrap();
    let mut drafts = Vec::new();
    for draft_title in ["Letter", "Memo"] {
        let draft = store.create_draft(&case, draft_title).unwrap();
        write_paragraph(
            store,
            &draft,
            &format!("{words} clause of the {draft_title}"),
        );
        drafts.push(draft);
    }
    (case, drafts)
}

fn in_case(case: &CaseId) -> impl Fn(&DocName) -> bool + '_ {
    move |doc| doc.case_id() == *case
}

#[test]
fn purging_a_matter_leaves_nothing_of_it_and_keeps_the_other_matters() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ben.db"), "k");
    let (walled, walled_drafts) = matter(&store, "Walled v Crown", "zanzibar");
    let (kept, _) = matter(&store, "Kept v Crown", "kilimanjaro");
    // Part of the walled matter was synced (acked) before, part is still unsent.
    let pending = store.pending().unwrap();
    let first_walled = pending
        .iter()
        .find(|entry| entry.doc.case_id() == walled)
        .unwrap()
        .id;
    store.ack(&[first_walled]).unwrap();
    store.compact(&walled_drafts[0]).unwrap();
    let unsent = store
        .pending()
        .unwrap()
        .iter()
        .filter(|entry| entry.doc.case_id() == walled)
        .count();
    assert!(unsent > 0);
    assert_eq!(
        store.search("zanzibar").unwrap().len(),
        3,
        "case + 2 drafts"
    );
    let kept_pending = store.pending_count().unwrap() - unsent;

    let report = store.purge_case(&walled, "access revoked").unwrap();

    assert_eq!(report.docs, 3, "the case doc and both drafts");
    assert_eq!(report.unsynced_updates, unsent);
    assert!(!store.documents().unwrap().iter().any(in_case(&walled)));
    assert!(
        !store
            .pending()
            .unwrap()
            .iter()
            .any(|entry| entry.doc.case_id() == walled)
    );
    assert_eq!(store.pending_count().unwrap(), kept_pending);
    assert!(store.search("zanzibar").unwrap().is_empty());
    assert!(store.case(&walled).is_err());
    assert!(store.drafts(&walled).unwrap().is_empty());
    let cases = store.cases(&Default::default()).unwrap();
    assert_eq!(
        cases
            .iter()
            .map(|case| case.id.as_str())
            .collect::<Vec<_>>(),
        [kept.as_str()]
    );
    let upcoming = store.upcoming_deadlines("2026-12-01", 60).unwrap();
    assert!(upcoming.iter().all(|deadline| deadline.case_id == kept));
    assert_eq!(upcoming.len(), 1);
    // Reading a purged document afterwards finds it empty (nothing cached in memory either).
    assert_eq!(store.full_state(&walled_drafts[1]).unwrap(), [0, 0]);

    // The other matter is untouched.
    assert_eq!(store.search("kilimanjaro").unwrap().len(), 3);
    assert_eq!(store.drafts(&kept).unwrap().len(), 2);

    // A tombstone without content says what happened.
    let removed = store.removed_matters().unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].case_id, walled);
    assert_eq!(removed[0].reason, "access revoked");
    assert!(removed[0].removed_at > 0);

    // An export made now holds only the other matter.
    let path = dir.path().join("export.lhub");
    assert_eq!(
        export_archive(&store, &path, PASSPHRASE).unwrap().documents,
        3
    );
    let fresh = open(&dir.path().join("fresh.db"), "k2");
    import_archive(&fresh, &path, PASSPHRASE).unwrap();
    assert!(!fresh.documents().unwrap().iter().any(in_case(&walled)));
    assert_eq!(fresh.search("kilimanjaro").unwrap().len(), 3);

    assert!(store.matter_removed(&walled).unwrap());
    assert!(!store.matter_removed(&kept).unwrap());

    // Purging again finds nothing more to remove.
    let again = store.purge_case(&walled, "document not found").unwrap();
    assert_eq!((again.docs, again.unsynced_updates), (0, 0));

    // After reopening the file, it is all still gone.
    drop(store);
    let reopened = open(&dir.path().join("ben.db"), "k");
    assert!(!reopened.documents().unwrap().iter().any(in_case(&walled)));
    assert!(reopened.search("zanzibar").unwrap().is_empty());
    assert_eq!(reopened.removed_matters().unwrap().len(), 1);
}

#[test]
fn an_export_made_before_the_wall_cannot_bring_the_matter_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ben.db"), "k");
    let (walled, _) = matter(&store, "Walled v Crown", "zanzibar");
    let (kept, _) = matter(&store, "Kept v Crown", "kilimanjaro");
    let path = dir.path().join("before.lhub");
    export_archive(&store, &path, PASSPHRASE).unwrap();
    store.purge_case(&walled, "access revoked").unwrap();

    let imported = import_archive(&store, &path, PASSPHRASE).unwrap();

    assert_eq!(imported.documents, 3, "only the kept matter's documents");
    assert!(!store.documents().unwrap().iter().any(in_case(&walled)));
    assert!(store.search("zanzibar").unwrap().is_empty());
    assert!(
        store
            .pending()
            .unwrap()
            .iter()
            .all(|entry| entry.doc.case_id() == kept)
    );
}

#[test]
fn only_a_matter_the_server_granted_before_counts_as_synced() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ben.db"), "k");
    // Made offline, never seen by the server: not "synced before".
    let (offline, _) = matter(&store, "Offline v Crown", "offline");
    assert!(!store.matter_granted_before(&offline).unwrap());
    store.record_matter_granted(&offline).unwrap();
    assert!(store.matter_granted_before(&offline).unwrap());

    store.purge_case(&offline, "access revoked").unwrap();
    assert!(!store.matter_granted_before(&offline).unwrap());
    assert_eq!(store.removed_matters().unwrap().len(), 1);

    // The firm lets the lawyer back in: the tombstone goes, the matter syncs again.
    store.record_matter_granted(&offline).unwrap();
    assert!(store.removed_matters().unwrap().is_empty());
}

/// The lawyer learns why a matter vanished even after a restart: the tombstone is listed as a
/// notice (what is stored: the id, when, why, how many unsent changes went; never a title) until
/// they dismiss it, and dismissing it does not bring the matter back.
#[test]
fn removal_notices_outlive_a_restart_until_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ben.db");
    let store = open(&path, "k");
    let (walled, _) = matter(&store, "Walled v Crown", "zanzibar");
    let (kept, _) = matter(&store, "Kept v Crown", "kilimanjaro");
    assert!(store.removal_notices().unwrap().is_empty());

    let report = store.purge_case(&walled, "access revoked").unwrap();
    assert!(report.unsynced_updates > 0);

    let notices = store.removal_notices().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].case_id, walled);
    assert_eq!(notices[0].reason, "access revoked");
    assert_eq!(
        notices[0].discarded_changes,
        Some(report.unsynced_updates as u64)
    );
    assert!(notices[0].removed_at > 0);
    assert!(!notices[0].notice_dismissed);
    let shown = format!("{notices:?}");
    assert!(!shown.contains("Walled") && !shown.contains("zanzibar"));

    // The app restarts: the notice is still there, unchanged.
    drop(store);
    let store = open(&path, "k");
    assert_eq!(store.removal_notices().unwrap(), notices);

    assert!(store.dismiss_removal_notice(&walled).unwrap());
    assert!(store.removal_notices().unwrap().is_empty());
    assert!(!store.dismiss_removal_notice(&walled).unwrap(), "only once");
    assert!(
        !store.dismiss_removal_notice(&kept).unwrap(),
        "a matter that was never removed has no notice"
    );
    assert!(CaseId::parse("not a case id").is_err());
    // The matter stays removed: edits to it are still discarded, and the tombstone is kept.
    assert!(store.matter_removed(&walled).unwrap());
    let removed = store.removed_matters().unwrap();
    assert_eq!(removed.len(), 1);
    assert!(removed[0].notice_dismissed);

    // Dismissed stays dismissed after another restart, and a later denial of the same matter
    // (nothing of it left here) does not bring the notice back.
    drop(store);
    let store = open(&path, "k");
    assert!(store.removal_notices().unwrap().is_empty());
    let again = store.purge_case(&walled, "document not found").unwrap();
    assert_eq!(again.docs, 0);
    assert!(store.removal_notices().unwrap().is_empty());
    assert!(store.matter_removed(&walled).unwrap());
}

#[test]
fn a_purge_that_found_nothing_here_leaves_no_notice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ben.db"), "k");
    let never_here = CaseId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();

    let report = store.purge_case(&never_here, "document not found").unwrap();

    assert_eq!(report.docs, 0);
    assert!(store.matter_removed(&never_here).unwrap(), "still refused");
    assert!(store.removal_notices().unwrap().is_empty());
}

#[test]
fn letting_the_lawyer_back_in_ends_the_notice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ben.db"), "k");
    let (walled, _) = matter(&store, "Walled v Crown", "zanzibar");
    store.purge_case(&walled, "access revoked").unwrap();
    assert_eq!(store.removal_notices().unwrap().len(), 1);

    store.record_matter_granted(&walled).unwrap();

    assert!(store.removal_notices().unwrap().is_empty());
}

/// A tombstone written before notices were kept (schema 4) becomes a notice on upgrade; how
/// many changes went was not recorded then, so it says nothing about them.
#[test]
fn a_removal_from_before_the_upgrade_is_listed_without_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ben.db");
    let store = open(&path, "k");
    let (walled, _) = matter(&store, "Walled v Crown", "zanzibar");
    store.purge_case(&walled, "access revoked").unwrap();
    drop(store);
    // Turn the file back into schema 4, as an older app left it.
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection.pragma_update(None, "key", "k").unwrap();
        connection
            .execute_batch(
                "ALTER TABLE removed_matters DROP COLUMN notice_dismissed_at;
                 ALTER TABLE removed_matters DROP COLUMN discarded_changes;
                 DROP TABLE legal_holds;
                 PRAGMA user_version = 4;",
            )
            .unwrap();
    }

    let store = open(&path, "k");

    let notices = store.removal_notices().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].case_id, walled);
    assert_eq!(notices[0].discarded_changes, None);
}
