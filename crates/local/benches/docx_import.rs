//! Word import of a 100-page contract (≈35,000 words, legal numbering three levels deep, bullets,
//! fee tables, 200 tracked changes by two authors, 50 comments, a link in every clause), a bench
//! binary printing figures:
//!
//! - `import_docx` into a fresh draft document (parse + write into one yrs transaction), N runs;
//! - `Store::import_docx` end to end (parse, create the draft, one durable edit through SQLite).
//!
//! `cargo bench -p hub-local --bench docx_import [-- --quick]`; target ≤ 1 s (p50 and max).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

#[path = "../tests/support/word_file.rs"]
mod word_file;

use std::time::{Duration, Instant};

use hub_local::import::{ImportLimits, WordDocument, import_docx};
use hub_local::store::matter_record::CaseFields;
use hub_local::{FixedKey, Store};
use yrs::{Doc, OffsetKind, Options, Transact};

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1_000.0;
    println!(
        "{name:<44} n={:<3} p50 {:>8.1} ms   max {:>8.1} ms",
        times.len(),
        ms(percentile(&times, 0.5)),
        ms(*times.last().unwrap()),
    );
}

fn main() {
    let quick = std::env::args().any(|argument| argument == "--quick");
    let runs = if quick { 5 } else { 30 };
    let (bytes, shape) = word_file::contract(35_000, 200, 50);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let document_size = archive.by_name("word/document.xml").unwrap().size();
    println!(
        "input: {} KB .docx ({} KB word/document.xml), {} words, {} clauses, {} tables, {} insertions + {} deletions, {} comments",
        bytes.len() / 1024,
        document_size / 1024,
        shape.words,
        shape.clauses,
        shape.tables,
        shape.insertions,
        shape.deletions,
        shape.comments
    );
    let limits = ImportLimits::default();

    let mut parse = Vec::new();
    let mut whole = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            skip_gc: true,
            ..Options::default()
        });
        let started = Instant::now();
        let parsed = WordDocument::parse(&bytes, "contract.docx", &limits).unwrap();
        parse.push(started.elapsed());
        drop(parsed);
        let started = Instant::now();
        {
            let mut txn = doc.transact_mut();
            report = Some(import_docx(&mut txn, &bytes, &limits).unwrap());
        }
        whole.push(started.elapsed());
    }
    let report = report.unwrap();
    println!(
        "imported: {} paragraphs, {} headings, {} list items, {} tables, {} suggestions, {} comment threads",
        report.paragraphs,
        report.headings,
        report.list_items,
        report.tables,
        report.suggestion_total(),
        report.comments.threads
    );
    summary("parse only (WordDocument::parse)", parse);
    summary("import_docx (parse + write, one txn)", whole);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hub.db"), &FixedKey("bench".into())).unwrap();
    let case_id = store
        .create_case(&CaseFields {
            title: "Bench matter".into(),
            ..CaseFields::default()
        })
        .unwrap();
    let mut stored = Vec::new();
    for _ in 0..runs.min(10) {
        let started = Instant::now();
        store
            .import_docx(&case_id, "contract.docx", &bytes, "Bench")
            .unwrap();
        stored.push(started.elapsed());
    }
    summary("Store::import_docx (new draft, durable)", stored);

    // Many sibling blocks: each is inserted without walking the ones before it.
    let body: String = (0..20_000)
        .map(|index| word_file::paragraph(&format!("Paragraph {index} of the bundle.")))
        .collect();
    let bundle = word_file::docx(&body, "");
    let mut flat = Vec::new();
    for _ in 0..runs.min(10) {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            skip_gc: true,
            ..Options::default()
        });
        let started = Instant::now();
        import_docx(&mut doc.transact_mut(), &bundle, &limits).unwrap();
        flat.push(started.elapsed());
    }
    summary("import_docx, 20,000 flat paragraphs", flat);
}
