//! Matters, deadlines, drafts and full-text search through the projections, against real
//! SQLCipher files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use hub_local::store::matter_record::{CaseFields, CasePatch};
use hub_local::store::projection::{CaseFilter, CaseSort};
use hub_local::{CaseId, DocName, FixedKey, Store};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Doc, ReadTxn, StateVector, Transact, Update, WriteTxn, XmlElementPrelim, XmlFragment,
    XmlTextPrelim,
};

fn key() -> FixedKey {
    FixedKey("matters test key".into())
}

fn fields(title: &str, client: &str, area: &str, responsible: &str) -> CaseFields {
    CaseFields {
        title: title.into(),
        client: client.into(),
        practice_area: area.into(),
        responsible: responsible.into(),
        ..CaseFields::default()
    }
}

/// What the webview's Yjs document sends for typing `text` as a new paragraph: a v1 update
/// made against the store's current state of the draft.
fn type_paragraph(store: &Store, doc: &DocName, text: &str) -> Vec<u8> {
    let editor = Doc::new();
    let state = store.full_state(doc).unwrap();
    editor
        .transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let before = editor.transact().state_vector();
    {
        let mut txn = editor.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment("default");
        let paragraph = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        paragraph.push_back(&mut txn, XmlTextPrelim::new(text));
    }
    editor.transact().encode_diff_v1(&before)
}

#[test]
fn dashboard_lists_filters_sorts_and_shows_upcoming_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hub.db"), &key()).unwrap();
    let acme = store
        .create_case(&fields("Acme v. Globex", "Acme Ltd", "Litigation", "Ada"))
        .unwrap();
    let lease = store
        .create_case(&fields("Office lease", "Bryce LLP", "Real estate", "Grace"))
        .unwrap();
    let old = store
        .create_case(&fields("Old estate", "Cole", "Probate", "Ada"))
        .unwrap();
    store
        .add_deadline(&acme, "2026-11-25", "Serve defence", "filing")
        .unwrap();
    store
        .add_deadline(&acme, "2026-12-20", "Trial", "hearing")
        .unwrap();
    store
        .add_deadline(&lease, "2026-12-03", "Sign lease", "internal")
        .unwrap();
    let done = store
        .add_deadline(&lease, "2026-11-30", "Done already", "internal")
        .unwrap();
    store.set_deadline_done(&lease, &done.id, true).unwrap();
    store
        .add_deadline(&old, "2026-12-01", "Archived matter's deadline", "filing")
        .unwrap();
    store
        .update_case(
            &old,
            &CasePatch {
                archived: Some(true),
                ..CasePatch::default()
            },
        )
        .unwrap();

    let all = store.cases(&CaseFilter::default()).unwrap();
    let titles: Vec<_> = all.iter().map(|c| c.title.as_str()).collect();
    // Sorted by next open deadline; archived matters hidden by default.
    assert_eq!(titles, ["Acme v. Globex", "Office lease"]);
    assert_eq!(all[0].next_deadline.as_deref(), Some("2026-11-25"));
    assert_eq!(
        all[1].next_deadline.as_deref(),
        Some("2026-12-03"),
        "done deadlines don't count"
    );

    let mine = store
        .cases(&CaseFilter {
            responsible: Some("Ada".into()),
            include_archived: true,
            sort: CaseSort::Title,
            ..CaseFilter::default()
        })
        .unwrap();
    assert_eq!(
        mine.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(),
        ["Acme v. Globex", "Old estate"]
    );
    let real_estate = store
        .cases(&CaseFilter {
            practice_area: Some("Real estate".into()),
            ..CaseFilter::default()
        })
        .unwrap();
    assert_eq!(real_estate.len(), 1);

    // 2026-11-29 + 14 days: the overdue one first, the trial (2026-12-20) is beyond the window.
    let upcoming = store.upcoming_deadlines("2026-11-29", 14).unwrap();
    let listed: Vec<_> = upcoming
        .iter()
        .map(|d| (d.title.as_str(), d.overdue))
        .collect();
    assert_eq!(listed, [("Serve defence", true), ("Sign lease", false)]);

    assert_eq!(
        store
            .add_deadline(&acme, "31/12/2026", "x", "filing")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    assert_eq!(
        store
            .case(&CaseId::parse("00000000-0000-4000-8000-000000000000").unwrap())
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        store
            .update_case(
                &acme,
                &CasePatch {
                    status: Some("won".into()),
                    ..CasePatch::default()
                }
            )
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn search_finds_case_fields_and_draft_text_and_stays_current() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let draft;
    {
        let store = Store::open(&path, &key()).unwrap();
        let case = store
            .create_case(&fields("Acme v. Globex", "Acme Ltd", "Litigation", "Ada"))
            .unwrap();
        store
            .add_party(&case, "opposing_party", "Globex Corporation")
            .unwrap();
        draft = store.create_draft(&case, "Particulars of claim").unwrap();
        let update = type_paragraph(
            &store,
            &draft,
            "The defendant breached the indemnity in clause 7.",
        );
        store.apply_local_update(&draft, &update).unwrap();

        let hits = store.search("indemn").unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].doc, draft.as_str());
        assert_eq!(hits[0].case_title, "Acme v. Globex");
        assert!(
            hits[0].snippet.contains("\u{2}indemnity\u{3}"),
            "{}",
            hits[0].snippet
        );
        assert_eq!(
            store.search("globex corp").unwrap()[0].kind,
            "case",
            "party names are indexed"
        );
        assert!(
            store.search("\"NEAR(").unwrap().is_empty(),
            "FTS syntax is not interpreted"
        );

        // A later edit is searchable at once; the draft list follows renames.
        let update = type_paragraph(&store, &draft, "Quantum meruit claimed in the alternative.");
        store.apply_local_update(&draft, &update).unwrap();
        assert_eq!(store.search("meruit").unwrap().len(), 1);
        store.rename_draft(&draft, "Amended particulars").unwrap();
        assert_eq!(store.drafts(&case).unwrap()[0].title, "Amended particulars");
    }
    // Everything survives a restart, and a deleted draft leaves the list and the index.
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.search("meruit").unwrap().len(), 1);
    store.delete_draft(&draft).unwrap();
    assert!(store.search("meruit").unwrap().is_empty());
    assert!(store.drafts(&draft.case_id()).unwrap().is_empty());
}

#[test]
fn remote_updates_keep_the_projections_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let laptop_a = Store::open(&dir.path().join("a.db"), &key()).unwrap();
    let laptop_b = Store::open(&dir.path().join("b.db"), &key()).unwrap();
    let case = laptop_a
        .create_case(&fields("Shared matter", "Client", "Tax", "Ada"))
        .unwrap();
    laptop_a
        .add_deadline(&case, "2026-12-02", "File return", "filing")
        .unwrap();
    let name = DocName::case(&case);
    let state = laptop_a
        .diff_since(&name, &StateVector::default().encode_v1())
        .unwrap();
    laptop_b.apply_remote_update(&name, &state).unwrap();
    let listed = laptop_b.cases(&CaseFilter::default()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].next_deadline.as_deref(), Some("2026-12-02"));
    assert_eq!(laptop_b.search("return").unwrap().len(), 1);
    assert_eq!(
        laptop_b.pending_count().unwrap(),
        0,
        "remote updates never enter the outbox"
    );
}
