//! Sharing a matter: the commenter role, checked on every frame against the draft as it is
//! (comments only: never the body, never the matter record), and who may share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::*;
use common::*;
use protocol::{AuthMessage, DocName, Frame, Message, SyncMessage};
use yrs::types::xml::XmlFragment;
use yrs::updates::decoder::Decode;
use yrs::{
    Array, ArrayPrelim, Doc, GetString, Map, MapPrelim, Options, ReadTxn, Text, Transact, Update,
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

/// A copy of `from` under another Yjs client id (a laptop that synced the draft).
fn copy_of(from: &Doc, client: u64) -> Doc {
    let copy = draft_doc(client);
    let state = from
        .transact()
        .encode_state_as_update_v1(&Default::default());
    copy.transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    copy
}

fn change(doc: &Doc, edit: impl FnOnce(&mut yrs::TransactionMut<'_>)) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    edit(&mut txn);
    txn.encode_update_v1()
}

fn first_paragraph(txn: &yrs::TransactionMut<'_>) -> yrs::XmlTextRef {
    match txn.get_xml_fragment("default").unwrap().get(txn, 0) {
        Some(yrs::XmlOut::Text(text)) => text,
        other => panic!("no paragraph: {other:?}"),
    }
}

fn thread(txn: &yrs::TransactionMut<'_>, id: &str) -> yrs::MapRef {
    match txn.get_map("comments").unwrap().get(txn, id) {
        Some(yrs::Out::YMap(map)) => map,
        other => panic!("no thread {id}: {other:?}"),
    }
}

/// The server's durable copy of a draft (snapshot + update rows).
async fn stored(firm: &Firm, doc: &DocName) -> Doc {
    let pool = sqlx::PgPool::connect(&firm.database).await.unwrap();
    let id = doc_id(&pool, doc.as_str()).await;
    let mut conn = pool.acquire().await.unwrap();
    let rows = sync_server::db::sync::load_document(&mut conn, id)
        .await
        .unwrap();
    let state = sync_server::hub::rebuild_state(&rows).unwrap();
    let ydoc = draft_doc(999);
    ydoc.transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    ydoc
}

fn body_of(doc: &Doc) -> String {
    let body = doc.get_or_insert_xml_fragment("default");
    body.get_string(&doc.transact())
}

fn threads_of(doc: &Doc) -> Vec<String> {
    let comments = doc.get_or_insert_map("comments");
    let txn = doc.transact();
    let mut keys: Vec<String> = comments.keys(&txn).map(str::to_owned).collect();
    keys.sort();
    keys
}

async fn send_update(socket: &mut Socket, doc: &str, update: Vec<u8>) -> Message {
    send(
        socket,
        Frame::new(doc, Message::Sync(SyncMessage::Update(update))),
    )
    .await;
    loop {
        let message = next(socket).await.unwrap().message;
        if let Message::SyncStatus(_) = message {
            return message;
        }
    }
}

/// Ada owns a draft with a clause and one comment thread; Ben is a commenter on it.
async fn a_draft_ben_comments_on(firm: &Firm) -> (DocName, Doc, Socket) {
    let server = firm.server();
    let name = draft_name(&new_case());
    let ada = token("ada", FIRM);
    let owner_doc = draft_doc(1);
    let (mut owner, _) = open(&ws_url(server), name.as_str(), &ada).await;
    let first = change(&owner_doc, |txn| {
        let body = txn.get_xml_fragment("default").unwrap();
        body.push_back(txn, XmlTextPrelim::new("The Seller shall deliver."));
        let comments = txn.get_map("comments").unwrap();
        let thread = comments.insert(txn, "t1", MapPrelim::default());
        thread.insert(txn, "body", "Deliver where?");
        thread.insert(txn, "replies", ArrayPrelim::default());
    });
    assert_eq!(
        send_update(&mut owner, name.as_str(), first).await,
        Message::SyncStatus(true)
    );
    grant(server, &ada, &name, "ben", "commenter").await;
    (name, owner_doc, owner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commenter_cannot_edit_the_body_alone_or_tucked_into_a_comment() {
    let firm = Firm::one_instance().await;
    let (name, owner_doc, _owner) = a_draft_ben_comments_on(&firm).await;
    let doc = name.as_str();
    let (mut ben, answer) = open(&ws_url(firm.server()), doc, &token("ben", FIRM)).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "comment".into()
        })
    );

    // The body alone.
    let attacker = copy_of(&owner_doc, 20);
    let body_edit = change(&attacker, |txn| {
        first_paragraph(txn).insert(txn, 4, "NOT ");
    });
    assert_eq!(
        send_update(&mut ben, doc, body_edit).await,
        Message::SyncStatus(false)
    );

    // A comment with a body insertion in the same update (a fresh client: the refused clocks
    // were never stored).
    let attacker = copy_of(&owner_doc, 21);
    let sneaked = change(&attacker, |txn| {
        let thread = txn
            .get_map("comments")
            .unwrap()
            .insert(txn, "t2", MapPrelim::default());
        thread.insert(txn, "body", "Looks fine.");
        first_paragraph(txn).insert(txn, 0, "Unless Ben says otherwise, ");
    });
    assert_eq!(
        send_update(&mut ben, doc, sneaked).await,
        Message::SyncStatus(false)
    );

    // Deleting body text, and the draft's title: refused too.
    let attacker = copy_of(&owner_doc, 22);
    let deletion = change(&attacker, |txn| {
        first_paragraph(txn).remove_range(txn, 0, 4);
    });
    assert_eq!(
        send_update(&mut ben, doc, deletion).await,
        Message::SyncStatus(false)
    );
    let attacker = copy_of(&owner_doc, 23);
    let title = change(&attacker, |txn| {
        txn.get_map("meta").unwrap().insert(txn, "title", "Ben's");
    });
    assert_eq!(
        send_update(&mut ben, doc, title).await,
        Message::SyncStatus(false)
    );

    let kept = stored(&firm, &name).await;
    assert_eq!(body_of(&kept), "The Seller shall deliver.");
    assert_eq!(threads_of(&kept), vec!["t1"]);
    let meta = kept.get_or_insert_map("meta");
    assert!(meta.get(&kept.transact(), "title").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commenters_comment_and_reply_are_kept_and_reach_the_others() {
    let firm = Firm::one_instance().await;
    let (name, owner_doc, mut owner) = a_draft_ben_comments_on(&firm).await;
    let doc = name.as_str();
    let (mut ben, _) = open(&ws_url(firm.server()), doc, &token("ben", FIRM)).await;

    let laptop = copy_of(&owner_doc, 30);
    let comment = change(&laptop, |txn| {
        let thread = thread(txn, "t1");
        let Some(yrs::Out::YArray(replies)) = thread.get(txn, "replies") else {
            panic!("no replies");
        };
        let reply = replies.push_back(txn, MapPrelim::default());
        reply.insert(txn, "body", "At the Buyer's warehouse.");
        thread.insert(txn, "resolved", true);
        let new_thread = txn
            .get_map("comments")
            .unwrap()
            .insert(txn, "t2", MapPrelim::default());
        new_thread.insert(txn, "body", "Define 'deliver'.");
    });
    assert_eq!(
        send_update(&mut ben, doc, comment.clone()).await,
        Message::SyncStatus(true)
    );
    // Delivered to the owner, who applies it.
    loop {
        if let Message::Sync(SyncMessage::Update(update)) = next(&mut owner).await.unwrap().message
        {
            assert_eq!(update, comment);
            owner_doc
                .transact_mut()
                .apply_update(Update::decode_v1(&update).unwrap())
                .unwrap();
            break;
        }
    }
    assert_eq!(threads_of(&owner_doc), vec!["t1", "t2"]);
    // Deleting his own thread is a comment change too.
    let delete = change(&laptop, |txn| {
        txn.get_map("comments").unwrap().remove(txn, "t2");
    });
    assert_eq!(
        send_update(&mut ben, doc, delete).await,
        Message::SyncStatus(true)
    );
    let kept = stored(&firm, &name).await;
    assert_eq!(threads_of(&kept), vec!["t1"]);
    assert_eq!(body_of(&kept), "The Seller shall deliver.");
    let comments = kept.get_or_insert_map("comments");
    let txn = kept.transact();
    let Some(yrs::Out::YMap(t1)) = comments.get(&txn, "t1") else {
        panic!("t1 kept");
    };
    let Some(yrs::Out::YArray(replies)) = t1.get(&txn, "replies") else {
        panic!("replies kept");
    };
    assert_eq!(replies.len(&txn), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matter_record_stays_read_only_for_a_commenter() {
    let firm = Firm::one_instance().await;
    let (name, _, _owner) = a_draft_ben_comments_on(&firm).await;
    let record = DocName::case(&name.case_id());
    let ada = token("ada", FIRM);
    let url = ws_url(firm.server());
    let (mut owner, _) = open(&url, record.as_str(), &ada).await;
    let owner_doc = Doc::new();
    owner_doc.get_or_insert_map("case");
    let title = change(&owner_doc, |txn| {
        txn.get_map("case").unwrap().insert(txn, "title", "Sale");
    });
    assert_eq!(
        send_update(&mut owner, record.as_str(), title).await,
        Message::SyncStatus(true)
    );
    let (mut ben, answer) = open(&url, record.as_str(), &token("ben", FIRM)).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "readonly".into()
        })
    );
    let attacker = copy_of(&owner_doc, 40);
    let comment_like = change(&attacker, |txn| {
        txn.get_map("comments").unwrap().insert(txn, "t1", "hi");
    });
    assert_eq!(
        send_update(&mut ben, record.as_str(), comment_like).await,
        Message::SyncStatus(false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_owners_and_admins_share_and_the_roles_are_listed() {
    let firm = Firm::one_instance().await;
    let (name, _, _owner) = a_draft_ben_comments_on(&firm).await;
    let server = firm.server();
    let members = format!("/api/v1/cases/{}/members", name.case_id());
    grant(server, &token("ada", FIRM), &name, "eve", "editor").await;
    for (who, role) in [("ben", "viewer"), ("eve", "owner")] {
        let (status, body) = rest(
            server,
            reqwest::Method::PUT,
            &format!("{members}/carl"),
            &token(who, FIRM),
            Some(serde_json::json!({ "role": role })),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{who}"
        );
        let (status, _) = rest(
            server,
            reqwest::Method::DELETE,
            &format!("{members}/ada"),
            &token(who, FIRM),
            None,
        )
        .await;
        assert_eq!(status, 403, "{who}");
    }
    let (status, body) = rest(
        server,
        reqwest::Method::PUT,
        &format!("{members}/carl"),
        &token("ada", FIRM),
        Some(serde_json::json!({ "role": "janitor" })),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_role")));
    let (_, listed) = rest(
        server,
        reqwest::Method::GET,
        &members,
        &token("ben", FIRM),
        None,
    )
    .await;
    let roles: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        vec![("ada", "owner"), ("ben", "commenter"), ("eve", "editor")]
    );
}

/// A matter shared with someone whose app is open appears in it at once, through either
/// instance, although none of its documents changed after their app caught up.
#[tokio::test]
async fn a_matter_shared_with_an_open_app_appears_in_it() {
    let firm = Firm::serving(fresh_database().await, 2, None).await;
    let timeout = std::time::Duration::from_secs(20);
    let mut ada = firm.laptop_on(0, "ada");
    let case = ada
        .store
        .create_case(&local::store::matter_record::CaseFields {
            title: "Shared later".into(),
            ..Default::default()
        })
        .unwrap();
    let doc = DocName::case(&case);
    ada.open(&doc);
    ada.wait_synced(timeout).await;
    // Ben's app is open on the other instance and has caught up: the matter is not his yet.
    let mut ben = firm.laptop_on(1, "ben");
    ben.wait_synced(timeout).await;
    assert!(ben.store.case(&case).is_err());

    grant(firm.server(), &token("ada", FIRM), &doc, "ben", "editor").await;
    ben.wait_until("the shared matter in Ben's app", timeout, |store| {
        store
            .case(&case)
            .is_ok_and(|matter| matter.fields.title == "Shared later")
    })
    .await;
}
