//! Negotiating a draft across laptops through real servers: suggestions (track changes),
//! comments and versions live in the draft's CRDT (docs/DRAFT_FORMAT.md), so they are made
//! offline, merge on reconnect, survive the server's compaction and reach a laptop that joins
//! later. The laptops write the exact shapes the editor writes (y-prosemirror marks, the
//! `comments` map with `StickyIndex` anchors, the `versions` array with v1 snapshots).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use local::{DocName, Store};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encode, Encoder};
use yrs::{
    Any, Array, ArrayPrelim, Assoc, Doc, GetString, IndexedSequence, Map, MapPrelim, Options,
    ReadTxn, Snapshot, StickyIndex, Text, Transact, TransactionMut, Update, WriteTxn,
    XmlElementPrelim, XmlFragment, XmlOut, XmlTextPrelim, XmlTextRef,
};

const WAIT: Duration = Duration::from_secs(30);

/// The draft's one paragraph's text (the tests keep the body to one paragraph).
fn paragraph(txn: &TransactionMut) -> XmlTextRef {
    let fragment = txn.get_xml_fragment("default").expect("the body");
    let Some(XmlOut::Element(paragraph)) = fragment.get(txn, 0) else {
        panic!("no paragraph")
    };
    let Some(XmlOut::Text(text)) = paragraph.get(txn, 0) else {
        panic!("no text in the paragraph")
    };
    text
}

fn write_paragraph(store: &Store, doc: &DocName, text: &str) {
    store
        .edit(doc, |_, txn| {
            let fragment = txn.get_or_insert_xml_fragment("default");
            let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
            paragraph.push_back(txn, XmlTextPrelim::new(text));
        })
        .unwrap();
}

fn mark(name: &str, id: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert(
        name.into(),
        Any::from(HashMap::from([("id".to_owned(), Any::from(id))])),
    );
    attrs
}

/// A text's characters without its formatting (`get_string` renders marks as tags).
fn plain<T: ReadTxn>(txn: &T, text: &XmlTextRef) -> String {
    text.diff(txn, yrs::types::text::YChange::identity)
        .into_iter()
        .filter_map(|diff| match diff.insert {
            yrs::Out::Any(Any::String(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Where `needle` starts in the paragraph (UTF-16 units; the tests use ASCII).
fn offset_of(store: &Store, doc: &DocName, needle: &str) -> u32 {
    store
        .read(doc, |txn| {
            let fragment = txn.get_xml_fragment("default").unwrap();
            let text = fragment.get_string(txn);
            // get_string renders `<paragraph>…</paragraph>`; the paragraph's own text has no tags.
            let plain: String = text.replace("<paragraph>", "").replace("</paragraph>", "");
            plain.find(needle).map(|at| at as u32)
        })
        .unwrap()
        .unwrap_or_else(|| panic!("{needle:?} is not in the draft"))
}

/// Suggest inserting `text` at `at`, as the editor's Suggesting mode does.
fn suggest_insert(store: &Store, doc: &DocName, at: u32, text: &str, id: &str) {
    store
        .edit(doc, |_, txn| {
            let body = paragraph(txn);
            body.insert_with_attributes(txn, at, text, mark("insertion", id));
        })
        .unwrap();
}

/// Suggest deleting `len` units at `at`: the text stays, marked.
fn suggest_delete(store: &Store, doc: &DocName, at: u32, len: u32, id: &str) {
    store
        .edit(doc, |_, txn| {
            let body = paragraph(txn);
            body.format(txn, at, len, mark("deletion", id));
        })
        .unwrap();
}

/// Accept the insertion with `id`: its text stays, the mark goes.
fn accept_insertion(store: &Store, doc: &DocName, id: &str) {
    store
        .edit(doc, |_, txn| {
            let body = paragraph(txn);
            let mut at = 0;
            let mut ranges = Vec::new();
            for diff in body.diff(txn, yrs::types::text::YChange::identity) {
                let len = match &diff.insert {
                    yrs::Out::Any(Any::String(s)) => s.encode_utf16().count() as u32,
                    _ => 1,
                };
                let ours = diff.attributes.as_ref().is_some_and(|attrs| {
                    matches!(attrs.get("insertion"), Some(Any::Map(m)) if m.get("id") == Some(&Any::from(id)))
                });
                if ours {
                    ranges.push((at, len));
                }
                at += len;
            }
            let mut clear = Attrs::new();
            clear.insert("insertion".into(), Any::Null);
            for (at, len) in ranges {
                body.format(txn, at, len, clear.clone());
            }
        })
        .unwrap();
}

/// Comment on `len` units at `at`, anchored as the editor anchors (relative positions).
fn comment(
    store: &Store,
    doc: &DocName,
    at: u32,
    len: u32,
    thread: &str,
    author: &str,
    body: &str,
) {
    store
        .edit(doc, |_, txn| {
            let text = paragraph(txn);
            let from = text.sticky_index(txn, at, Assoc::After).unwrap();
            let to = text.sticky_index(txn, at + len, Assoc::Before).unwrap();
            let quote: String = plain(txn, &text)
                .chars()
                .skip(at as usize)
                .take(len as usize)
                .collect();
            let comments = txn.get_or_insert_map("comments");
            let thread_map = comments.insert(txn, thread, MapPrelim::default());
            thread_map.insert(txn, "from", Any::from(from.encode_v1()));
            thread_map.insert(txn, "to", Any::from(to.encode_v1()));
            thread_map.insert(txn, "quote", quote);
            thread_map.insert(txn, "author", author);
            thread_map.insert(txn, "authorId", author);
            thread_map.insert(txn, "created", 1_764_979_200_000_f64);
            thread_map.insert(txn, "body", body);
            thread_map.insert(txn, "resolved", false);
            thread_map.insert(txn, "replies", ArrayPrelim::default());
        })
        .unwrap();
}

/// Save a named version, as the editor's Versions panel does.
fn save_version(store: &Store, doc: &DocName, id: &str, name: &str) {
    store
        .edit(doc, |_, txn| {
            let snapshot = txn.snapshot().encode_v1();
            let versions = txn.get_or_insert_array("versions");
            let entry = Any::from(HashMap::from([
                ("id".to_owned(), Any::from(id)),
                ("name".to_owned(), Any::from(name)),
                ("kind".to_owned(), Any::from("named")),
                ("author".to_owned(), Any::from("ada")),
                ("created".to_owned(), Any::from(1_764_979_200_000_f64)),
                ("snapshot".to_owned(), Any::from(snapshot)),
            ]));
            versions.push_back(txn, entry);
        })
        .unwrap();
}

/// Whether this laptop's copy of the draft has version `id` yet.
fn has_version(store: &Store, doc: &DocName, id: &str) -> bool {
    store
        .read(doc, |txn| {
            txn.get_array("versions").is_some_and(|versions| {
                versions.iter(txn).any(|entry| {
                    matches!(entry, yrs::Out::Any(Any::Map(map)) if map.get("id") == Some(&Any::from(id)))
                })
            })
        })
        .unwrap_or(false)
}

/// The draft as it was at version `id`, rebuilt from this laptop's copy of the document.
fn text_at_version(store: &Store, doc: &DocName, id: &str) -> String {
    let update = store
        .read(doc, |txn| {
            let versions = txn.get_array("versions").expect("versions");
            let snapshot = versions
                .iter(txn)
                .find_map(|entry| match entry {
                    yrs::Out::Any(Any::Map(map)) if map.get("id") == Some(&Any::from(id)) => {
                        match map.get("snapshot") {
                            Some(Any::Buffer(bytes)) => Some(Snapshot::decode_v1(bytes).unwrap()),
                            _ => None,
                        }
                    }
                    _ => None,
                })
                .expect("the version");
            let mut encoder = yrs::updates::encoder::EncoderV1::new();
            txn.encode_state_from_snapshot(&snapshot, &mut encoder)
                .map(|()| encoder.to_vec())
        })
        .unwrap()
        .expect("the version's state can be rebuilt (GC is off for drafts)");
    let past = Doc::with_options(Options {
        skip_gc: true,
        ..Options::default()
    });
    past.transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
    let txn = past.transact();
    txn.get_xml_fragment("default").unwrap().get_string(&txn)
}

/// The draft's body as y-prosemirror XML, marks included ("" before it exists on this laptop).
fn fragment_xml(store: &Store, doc: &DocName) -> String {
    store
        .read(doc, |txn| {
            txn.get_xml_fragment("default").map(|f| f.get_string(txn))
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn thread_ids(store: &Store, doc: &DocName) -> Vec<String> {
    store
        .read(doc, |txn| {
            let mut ids: Vec<String> = txn
                .get_map("comments")
                .map(|map| map.keys(txn).map(str::to_owned).collect())
                .unwrap_or_default();
            ids.sort();
            ids
        })
        .unwrap()
}

/// Where a thread's anchors point now, as text (the comment follows its words).
fn anchored_text(store: &Store, doc: &DocName, thread: &str) -> String {
    store
        .read(doc, |txn| {
            let comments = txn.get_map("comments").unwrap();
            let Some(yrs::Out::YMap(thread)) = comments.get(txn, thread) else {
                panic!("no thread {thread}")
            };
            let anchor = |key: &str| match thread.get(txn, key) {
                Some(yrs::Out::Any(Any::Buffer(bytes))) => {
                    StickyIndex::decode_v1(&bytes)
                        .unwrap()
                        .get_offset(txn)
                        .unwrap()
                        .index
                }
                other => panic!("bad anchor {other:?}"),
            };
            let (from, to) = (anchor("from"), anchor("to"));
            let fragment = txn.get_xml_fragment("default").unwrap();
            let Some(XmlOut::Element(paragraph)) = fragment.get(txn, 0) else {
                panic!()
            };
            let Some(XmlOut::Text(text)) = paragraph.get(txn, 0) else {
                panic!()
            };
            plain(txn, &text)
                .chars()
                .skip(from as usize)
                .take((to - from) as usize)
                .collect::<String>()
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_survives_compaction_and_reaches_a_laptop_that_joins_later() {
    let firm = Firm::one_instance_with(|settings| {
        // 5 rows, or 40 updates (a burst's updates may share rows).
        settings.compact_after = 5;
        settings.doc_idle_secs = 0;
    })
    .await;
    let doc = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.open(&doc);
    write_paragraph(&ada.store, &doc, "The fee is 100 pounds.");
    save_version(&ada.store, &doc, "v1", "Sent to opposing counsel");
    // Then the draft moves on: the fee changes and many more edits make the server compact.
    ada.store
        .edit(&doc, |_, txn| {
            let body = paragraph(txn);
            body.remove_range(txn, 11, 3);
            body.insert(txn, 11, "250");
        })
        .unwrap();
    for i in 0..60 {
        ada.store
            .edit(&doc, |_, txn| {
                let body = paragraph(txn);
                let end = body.len(txn);
                body.insert(txn, end, &format!(" w{i}"));
                if i % 2 == 1 {
                    body.remove_range(txn, end - 3, 3);
                }
            })
            .unwrap();
    }
    ada.wait_synced(WAIT).await;
    let pool = sqlx::PgPool::connect(&firm.database).await.unwrap();
    updates_folded(&pool, doc_id(&pool, doc.as_str()).await, 5).await;
    // ada's own laptop still rebuilds the version (its store keeps deleted text).
    assert_eq!(
        text_at_version(&ada.store, &doc, "v1"),
        "<paragraph>The fee is 100 pounds.</paragraph>"
    );
    grant(firm.server(), &token("ada", FIRM), &doc, "ben", "editor").await;
    // ben's laptop joins after the compaction: it gets the compacted state and the version.
    let mut ben = firm.laptop("ben");
    ben.open(&doc);
    let current = fragment_xml(&ada.store, &doc);
    ben.wait_until("ada's draft", WAIT, |store| {
        fragment_xml(store, &doc) == current
    })
    .await;
    assert!(current.contains("The fee is 250 pounds."), "{current}");
    assert_eq!(
        text_at_version(&ben.store, &doc, "v1"),
        "<paragraph>The fee is 100 pounds.</paragraph>",
        "the version must be rebuildable on a laptop that joined after compaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_and_comments_made_offline_on_two_laptops_merge_across_two_instances() {
    let redis = PrivateRedis::start().await;
    let firm = Firm::two_instances_with_redis(&redis.url()).await;
    let doc = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.open(&doc);
    write_paragraph(
        &ada.store,
        &doc,
        "The Supplier shall deliver the Goods within 30 days.",
    );
    ada.wait_synced(WAIT).await;
    grant(firm.server(), &token("ada", FIRM), &doc, "ben", "editor").await;
    let mut ben = firm.laptop_on(1, "ben");
    ben.open(&doc);
    let first = fragment_xml(&ada.store, &doc);
    ben.wait_until("ada's draft", WAIT, |store| {
        store
            .read(&doc, |txn| {
                txn.get_xml_fragment("default").map(|f| f.get_string(txn))
            })
            .ok()
            .flatten()
            == Some(first.clone())
    })
    .await;

    // Both go offline (a plane, a courtroom).
    ada.disconnect().await;
    ben.disconnect().await;
    // ada suggests: "30" → "14", as a deletion plus an insertion.
    let at = offset_of(&ada.store, &doc, "30 days");
    let del = "s:1764979200000:a1:Ada Lovelace";
    let ins = "s:1764979200001:a2:Ada Lovelace";
    suggest_delete(&ada.store, &doc, at, 2, del);
    suggest_insert(&ada.store, &doc, at + 2, "14", ins);
    save_version(&ada.store, &doc, "ada-v", "Our proposal");
    // ben comments on "the Goods" and on "30 days" (which ada is changing).
    let goods = offset_of(&ben.store, &doc, "the Goods");
    comment(
        &ben.store,
        &doc,
        goods,
        9,
        "t-goods",
        "Ben",
        "Which goods? Define them.",
    );
    let days = offset_of(&ben.store, &doc, "30 days");
    comment(
        &ben.store,
        &doc,
        days,
        7,
        "t-days",
        "Ben",
        "Client wants 60.",
    );

    // Both reconnect, each to its own instance.
    ada.connect(&ws_url(&firm.instances[0]), &token("ada", FIRM));
    ada.open(&doc);
    ben.connect(&ws_url(&firm.instances[1]), &token("ben", FIRM));
    ben.open(&doc);
    let has_everything = |store: &Store| {
        let xml = fragment_xml(store, &doc);
        xml.contains("14") && thread_ids(store, &doc).len() == 2
    };
    ada.wait_until("ben's comments", WAIT, has_everything).await;
    // ada's offline changes arrive as several updates: her version may come after her text.
    ben.wait_until("ada's suggestions and version", WAIT, |store| {
        has_everything(store) && has_version(store, &doc, "ada-v")
    })
    .await;
    let ada_view = fragment_xml(&ada.store, &doc);
    assert_eq!(
        ada_view,
        fragment_xml(&ben.store, &doc),
        "the laptops converge"
    );
    assert!(
        ada_view.contains(del) && ada_view.contains(ins),
        "both suggestion marks: {ada_view}"
    );
    assert_eq!(thread_ids(&ada.store, &doc), vec!["t-days", "t-goods"]);
    // The comments still point at their words after ada's concurrent suggestion.
    assert_eq!(anchored_text(&ada.store, &doc, "t-goods"), "the Goods");
    assert!(anchored_text(&ada.store, &doc, "t-days").starts_with("30"));
    // ada's version reached ben, and he can open it.
    assert!(text_at_version(&ben.store, &doc, "ada-v").contains("14"));

    // ben accepts ada's insertion; ada sees it accepted (the mark gone, the text kept).
    accept_insertion(&ben.store, &doc, ins);
    ada.wait_until("ben's acceptance", WAIT, |store| {
        let xml = fragment_xml(store, &doc);
        xml.contains("14") && !xml.contains(ins)
    })
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(
        fragment_xml(&ada.store, &doc),
        fragment_xml(&ben.store, &doc)
    );
}
