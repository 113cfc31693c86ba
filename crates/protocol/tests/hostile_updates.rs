//! Updates that make yrs 0.28.1 use memory it has freed, found by the fuzz run
//! (`examples/fuzz.rs`: seeds 1, 4 and 5 hung, and every seed, the CI seed too, reads and writes
//! freed memory under AddressSanitizer), reduced by delta debugging to the few updates that still
//! do it (each fixture read or wrote freed memory under valgrind before the fix).
//!
//! Seeds 4, 5 and 1: yrs integrates a block that arrives past a gap in its client's clocks and
//! records the gap as a hole (Yjs would keep such a block pending). A later block of that client
//! that starts inside the hole and runs past its end is split where the hole ends; yrs frees the
//! known tail and the head keeps pointing at it, then reads and writes through that pointer. Once
//! the freed memory is reused by another item, the document's lists can become cycles: the fuzz
//! run saw `Item::resolve_conflict` loop forever. The `ASAN_SEED_1` history (what AddressSanitizer
//! still found with holes refused) reuses a client's clocks for an item in another parent.
//!
//! In a process of its own the freed memory is seldom reused the same way, so these do not hang
//! here without the fix: they are refused with it. Each history still runs on a watched thread
//! that fails the test after 10 s rather than hang it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use hub_protocol::{IntegrateError, integrate_update};
use yrs::{Doc, GetString, Text, Transact};

/// Seed 4: a GC block of client 6 at clocks 11..15 (the document has nothing of client 6, so
/// yrs records 0..11 as a hole), then a string item of client 6 at clocks 0..14 with no origins,
/// which runs past the hole's end. The first update carries trailing bytes yrs ignores.
const SEED_4: &[&str] = &[
    "0101060b0004010b04626f647913636c61757365c63020e280d520c3a920e29c9300",
    "01010600040104626f647913636c61757375203020e2809420c3a920e29c9300",
];

/// Seed 5: the same with an item instead of a GC block opening the hole (client 7, clock 6).
const SEED_5: &[&str] = &[
    "01010706040104626b647913636c61757365203020e2809420c3a920e29c9300",
    "01010700040104626f647913636c60757365203020e2809420c3a920e29c9300",
];

/// Seed 1: nine updates of client 3 and others, with origins, that leave holes and overlap them.
const SEED_1: &[&str] = &[
    "010303464403380163c403460346036c6175c4034903380f7365203520e2809420c3a920e29c930103014703",
    "0101035444034613636c61757365203620e2809420c3a920e29c9300",
    "0103031c44030e0163c4031c030e036c6175c4031f030e0f7365201220e2809420c3a920e29c930103011d03",
    "0101030e44030013636c61757365203120e3809420c3a920e29c9300",
    "0101033844032a13636c61757365203420e280944bc3a920e29c9300",
    "0101037244035413636c61757365203720e2809420c3a920e29c9700",
    "0101032a44031c13636c61757265203320e2809420c3a920e29c9300",
    "01020300270104636173650770617274696573012800030006632269656e7401770441636d6500",
    "0101036a040104626f647913636c61757365203020e280946ac3a920e29c9300",
];

/// Seed 1 under AddressSanitizer, with holes already refused: client 3's clocks 0..2 hold a map
/// entry (a map in the root map `case`), then an item of client 3 at clocks 0..14 names the root
/// text `body` as its parent. yrs trimmed it to 2..14 and linked it after the map entry while
/// registering it in `body`; garbage collection later freed items still linked.
const ASAN_SEED_1: &[&str] = &[
    "01020300270104636173650770617274696573012800030006636c69656e740177044163086500",
    "01010300040104626f647913636c71757365203020e2809420c3a920e29c9300",
    "0101030e44030013676c61757365203120e2809420c3a920e29c9300",
    "0103031c44030e0163c4030c030e036c6175c4031f030e0f7365203220e2809420c3a920e29c930103011d03",
    "0102da0300270104636173650770617274696573012800030006636c69656e7401770441636d6500",
    "0103031c44030e0163c4031c030e036c6175c4031f030e0f7365203220e2809420c3a920e29c93010301051d03",
];

const TARGET_TEXT: &str = "The parties agree as follows.";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

/// Integrate `updates` in order into a document holding real text (as the fuzz run's target
/// does), on a thread of its own: a yrs that loops must fail the test after 10 s, not hang it.
/// Returns each update's outcome and the document's text.
fn integrate_all(updates: &[&str]) -> (Vec<Result<(), IntegrateError>>, String) {
    let updates: Vec<Vec<u8>> = updates.iter().map(|hex| bytes(hex)).collect();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let doc = Doc::with_client_id(1);
        let text = doc.get_or_insert_text("body");
        text.insert(&mut doc.transact_mut(), 0, TARGET_TEXT);
        let results: Vec<_> = updates
            .iter()
            .map(|update| integrate_update(&mut doc.transact_mut(), update))
            .collect();
        let body = text.get_string(&doc.transact());
        let _ = done.send((results, body));
    });
    outcome
        .recv_timeout(Duration::from_secs(10))
        .expect("yrs did not finish integrating within 10 s")
}

fn refused_as_malformed(result: &Result<(), IntegrateError>) -> bool {
    matches!(result, Err(IntegrateError::Refused(error)) if error.code() == "malformed_change")
}

#[test]
fn a_block_past_a_gap_in_its_clients_clocks_is_refused_seed_4() {
    let (results, body) = integrate_all(SEED_4);
    assert!(
        refused_as_malformed(&results[0]),
        "the block that would open a hole was not refused: {results:?}"
    );
    assert_eq!(
        results[0].as_ref().unwrap_err().to_string(),
        "this change is malformed: it skips clocks 0..11 of client 6, which this document does \
         not have"
    );
    // Without the hole, the second update is an ordinary insertion into the text (after the
    // target's, as client 6 > client 1).
    assert_eq!(results[1], Ok(()));
    assert_eq!(body, format!("{TARGET_TEXT}clausu 0 — é ✓"));
}

#[test]
fn a_block_past_a_gap_in_its_clients_clocks_is_refused_seed_5() {
    let (results, body) = integrate_all(SEED_5);
    assert!(refused_as_malformed(&results[0]), "{results:?}");
    assert_eq!(results[1], Ok(()));
    assert_eq!(body, format!("{TARGET_TEXT}cl`use 0 — é ✓"));
}

#[test]
fn the_seed_1_history_has_its_gaps_refused() {
    let (results, _) = integrate_all(SEED_1);
    // Every update of client 3 but the one that starts at its clock 0 skips clocks.
    let refused: Vec<bool> = results.iter().map(refused_as_malformed).collect();
    assert_eq!(
        refused,
        [true, true, true, true, true, true, true, false, true],
        "{results:?}"
    );
    assert_eq!(results[7], Ok(()));
}

#[test]
fn an_item_reusing_clocks_held_in_another_parent_is_refused_asan_seed_1() {
    let (results, body) = integrate_all(ASAN_SEED_1);
    assert_eq!(results[0], Ok(()));
    assert_eq!(
        results[1].as_ref().unwrap_err().to_string(),
        "this change is malformed: its item at clocks 0..14 of client 3 overlaps what this \
         document has (up to 2)"
    );
    // The rest of client 3's text then skips clocks; client 474's map entry is fine.
    let refused: Vec<bool> = results.iter().map(refused_as_malformed).collect();
    assert_eq!(
        refused,
        [false, true, true, true, false, true],
        "{results:?}"
    );
    assert_eq!(body, TARGET_TEXT);
}
