//! Ethical walls with no gaps: every routing key of a socket, every instance, every path to the
//! database; screened administrators; the last owner; an audit log nobody can pollute or
//! rewrite; new members who get the whole matter. Each test here is an attack (or a loss) that
//! worked before its fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::*;
use common::*;
use protocol::{AuthMessage, Frame, HubMessage, Message, SyncMessage};
use sqlx::PgPool;
use yrs::{Doc, Text, Transact};

const WAIT: Duration = Duration::from_secs(20);
const SECOND_KEY: &str = "\0second-provider";

fn update(doc: &Doc, text: &str) -> Vec<u8> {
    let body = doc.get_or_insert_text("body");
    let mut txn = doc.transact_mut();
    let end = body.len(&txn);
    body.insert(&mut txn, end, text);
    txn.encode_update_v1()
}

/// Write `text` as the owner and wait for its ack.
async fn write(socket: &mut Socket, key: &str, ydoc: &Doc, text: &str) {
    send(
        socket,
        Frame::new(key, Message::Sync(SyncMessage::Update(update(ydoc, text)))),
    )
    .await;
    loop {
        let frame = next(socket).await.unwrap();
        if frame.doc == key && frame.message == Message::SyncStatus(true) {
            return;
        }
    }
}

/// Authenticate `key` on an open socket and finish its first sync (frames of other keys that
/// arrive meanwhile are skipped).
async fn open_key(socket: &mut Socket, key: &str, token: &str) -> Message {
    send(
        socket,
        Frame::new(
            key,
            Message::Auth(AuthMessage::Token {
                token: token.into(),
                provider_version: None,
            }),
        ),
    )
    .await;
    let answer = loop {
        let frame = next(socket).await.unwrap();
        if frame.doc == key && matches!(frame.message, Message::Auth(_)) {
            break frame.message;
        }
    };
    if matches!(answer, Message::Auth(AuthMessage::Authenticated { .. })) {
        send(
            socket,
            Frame::new(key, Message::Sync(SyncMessage::Step1(vec![0]))),
        )
        .await;
        loop {
            let frame = next(socket).await.unwrap();
            if frame.doc == key && matches!(frame.message, Message::Sync(SyncMessage::Step1(_))) {
                break;
            }
        }
    }
    answer
}

/// The next frame on `key` (frames of other keys are skipped), or None when the socket closes.
async fn next_on(socket: &mut Socket, key: &str) -> Option<Message> {
    loop {
        match next(socket).await {
            Ok(frame) if frame.doc == key => return Some(frame.message),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

fn is_denied(message: &Message) -> bool {
    matches!(message, Message::Auth(AuthMessage::PermissionDenied { .. }))
}

async fn pool(db: &str) -> PgPool {
    PgPool::connect(db).await.unwrap()
}

/// Start a case as `owner` (ada) with some text, and give `ben` the role.
async fn matter_with(
    server: &sync_server::app::Running,
    ben_role: &str,
) -> (local::DocName, Socket, Doc) {
    let name = draft_name(&new_case());
    let ada = token("ada", FIRM);
    let ydoc = Doc::new();
    let (mut owner, _) = open(&ws_url(server), name.as_str(), &ada).await;
    write(&mut owner, name.as_str(), &ydoc, "Before the wall. ").await;
    grant(server, &ada, &name, "ben", ben_role).await;
    (name, owner, ydoc)
}

async fn screen(server: &sync_server::app::Running, by: &str, case_id: &str, user: &str) -> u16 {
    rest(
        server,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{case_id}/screens/{user}"),
        by,
        Some(serde_json::json!({"reason": "conflict"})),
    )
    .await
    .0
}

// ---- 1. Several routing keys on one socket ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_cuts_off_every_routing_key_of_a_socket() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (name, mut owner, ydoc) = matter_with(server, "editor").await;
    let doc = name.as_str();
    let second = format!("{doc}{SECOND_KEY}");
    let ben = token("ben", FIRM);
    let mut socket = connect(&ws_url(server)).await;
    assert!(matches!(
        open_key(&mut socket, doc, &ben).await,
        Message::Auth(AuthMessage::Authenticated { .. })
    ));
    assert!(matches!(
        open_key(&mut socket, &second, &ben).await,
        Message::Auth(AuthMessage::Authenticated { .. })
    ));

    assert_eq!(
        screen(server, &token("ada", FIRM), name.case_id().as_str(), "ben").await,
        204
    );
    write(&mut owner, doc, &ydoc, "Privileged strategy. ").await;

    // The first key (registered before the second) must be as dead as the second: a Step1 on it
    // is denied, never answered with the matter's content.
    send(
        &mut socket,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    loop {
        let message = next_on(&mut socket, doc).await.expect("socket stays open");
        if let Message::Sync(SyncMessage::Step2(bytes) | SyncMessage::Update(bytes)) = &message {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains("Privileged"),
                "the walled lawyer read the matter on his first routing key"
            );
            panic!("the walled lawyer was served sync data on his first routing key");
        }
        if is_denied(&message) {
            break;
        }
    }
    // Writes on it are refused and never stored.
    let mine = Doc::new();
    send(
        &mut socket,
        Frame::new(
            doc,
            Message::Sync(SyncMessage::Update(update(&mine, "Walled write."))),
        ),
    )
    .await;
    let answer = next_on(&mut socket, doc).await.expect("answered");
    assert_ne!(
        answer,
        Message::SyncStatus(true),
        "a walled write was acked"
    );
    // Re-sending a token on the first key does not renew anything.
    send(
        &mut socket,
        Frame::new(
            doc,
            Message::Auth(AuthMessage::Token {
                token: ben.clone(),
                provider_version: None,
            }),
        ),
    )
    .await;
    loop {
        let message = next_on(&mut socket, doc).await.expect("answered");
        assert!(
            !matches!(message, Message::Auth(AuthMessage::Authenticated { .. })),
            "re-authentication renewed a revoked key"
        );
        if is_denied(&message) {
            break;
        }
    }
    let stored = stored_text(db, &name, "body").await;
    assert!(!stored.contains("Walled write"), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_routing_keys_of_a_socket_receive_broadcasts_and_awareness() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let (name, mut owner, ydoc) = matter_with(server, "editor").await;
    let doc = name.as_str();
    let second = format!("{doc}{SECOND_KEY}");
    let ben = token("ben", FIRM);
    let mut socket = connect(&ws_url(server)).await;
    open_key(&mut socket, doc, &ben).await;
    open_key(&mut socket, &second, &ben).await;
    write(&mut owner, doc, &ydoc, "For both keys.").await;
    let mut seen = (false, false);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(seen.0 && seen.1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "updates reached {seen:?}"
        );
        let frame = next(&mut socket).await.unwrap();
        if let Message::Sync(SyncMessage::Update(_)) = frame.message {
            if frame.doc == doc {
                seen.0 = true;
            } else if frame.doc == second {
                seen.1 = true;
            }
        }
    }
    // A demotion reaches both keys: neither may write any more.
    grant(server, &token("ada", FIRM), &name, "ben", "viewer").await;
    for key in [doc, second.as_str()] {
        let mine = Doc::new();
        send(
            &mut socket,
            Frame::new(
                key,
                Message::Sync(SyncMessage::Update(update(&mine, "viewer write"))),
            ),
        )
        .await;
        loop {
            match next_on(&mut socket, key).await.expect("answered") {
                Message::SyncStatus(ok) => {
                    assert!(!ok, "a demoted key ({key:?}) still writes");
                    break;
                }
                _ => continue,
            }
        }
    }
}

// ---- 2. A revocation is never lost -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_written_straight_into_postgres_reaches_open_connections() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (name, _owner, _) = matter_with(server, "editor").await;
    let (mut walled, _) = open(&ws_url(server), name.as_str(), &token("ben", FIRM)).await;
    // Another instance, an admin tool or a restore changes access without this instance's
    // REST handler: the database itself announces it.
    let db_pool = pool(db).await;
    sqlx::query("INSERT INTO screens (case_id, user_id, reason, added_by) VALUES ($1::uuid, 'ben', 'sql', 'dba')")
        .bind(name.case_id().to_string())
        .execute(&db_pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM case_members WHERE case_id = $1::uuid AND user_id = 'ben'")
        .bind(name.case_id().to_string())
        .execute(&db_pool)
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(WAIT, next_on(&mut walled, name.as_str()))
            .await
            .expect("the wall arrives")
            .expect("socket open");
        if is_denied(&message) {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_added_while_the_redis_subscriber_is_cut_still_reaches_the_other_instance() {
    let redis = PrivateRedis::start().await;
    let firm = Firm::two_instances_with_redis(&redis.url()).await;
    let (first, second) = (&firm.instances[0], &firm.instances[1]);
    let (name, _owner, _) = matter_with(first, "editor").await;
    let (mut walled, _) = open(&ws_url(second), name.as_str(), &token("ben", FIRM)).await;
    // Cut every subscriber (both instances'), then wall Ben off through the first instance
    // before they are back.
    redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert_eq!(
        screen(first, &token("ada", FIRM), name.case_id().as_str(), "ben").await,
        204
    );
    loop {
        let message = tokio::time::timeout(WAIT, next_on(&mut walled, name.as_str()))
            .await
            .expect("the wall arrives on the other instance")
            .expect("socket open");
        if is_denied(&message) {
            break;
        }
    }
}

// ---- 3. Screened firm admins, self-lifting, the last owner --------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screened_firm_admin_reads_nothing_of_the_matter() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (name, _owner, _) = matter_with(server, "viewer").await;
    let case = name.case_id().to_string();
    let admin = sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role("root", FIRM, Some("admin"), 3600)
        .unwrap();
    // Before the wall the admin manages the matter.
    let (status, _) = rest(
        server,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{case}/members"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let db_pool = pool(db).await;
    sqlx::query(
        "INSERT INTO copilot_usage (firm_id, user_id, case_id, action, model, latency_ms, outcome)
         VALUES ($1, 'ada', $2::uuid, 'rewrite', 'm', 5, 'ok')",
    )
    .bind(FIRM)
    .bind(&case)
    .execute(&db_pool)
    .await
    .unwrap();
    assert_eq!(
        screen(server, &token("ada", FIRM), &case, "root").await,
        204
    );
    for path in ["members", "screens", "audit"] {
        let (status, body) = rest(
            server,
            reqwest::Method::GET,
            &format!("/api/v1/cases/{case}/{path}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(status, 404, "a screened admin read {path}: {body}");
    }
    let (status, usage) = rest(
        server,
        reqwest::Method::GET,
        "/api/v1/copilot/usage",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{usage}");
    assert!(
        !usage.to_string().contains(&case),
        "a screened admin read the matter's copilot usage: {usage}"
    );
    assert_eq!(usage["totals"]["calls"], 0, "{usage}");
    // Nobody lifts their own wall.
    let (status, _) = rest(
        server,
        reqwest::Method::DELETE,
        &format!("/api/v1/cases/{case}/screens/root"),
        &admin,
        None,
    )
    .await;
    assert!(status == 404 || status == 409, "{status}");
    let walls: i64 = sqlx::query_scalar("SELECT count(*) FROM screens WHERE user_id = 'root'")
        .fetch_one(&db_pool)
        .await
        .unwrap();
    assert_eq!(walls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matter_always_keeps_an_owner_even_under_concurrent_changes() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (name, _owner, _) = matter_with(server, "editor").await;
    let case = name.case_id().to_string();
    let admin = sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role("root", FIRM, Some("admin"), 3600)
        .unwrap();
    // Demoting or screening the only owner is refused.
    let (status, body) = rest(
        server,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{case}/members/ada"),
        &admin,
        Some(serde_json::json!({"role": "editor"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("last_owner")));
    assert_eq!(screen(server, &admin, &case, "ada").await, 409);
    // Two owners demoting each other at the same moment leave one owner, every time.
    let db_pool = pool(db).await;
    for _ in 0..10 {
        grant(server, &token("ada", FIRM), &name, "ben", "owner").await;
        let demote = |by: &'static str, whom: &'static str| {
            let server_addr = server.addr;
            let case = case.clone();
            async move {
                reqwest::Client::new()
                    .put(format!(
                        "http://{server_addr}/api/v1/cases/{case}/members/{whom}"
                    ))
                    .bearer_auth(token(by, FIRM))
                    .json(&serde_json::json!({"role": "editor"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (a, b) = tokio::join!(demote("ada", "ben"), demote("ben", "ada"));
        let owners: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM case_members WHERE case_id = $1::uuid AND role = 'owner'",
        )
        .bind(&case)
        .fetch_one(&db_pool)
        .await
        .unwrap();
        assert!(owners >= 1, "no owner left ({a}, {b})");
        // Put both back as owners for the next round (whoever is still owner grants).
        let remaining: String = sqlx::query_scalar(
            "SELECT user_id FROM case_members WHERE case_id = $1::uuid AND role = 'owner' LIMIT 1",
        )
        .bind(&case)
        .fetch_one(&db_pool)
        .await
        .unwrap();
        grant(server, &token(&remaining, FIRM), &name, "ada", "owner").await;
    }
}

// ---- 4. Audit that cannot be polluted or rewritten ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_firm_cannot_write_into_a_matters_audit_log() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (name, _owner, _) = matter_with(server, "editor").await;
    let (_, answer) = open(
        &ws_url(server),
        name.as_str(),
        &token("mallory", "firm-evil"),
    )
    .await;
    assert!(is_denied(&answer));
    let (_, audit) = rest(
        server,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{}/audit", name.case_id()),
        &token("ada", FIRM),
        None,
    )
    .await;
    assert!(
        !audit.to_string().contains("mallory"),
        "another firm's user wrote into the matter's audit log: {audit}"
    );
    // The refusal is still recorded, in the firm-less security log.
    let db_pool = pool(db).await;
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM security_log WHERE user_id = 'mallory' AND action = 'access_denied'",
    )
    .fetch_one(&db_pool)
    .await
    .unwrap();
    assert_eq!(logged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_keeps_the_audit_log_append_only() {
    let firm = Firm::one_instance().await;
    let (db, server) = (&firm.database, firm.server());
    let (_name, _owner, _) = matter_with(server, "editor").await;
    let db_pool = pool(db).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db_pool)
        .await
        .unwrap();
    assert!(rows > 0);
    sqlx::query("INSERT INTO security_log (claimed_firm, user_id, action) VALUES ('f', 'u', 'access_denied')")
        .execute(&db_pool)
        .await
        .unwrap();
    for statement in [
        "UPDATE audit_log SET action = 'nothing_happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE security_log SET action = 'nothing_happened'",
        "DELETE FROM security_log",
    ] {
        let result = sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&db_pool)
            .await;
        assert!(result.is_err(), "{statement} was allowed");
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db_pool)
        .await
        .unwrap();
    assert_eq!(after, rows);
}

// ---- 13. New members get everything --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_catches_up_on_the_whole_matter() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ada = token("ada", FIRM);
    let ben = token("ben", FIRM);
    let case = new_case();
    let drafts: Vec<local::DocName> = (0..3).map(|_| draft_name(&case)).collect();
    for draft in &drafts {
        let ydoc = Doc::new();
        let (mut socket, _) = open(&ws_url(server), draft.as_str(), &ada).await;
        write(&mut socket, draft.as_str(), &ydoc, "Existing draft.").await;
    }
    // Ben is up to date with his firm before he joins the matter.
    let mut hub = connect(&ws_url(server)).await;
    authenticate(&mut hub, protocol::HUB_CHANNEL, &ben).await;
    let ask = |since: i64| {
        Frame::new(
            protocol::HUB_CHANNEL,
            Message::Stateless(format!(r#"{{"type":"changes","since":{since}}}"#)),
        )
    };
    send(&mut hub, ask(0)).await;
    let cursor = loop {
        if let Message::Stateless(text) = next(&mut hub).await.unwrap().message
            && let Ok(HubMessage::Changes(protocol::ChangesField::Reply(reply))) =
                HubMessage::parse(&text)
        {
            assert!(reply.docs.is_empty());
            break reply.cursor;
        }
    };
    grant(server, &ada, &drafts[0], "ben", "viewer").await;
    send(&mut hub, ask(cursor)).await;
    let docs = loop {
        if let Message::Stateless(text) = next(&mut hub).await.unwrap().message
            && let Ok(HubMessage::Changes(protocol::ChangesField::Reply(reply))) =
                HubMessage::parse(&text)
        {
            break reply.docs;
        }
    };
    for draft in &drafts {
        assert!(
            docs.iter().any(|doc| doc == draft.as_str()),
            "{draft} missing from the new member's catch-up: {docs:?}"
        );
    }
}

// ---- 5. The catch-up channel honours token expiry ------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catch_up_channel_serves_nothing_on_an_expired_token() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let short = sync_server::auth::DevAuth::new(SECRET)
        .mint("ada", FIRM, 2)
        .unwrap();
    let mut hub = connect(&ws_url(server)).await;
    assert!(matches!(
        authenticate(&mut hub, protocol::HUB_CHANNEL, &short).await,
        Message::Auth(AuthMessage::Authenticated { .. })
    ));
    // The token runs out (its expiry is a time, so this test waits for it).
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    send(
        &mut hub,
        Frame::new(
            protocol::HUB_CHANNEL,
            Message::Stateless(HubMessage::request(0).to_json()),
        ),
    )
    .await;
    let answer = next(&mut hub).await.unwrap().message;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::TokenRequest),
        "an expired token was served the firm's changes"
    );
    // A fresh token on the same socket resumes the channel.
    assert!(matches!(
        authenticate(&mut hub, protocol::HUB_CHANNEL, &token("ada", FIRM)).await,
        Message::Auth(AuthMessage::Authenticated { .. })
    ));
    send(
        &mut hub,
        Frame::new(
            protocol::HUB_CHANNEL,
            Message::Stateless(HubMessage::request(0).to_json()),
        ),
    )
    .await;
    let Message::Stateless(text) = next(&mut hub).await.unwrap().message else {
        panic!("no catch-up answer after re-authenticating");
    };
    assert!(matches!(
        HubMessage::parse(&text),
        Ok(HubMessage::Changes(protocol::ChangesField::Reply(_)))
    ));
}
