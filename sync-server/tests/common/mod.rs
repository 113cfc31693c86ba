//! Real parts for integration tests: a fresh Postgres database per test, the real server on a
//! loopback port, real local stores (SQLCipher files) with the real sync client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod raw;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use local::{
    DocName, FixedKey, StaticToken, Store, SyncClient, SyncConfig, SyncEvent, SyncHandle, SyncState,
};
use sqlx::PgPool;
use sync_server::app::{self, Running};
use sync_server::config::{DatabaseSettings, DevSecret, Environment, ServeSettings};
use tokio::sync::mpsc::UnboundedReceiver;
use yrs::{GetString, Text, WriteTxn};

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
        writers: 4,
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
    DocName::draft(case, &uuid::Uuid::new_v4().to_string()).unwrap()
}

/// A lawyer's laptop: an encrypted store on disk plus the sync client.
pub struct Laptop {
    pub store: Arc<Store>,
    pub handle: Option<SyncHandle>,
    pub events: Option<UnboundedReceiver<SyncEvent>>,
    /// The last sync state the client reported.
    pub state: SyncState,
}

pub fn open_store(path: &Path) -> Arc<Store> {
    Arc::new(Store::open(path, &FixedKey("test-key-for-integration".into())).expect("store opens"))
}

impl Laptop {
    pub fn offline(path: &Path) -> Self {
        Self {
            store: open_store(path),
            handle: None,
            events: None,
            state: SyncState::Offline,
        }
    }

    pub fn online(path: &Path, url: &str, token: &str) -> Self {
        let mut laptop = Self::offline(path);
        laptop.connect(url, token);
        laptop
    }

    pub fn connect(&mut self, url: &str, token: &str) {
        let (handle, events) = SyncClient::start(
            self.store.clone(),
            SyncConfig {
                url: url.to_owned(),
                token: Arc::new(StaticToken(token.to_owned())),
                min_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(500),
            },
        );
        self.handle = Some(handle);
        self.events = Some(events);
        self.state = SyncState::Connecting;
    }

    pub fn open(&self, doc: &DocName) {
        if let Some(handle) = &self.handle {
            handle.open(doc.clone());
        }
    }

    /// Type `text` at the end of the draft's body, as a local edit.
    pub fn type_text(&self, doc: &DocName, text: &str) {
        self.store
            .edit(doc, |_, txn| {
                let body = txn.get_or_insert_text("body");
                let end = body.len(txn);
                body.insert(txn, end, text);
            })
            .expect("local edit persists");
        if let Some(handle) = &self.handle {
            handle.local_change(doc);
        }
    }

    /// Open a document, write `text` into it and wait until the server has acked it all
    /// (the first lawyer on a matter: this also creates the case, with them as owner).
    pub async fn write_and_sync(&mut self, doc: &DocName, text: &str, timeout: Duration) {
        self.open(doc);
        self.type_text(doc, text);
        self.wait_synced(timeout).await;
    }

    pub fn body(&self, doc: &DocName) -> String {
        self.store.text(doc, "body").unwrap()
    }

    /// Wait (on events, not sleeps) until `check` holds for this laptop's store.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Store) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if check(&self.store) {
                return;
            }
            let events = self.events.as_mut().expect("online");
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Wait until the client reports Synced with an empty outbox.
    pub async fn wait_synced(&mut self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.state == SyncState::Synced && self.store.pending_count().unwrap() == 0 {
                return;
            }
            let events = self.events.as_mut().expect("online");
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped"),
                Err(_) => panic!(
                    "timed out waiting for synced (state {:?}, pending {})",
                    self.state,
                    self.store.pending_count().unwrap_or(usize::MAX)
                ),
            }
        }
    }

    /// Wait for the server to refuse a document; returns it and the reason.
    pub async fn wait_denied(&mut self, timeout: Duration) -> (DocName, String) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let events = self.events.as_mut().expect("online");
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(SyncEvent::Denied { doc, reason })) => return (doc, reason),
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped while waiting for a denial"),
                Err(_) => panic!("timed out waiting for a denial"),
            }
        }
    }

    /// Wait for the laptop to remove a matter the server refused for good; returns the case id
    /// and the server's reason.
    pub async fn wait_removed(&mut self, timeout: Duration) -> (String, String) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let events = self.events.as_mut().expect("online");
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(SyncEvent::MatterRemoved {
                    case_id, reason, ..
                })) => return (case_id, reason),
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped while waiting for a removal"),
                Err(_) => panic!("timed out waiting for the matter's removal"),
            }
        }
    }

    pub async fn disconnect(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await;
        }
        self.events = None;
        self.state = SyncState::Offline;
    }
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
    let stored = sync_server::db::load_document(&mut conn, id).await.unwrap();
    let state = sync_server::hub::rebuild_state(&stored).unwrap();
    let ydoc = yrs::Doc::new();
    {
        use yrs::Transact;
        use yrs::updates::decoder::Decode;
        let mut txn = ydoc.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(&state).unwrap())
            .unwrap();
    }
    let text = ydoc.get_or_insert_text(root);
    use yrs::Transact;
    let txn = ydoc.transact();
    text.get_string(&txn)
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

/// A private Redis for one test, so stopping or disturbing it touches nobody else.
pub struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/setup installs it)");
        wait_for_port(port, "redis").await;
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Run a redis-cli command against this Redis.
    pub fn cli(&self, args: &[&str]) {
        let status = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli {args:?}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
