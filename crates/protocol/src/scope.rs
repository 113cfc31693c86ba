//! Whether an update stays inside one root type of a document: what a commenter may write.
//!
//! A commenter on a draft may add, answer, resolve and delete comments (the root `comments`
//! map, docs/DRAFT_FORMAT.md) and nothing else. [`check_within_root`] accepts an update only if
//! every item it inserts lives under that root — named as a child of the root, or of an item
//! (given by id) whose ancestry reaches the root, or placed next to such items — and every
//! clock it deletes is such an item. Ancestry is read from the document's current state (its
//! full encoding, walked like an update) and from the update itself, so a reply to a thread
//! made in the same update passes and a body insertion tucked into a comment update does not.
//!
//! The check is strict where it costs nothing to be: garbage-collected blocks, deletions of
//! clocks neither the document nor the update holds (they would wait in yrs and delete what
//! another client writes later), and items whose origin and right origin lie in different
//! places are all refused.

use std::collections::{HashMap, HashSet};

use yrs::{ReadTxn, StateVector};

use crate::ProtocolError;
use crate::update_check::{BlockKind, Id, Parent, walk_update_v1, walk_update_v1_with_deletions};

/// How an item finds its parent.
#[derive(Debug, Clone, Copy)]
enum Link {
    /// A root type: whether it is the root the writes must stay in.
    Root(bool),
    /// Through another item: the one holding its parent type, or a neighbour (origin).
    Through(Id),
    /// Nothing to go on (garbage-collected content): never in scope.
    Unknown,
}

/// One block's clocks and link.
#[derive(Debug, Clone, Copy)]
struct Run {
    clock: u32,
    end: u32,
    link: Link,
}

/// Where a run sits: in the document (`false`) or the update (`true`), client, index.
type RunKey = (bool, u64, usize);

#[derive(Default)]
struct Runs {
    by_client: HashMap<u64, Vec<Run>>,
}

impl Runs {
    fn push(&mut self, client: u64, run: Run) {
        self.by_client.entry(client).or_default().push(run);
    }

    /// The index of the run holding `clock` of `client` (runs of a client are in clock order).
    fn find(&self, (client, clock): Id) -> Option<usize> {
        let runs = self.by_client.get(&client)?;
        let at = runs.partition_point(|run| run.end <= clock);
        runs.get(at).filter(|run| run.clock <= clock).map(|_| at)
    }

    fn get(&self, client: u64, at: usize) -> Option<&Run> {
        self.by_client.get(&client).and_then(|runs| runs.get(at))
    }
}

fn link_of(kind: BlockKind<'_>, root: &str) -> Link {
    match kind {
        BlockKind::Item {
            origin,
            right_origin,
            names_parent,
        } => match (origin.or(right_origin), names_parent) {
            (Some(neighbour), _) => Link::Through(neighbour),
            (None, Some((Parent::Root(name), _))) => Link::Root(name == root),
            (None, Some((Parent::Nested(holder), _))) => Link::Through(holder),
            (None, None) => Link::Unknown,
        },
        BlockKind::Gc | BlockKind::Skip => Link::Unknown,
    }
}

struct Ancestry {
    document: Runs,
    update: Runs,
    verdicts: HashMap<RunKey, bool>,
}

impl Ancestry {
    fn locate(&self, id: Id) -> Option<RunKey> {
        if let Some(at) = self.document.find(id) {
            return Some((false, id.0, at));
        }
        self.update.find(id).map(|at| (true, id.0, at))
    }

    fn run(&self, (in_update, client, at): RunKey) -> Option<&Run> {
        if in_update {
            self.update.get(client, at)
        } else {
            self.document.get(client, at)
        }
    }

    /// Whether the item holding `id` lives under the root. Follows one link per step (so a long
    /// chain of neighbours costs no stack) and remembers every verdict.
    fn within(&mut self, id: Id) -> bool {
        let mut path: Vec<RunKey> = Vec::new();
        let mut on_path: HashSet<RunKey> = HashSet::new();
        let mut current = id;
        let verdict = loop {
            let Some(key) = self.locate(current) else {
                break false;
            };
            if let Some(&verdict) = self.verdicts.get(&key) {
                break verdict;
            }
            if !on_path.insert(key) {
                // A circle of links never reaches a root.
                break false;
            }
            path.push(key);
            match self.run(key).map(|run| run.link) {
                Some(Link::Root(is_root)) => break is_root,
                Some(Link::Through(next)) => current = next,
                Some(Link::Unknown) | None => break false,
            }
        };
        for key in path {
            self.verdicts.insert(key, verdict);
        }
        verdict
    }

    /// Whether every clock of `client` in `clock..end` is an item under the root.
    fn covers(&mut self, client: u64, mut clock: u32, end: u32) -> bool {
        while clock < end {
            let Some(key) = self.locate((client, clock)) else {
                return false;
            };
            let Some(run_end) = self.run(key).map(|run| run.end) else {
                return false;
            };
            if !self.within((client, clock)) {
                return false;
            }
            clock = run_end;
        }
        true
    }
}

fn outside(root: &str, what: &str) -> ProtocolError {
    ProtocolError::OutsideScope(format!("{what} outside the root `{root}`"))
}

/// Check that `update` only inserts and deletes items under the root type `root` of the
/// document of `txn` (see the module's documentation). `Err(ProtocolError::OutsideScope)` names
/// what reaches outside; other errors are the walk's (a malformed update).
pub fn check_within_root<T: ReadTxn>(
    txn: &T,
    update: &[u8],
    root: &str,
) -> Result<(), ProtocolError> {
    let known = txn.state_vector();
    let have = |client: u64| known.get(&yrs::ClientID::new(client));

    let mut ancestry = Ancestry {
        document: Runs::default(),
        update: Runs::default(),
        verdicts: HashMap::new(),
    };
    let state = txn.encode_state_as_update_v1(&StateVector::default());
    walk_update_v1(&state, |block| {
        if block.kind != BlockKind::Skip {
            ancestry.document.push(
                block.client,
                Run {
                    clock: block.clock,
                    end: block.end,
                    link: link_of(block.kind, root),
                },
            );
        }
        Ok(())
    })
    .map_err(|error| ProtocolError::InvalidUpdate(format!("re-reading our own state: {error}")))?;

    // What the update adds (as yrs trims it) and each id it builds on; checked once the whole
    // update is indexed, since an item may build on one listed after it.
    let mut added: Vec<(Id, [Option<Id>; 4])> = Vec::new();
    let mut deletions = Vec::new();
    walk_update_v1_with_deletions(
        update,
        |block| {
            match block.kind {
                BlockKind::Skip => return Ok(()),
                BlockKind::Gc => {
                    return Err(outside(root, "garbage-collected content"));
                }
                BlockKind::Item {
                    origin,
                    right_origin,
                    names_parent,
                } => {
                    ancestry.update.push(
                        block.client,
                        Run {
                            clock: block.clock,
                            end: block.end,
                            link: link_of(block.kind, root),
                        },
                    );
                    let have = have(block.client);
                    if block.end <= have {
                        // yrs drops what the document already has.
                        return Ok(());
                    }
                    let named = match names_parent {
                        Some((Parent::Nested(holder), _)) => Some(holder),
                        _ => None,
                    };
                    // A trimmed item continues after the clock before what the document lacks.
                    let trimmed_after = (block.clock < have).then(|| (block.client, have - 1));
                    added.push((
                        (block.client, block.clock),
                        [origin, right_origin, named, trimmed_after],
                    ));
                }
            }
            Ok(())
        },
        |deletion| {
            deletions.push(deletion);
            Ok(())
        },
    )?;

    for (id, builds_on) in added {
        if !ancestry.within(id) {
            return Err(outside(root, "an insertion"));
        }
        for neighbour in builds_on.into_iter().flatten() {
            if !ancestry.within(neighbour) {
                return Err(outside(root, "an insertion next to content"));
            }
        }
    }
    for deletion in deletions {
        if !ancestry.covers(deletion.client, deletion.clock, deletion.end) {
            return Err(outside(root, "a deletion"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::types::xml::XmlFragment;
    use yrs::updates::decoder::Decode;
    use yrs::{
        Any, Array, ArrayPrelim, Doc, Map, MapPrelim, Options, Text, Transact, Update,
        XmlTextPrelim,
    };

    fn draft_doc(client: u64) -> Doc {
        let doc = Doc::with_options(Options {
            client_id: yrs::ClientID::new(client),
            skip_gc: true,
            ..Options::default()
        });
        // The roots exist before any transaction (get_or_insert inside one would deadlock).
        doc.get_or_insert_xml_fragment("default");
        doc.get_or_insert_map("comments");
        doc.get_or_insert_map("meta");
        doc
    }

    /// An owner's draft with a paragraph and one comment thread; a commenter's copy of it.
    fn draft_and_commenter() -> (Doc, Doc) {
        let owner = draft_doc(1);
        {
            let body = owner.get_or_insert_xml_fragment("default");
            let comments = owner.get_or_insert_map("comments");
            let mut txn = owner.transact_mut();
            let text = body.push_back(&mut txn, XmlTextPrelim::new("The Seller shall deliver."));
            text.insert(&mut txn, 0, "Clause 1. ");
            let thread = comments.insert(&mut txn, "t1", MapPrelim::default());
            thread.insert(&mut txn, "body", "Is delivery enough?");
            thread.insert(&mut txn, "replies", ArrayPrelim::default());
        }
        let commenter = draft_doc(2);
        sync(&owner, &commenter);
        (owner, commenter)
    }

    fn sync(from: &Doc, to: &Doc) {
        let update = from
            .transact()
            .encode_state_as_update_v1(&to.transact().state_vector());
        to.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    }

    fn change(doc: &Doc, edit: impl FnOnce(&mut yrs::TransactionMut<'_>)) -> Vec<u8> {
        let mut txn = doc.transact_mut();
        edit(&mut txn);
        txn.encode_update_v1()
    }

    fn check(server: &Doc, update: &[u8]) -> Result<(), ProtocolError> {
        check_within_root(&server.transact(), update, "comments")
    }

    /// Check, and apply what passes (as the server does).
    fn admit(server: &Doc, update: &[u8]) -> Result<(), ProtocolError> {
        check(server, update)?;
        server
            .transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
        Ok(())
    }

    fn thread(txn: &yrs::TransactionMut<'_>) -> yrs::MapRef {
        match txn.get_map("comments").unwrap().get(txn, "t1") {
            Some(yrs::Out::YMap(map)) => map,
            other => panic!("no thread: {other:?}"),
        }
    }

    #[test]
    fn a_new_thread_a_reply_and_a_resolution_pass() {
        let (server, commenter) = draft_and_commenter();
        let new_thread = change(&commenter, |txn| {
            let comments = txn.get_map("comments").unwrap();
            let thread = comments.insert(txn, "t2", MapPrelim::default());
            thread.insert(txn, "body", "Why?");
            thread.insert(txn, "replies", ArrayPrelim::default());
        });
        admit(&server, &new_thread).unwrap();
        let reply = change(&commenter, |txn| {
            let thread = thread(txn);
            let Some(yrs::Out::YArray(replies)) = thread.get(txn, "replies") else {
                panic!("no replies");
            };
            let reply = replies.push_back(txn, MapPrelim::default());
            reply.insert(txn, "body", "Because.");
            thread.insert(txn, "resolved", true);
        });
        admit(&server, &reply).unwrap();
        // A reply in the same update as its thread.
        let both = change(&commenter, |txn| {
            let comments = txn.get_map("comments").unwrap();
            let thread = comments.insert(txn, "t3", MapPrelim::default());
            let replies = thread.insert(txn, "replies", ArrayPrelim::default());
            replies.push_back(txn, Any::from("first"));
        });
        admit(&server, &both).unwrap();
        let delete = change(&commenter, |txn| {
            txn.get_map("comments").unwrap().remove(txn, "t1");
        });
        admit(&server, &delete).unwrap();
    }

    #[test]
    fn a_body_edit_is_refused_alone_or_beside_a_comment() {
        let (server, commenter) = draft_and_commenter();
        let body_only = change(&commenter, |txn| {
            let body = txn.get_xml_fragment("default").unwrap();
            body.push_back(txn, XmlTextPrelim::new("Sneaked in."));
        });
        assert_eq!(
            check(&server, &body_only).unwrap_err().code(),
            "outside_scope"
        );
        let sneaked = change(&commenter, |txn| {
            txn.get_map("comments")
                .unwrap()
                .insert(txn, "t9", "harmless");
            let Some(yrs::XmlOut::Text(text)) =
                txn.get_xml_fragment("default").unwrap().get(txn, 0)
            else {
                panic!("no paragraph");
            };
            text.insert(txn, 0, "NOT ");
        });
        assert_eq!(
            check(&server, &sneaked).unwrap_err().code(),
            "outside_scope"
        );
        let deletion = change(&commenter, |txn| {
            let Some(yrs::XmlOut::Text(text)) =
                txn.get_xml_fragment("default").unwrap().get(txn, 0)
            else {
                panic!("no paragraph");
            };
            text.remove_range(txn, 0, 3);
        });
        assert_eq!(
            check(&server, &deletion).unwrap_err().code(),
            "outside_scope"
        );
        let meta = change(&commenter, |txn| {
            txn.get_map("meta").unwrap().insert(txn, "title", "Mine");
        });
        assert_eq!(check(&server, &meta).unwrap_err().code(), "outside_scope");
    }

    #[test]
    fn deleting_clocks_nobody_has_is_refused() {
        let (server, _) = draft_and_commenter();
        // Client 1 (the owner) has written clocks below ~40; delete 1000..2000 ahead of time.
        let mut writer = crate::lib0::Writer::new();
        writer.write_var_uint(0); // no clients
        writer.write_var_uint(1); // one delete-set client
        writer.write_var_uint(1);
        writer.write_var_uint(1); // one range
        writer.write_var_uint(1000);
        writer.write_var_uint(1000);
        let update = writer.into_vec();
        assert_eq!(check(&server, &update).unwrap_err().code(), "outside_scope");
    }

    #[test]
    fn an_item_placed_in_the_body_by_its_origin_is_refused() {
        let (server, commenter) = draft_and_commenter();
        // Text appended to the body paragraph is placed by its origin, naming no parent.
        let appended = change(&commenter, |txn| {
            let Some(yrs::XmlOut::Text(text)) =
                txn.get_xml_fragment("default").unwrap().get(txn, 0)
            else {
                panic!("no paragraph");
            };
            let end = text.len(txn);
            text.insert(txn, end, " Promptly.");
        });
        assert!(check(&server, &appended).is_err());
    }
}
