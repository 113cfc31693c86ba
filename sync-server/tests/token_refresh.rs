//! A client whose token is refreshed before it expires re-authenticates on the open socket by
//! itself: the server never has to ask for a token and the stream never pauses. (Its own test
//! binary: it reads a process-wide server counter.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

/// Like a signed-in session: a current token, and a tick on every refresh.
struct Refreshing {
    current: Mutex<String>,
    ticks: watch::Sender<u64>,
}

impl Refreshing {
    fn mint() -> String {
        sync_server::auth::DevAuth::new(SECRET)
            .mint("ben", FIRM, 2)
            .unwrap()
    }

    fn refresh(&self) {
        *self.current.lock().unwrap() = Self::mint();
        self.ticks.send_modify(|tick| *tick += 1);
    }
}

impl local::TokenSource for Refreshing {
    fn token(&self) -> Result<String, local::LocalError> {
        Ok(self.current.lock().unwrap().clone())
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.ticks.subscribe())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshed_tokens_are_re_sent_before_the_old_ones_expire() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    let name = draft_name(&new_case());
    let ada = token("ada", FIRM);
    let mut owner = Laptop::online(&dir.path().join("ada.db"), &ws_url(&server), &ada);
    owner.write_and_sync(&name, "start ", WAIT).await;
    grant(&server, &ada, &name, "ben", "editor").await;

    let tokens = Arc::new(Refreshing {
        current: Mutex::new(Refreshing::mint()),
        ticks: watch::channel(0).0,
    });
    let store = open_store(&dir.path().join("ben.db"));
    let (handle, mut events) = local::SyncClient::start(
        store.clone(),
        local::SyncConfig {
            url: ws_url(&server),
            token: tokens.clone(),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        },
    );
    handle.open(name.clone());
    // Four seconds of edits while Ben's two-second tokens are refreshed every 500 ms.
    for i in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokens.refresh();
        owner.type_text(&name, &format!("e{i} "));
    }
    owner.wait_synced(WAIT).await;
    let expected = owner.body(&name);
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.text(&name, "body").unwrap() != expected {
        tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("converges")
            .unwrap();
    }
    assert_eq!(
        sync_server::metrics::TOKEN_REQUESTS.load(Ordering::Relaxed),
        0,
        "the server never had to ask for a token"
    );
    handle.shutdown().await;
}
