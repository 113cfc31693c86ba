//! Per-matter access, enforced on every sync frame and live: members and roles, ethical walls,
//! revocation across instances, the REST API and the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::*;
use common::*;
use protocol::{AuthMessage, AwarenessEntry, AwarenessUpdate, Frame, Message, SyncMessage};
use yrs::{Doc, Text, Transact};

const WAIT: Duration = Duration::from_secs(20);

fn update(doc: &Doc, text: &str) -> Vec<u8> {
    let body = doc.get_or_insert_text("body");
    let mut txn = doc.transact_mut();
    let end = body.len(&txn);
    body.insert(&mut txn, end, text);
    txn.encode_update_v1()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_but_cannot_write_and_non_members_see_nothing() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = ws_url(server);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let (ada, ben, carl) = (token("ada", FIRM), token("ben", FIRM), token("carl", FIRM));

    let ydoc = Doc::new();
    let (mut owner, answer) = open(&url, doc, &ada).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "read-write".into()
        })
    );
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "Owner's clause. "))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut owner).await.unwrap().message,
        Message::SyncStatus(true)
    );

    // Carl is in the firm but not on the matter: it does not exist for him.
    let (_, answer) = open(&url, doc, &carl).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied {
            reason: "document not found".into()
        })
    );
    let (status, body) = rest(
        server,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{}/members", name.case_id()),
        &carl,
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    // Ben becomes a viewer: readonly scope, his writes are refused, nothing is stored.
    grant(server, &ada, &name, "ben", "viewer").await;
    let (mut viewer, answer) = open(&url, doc, &ben).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "readonly".into()
        })
    );
    let sneaky = Doc::new();
    send(
        &mut viewer,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&sneaky, "viewer edit"))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut viewer).await.unwrap().message,
        Message::SyncStatus(false)
    );
    assert_eq!(firm.stored_body(&name).await, "Owner's clause. ");

    // His presence is still shared (viewers may show a cursor), and he receives edits live.
    let presence = AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: 77,
            clock: 1,
            state: r#"{"user":{"name":"Ben"}}"#.into(),
        }],
    };
    send(
        &mut viewer,
        Frame::new(doc, Message::Awareness(presence.encode())),
    )
    .await;
    loop {
        if let Message::Awareness(bytes) = next(&mut owner).await.unwrap().message
            && AwarenessUpdate::decode(&bytes)
                .unwrap()
                .entries
                .iter()
                .any(|entry| entry.state.contains("Ben"))
        {
            break;
        }
    }
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "More."))),
        ),
    )
    .await;
    loop {
        if let Message::Sync(SyncMessage::Update(_)) = next(&mut viewer).await.unwrap().message {
            break;
        }
    }

    // Only owners (and firm admins) change access.
    let (status, body) = rest(
        server,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{}/members/carl", name.case_id()),
        &ben,
        Some(serde_json::json!({"role": "editor"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, members) = rest(
        server,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{}/members", name.case_id()),
        &ben,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, vec![("ada", "owner"), ("ben", "viewer")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ethical_wall_cuts_an_open_connection_off_at_once_on_every_instance() {
    let firm = Firm::two_instances_with_redis(&redis_url()).await;
    let (first, second) = (&firm.instances[0], &firm.instances[1]);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let (ada, ben) = (token("ada", FIRM), token("ben", FIRM));
    let ydoc = Doc::new();
    let (mut owner, _) = open(&ws_url(first), doc, &ada).await;
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "Before the wall. "))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut owner).await.unwrap().message,
        Message::SyncStatus(true)
    );
    grant(first, &ada, &name, "ben", "editor").await;

    // Ben works on the other instance, with the catch-up channel open too.
    let (mut walled, answer) = open(&ws_url(second), doc, &ben).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "read-write".into()
        })
    );
    let (status, cases) = rest(second, reqwest::Method::GET, "/api/v1/cases", &ben, None).await;
    assert_eq!(status, 200);
    assert_eq!(cases.as_array().unwrap().len(), 1);

    // A conflict is found: the owner screens Ben through the first instance.
    let (status, _) = rest(
        first,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{}/screens/ben", name.case_id()),
        &ada,
        Some(serde_json::json!({"reason": "conflict: represents the opposing party"})),
    )
    .await;
    assert_eq!(status, 204);
    // Ben's open connection on the second instance is told at once...
    let denied = loop {
        match next(&mut walled).await.unwrap().message {
            Message::Auth(AuthMessage::PermissionDenied { reason }) => break reason,
            Message::Awareness(_) | Message::Sync(_) | Message::SyncStatus(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(denied, "access revoked");
    // ...and is sent nothing more: the owner writes, Ben's next frame is a denial of his own.
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "Privileged strategy."))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut owner).await.unwrap().message,
        Message::SyncStatus(true)
    );
    send(
        &mut walled,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    let after = next(&mut walled).await.unwrap().message;
    assert!(
        matches!(after, Message::Auth(AuthMessage::PermissionDenied { .. })),
        "{after:?}"
    );

    // He cannot come back, list it, or be re-added while the wall stands.
    let (_, answer) = open(&ws_url(second), doc, &ben).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied {
            reason: "document not found".into()
        })
    );
    let (_, cases) = rest(second, reqwest::Method::GET, "/api/v1/cases", &ben, None).await;
    assert!(cases.as_array().unwrap().is_empty());
    let (status, body) = rest(
        first,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{}/members/ben", name.case_id()),
        &ada,
        Some(serde_json::json!({"role": "viewer"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("screened")));

    // The audit log tells the story, without any token or document text in it.
    let (status, audit) = rest(
        first,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{}/audit", name.case_id()),
        &ada,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    for expected in [
        "case_created",
        "document_opened",
        "access_granted",
        "screen_added",
        "access_denied",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let text = audit.to_string();
    assert!(
        !text.contains(&ben) && !text.contains(&ada),
        "tokens never reach the audit log"
    );
    assert!(
        !text.contains("Privileged strategy"),
        "document contents never reach the audit log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_member_revokes_live_and_catch_up_stops_listing_the_matter() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let name = draft_name(&new_case());
    let (ada, ben) = (token("ada", FIRM), token("ben", FIRM));
    let mut owner = firm.laptop("ada");
    owner.write_and_sync(&name, "Shared with Ben. ", WAIT).await;
    grant(server, &ada, &name, "ben", "editor").await;
    let mut member = firm.laptop("ben");
    member
        .wait_until(
            "the matter via catch-up",
            WAIT,
            body_contains(&name, "Shared with Ben"),
        )
        .await;

    let (status, _) = rest(
        server,
        reqwest::Method::DELETE,
        &format!("/api/v1/cases/{}/members/ben", name.case_id()),
        &ada,
        None,
    )
    .await;
    assert_eq!(status, 204);
    // Ben's laptop is told at once, and removes the matter (docs/ARCHITECTURE.md, "Matter
    // removal").
    let (case_id, reason) = member.wait_removed(WAIT).await;
    assert_eq!(
        (case_id, reason.as_str()),
        (name.case_id(), "access revoked")
    );
    owner.type_text(&name, "Not for Ben.");
    owner.wait_synced(WAIT).await;
    // A fresh catch-up from zero lists nothing of that matter for Ben.
    let mut socket = connect(&ws_url(server)).await;
    authenticate(&mut socket, protocol::HUB_CHANNEL, &ben).await;
    send(
        &mut socket,
        Frame::new(
            protocol::HUB_CHANNEL,
            Message::Stateless(protocol::HubMessage::request(0).to_json()),
        ),
    )
    .await;
    loop {
        if let Message::Stateless(text) = next(&mut socket).await.unwrap().message
            && let Ok(protocol::HubMessage::Changes(protocol::ChangesField::Reply(reply))) =
                protocol::HubMessage::parse(&text)
        {
            assert!(reply.docs.is_empty(), "{:?}", reply.docs);
            break;
        }
    }
    assert!(!member.body(&name).contains("Not for Ben"));
    // The last owner cannot be removed.
    let (status, body) = rest(
        server,
        reqwest::Method::DELETE,
        &format!("/api/v1/cases/{}/members/ada", name.case_id()),
        &ada,
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("last_owner")));
}

/// docs/openapi.json describes exactly the routes the server serves, and each of them answers
/// a documented status with the documented JSON error shape rather than "no such route".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_matches_the_routes() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "put", "delete", "post", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut served: Vec<(String, String)> = sync_server::rest::ROUTES
        .iter()
        .chain(sync_server::copilot::ROUTES)
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);

    let firm = Firm::one_instance().await;
    let server = firm.server();
    let stranger = token("zed", "firm-nobody");
    let case = new_case();
    for (method, route) in &served {
        let responses = &spec["paths"][route.as_str()][method.to_lowercase()]["responses"];
        let path = route.replace("{case}", &case).replace("{user}", "someone");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method == reqwest::Method::PUT).then(|| serde_json::json!({"role": "viewer"}));
        let (status, error) = rest(server, method.clone(), &path, &stranger, body).await;
        assert!(
            responses.get(status.to_string()).is_some(),
            "{method} {route}: {status} is not documented"
        );
        if !(200..300).contains(&status) {
            assert!(
                error["code"].is_string() && error["message"].is_string(),
                "{method} {path} answers the documented error shape: {error}"
            );
        }
        if status == 404 {
            assert_eq!(error["code"], "not_found", "{method} {path}");
        }
        let (status, error) = rest(server, method.clone(), &path, "not-a-token", None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (401, Some("unauthorized")),
            "{method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_stops_the_stream_until_the_client_authenticates_again() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = ws_url(server);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let ydoc = Doc::new();
    let (mut owner, _) = open(&url, doc, &ada).await;
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "One. "))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut owner).await.unwrap().message,
        Message::SyncStatus(true)
    );
    grant(server, &ada, &name, "ben", "editor").await;

    let short_lived = sync_server::auth::DevAuth::new(SECRET)
        .mint("ben", FIRM, 1)
        .unwrap();
    let (mut ben, answer) = open(&url, doc, &short_lived).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "read-write".into()
        })
    );
    // Let the token expire (only the clock can do that).
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "Two. "))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut owner).await.unwrap().message,
        Message::SyncStatus(true)
    );
    // Ben is asked for a new token instead of being sent the update...
    assert_eq!(
        next(&mut ben).await.unwrap().message,
        Message::Auth(AuthMessage::TokenRequest)
    );
    // ...and his own writes are refused until he re-authenticates.
    let bens = Doc::new();
    send(
        &mut ben,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&bens, "stale"))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut ben).await.unwrap().message,
        Message::Auth(AuthMessage::TokenRequest)
    );
    assert_eq!(
        next(&mut ben).await.unwrap().message,
        Message::SyncStatus(false)
    );
    assert!(!firm.stored_body(&name).await.contains("stale"));

    // A fresh token on the same socket resumes the stream.
    let answer = authenticate(&mut ben, doc, &token("ben", FIRM)).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::Authenticated {
            scope: "read-write".into()
        })
    );
    send(
        &mut owner,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&ydoc, "Three."))),
        ),
    )
    .await;
    loop {
        if let Message::Sync(SyncMessage::Update(_)) = next(&mut ben).await.unwrap().message {
            break;
        }
    }
}

/// Mints a one-second token on every call: every few frames the server finds it expired.
struct ShortLivedTokens(&'static str);

impl local::TokenSource for ShortLivedTokens {
    fn token(&self) -> Result<String, local::LocalError> {
        Ok(sync_server::auth::DevAuth::new(SECRET)
            .mint(self.0, FIRM, 1)
            .unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_tokens_keep_expiring_re_authenticates_and_misses_nothing() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let name = draft_name(&new_case());
    let ada = token("ada", FIRM);
    let mut owner = firm.laptop("ada");
    owner.write_and_sync(&name, "a0 ", WAIT).await;
    grant(server, &ada, &name, "ben", "viewer").await;

    let store = open_store(&firm.store_path("ben"));
    let (handle, mut events) = local::SyncClient::start(
        store.clone(),
        local::SyncConfig {
            url: ws_url(server),
            token: std::sync::Arc::new(ShortLivedTokens("ben")),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        },
    );
    handle.open(name.clone());
    // Edits keep coming while Ben's tokens expire every second.
    for i in 1..=6 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        owner.type_text(&name, &format!("a{i} "));
    }
    owner.wait_synced(WAIT).await;
    let expected = owner.body(&name);
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.text(&name, "body").unwrap() != expected {
        tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "Ben has {:?}, expected {expected:?}",
                    store.text(&name, "body").unwrap()
                )
            })
            .unwrap();
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_matters_are_listed_with_their_titles_and_roles() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let case = new_case();
    let record = local::DocName::case(&local::CaseId::parse(&case).unwrap());
    let ada = token("ada", FIRM);
    let mut laptop = firm.laptop("ada");
    laptop.open(&record);
    fn set_title(laptop: &Laptop, record: &local::DocName, title: &'static str) {
        laptop
            .store
            .edit(record, move |_, txn| {
                use yrs::{Map, WriteTxn};
                let map = txn.get_or_insert_map("case");
                map.insert(txn, "title", title);
            })
            .unwrap();
    }
    set_title(&laptop, &record, "Smith v. Jones (lease dispute)");
    laptop.wait_synced(WAIT).await;
    let listed = |want: &'static str| {
        let ada = ada.clone();
        async move {
            // The title is recorded right after the commit, off the write path.
            let deadline = std::time::Instant::now() + WAIT;
            loop {
                let (status, cases) =
                    rest(server, reqwest::Method::GET, "/api/v1/cases", &ada, None).await;
                assert_eq!(status, 200);
                if cases[0]["title"] == want {
                    return cases;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "title never became {want}: {cases}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let cases = listed("Smith v. Jones (lease dispute)").await;
    assert_eq!(cases[0]["id"], case.as_str());
    assert_eq!(cases[0]["role"], "owner");
    set_title(&laptop, &record, "Smith v. Jones");
    laptop.wait_synced(WAIT).await;
    listed("Smith v. Jones").await;
}
