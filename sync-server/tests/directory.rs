//! The firm directory: people are recorded from their verified tokens when they authenticate
//! (REST and the sync socket), a firm sees only its own people, member lists carry names, and
//! a changed name in the token replaces the old one without rewriting unchanged rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use sync_server::auth::{DevAuth, DevToken};

const OTHER_FIRM: &str = "firm-globex";

fn named_token(user: &str, firm: &str, name: Option<&str>, email: Option<&str>) -> String {
    DevAuth::new(SECRET)
        .mint_token(&DevToken {
            user,
            firm,
            name,
            email,
            ttl_secs: 3600,
            ..DevToken::default()
        })
        .unwrap()
}

async fn get_json(server: &sync_server::app::Running, path: &str, token: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://{}{path}", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// Records the token's holder (any recorded REST route does).
async fn sign_in(server: &sync_server::app::Running, token: &str) {
    get_json(server, "/api/v1/cases", token).await;
}

fn ids(people: &Value) -> Vec<&str> {
    people
        .as_array()
        .unwrap()
        .iter()
        .map(|person| person["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_lists_only_the_callers_firm() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ada = named_token("ada", FIRM, Some("Ada Lovelace"), Some("ada@acme.test"));
    let ben = named_token("ben", FIRM, Some("Ben Adams"), Some("ben@acme.test"));
    let carl = named_token("carl", FIRM, None, None);
    // Globex has an Ada too, and its own people.
    let ada_g = named_token("ada-g", OTHER_FIRM, Some("Ada Lovelace"), None);
    let eve = named_token("eve", OTHER_FIRM, Some("Eve"), Some("eve@globex.test"));
    for token in [&ada, &ben, &carl, &ada_g, &eve] {
        sign_in(server, token).await;
    }

    let everyone = get_json(server, "/api/v1/directory", &ben).await;
    assert_eq!(ids(&everyone), ["ada", "ben", "carl"]);
    assert_eq!(
        everyone[0],
        json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@acme.test"})
    );
    assert_eq!(
        everyone[2],
        json!({"id": "carl", "name": null, "email": null})
    );

    // Case-insensitive, anywhere in name, email or id; those it starts with first.
    let ada_search = get_json(server, "/api/v1/directory?q=ADA", &ben).await;
    assert_eq!(
        ids(&ada_search),
        ["ada", "ben"],
        "Ada first, then Ben Adams"
    );
    let by_email = get_json(server, "/api/v1/directory?q=ben%40acme", &ada).await;
    assert_eq!(ids(&by_email), ["ben"]);
    // LIKE wildcards are literal.
    let wildcard = get_json(server, "/api/v1/directory?q=%25", &ada).await;
    assert_eq!(ids(&wildcard), Vec::<&str>::new());
    let limited = get_json(server, "/api/v1/directory?limit=1", &ada).await;
    assert_eq!(ids(&limited), ["ada"]);

    // Globex never sees Acme's people, even searching for exactly them.
    for q in ["", "ada", "Lovelace", "acme.test", "ben"] {
        let seen = get_json(server, &format!("/api/v1/directory?q={q}"), &eve).await;
        assert!(
            ids(&seen).iter().all(|id| ["ada-g", "eve"].contains(id)),
            "q={q}: {seen}"
        );
    }
    let globex = get_json(server, "/api/v1/directory?q=ada", &eve).await;
    assert_eq!(ids(&globex), ["ada-g"]);

    // Without a valid token, nothing.
    let response = reqwest::get(format!("http://{}/api/v1/directory", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let long = "x".repeat(201);
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/v1/directory?q={long}", server.addr))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lists_show_names_from_the_matters_own_firm() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ada = named_token("ada", FIRM, Some("Ada Lovelace"), Some("ada@acme.test"));
    let ben = named_token("ben", FIRM, Some("Ben Adams"), Some("ben@acme.test"));
    // Someone of another firm, whose id an owner types in.
    let zed = named_token(
        "zed",
        OTHER_FIRM,
        Some("Zed Secret"),
        Some("zed@globex.test"),
    );
    sign_in(server, &ben).await;
    sign_in(server, &zed).await;

    let doc = draft_name(&new_case());
    let mut laptop = Laptop::online(&firm.store_path("ada"), &firm.url(), &ada);
    laptop
        .write_and_sync(&doc, "Engagement letter.", Duration::from_secs(20))
        .await;
    grant(server, &ada, &doc, "ben", "editor").await;
    grant(server, &ada, &doc, "zed", "viewer").await;
    grant(server, &ada, &doc, "nobody-yet", "viewer").await;

    let members = get_json(
        server,
        &format!("/api/v1/cases/{}/members", doc.case_id()),
        &ben,
    )
    .await;
    let by_id = |id: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|member| member["user_id"] == id)
            .cloned()
            .unwrap()
    };
    // Ada was recorded by the sync socket, never by REST before this.
    assert_eq!(
        (by_id("ada")["name"].clone(), by_id("ada")["email"].clone()),
        (json!("Ada Lovelace"), json!("ada@acme.test"))
    );
    assert_eq!(by_id("ada")["role"], "owner");
    assert_eq!(
        (by_id("ben")["name"].clone(), by_id("ben")["email"].clone()),
        (json!("Ben Adams"), json!("ben@acme.test"))
    );
    // Another firm's person shows no name here, and one never seen shows none either.
    assert_eq!(
        (by_id("zed")["name"].clone(), by_id("zed")["email"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(by_id("nobody-yet")["name"], Value::Null);
    laptop.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_name_updates_the_directory_and_unchanged_ones_write_nothing() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let pool = PgPool::connect(&firm.database).await.unwrap();
    // The row version: a new one is written only when the row is updated.
    let version = |user: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT xmin::text FROM firm_directory WHERE firm_id = $1 AND user_id = $2",
            )
            .bind(FIRM)
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let user_version = || async {
        sqlx::query_scalar::<_, String>("SELECT xmin::text FROM users WHERE id = 'ada'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let entry = |people: Value| people[0].clone();

    let before = named_token("ada", FIRM, Some("Ada Byron"), Some("ada@acme.test"));
    sign_in(server, &before).await;
    let (row, user_row) = (version("ada").await, user_version().await);
    for _ in 0..3 {
        sign_in(server, &before).await;
    }
    assert_eq!(
        version("ada").await,
        row,
        "an unchanged name is not rewritten"
    );
    assert_eq!(user_version().await, user_row, "nor is the user's row");

    let after = named_token("ada", FIRM, Some("Ada Lovelace"), Some("ada@acme.test"));
    sign_in(server, &after).await;
    assert_ne!(version("ada").await, row);
    assert_eq!(
        entry(get_json(server, "/api/v1/directory", &after).await),
        json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@acme.test"})
    );
    // A token without the claims keeps what is known.
    let bare = named_token("ada", FIRM, None, None);
    sign_in(server, &bare).await;
    assert_eq!(
        entry(get_json(server, "/api/v1/directory", &bare).await)["name"],
        "Ada Lovelace"
    );

    // Over the sync socket too: a refreshed token with a new email is recorded on the open
    // connection.
    use common::raw::{connect, next, send};
    use protocol::{AuthMessage, Frame, Message};
    let doc = draft_name(&new_case());
    let mut socket = connect(&ws_url(server)).await;
    let renamed = named_token("ada", FIRM, Some("Ada Lovelace"), Some("ada@lovelace.test"));
    for token in [&after, &renamed] {
        let auth = Message::Auth(AuthMessage::Token {
            token: token.clone(),
            provider_version: None,
        });
        send(&mut socket, Frame::new(doc.as_str(), auth)).await;
        // The answer to this Auth (the server records the person before answering).
        loop {
            match next(&mut socket).await.unwrap().message {
                Message::Auth(AuthMessage::Authenticated { .. }) => break,
                Message::Auth(other) => panic!("refused: {other:?}"),
                _ => {}
            }
        }
    }
    assert_eq!(
        entry(get_json(server, "/api/v1/directory", &bare).await)["email"],
        "ada@lovelace.test"
    );
}
