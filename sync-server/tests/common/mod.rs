//! Real parts for integration tests: a fresh Postgres database per test, the real server on a
//! loopback port, real local stores (SQLCipher files) with the real sync client.
//!
//! - `firm`: a firm's service for one test (`Firm::one_instance`, `Firm::two_instances_with_redis`)
//!   and its lawyers' laptops;
//! - `laptop`: a `Laptop` (hub-local `Store` + `SyncClient` on a temporary SQLCipher file);
//! - `services`: processes of the test's own (`PrivateRedis`, `PrivatePostgres`, the sync-server
//!   binary, nginx);
//! - `raw`: the raw protocol client (also the sync bench's);
//! - here: databases, tokens, names, and the REST calls tests make.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod firm;
mod laptop;
pub mod raw;
mod services;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use firm::Firm;
#[allow(unused_imports)]
pub use laptop::{Laptop, open_store};
#[allow(unused_imports)]
pub use services::{ChildProcess, PrivatePostgres, PrivateRedis, nginx, sync_server_command};

use std::time::Duration;

use local::{DocName, Store};
use sqlx::PgPool;
use sync_server::app::{self, Running};
use sync_server::config::{DatabaseSettings, DevSecret, Environment, ServeSettings};
use yrs::GetString;

pub const SECRET: &str = "integration-test-secret-0123456789";
pub const FIRM: &str = "firm-acme";

pub fn postgres_base() -> String {
    std::env::var("HUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("HUB_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A new, migrated database for one test.
pub async fn fresh_database() -> String {
    fresh_database_on(&postgres_base()).await
}

/// A new, migrated database on the Postgres at `base` (`postgres://user@host:port`).
pub async fn fresh_database_on(base: &str) -> String {
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPool::connect(&format!("{base}/postgres"))
        .await
        .expect("Postgres must run (scripts/test starts it)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = format!("{base}/{name}");
    let pool = PgPool::connect(&url).await.unwrap();
    sync_server::migrate::up(&pool, None).await.unwrap();
    pool.close().await;
    url
}

pub fn settings(database_url: &str, redis: Option<String>) -> ServeSettings {
    ServeSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database: DatabaseSettings {
            url: database_url.to_owned(),
            pool_size: 8,
        },
        redis_url: redis,
        environment: Environment::Development,
        dev_auth: true,
        dev_secret: DevSecret {
            value: SECRET.into(),
        },
        identity: sync_server::config::IdentitySettings::default(),
        doc_idle_secs: 60,
        compact_after: 1000,
        writers: Some(4),
        log_json: false,
        copilot: Default::default(),
        ops: Default::default(),
        limits: Default::default(),
    }
}

pub async fn start_server(database_url: &str, redis: Option<String>) -> Running {
    app::start(&settings(database_url, redis))
        .await
        .expect("server starts")
}

pub fn ws_url(running: &Running) -> String {
    format!("ws://{}/api/v1/sync", running.addr)
}

pub fn token(user: &str, firm: &str) -> String {
    sync_server::auth::DevAuth::new(SECRET)
        .mint(user, firm, 3600)
        .unwrap()
}

pub fn new_case() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn draft_name(case: &str) -> DocName {
    let case = local::CaseId::parse(case).unwrap();
    DocName::draft(&case, &uuid::Uuid::new_v4().to_string()).unwrap()
}

/// The server's durable view of a document: snapshot + every update row in Postgres.
pub async fn stored_text(database_url: &str, doc: &DocName, root: &str) -> String {
    let pool = PgPool::connect(database_url).await.unwrap();
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM documents WHERE name = $1")
        .bind(doc.as_str())
        .fetch_optional(&pool)
        .await
        .unwrap();
    let Some(id) = id else { return String::new() };
    let mut conn = pool.acquire().await.unwrap();
    let stored = sync_server::db::sync::load_document(&mut conn, id)
        .await
        .unwrap();
    text_of(&stored, root)
}

/// The text `root` of a stored history, rebuilt as the server rebuilds it.
pub fn text_of(stored: &sync_server::db::sync::StoredDocument, root: &str) -> String {
    use yrs::Transact;
    use yrs::updates::decoder::Decode;
    let state = sync_server::hub::rebuild_state(stored).unwrap();
    let ydoc = yrs::Doc::new();
    ydoc.transact_mut()
        .apply_update(yrs::Update::decode_v1(&state).unwrap())
        .unwrap();
    let text = ydoc.get_or_insert_text(root);
    let txn = ydoc.transact();
    text.get_string(&txn)
}

/// The server's id of document `name`.
pub async fn doc_id(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM documents WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Waits (up to 30 s) for compaction to fold at least `at_least` updates of document `id` into
/// its snapshot; returns how many it folded.
pub async fn updates_folded(pool: &PgPool, id: i64, at_least: i64) -> i64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let folded: Option<i64> =
            sqlx::query_scalar("SELECT updates_folded FROM doc_snapshots WHERE doc_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .unwrap();
        if let Some(folded) = folded.filter(|folded| *folded >= at_least) {
            return folded;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "document {id} was not compacted ({folded:?} updates folded)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts connections on `port` (a child process we started).
pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A check for `Laptop::wait_until`: the draft's body contains `text`.
pub fn body_contains<'a>(doc: &'a DocName, text: &'a str) -> impl Fn(&Store) -> bool + 'a {
    move |store| store.text(doc, "body").unwrap().contains(text)
}

/// Give `user` a role on the case of `doc`, through the REST API, as `owner_token`'s holder.
pub async fn grant(server: &Running, owner_token: &str, doc: &DocName, user: &str, role: &str) {
    let url = format!(
        "http://{}/api/v1/cases/{}/members/{}",
        server.addr,
        doc.case_id(),
        user
    );
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(owner_token)
        .json(&serde_json::json!({ "role": role }))
        .send()
        .await
        .expect("REST API answers");
    assert_eq!(
        response.status(),
        reqwest::StatusCode::NO_CONTENT,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// A REST call as `token`'s holder: the status and the JSON body (Null when not JSON).
pub async fn rest(
    server: &Running,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", server.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
