//! Desktop-side benchmarks of the local store (a bench binary, not a timed test):
//!
//! - keystroke → durable: one typed character, as the webview's Yjs document encodes it, through
//!   `Store::apply_local_update` (validate, apply, update log + outbox + projections in one
//!   SQLite transaction with `synchronous = FULL`) in a 100-page draft;
//! - Word and PDF export of that draft;
//! - full-text search over 10,000 documents (2,000 matters, 8,000 drafts).
//!
//! `cargo bench -p hub-local --bench desktop [-- --quick]`; figures go to docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::time::{Duration, Instant};

use hub_local::store::matter_record::CaseFields;
use hub_local::{CaseId, DocName, FixedKey, Store};
use yrs::updates::decoder::Decode;
use yrs::{
    Doc, GetString, ReadTxn, Text, Transact, Update, WriteTxn, XmlElementPrelim, XmlFragment,
    XmlOut, XmlTextPrelim,
};

const WORDS: [&str; 24] = [
    "the",
    "supplier",
    "shall",
    "indemnify",
    "client",
    "against",
    "losses",
    "arising",
    "from",
    "breach",
    "of",
    "this",
    "agreement",
    "including",
    "reasonable",
    "legal",
    "costs",
    "and",
    "expenses",
    "incurred",
    "by",
    "party",
    "notice",
    "termination",
];

fn sentence(seed: usize, words: usize) -> String {
    (0..words)
        .map(|i| WORDS[(seed * 7 + i * 13) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// A "100-page" draft: 1,500 paragraphs of 33 words (~50,000 words), made in the editor's
/// shape (XmlFragment `default` of paragraphs) and loaded into the store as one update.
fn big_draft(store: &Store, case: &CaseId) -> (DocName, Doc) {
    let name = store
        .create_draft(case, "Master services agreement")
        .unwrap();
    let editor = Doc::new();
    let state = store.full_state(&name).unwrap();
    editor
        .transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let before = editor.transact().state_vector();
    {
        let mut txn = editor.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment("default");
        for paragraph in 0..1500 {
            let element = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            element.push_back(&mut txn, XmlTextPrelim::new(sentence(paragraph, 33)));
        }
    }
    let update = editor.transact().encode_diff_v1(&before);
    store.apply_local_update(&name, &update).unwrap();
    (name, editor)
}

fn keystrokes(quick: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db"), &FixedKey("bench".into())).unwrap();
    let case = store
        .create_case(&CaseFields {
            title: "Bench matter".into(),
            ..CaseFields::default()
        })
        .unwrap();
    let (name, editor) = big_draft(&store, &case);
    let text_len: usize = {
        let txn = editor.transact();
        let fragment = txn.get_xml_fragment("default").unwrap();
        fragment
            .children(&txn)
            .filter_map(|node| match node {
                XmlOut::Element(element) => element.get(&txn, 0),
                _ => None,
            })
            .map(|node| match node {
                XmlOut::Text(text) => text.get_string(&txn).len(),
                _ => 0,
            })
            .sum()
    };
    let count = if quick { 300 } else { 3000 };
    let mut samples = Vec::with_capacity(count);
    for stroke in 0..count {
        // Type into a paragraph in the middle of the draft, as the editor's Yjs doc would.
        let update = {
            let mut txn = editor.transact_mut();
            let fragment = txn.get_or_insert_xml_fragment("default");
            let Some(XmlOut::Element(paragraph)) = fragment.get(&txn, 750) else {
                panic!("paragraph 750 missing")
            };
            let Some(XmlOut::Text(text)) = paragraph.get(&txn, 0) else {
                panic!("text missing")
            };
            text.insert(&mut txn, 10 + (stroke % 50) as u32, "x");
            txn.encode_update_v1()
        };
        let started = Instant::now();
        store.apply_local_update(&name, &update).unwrap();
        samples.push(started.elapsed());
    }
    let p50 = percentile(&mut samples, 0.50);
    let p99 = percentile(&mut samples, 0.99);
    let max = *samples.last().unwrap();
    println!(
        "keystroke → durable (100-page draft, {} chars of text, {count} keystrokes): p50 {} p99 {} max {}",
        text_len,
        ms(p50),
        ms(p99),
        ms(max)
    );
    exports(&store, &name, if quick { 3 } else { 10 });
}

/// Word and PDF export of the same 100-page draft, from reading the store to the file's bytes.
fn exports(store: &Store, name: &DocName, rounds: usize) {
    let mut docx = Vec::new();
    let mut pdf = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..rounds {
        let started = Instant::now();
        let draft = store.draft_for_export(name).unwrap();
        sizes.0 = hub_local::export::docx::export(&draft).unwrap().len();
        docx.push(started.elapsed());
        let started = Instant::now();
        let draft = store.draft_for_export(name).unwrap();
        sizes.1 = hub_local::export::pdf::export(&draft, hub_local::export::pdf::Paper::A4)
            .unwrap()
            .len();
        pdf.push(started.elapsed());
    }
    println!(
        "export the 100-page draft ({rounds} rounds): Word p50 {} ({} KiB), PDF p50 {} ({} KiB)",
        ms(percentile(&mut docx, 0.50)),
        sizes.0 / 1024,
        ms(percentile(&mut pdf, 0.50)),
        sizes.1 / 1024
    );
}

fn search(quick: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db"), &FixedKey("bench".into())).unwrap();
    let (cases, drafts_per_case) = if quick { (200, 4) } else { (2000, 4) };
    let seeding = Instant::now();
    for case_index in 0..cases {
        let case = store
            .create_case(&CaseFields {
                title: format!("Matter {case_index} {}", sentence(case_index, 3)),
                client: format!("Client {}", case_index % 97),
                practice_area: ["Litigation", "Corporate", "Real estate"][case_index % 3].into(),
                notes: sentence(case_index, 40),
                ..CaseFields::default()
            })
            .unwrap();
        for draft_index in 0..drafts_per_case {
            let name = store
                .create_draft(&case, &format!("Draft {draft_index}"))
                .unwrap();
            store
                .edit(&name, |_, txn| {
                    let fragment = txn.get_or_insert_xml_fragment("default");
                    for paragraph in 0..6 {
                        let element = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
                        let mut text = sentence(case_index * 31 + draft_index * 7 + paragraph, 35);
                        if case_index % 50 == 0 && paragraph == 0 {
                            text.push_str(" quantum meruit");
                        }
                        element.push_back(txn, XmlTextPrelim::new(text));
                    }
                })
                .unwrap();
        }
    }
    let documents = cases * (1 + drafts_per_case);
    let indexing = Instant::now();
    store.index_pending_drafts().unwrap();
    println!(
        "seeded {documents} documents in {:.1} s; indexing their drafts took {}",
        seeding.elapsed().as_secs_f64(),
        ms(indexing.elapsed())
    );
    for query in [
        "quantum meruit",
        "indemn",
        "supplier termination notice",
        "Client 42",
    ] {
        let mut samples = Vec::new();
        let mut hits = 0;
        for _ in 0..50 {
            let started = Instant::now();
            hits = store.search(query).unwrap().len();
            samples.push(started.elapsed());
        }
        let p50 = percentile(&mut samples, 0.50);
        let p99 = percentile(&mut samples, 0.99);
        println!(
            "search {query:?} over {documents} documents: {hits} hits, p50 {} p99 {}",
            ms(p50),
            ms(p99)
        );
    }
    // After an edit the next search first indexes the edited draft: the worst case a lawyer sees.
    let mut samples = Vec::new();
    let drafts = store
        .drafts(&CaseId::parse(&store.cases(&Default::default()).unwrap()[0].id).unwrap())
        .unwrap();
    let name = DocName::parse(&drafts[0].doc).unwrap();
    for round in 0..30 {
        store
            .edit(&name, |_, txn| {
                let fragment = txn.get_or_insert_xml_fragment("default");
                let element = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
                element.push_back(txn, XmlTextPrelim::new(format!("estoppel {round}")));
            })
            .unwrap();
        let started = Instant::now();
        store.search("estoppel").unwrap();
        samples.push(started.elapsed());
    }
    println!(
        "search right after an edit (re-indexes that draft first): p50 {} p99 {}",
        ms(percentile(&mut samples, 0.50)),
        ms(percentile(&mut samples, 0.99))
    );
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    keystrokes(quick);
    search(quick);
}
