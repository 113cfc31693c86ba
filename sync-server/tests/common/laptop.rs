//! A lawyer's laptop as the product runs it: the encrypted local store (a SQLCipher file) and the
//! real sync client, with waits on its events (never sleeps).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use local::{
    Account, DocName, FixedKey, StaticToken, Store, SyncClient, SyncConfig, SyncEvent, SyncHandle,
    SyncState, TokenSource,
};
use tokio::sync::mpsc::UnboundedReceiver;
use yrs::{Text, WriteTxn};

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
        self.connect_with(url, Arc::new(StaticToken(token.to_owned())));
        self.state = SyncState::Connecting;
    }

    /// Start the sync client with a token source of the test's own (one that changes, say).
    pub fn connect_with(&mut self, url: &str, token: Arc<dyn TokenSource>) {
        let (handle, events) = SyncClient::start(
            self.store.clone(),
            SyncConfig {
                url: url.to_owned(),
                token,
                min_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(500),
            },
        );
        self.handle = Some(handle);
        self.events = Some(events);
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
    pub async fn wait_removed(&mut self, timeout: Duration) -> (local::CaseId, String) {
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

    /// Wait until the client is Synced and nothing of `doc` is left in the outbox.
    pub async fn wait_sent(&mut self, doc: &DocName, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let unsent = self
                .store
                .pending()
                .unwrap()
                .iter()
                .any(|entry| &entry.doc == doc);
            if self.state == SyncState::Synced && !unsent {
                return;
            }
            match tokio::time::timeout_at(deadline, self.events.as_mut().unwrap().recv()).await {
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped"),
                Err(_) => panic!(
                    "timed out waiting for {doc} to be sent (state {:?})",
                    self.state
                ),
            }
        }
    }

    /// Wait for the client to refuse the store's account; returns (bound, signed in).
    pub async fn wait_account_mismatch(&mut self, timeout: Duration) -> (Account, Account) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.as_mut().unwrap().recv()).await {
                Ok(Some(SyncEvent::AccountMismatch { bound, signed_in })) => {
                    return (bound, signed_in);
                }
                Ok(Some(SyncEvent::State(state))) => self.state = state,
                Ok(Some(_)) => {}
                Ok(None) => panic!("sync client stopped"),
                Err(_) => panic!(
                    "timed out waiting for the account mismatch (state {:?})",
                    self.state
                ),
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
