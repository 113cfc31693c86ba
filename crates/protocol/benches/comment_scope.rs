//! What the server pays to check a commenter's update against a draft
//! (`check_within_root`): it walks the draft's whole encoding, so the cost grows with the draft.
//!
//! ```sh
//! cargo bench -p hub-protocol --bench comment_scope
//! ```
//!
//! Drafts of 10, 100 and 400 pages (≈3,000 characters a page, typed in 40-character edits by two
//! authors with 10% deleted again, GC off as on the server), 50 comment threads; the update
//! checked is one reply to a thread. Median of 50 runs after 5 warm-ups.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use yrs::types::xml::XmlFragment;
use yrs::{
    Array, ArrayPrelim, Doc, Map, MapPrelim, Options, ReadTxn, Text, Transact, XmlTextPrelim,
};

fn draft(pages: usize) -> Doc {
    let doc = Doc::with_options(Options {
        client_id: yrs::ClientID::new(1),
        skip_gc: true,
        ..Options::default()
    });
    let body = doc.get_or_insert_xml_fragment("default");
    let comments = doc.get_or_insert_map("comments");
    let paragraphs = pages * 10;
    for p in 0..paragraphs {
        let mut txn = doc.transact_mut();
        let text = body.push_back(&mut txn, XmlTextPrelim::new(""));
        for edit in 0..8 {
            text.insert(&mut txn, edit * 40, "The Seller shall deliver the Goods. ");
            text.insert(&mut txn, edit * 40 + 36, "    ");
        }
        if p % 10 == 0 {
            text.remove_range(&mut txn, 0, 32);
        }
    }
    for t in 0..50 {
        let mut txn = doc.transact_mut();
        let thread = comments.insert(&mut txn, format!("t{t}"), MapPrelim::default());
        thread.insert(&mut txn, "body", "Is this enough?");
        thread.insert(&mut txn, "replies", ArrayPrelim::default());
    }
    doc
}

fn reply(server: &Doc) -> Vec<u8> {
    let commenter = Doc::with_options(Options {
        client_id: yrs::ClientID::new(2),
        skip_gc: true,
        ..Options::default()
    });
    let comments = commenter.get_or_insert_map("comments");
    let state = server
        .transact()
        .encode_state_as_update_v1(&Default::default());
    {
        use yrs::updates::decoder::Decode;
        commenter
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&state).unwrap())
            .unwrap();
    }
    let mut txn = commenter.transact_mut();
    let Some(yrs::Out::YMap(thread)) = comments.get(&txn, "t25") else {
        panic!("no thread")
    };
    let Some(yrs::Out::YArray(replies)) = thread.get(&txn, "replies") else {
        panic!("no replies")
    };
    let reply = replies.push_back(&mut txn, MapPrelim::default());
    reply.insert(&mut txn, "body", "Yes.");
    txn.encode_update_v1()
}

fn main() {
    for pages in [10, 100, 400] {
        let server = draft(pages);
        let update = reply(&server);
        let encoded = server
            .transact()
            .encode_state_as_update_v1(&Default::default())
            .len();
        let mut runs: Vec<Duration> = Vec::new();
        for round in 0..55 {
            let started = Instant::now();
            hub_protocol::check_within_root(&server.transact(), &update, "comments").unwrap();
            if round >= 5 {
                runs.push(started.elapsed());
            }
        }
        runs.sort();
        println!(
            "{pages:>4} pages ({:.1} MB encoded): median {:.2} ms, max {:.2} ms per commenter update",
            encoded as f64 / 1e6,
            runs[runs.len() / 2].as_secs_f64() * 1e3,
            runs[runs.len() - 1].as_secs_f64() * 1e3,
        );
    }
}
