//! Word export with revisions, and the redline of two versions, on a 100-page draft built in
//! yrs the way the editor lays it out: ~35,000 words in headings and legal clauses (1. / 1.1.),
//! 10 tables, 200 pending suggestions by two authors and 50 comment threads with a reply each.
//!
//! `cargo bench -p hub-local --bench docx_export [-- --quick]`; prints p50 and max. Targets:
//! export ≤ 1 s, redline ≤ 500 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench may panic

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_local::export::docx;
use hub_local::export::redline::{RedlineMeta, redline_docx};
use hub_local::store::draft::{self, COMMENTS, DRAFT_FRAGMENT, DRAFT_META};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, Assoc, Doc, IndexedSequence, Map, MapPrelim, OffsetKind, Options,
    ReadTxn, Text, Transact, Update, WriteTxn, Xml, XmlElementPrelim, XmlFragment, XmlOut,
    XmlTextPrelim, XmlTextRef,
};

const WORDS: [&str; 16] = [
    "the",
    "Supplier",
    "shall",
    "indemnify",
    "Customer",
    "against",
    "all",
    "losses",
    "arising",
    "from",
    "breach",
    "of",
    "this",
    "Agreement",
    "reasonable",
    "notice",
];

fn sentence(seed: usize, words: usize) -> String {
    let mut text: Vec<&str> = (0..words)
        .map(|i| WORDS[(seed * 7 + i * 3) % WORDS.len()])
        .collect();
    text.push("end.");
    text.join(" ")
}

fn doc(client: u64) -> Doc {
    Doc::with_options(Options {
        client_id: yrs::ClientID::new(client),
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    })
}

fn mark(name: &str, id: &str) -> yrs::types::Attrs {
    let inner: HashMap<String, Any> = [("id".to_owned(), Any::from(id))].into_iter().collect();
    [(Arc::<str>::from(name), Any::Map(Arc::new(inner)))]
        .into_iter()
        .collect()
}

/// 20 sections of a heading and 10 clauses with 3 sub-clauses each (43 words a paragraph),
/// a table every other section; every 4th clause carries a suggestion, every 16th a comment.
fn hundred_pages() -> (Doc, usize) {
    let doc = doc(1);
    let mut words = 0;
    let mut txn = doc.transact_mut();
    txn.get_or_insert_map(DRAFT_META)
        .insert(&mut txn, "title", "Master services agreement");
    let body = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
    let comments = txn.get_or_insert_map(COMMENTS);
    let (mut paragraph, mut suggestions, mut threads) = (0usize, 0, 0);
    for section in 0..20 {
        let heading = body.push_back(&mut txn, XmlElementPrelim::empty("heading"));
        heading.insert_attribute(&mut txn, "level", Any::from(2.0));
        heading.push_back(&mut txn, XmlTextPrelim::new(format!("Section {section}")));
        let clauses = body.push_back(&mut txn, XmlElementPrelim::empty("clauseList"));
        for _ in 0..10 {
            let item = clauses.push_back(&mut txn, XmlElementPrelim::empty("listItem"));
            let line = item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            let text: XmlTextRef =
                line.push_back(&mut txn, XmlTextPrelim::new(sentence(paragraph, 42)));
            words += 43;
            if paragraph % 4 == 0 && suggestions < 200 {
                let author = if suggestions % 2 == 0 {
                    "Jane Smith"
                } else {
                    "Bob Jones"
                };
                let id = format!("s:1764979200000:x{suggestions}:{author}");
                if suggestions % 4 < 2 {
                    text.insert_with_attributes(&mut txn, 4, "promptly ", mark("insertion", &id));
                } else {
                    text.format(&mut txn, 4, 8, mark("deletion", &id));
                }
                suggestions += 1;
            }
            if paragraph % 16 == 0 && threads < 50 {
                let from = text.sticky_index(&txn, 0, Assoc::After).unwrap();
                let to = text.sticky_index(&txn, 20, Assoc::Before).unwrap();
                let thread = comments.insert(&mut txn, format!("t{threads}"), MapPrelim::default());
                thread.insert(&mut txn, "from", Any::from(from.encode_v1()));
                thread.insert(&mut txn, "to", Any::from(to.encode_v1()));
                thread.insert(&mut txn, "author", "Ann Counsel");
                thread.insert(&mut txn, "created", 1_764_990_000_000.0 + threads as f64);
                thread.insert(&mut txn, "body", "Please check this clause.");
                let replies = thread.insert(&mut txn, "replies", ArrayPrelim::default());
                let reply = replies.push_back(&mut txn, MapPrelim::default());
                reply.insert(&mut txn, "author", "Jane Smith");
                reply.insert(&mut txn, "body", "Checked.");
                threads += 1;
            }
            paragraph += 1;
            let sub = item.push_back(&mut txn, XmlElementPrelim::empty("clauseList"));
            for _ in 0..3 {
                let sub_item = sub.push_back(&mut txn, XmlElementPrelim::empty("listItem"));
                let line = sub_item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                line.push_back(&mut txn, XmlTextPrelim::new(sentence(paragraph, 42)));
                words += 43;
                paragraph += 1;
            }
        }
        if section % 2 == 0 {
            let table = body.push_back(&mut txn, XmlElementPrelim::empty("table"));
            for row in 0..5 {
                let row_element = table.push_back(&mut txn, XmlElementPrelim::empty("tableRow"));
                for column in 0..3 {
                    let tag = if row == 0 { "tableHeader" } else { "tableCell" };
                    let cell = row_element.push_back(&mut txn, XmlElementPrelim::empty(tag));
                    let line = cell.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                    line.push_back(&mut txn, XmlTextPrelim::new(sentence(row + column, 4)));
                    words += 5;
                }
            }
        }
    }
    drop(txn);
    (doc, words)
}

/// Another author's edits on every 10th clause (a word inserted, a word deleted), 10 clauses
/// removed and 10 added.
fn revise(source: &Doc) -> Doc {
    let editor = doc(2);
    let state = source
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    editor
        .transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    {
        let mut txn = editor.transact_mut();
        let body = txn.get_xml_fragment(DRAFT_FRAGMENT).unwrap();
        let lists: Vec<_> = body
            .children(&txn)
            .filter_map(|node| match node {
                XmlOut::Element(element) if &**element.tag() == "clauseList" => Some(element),
                _ => None,
            })
            .collect();
        for (section, list) in lists.iter().enumerate() {
            let items: Vec<_> = list.children(&txn).collect();
            for (index, item) in items.iter().enumerate() {
                let XmlOut::Element(item) = item else {
                    continue;
                };
                let Some(XmlOut::Element(line)) = item.get(&txn, 0) else {
                    continue;
                };
                let Some(XmlOut::Text(text)) = line.get(&txn, 0) else {
                    continue;
                };
                if index % 2 == 0 {
                    text.insert(&mut txn, 0, "Notwithstanding clause 3, ");
                    let length = text.len(&txn);
                    text.remove_range(&mut txn, length - 10, 6);
                }
            }
            if section % 2 == 0 {
                list.remove_range(&mut txn, 9, 1);
                let added = list.insert(&mut txn, 0, XmlElementPrelim::empty("listItem"));
                let line = added.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                line.push_back(&mut txn, XmlTextPrelim::new(sentence(section * 97, 30)));
            }
        }
    }
    let update = editor
        .transact()
        .encode_state_as_update_v1(&source.transact().state_vector());
    source
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
    editor
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn report(what: &str, mut times: Vec<Duration>, target: Duration, bytes: usize) {
    times.sort();
    let p50 = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{what} ({} rounds): p50 {} max {} ({} KiB; target ≤ {}) {}",
        times.len(),
        ms(p50),
        ms(max),
        bytes / 1024,
        ms(target),
        if p50 <= target { "OK" } else { "OVER TARGET" }
    );
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let rounds = if quick { 3 } else { 15 };
    let (doc, words) = hundred_pages();
    {
        let txn = doc.transact();
        let read = draft::read(&txn);
        let paragraphs = draft::paragraphs(&read.blocks).len();
        println!(
            "draft: {words} words, {paragraphs} paragraphs, {} comment threads",
            read.comments.len()
        );
    }
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let read = draft::read(&doc.transact());
        size = docx::export(&read).unwrap().len();
        times.push(started.elapsed());
    }
    report(
        "Word export with 200 revisions and 50 threads (read + write)",
        times,
        Duration::from_secs(1),
        size,
    );

    let version_a = doc.transact().snapshot();
    revise(&doc);
    let version_b = doc.transact().snapshot();
    let meta = RedlineMeta {
        title: "Master services agreement".into(),
        name_a: "Draft 1".into(),
        name_b: "Draft 2".into(),
        author_b: "Bob Jones".into(),
        date_b: Some(1_765_000_000_000),
    };
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        size = redline_docx(&doc, &version_a, &version_b, &meta)
            .unwrap()
            .len();
        times.push(started.elapsed());
    }
    report(
        "redline of two 100-page versions (rebuild both, diff, write)",
        times,
        Duration::from_millis(500),
        size,
    );
}
