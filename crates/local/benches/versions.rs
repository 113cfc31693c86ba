//! What a version costs: a 100-page draft (≈35,000 words in 700 paragraphs) goes through ten
//! negotiation rounds (each: 200 words typed, 100 words deleted, then a version saved), as a
//! draft's document does with GC off (docs/DRAFT_FORMAT.md). Prints, per round, the encoded
//! size of the whole document (what the server stores and a joining laptop downloads), the
//! version entry's own bytes and its share of the draft, and the time to rebuild the oldest
//! version. Also the same rounds with GC on, to show what keeping deleted text costs.
//!
//!     cargo bench -p hub-local --bench versions
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::time::Instant;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{
    Any, Array, Doc, GetString, OffsetKind, Options, ReadTxn, Snapshot, StateVector, Text,
    Transact, Update, WriteTxn, XmlElementPrelim, XmlFragment, XmlOut, XmlTextPrelim,
};

const PARAGRAPHS: usize = 700;
const WORDS_PER_PARAGRAPH: usize = 50;
const ROUNDS: usize = 10;

fn doc(skip_gc: bool) -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc,
        client_id: yrs::block::ClientID::new(7),
        ..Options::default()
    })
}

/// A small deterministic generator (no dependency, same draft every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

const WORDS: [&str; 12] = [
    "the", "Supplier", "shall", "deliver", "Goods", "within", "thirty", "days", "of", "notice",
    "provided", "that",
];

fn build(doc: &Doc, rng: &mut Lcg) {
    let mut txn = doc.transact_mut();
    let fragment = txn.get_or_insert_xml_fragment("default");
    for _ in 0..PARAGRAPHS {
        let text: Vec<&str> = (0..WORDS_PER_PARAGRAPH)
            .map(|_| WORDS[rng.next(WORDS.len())])
            .collect();
        let paragraph = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        paragraph.push_back(&mut txn, XmlTextPrelim::new(text.join(" ") + "."));
    }
}

fn paragraph_text(doc: &Doc, txn: &mut yrs::TransactionMut, index: usize) -> yrs::XmlTextRef {
    let _ = doc;
    let fragment = txn.get_or_insert_xml_fragment("default");
    match fragment.get(txn, index as u32) {
        Some(XmlOut::Element(paragraph)) => match paragraph.get(txn, 0) {
            Some(XmlOut::Text(text)) => text,
            _ => panic!("paragraph without text"),
        },
        _ => panic!("no paragraph {index}"),
    }
}

/// One negotiation round: 200 words typed in, 100 words' worth deleted, one edit each.
fn round(doc: &Doc, rng: &mut Lcg) {
    for _ in 0..200 {
        let mut txn = doc.transact_mut();
        let text = paragraph_text(doc, &mut txn, rng.next(PARAGRAPHS));
        let at = rng.next(text.len(&txn) as usize) as u32;
        text.insert(&mut txn, at, "amended ");
    }
    for _ in 0..100 {
        let mut txn = doc.transact_mut();
        let text = paragraph_text(doc, &mut txn, rng.next(PARAGRAPHS));
        let len = text.len(&txn);
        if len > 10 {
            let at = rng.next((len - 8) as usize) as u32;
            text.remove_range(&mut txn, at, 6);
        }
    }
}

fn save_version(doc: &Doc, round: usize) -> usize {
    let mut txn = doc.transact_mut();
    let snapshot = txn.snapshot().encode_v1();
    let bytes = snapshot.len();
    let versions = txn.get_or_insert_array("versions");
    versions.push_back(
        &mut txn,
        Any::from(HashMap::from([
            ("id".to_owned(), Any::from(format!("v{round}"))),
            ("name".to_owned(), Any::from(format!("Round {round}"))),
            ("kind".to_owned(), Any::from("named")),
            ("author".to_owned(), Any::from("Ada Lovelace")),
            ("created".to_owned(), Any::from(1_764_979_200_000_f64)),
            ("snapshot".to_owned(), Any::from(snapshot)),
        ])),
    );
    bytes
}

fn encoded(doc: &Doc) -> usize {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
        .len()
}

fn rebuild(doc: &Doc, round: usize) -> (f64, usize) {
    let started = Instant::now();
    let txn = doc.transact();
    let versions = txn.get_array("versions").expect("versions");
    let snapshot = versions
        .iter(&txn)
        .find_map(|entry| match entry {
            yrs::Out::Any(Any::Map(map))
                if map.get("id") == Some(&Any::from(format!("v{round}"))) =>
            {
                match map.get("snapshot") {
                    Some(Any::Buffer(bytes)) => Snapshot::decode_v1(bytes).ok(),
                    _ => None,
                }
            }
            _ => None,
        })
        .expect("the version");
    let mut encoder = EncoderV1::new();
    txn.encode_state_from_snapshot(&snapshot, &mut encoder)
        .expect("GC is off");
    let past = doc_without_id();
    past.transact_mut()
        .apply_update(Update::decode_v1(&encoder.to_vec()).expect("decodes"))
        .expect("applies");
    let words = {
        let txn = past.transact();
        txn.get_xml_fragment("default")
            .map(|fragment| fragment.get_string(&txn).split_whitespace().count())
            .unwrap_or(0)
    };
    (started.elapsed().as_secs_f64() * 1000.0, words)
}

fn doc_without_id() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    })
}

fn main() {
    println!(
        "versions: a 100-page draft ({PARAGRAPHS} paragraphs × {WORDS_PER_PARAGRAPH} words), {ROUNDS} rounds of 200 insertions + 100 deletions, a version after each"
    );
    let keeping = doc(true);
    let collecting = doc(false);
    build(&keeping, &mut Lcg(1));
    build(&collecting, &mut Lcg(1));
    println!(
        "{:>5} {:>14} {:>14} {:>12} {:>12} {:>16}",
        "round", "draft (GC off)", "draft (GC on)", "version", "share", "rebuild v1 (ms)"
    );
    let mut worst_share: f64 = 0.0;
    for r in 1..=ROUNDS {
        round(&keeping, &mut Lcg(r as u64 * 7919));
        round(&collecting, &mut Lcg(r as u64 * 7919));
        let before = encoded(&keeping);
        let snapshot_bytes = save_version(&keeping, r);
        let after = encoded(&keeping);
        let version_cost = after - before;
        let share = version_cost as f64 / before as f64;
        worst_share = worst_share.max(share);
        let (rebuild_ms, words) = rebuild(&keeping, 1);
        assert!(
            words > PARAGRAPHS * WORDS_PER_PARAGRAPH / 2,
            "version 1 rebuilt"
        );
        println!(
            "{r:>5} {:>14} {:>14} {:>12} {:>11.3}% {:>16.1}",
            after,
            encoded(&collecting),
            format!("{version_cost} B (snapshot {snapshot_bytes} B)"),
            share * 100.0,
            rebuild_ms
        );
    }
    println!(
        "worst version cost: {:.3}% of the draft's encoded size (target ≤ 10%)",
        worst_share * 100.0
    );
    let kept = encoded(&keeping);
    let collected = encoded(&collecting);
    println!(
        "keeping deleted text (GC off) after {ROUNDS} rounds: {kept} B vs {collected} B with GC on ({:+.1}%)",
        (kept as f64 / collected as f64 - 1.0) * 100.0
    );
}
