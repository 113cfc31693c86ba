//! Integrating a Yjs update into a document, after refusing what yrs 0.28.1 cannot integrate
//! without using memory it has freed.
//!
//! yrs 0.28.1 keeps raw pointers between the blocks of a document and of an update. Three of its
//! paths leave such a pointer dangling and later read and write through it, once the update
//! carries clocks that do not follow on from what the document has (found by the fuzz run, seeds
//! 1, 4 and 5 and the CI seed, and confirmed under AddressSanitizer):
//!
//! - **Holes.** Unlike Yjs, which keeps such a block pending, yrs integrates a block that starts
//!   past the clocks the document has of its client and records the gap as a hole. A later
//!   block that starts in the hole and runs past its end is split where the hole ends
//!   (`BlockSet::exclude`); yrs frees the tail while the head still points at it.
//! - **Pending blocks.** A block whose origin, right origin or parent is missing waits in the
//!   document (`store.pending`) and is trimmed, merged with later pending blocks and split again
//!   on every retry, each time through the same dangling pointers between the pieces.
//! - **Items that name their parent and overlap what the document has.** yrs trims the known
//!   part and gives the rest an origin (the clock before it) that, in a forged update, sits in a
//!   different parent: the item is linked into one list while registered in another, and
//!   garbage collection later frees items still linked.
//!
//! Once freed memory is reused by another item, the document's lists can become cycles, and
//! `Item::resolve_conflict` loops forever holding the document's lock (`tests/hostile_updates.rs`).
//!
//! [`check_update_against`] refuses each precondition, so a document given only updates that
//! pass it never has a hole or a pending block: every block must continue its client's clocks
//! from what the document has, build only on what the document or the update itself holds (in
//! an order yrs can integrate at once), and an item naming its parent must not straddle the
//! document's clock of its client. An up-to-date Yjs client meets all three: its updates follow
//! what it sent before and build on what it received, and a sync step answers the state vector
//! the server sent. A client that is behind (a lost message) is refused and recovers by
//! reconnecting: the sync handshake then sends what the document lacks, in order. Deletions of
//! clocks the document lacks are harmless and still wait in yrs until those clocks arrive.

use std::collections::HashMap;

use yrs::updates::decoder::Decode;
use yrs::{ClientID, ReadTxn, TransactionMut, Update};

use crate::update_check::{BlockKind, Id, Parent, walk_update_v1};
use crate::{ChangeDefect, IntegrateError, ProtocolError};

fn malformed(defect: ChangeDefect) -> ProtocolError {
    ProtocolError::MalformedChange(defect)
}

/// A block of the update that the document lacks (as yrs trims it): its clocks and the ids it
/// builds on that the document does not have.
struct Incoming {
    client: u64,
    clock: u32,
    end: u32,
    builds_on: [Option<Id>; 3],
}

/// An item naming its parent whose clocks start below what the document has of its client.
struct Straddling<'a> {
    client: u64,
    from: u32,
    to: u32,
    known: u32,
    parent: (Parent<'a>, Option<&'a str>),
}

/// Check that `update` can be integrated at once and safely into the document of `txn` (which
/// has no hole and no pending block, as holds for documents only ever given updates that pass
/// this).
pub fn check_update_against<T: ReadTxn>(txn: &T, update: &[u8]) -> Result<(), ProtocolError> {
    let known = txn.state_vector();
    let have = |client: u64| known.get(&ClientID::new(client));
    let missing = |id: Option<Id>| id.filter(|&(client, clock)| clock >= have(client));
    let mut incoming: Vec<Incoming> = Vec::new();
    let mut straddling: Vec<Straddling<'_>> = Vec::new();
    // The client of the previous block, and whether the next one starts a run of clocks (its
    // client's first block, or the first after a skip).
    let mut listing: Option<u64> = None;
    let mut starts_run = true;
    walk_update_v1(update, |block| {
        if listing != Some(block.client) {
            listing = Some(block.client);
            starts_run = true;
        }
        if block.kind == BlockKind::Skip {
            starts_run = true;
            return Ok(());
        }
        let have = have(block.client);
        if std::mem::take(&mut starts_run) && block.clock > have {
            return Err(malformed(ChangeDefect::SkipsClocks {
                client: block.client,
                from: have,
                to: block.clock,
            }));
        }
        if block.end <= have {
            // yrs drops what the document already has.
            return Ok(());
        }
        // yrs trims what the document has; the rest builds on the clock before it (which the
        // document has), and takes its parent from there unless the item names one.
        let trimmed = block.clock < have;
        let builds_on = match block.kind {
            BlockKind::Item {
                origin,
                right_origin,
                names_parent,
            } => {
                if let Some(parent) = names_parent.filter(|_| trimmed) {
                    straddling.push(Straddling {
                        client: block.client,
                        from: block.clock,
                        to: block.end,
                        known: have,
                        parent,
                    });
                }
                let named = match names_parent {
                    Some((Parent::Nested(id), _)) => Some(id),
                    _ => None,
                };
                [
                    if trimmed { None } else { missing(origin) },
                    missing(right_origin),
                    missing(named),
                ]
            }
            BlockKind::Gc | BlockKind::Skip => [None; 3],
        };
        incoming.push(Incoming {
            client: block.client,
            clock: block.clock.max(have),
            end: block.end,
            builds_on,
        });
        Ok(())
    })?;
    if !straddling.is_empty() {
        check_restated_runs(txn, &straddling)?;
    }
    check_integrates_at_once(&incoming)
}

/// An item of client C that names its parent P and starts at clock `from`, below the clocks the
/// document has of C (`known`), is trimmed by yrs to `known..` and linked after the document's
/// item at `known - 1`, while keeping P. That is sound only if the document's clocks
/// `from..known` of C are the same run: an item at `from` naming P (and the same key), then
/// items each placed right after the clock before it (so in the same parent). An up-to-date
/// client restating its own changes (a sync step answering an older state vector) passes; a
/// forged item at clocks the document holds in another parent does not.
fn check_restated_runs<T: ReadTxn>(
    txn: &T,
    straddling: &[Straddling<'_>],
) -> Result<(), ProtocolError> {
    let mut from = txn.state_vector();
    for item in straddling {
        from.set_min(ClientID::new(item.client), item.from);
    }
    // Only the straddling clients' blocks from `from` (and the delete set): rare and small.
    let ours = txn.encode_diff_v1(&from);
    // Per straddling client: still consistent so far, and whether its first block was seen.
    let mut verdicts: HashMap<u64, (bool, bool)> = straddling
        .iter()
        .map(|item| (item.client, (true, false)))
        .collect();
    walk_update_v1(&ours, |block| {
        let Some(item) = straddling.iter().find(|item| item.client == block.client) else {
            return Ok(());
        };
        let Some((consistent, seen_first)) = verdicts.get_mut(&block.client) else {
            return Ok(());
        };
        if block.clock >= item.known {
            return Ok(());
        }
        *consistent &= if std::mem::replace(seen_first, true) {
            matches!(block.kind, BlockKind::Item { origin: Some((client, clock)), .. }
                if client == block.client && clock.checked_add(1) == Some(block.clock))
        } else {
            block.clock == item.from
                && matches!(block.kind, BlockKind::Item { names_parent: Some(parent), .. }
                    if parent == item.parent)
        };
        Ok(())
    })
    .map_err(|error| ProtocolError::InvalidUpdate(format!("re-reading our own state: {error}")))?;
    for item in straddling {
        if verdicts.get(&item.client) != Some(&(true, true)) {
            return Err(malformed(ChangeDefect::OverlapsKnownClocks {
                client: item.client,
                from: item.from,
                to: item.to,
                known: item.known,
            }));
        }
    }
    Ok(())
}

/// yrs integrates a client's blocks in order, turning to another client's blocks when one builds
/// on them, and keeps pending whatever builds on something missing or, through other blocks, on
/// itself. Refuse both: a depth-first walk over "builds on" and "comes after the previous block
/// of its client" must find every target and no cycle.
fn check_integrates_at_once(incoming: &[Incoming]) -> Result<(), ProtocolError> {
    // Each client's blocks are consecutive in `incoming`, in clock order.
    let mut clients: HashMap<u64, (usize, usize)> = HashMap::new();
    for (at, block) in incoming.iter().enumerate() {
        clients
            .entry(block.client)
            .and_modify(|range| range.1 = at + 1)
            .or_insert((at, at + 1));
    }
    let block_holding = |(client, clock): Id| -> Result<usize, ProtocolError> {
        let not_here = ChangeDefect::BuildsOnMissing { client, clock };
        let &(first, end) = clients.get(&client).ok_or(malformed(not_here))?;
        let blocks = &incoming[first..end];
        let at = blocks.partition_point(|block| block.end <= clock);
        match blocks.get(at) {
            Some(block) if block.clock <= clock => Ok(first + at),
            _ => Err(malformed(not_here)),
        }
    };
    // What block `at` waits for: the previous block of its client and the blocks it builds on.
    let waits_for = |at: usize| -> Result<Vec<usize>, ProtocolError> {
        let block = &incoming[at];
        let mut targets = Vec::with_capacity(4);
        if at > 0 && incoming[at - 1].client == block.client {
            targets.push(at - 1);
        }
        for id in block.builds_on.iter().flatten() {
            targets.push(block_holding(*id)?);
        }
        Ok(targets)
    };
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNSEEN; incoming.len()];
    let mut path: Vec<(usize, Vec<usize>)> = Vec::new();
    for root in 0..incoming.len() {
        if state[root] != UNSEEN {
            continue;
        }
        state[root] = ON_PATH;
        path.push((root, waits_for(root)?));
        while let Some((at, targets)) = path.last_mut() {
            let Some(target) = targets.pop() else {
                state[*at] = DONE;
                path.pop();
                continue;
            };
            match state[target] {
                UNSEEN => {
                    state[target] = ON_PATH;
                    let next = waits_for(target)?;
                    path.push((target, next));
                }
                ON_PATH => {
                    let block = &incoming[target];
                    return Err(malformed(ChangeDefect::BuildsOnItself {
                        client: block.client,
                        clock: block.clock,
                    }));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Integrate a v1 update into the document of `txn`, refusing first (document unchanged) what
/// [`check_update_against`] refuses. yrs is not written for hostile input: callers that serve
/// more than one document catch panics around this.
pub fn integrate_update(txn: &mut TransactionMut<'_>, update: &[u8]) -> Result<(), IntegrateError> {
    check_update_against(txn, update).map_err(IntegrateError::Refused)?;
    let decoded = Update::decode_v1(update).map_err(|error| {
        IntegrateError::Refused(ProtocolError::InvalidUpdate(error.to_string()))
    })?;
    txn.apply_update(decoded)
        .map_err(|error| IntegrateError::Integration(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lib0::Writer;
    use proptest::prelude::*;
    use yrs::{Doc, GetString, Map, OffsetKind, Options, StateVector, Text, Transact};

    fn integrate(doc: &Doc, update: &[u8]) -> Result<(), IntegrateError> {
        integrate_update(&mut doc.transact_mut(), update)
    }

    fn defect(result: Result<(), IntegrateError>) -> ChangeDefect {
        match result {
            Err(IntegrateError::Refused(ProtocolError::MalformedChange(defect))) => defect,
            other => panic!("expected a malformed change, got {other:?}"),
        }
    }

    fn body(doc: &Doc) -> String {
        doc.get_or_insert_text("body").get_string(&doc.transact())
    }

    /// Two edits of client 5: "abc", then either "def" typed right after it (its origin is
    /// clock 2) or "XY" at the start of the text (no origin).
    fn two_edits(continue_typing: bool) -> (Vec<u8>, Vec<u8>) {
        let doc = Doc::with_client_id(5);
        let text = doc.get_or_insert_text("body");
        let first = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "abc");
            txn.encode_update_v1()
        };
        let second = {
            let mut txn = doc.transact_mut();
            if continue_typing {
                text.insert(&mut txn, 3, "def");
            } else {
                text.insert(&mut txn, 0, "XY");
            }
            txn.encode_update_v1()
        };
        (first, second)
    }

    #[test]
    fn an_edit_ahead_of_the_one_before_it_is_refused_until_that_one_arrives() {
        for continue_typing in [true, false] {
            let (first, second) = two_edits(continue_typing);
            let doc = Doc::with_client_id(1);
            // yrs would keep "def" pending and give "XY" a hole before it: both refused.
            assert_eq!(
                defect(integrate(&doc, &second)),
                ChangeDefect::SkipsClocks {
                    client: 5,
                    from: 0,
                    to: 3
                }
            );
            assert_eq!(body(&doc), "");
            assert_eq!(integrate(&doc, &first), Ok(()));
            assert_eq!(integrate(&doc, &second), Ok(()));
            assert_eq!(integrate(&doc, &second), Ok(()), "a resend changes nothing");
            let expected = if continue_typing { "abcdef" } else { "XYabc" };
            assert_eq!(body(&doc), expected);
        }
    }

    #[test]
    fn an_edit_on_another_clients_text_the_document_lacks_is_refused() {
        let ada = Doc::with_client_id(5);
        let ben = Doc::with_client_id(6);
        let ada_typed = {
            let text = ada.get_or_insert_text("body");
            let mut txn = ada.transact_mut();
            text.insert(&mut txn, 0, "abc");
            txn.encode_update_v1()
        };
        assert_eq!(integrate(&ben, &ada_typed), Ok(()));
        let ben_typed = {
            let text = ben.get_or_insert_text("body");
            let mut txn = ben.transact_mut();
            text.insert(&mut txn, 2, "X");
            txn.encode_update_v1()
        };
        let doc = Doc::with_client_id(1);
        assert_eq!(
            defect(integrate(&doc, &ben_typed)),
            ChangeDefect::BuildsOnMissing {
                client: 5,
                clock: 1
            }
        );
        assert!(
            !doc.transact().has_missing_updates(),
            "nothing left pending"
        );
        assert_eq!(integrate(&doc, &ada_typed), Ok(()));
        assert_eq!(integrate(&doc, &ben_typed), Ok(()));
        assert_eq!(body(&doc), "abXc");
        // Both in one update (as a sync step sends them) integrate at once.
        let both = ben
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let fresh = Doc::with_client_id(2);
        assert_eq!(integrate(&fresh, &both), Ok(()));
        assert_eq!(body(&fresh), "abXc");
    }

    #[test]
    fn an_item_restating_clocks_the_document_holds_elsewhere_is_refused() {
        // Client 5's clocks 0..2 in the document: a map entry holding a map. The update reuses
        // client 5's clocks 0..5 for text in "body" (an item naming its parent), so yrs would
        // link the text's clocks 2..5 after the map entry, in the wrong parent.
        let ada = Doc::with_client_id(5);
        let entries = {
            let case = ada.get_or_insert_map("case");
            let mut txn = ada.transact_mut();
            let parties = case.insert(&mut txn, "parties", yrs::MapPrelim::default());
            parties.insert(&mut txn, "client", "Acme");
            txn.encode_update_v1()
        };
        let forger = Doc::with_client_id(5);
        let text = {
            let body = forger.get_or_insert_text("body");
            let mut txn = forger.transact_mut();
            body.insert(&mut txn, 0, "hello");
            txn.encode_update_v1()
        };
        let doc = Doc::with_client_id(1);
        assert_eq!(integrate(&doc, &entries), Ok(()));
        assert_eq!(
            defect(integrate(&doc, &text)),
            ChangeDefect::OverlapsKnownClocks {
                client: 5,
                from: 0,
                to: 5,
                known: 2
            }
        );
        assert_eq!(body(&doc), "");
    }

    #[test]
    fn a_sync_step_restating_a_clients_own_text_is_accepted() {
        // Client 5 types "ab" into an empty text, then "cd": its state is one item "abcd" that
        // names its parent. The document has "ab" only; the state (a sync step answering an
        // older state vector) restates it and adds "cd".
        let ada = Doc::with_client_id(5);
        let text = ada.get_or_insert_text("body");
        let first = {
            let mut txn = ada.transact_mut();
            text.insert(&mut txn, 0, "ab");
            txn.encode_update_v1()
        };
        text.insert(&mut ada.transact_mut(), 2, "cd");
        let state = ada
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let doc = Doc::with_client_id(1);
        assert_eq!(integrate(&doc, &first), Ok(()));
        assert_eq!(integrate(&doc, &state), Ok(()));
        assert_eq!(body(&doc), "abcd");
    }

    #[test]
    fn a_client_listed_twice_or_clocks_past_u32_are_refused() {
        // Client 9 listed twice: a GC block at 0, then one at 11.
        let mut twice = Writer::new();
        twice.write_var_uint(2);
        for clock in [0, 11] {
            twice.write_var_uint(1); // one block
            twice.write_var_uint(9); // client
            twice.write_var_uint(clock);
            twice.write_u8(0); // GC
            twice.write_var_uint(4);
        }
        twice.write_var_uint(0); // empty delete set
        let doc = Doc::new();
        assert_eq!(
            defect(integrate(&doc, &twice.into_vec())),
            ChangeDefect::ClientListedTwice { client: 9 }
        );
        // Two GC blocks from clock u32::MAX - 1: the second starts past the largest clock.
        let mut overflow = Writer::new();
        overflow.write_var_uint(1);
        overflow.write_var_uint(2);
        overflow.write_var_uint(9);
        overflow.write_var_uint(u64::from(u32::MAX - 1));
        for _ in 0..2 {
            overflow.write_u8(0);
            overflow.write_var_uint(1);
        }
        overflow.write_var_uint(0);
        let overflow = overflow.into_vec();
        assert_eq!(
            crate::check_update_v1(&overflow),
            Err(ProtocolError::MalformedChange(
                ChangeDefect::ClockOverflow { client: 9 }
            ))
        );
        assert_eq!(
            crate::validate_update(&overflow).unwrap_err().code(),
            "malformed_change"
        );
        // A client id yrs would fold onto another one (it keeps the low 53 bits).
        let mut large = Writer::new();
        large.write_var_uint(1);
        large.write_var_uint(1);
        large.write_var_uint((1 << 53) | 9);
        large.write_var_uint(0);
        large.write_u8(0);
        large.write_var_uint(1);
        large.write_var_uint(0);
        assert_eq!(
            crate::check_update_v1(&large.into_vec()),
            Err(ProtocolError::MalformedChange(
                ChangeDefect::ClientIdTooLarge {
                    client: (1 << 53) | 9
                }
            ))
        );
    }

    /// One step of one of three peers that sync through the target (the server), as our
    /// clients do: an edit, taking in the target's state, sending the next update of its
    /// outbox, or answering the target's state vector with a sync step (`Answer`).
    #[derive(Debug, Clone)]
    enum Step {
        Insert {
            at: u32,
            text: String,
        },
        /// Typing on at the end (the item continues the one before: yrs squashes them).
        Append {
            text: String,
        },
        Delete {
            at: u32,
            len: u32,
        },
        Set {
            key: u8,
            value: u32,
        },
        Pull,
        Send,
        Answer,
    }

    fn arb_step() -> impl Strategy<Value = (usize, Step)> {
        let step = prop_oneof![
            2 => (any::<u32>(), "[a-zé✓ ]{1,6}").prop_map(|(at, text)| Step::Insert { at, text }),
            2 => "[a-zé✓ ]{1,3}".prop_map(|text| Step::Append { text }),
            1 => (any::<u32>(), 1u32..4).prop_map(|(at, len)| Step::Delete { at, len }),
            1 => (0u8..4, any::<u32>()).prop_map(|(key, value)| Step::Set { key, value }),
            1 => Just(Step::Pull),
            3 => Just(Step::Send),
            1 => Just(Step::Answer),
        ];
        (0usize..3, step)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// What up-to-date Yjs peers send — each its own updates in order, interleaved with the
        /// others', building on what they took from the target, and sync steps that answer a
        /// state vector the target may since have passed — is never refused, leaves nothing
        /// pending, and converges.
        #[test]
        fn updates_of_ordinary_peers_are_never_refused(
            steps in proptest::collection::vec(arb_step(), 1..80),
        ) {
            // Offsets in UTF-16 units, as Yjs counts them: every index is a character boundary.
            let peer = |client: u64| Doc::with_options(Options {
                client_id: ClientID::new(client),
                offset_kind: OffsetKind::Utf16,
                ..Options::default()
            });
            let target = peer(1);
            let peers: Vec<Doc> = (100..103).map(peer).collect();
            let mut outboxes: Vec<std::collections::VecDeque<Vec<u8>>> =
                vec![Default::default(); 3];
            // The state vector each peer last heard from the target (for its sync step).
            let mut heard: Vec<StateVector> = vec![StateVector::default(); 3];
            for (at, step) in &steps {
                let doc = &peers[*at];
                let text = doc.get_or_insert_text("body");
                let map = doc.get_or_insert_map("case");
                match step {
                    Step::Pull => {
                        let state = target
                            .transact()
                            .encode_state_as_update_v1(&StateVector::default());
                        prop_assert_eq!(integrate(doc, &state), Ok(()));
                        heard[*at] = target.transact().state_vector();
                        continue;
                    }
                    Step::Send => {
                        if let Some(update) = outboxes[*at].pop_front() {
                            prop_assert_eq!(integrate(&target, &update), Ok(()));
                        }
                        continue;
                    }
                    Step::Answer => {
                        let diff = doc.transact().encode_state_as_update_v1(&heard[*at]);
                        prop_assert_eq!(integrate(&target, &diff), Ok(()));
                        heard[*at] = target.transact().state_vector();
                        continue;
                    }
                    _ => {}
                }
                let mut txn = doc.transact_mut();
                let len = text.len(&txn);
                match step {
                    Step::Insert { at, text: inserted } => {
                        text.insert(&mut txn, at % (len + 1), inserted)
                    }
                    Step::Append { text: inserted } => text.insert(&mut txn, len, inserted),
                    Step::Delete { at, len: count } if len > 0 => {
                        let at = at % len;
                        text.remove_range(&mut txn, at, (*count).min(len - at));
                    }
                    Step::Set { key, value } => {
                        map.insert(&mut txn, format!("k{key}"), f64::from(*value));
                    }
                    _ => {}
                }
                let update = txn.encode_update_v1();
                drop(txn);
                outboxes[*at].push_back(update);
            }
            for (at, outbox) in outboxes.iter_mut().enumerate() {
                while let Some(update) = outbox.pop_front() {
                    prop_assert_eq!(integrate(&target, &update), Ok(()), "peer {}", at);
                }
            }
            prop_assert!(!target.transact().has_missing_updates());
            let merged = peer(2);
            for doc in &peers {
                let full = doc.transact().encode_state_as_update_v1(&StateVector::default());
                prop_assert_eq!(integrate(&merged, &full), Ok(()));
            }
            prop_assert_eq!(body(&target), body(&merged));
        }
    }
}
