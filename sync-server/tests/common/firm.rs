//! A firm's sync service for one test, as the product deploys it: a fresh database, the server
//! instances on it (joined by Redis when there are two), and a folder for the lawyers' laptops.

use std::path::PathBuf;
use std::time::Duration;

use local::DocName;
use sync_server::app::Running;
use sync_server::config::ServeSettings;

use super::{
    FIRM, Laptop, body_contains, draft_name, fresh_database, grant, new_case, settings,
    start_server, stored_text, token, ws_url,
};

pub struct Firm {
    /// The database URL every instance serves.
    pub database: String,
    /// The server instances, in this process, each on its own loopback port.
    pub instances: Vec<Running>,
    /// Where the laptops' store files go.
    pub dir: tempfile::TempDir,
}

impl Firm {
    /// One server instance on a fresh database, without Redis.
    pub async fn one_instance() -> Self {
        Self::serving(fresh_database().await, 1, None).await
    }

    /// One server instance on a fresh database, its settings (`common::settings`) changed by
    /// `configure` first: another identity provider, copilot, drain delay…
    pub async fn one_instance_with(configure: impl FnOnce(&mut ServeSettings)) -> Self {
        let database = fresh_database().await;
        let mut settings = settings(&database, None);
        configure(&mut settings);
        let running = sync_server::app::start(&settings)
            .await
            .expect("server starts with these settings");
        Self {
            database,
            instances: vec![running],
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Two server instances on one fresh database, joined by the Redis at `redis`.
    pub async fn two_instances_with_redis(redis: &str) -> Self {
        Self::serving(fresh_database().await, 2, Some(redis)).await
    }

    /// `count` server instances on the database at `database` (already migrated).
    pub async fn serving(database: String, count: usize, redis: Option<&str>) -> Self {
        let mut instances = Vec::with_capacity(count);
        for _ in 0..count {
            instances.push(start_server(&database, redis.map(str::to_owned)).await);
        }
        Self {
            database,
            instances,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The first (or only) instance.
    pub fn server(&self) -> &Running {
        &self.instances[0]
    }

    /// The sync URL of the first instance.
    pub fn url(&self) -> String {
        ws_url(self.server())
    }

    /// Where `name`'s laptop keeps its store (`<dir>/<name>.db`).
    pub fn store_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.db"))
    }

    /// `user`'s laptop of this firm, online to the first instance.
    pub fn laptop(&self, user: &str) -> Laptop {
        self.laptop_on(0, user)
    }

    /// `user`'s laptop of this firm, online to instance `instance`.
    pub fn laptop_on(&self, instance: usize, user: &str) -> Laptop {
        Laptop::online(
            &self.store_path(user),
            &ws_url(&self.instances[instance]),
            &token(user, FIRM),
        )
    }

    /// What Postgres holds of the draft's body.
    pub async fn stored_body(&self, doc: &DocName) -> String {
        stored_text(&self.database, doc, "body").await
    }

    /// ada writes `text` into a new draft through the first instance (which creates the matter,
    /// with her as owner) and makes ben an editor; ben's laptop, on instance `ben_on`, opens the
    /// draft and waits until `text` is in it. Returns (ada, ben, the draft).
    pub async fn ada_shares_a_draft_with_ben(
        &self,
        text: &str,
        ben_on: usize,
        timeout: Duration,
    ) -> (Laptop, Laptop, DocName) {
        let doc = draft_name(&new_case());
        let mut ada = self.laptop("ada");
        ada.write_and_sync(&doc, text, timeout).await;
        grant(self.server(), &token("ada", FIRM), &doc, "ben", "editor").await;
        let mut ben = self.laptop_on(ben_on, "ben");
        ben.open(&doc);
        ben.wait_until("ada's shared draft", timeout, body_contains(&doc, text))
            .await;
        (ada, ben, doc)
    }
}
