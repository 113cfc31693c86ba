//! The sync client: one task owning one multiplexed WebSocket, reconnecting with backoff.
//! The protocol logic lives in `session.rs`; this file does the socket, the commands from the
//! app and the online/offline/reconnect loop.
//!
//! Local edits reach the client from the store itself: it waits on the store's outbox watch
//! (`Store::outbox`) and sends what is new, so the app never has to tell it. Every protocol
//! step that may touch the store (SQLite with fsync) runs on a blocking-pool thread
//! (`Client::step`), never on a runtime worker thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{AwarenessEntry, CaseId, DocName, Wire};
use rand::Rng;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::identity::Account;
use crate::sync::backoff;
use crate::sync::bound_tokens::BoundTokens;
use crate::sync::session::{Presence, Session, emit};
use crate::{LocalError, Store, TokenSource};

/// How long a WebSocket handshake may take before it counts as a failed attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The server sends a ping every 15 s: a connection silent for this long is dead (a half-open
/// socket after sleep or a Wi-Fi roam, a proxy that dropped the tunnel) and is replaced.
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
/// Closing a connection (flushing the goodbye) may not hold up a shutdown longer than this.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

pub struct SyncConfig {
    /// `ws://host:port/api/v1/sync` (or `wss://`).
    pub url: String,
    pub token: Arc<dyn TokenSource>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl std::fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConfig")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    Offline,
    Connecting,
    /// Connected; initial syncs or acks outstanding. `pending` = outbox entries not yet acked.
    Syncing {
        pending: usize,
    },
    /// Connected, every document in step and every sent update acknowledged.
    Synced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A change from the server, already persisted locally.
    RemoteUpdate {
        doc: DocName,
        update: Vec<u8>,
    },
    State(SyncState),
    /// Other clients' awareness states (ours filtered out); `"null"` state = that client left.
    Awareness {
        doc: DocName,
        states: Vec<AwarenessEntry>,
    },
    /// The server refused this document; it is not synced any more on this connection and its
    /// outbox entries are kept.
    Denied {
        doc: DocName,
        reason: String,
    },
    /// The firm removed the lawyer from this matter (or walled them off it): every document of
    /// it was purged from this computer, and `discarded_changes` unsent local edits with them.
    /// The client no longer syncs the matter.
    MatterRemoved {
        case_id: CaseId,
        reason: String,
        discarded_changes: usize,
    },
    /// The lawyer's role on this matter changed while one of its documents was open (the
    /// server announced a new scope): ask the firm's server for the role again.
    RoleChanged {
        case_id: CaseId,
    },
    /// A connection attempt failed, in words a lawyer and IT can act on (certificate not trusted
    /// and its issuer, certificate for another name, expired, proxy refused, unreachable). The
    /// client keeps retrying with backoff; the next `State(Syncing | Synced)` means it is past.
    Problem(String),
    /// This computer's data belongs to `bound`, and the token is for `signed_in`: the client
    /// does not connect (nothing is sent or received, the outbox is kept) until a token for
    /// `bound` is available (it retries when the token source changes).
    AccountMismatch {
        bound: crate::Account,
        signed_in: crate::Account,
    },
}

#[derive(Debug)]
enum Command {
    Open(DocName),
    SetAwareness(DocName, String),
    Offline,
    Online,
    /// Local-only matters were attached: sync them on a fresh connection.
    Reconnect,
    Shutdown,
}

/// Controls a running sync client. Dropping it stops the client too.
#[derive(Debug)]
pub struct SyncHandle {
    commands: UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl SyncHandle {
    fn send(&self, command: Command) {
        if self.commands.send(command).is_err() {
            tracing::warn!("sync client has stopped; command ignored");
        }
    }

    /// Keep `doc` subscribed for live updates (and synced now if connected).
    pub fn open(&self, doc: DocName) {
        self.send(Command::Open(doc));
    }

    /// Our awareness state (y-protocols JSON) for `doc`.
    pub fn set_awareness(&self, doc: &DocName, state_json: String) {
        self.send(Command::SetAwareness(doc.clone(), state_json));
    }

    /// The "work offline" switch: close the socket and stay disconnected until `go_online`.
    pub fn go_offline(&self) {
        self.send(Command::Offline);
    }

    pub fn go_online(&self) {
        self.send(Command::Online);
    }

    /// After `Store::attach_local_matters`: start a fresh connection, whose first flush sends
    /// the attached matters' outbox entries (a running connection skipped them).
    pub fn matters_attached(&self) {
        self.send(Command::Reconnect);
    }

    /// Say goodbye (awareness), close the socket and wait for the task to end.
    pub async fn shutdown(self) {
        self.send(Command::Shutdown);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "sync client task ended abnormally");
        }
    }
}

pub struct SyncClient;

impl SyncClient {
    /// Start syncing `store` in a tokio task. Must be called inside a tokio runtime. It marks
    /// the matters an unbound store holds now as local-only (one SQLite statement) before it
    /// returns, so async code calls it from a blocking thread (`spawn_blocking`).
    pub fn start(
        store: Arc<Store>,
        config: SyncConfig,
    ) -> (SyncHandle, UnboundedReceiver<SyncEvent>) {
        mark_at_sign_in(&store);
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let (events, event_receiver) = mpsc::unbounded_channel();
        // Yjs client ids are 32-bit unsigned in practice.
        let client_id = u64::from(rand::rng().random::<u32>());
        let client = Client {
            store,
            config,
            events,
            commands: command_receiver,
            presence: Presence {
                client_id,
                ..Presence::default()
            },
            online: true,
            last_state: None,
        };
        let task = tokio::spawn(client.run());
        (SyncHandle { commands, task }, event_receiver)
    }
}

/// The client starts when the lawyer signs in: on a store that belongs to nobody yet, the
/// matters it holds now stay on this computer until the lawyer attaches them. The store itself
/// is bound only when the server accepts the token (`Session::bind_when_accepted`), so a token
/// the server refuses, or a sign-in to the wrong server, never takes the store.
fn mark_at_sign_in(store: &Store) {
    match store.mark_local_only() {
        Ok(0) => {}
        Ok(marked) => tracing::info!(marked, "matters made before sign-in kept on this computer"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "cannot mark this computer's matters")
        }
    }
}

/// Why a connection (or an attempt) ended.
enum Ending {
    Shutdown,
    WentOffline,
    Lost {
        healthy: bool,
    },
    /// The token is for another account than the store's: wait for another token.
    WrongAccount,
}

/// What a command means for the current connection.
enum Control {
    Continue,
    Offline,
    Reconnect,
    Shutdown,
}

use crate::net::Socket;

struct Client {
    store: Arc<Store>,
    config: SyncConfig,
    events: UnboundedSender<SyncEvent>,
    commands: UnboundedReceiver<Command>,
    presence: Presence,
    online: bool,
    last_state: Option<SyncState>,
}

impl Client {
    fn set_state(&mut self, state: SyncState) {
        if self.last_state.as_ref() != Some(&state) {
            self.last_state = Some(state.clone());
            emit(&self.events, SyncEvent::State(state));
        }
    }

    /// Record a command while not connected.
    fn note(&mut self, command: Option<Command>) -> Control {
        match command {
            None | Some(Command::Shutdown) => Control::Shutdown,
            Some(Command::Offline) => {
                self.online = false;
                Control::Offline
            }
            Some(Command::Online) => {
                self.online = true;
                Control::Continue
            }
            Some(Command::Open(doc)) => {
                self.presence.opened.insert(doc);
                Control::Continue
            }
            Some(Command::SetAwareness(doc, state)) => {
                self.presence.set_awareness(doc, state);
                Control::Continue
            }
            Some(Command::Reconnect) => Control::Reconnect,
        }
    }

    async fn run(mut self) {
        let mut attempt = 0u32;
        loop {
            while !self.online {
                self.set_state(SyncState::Offline);
                let command = self.commands.recv().await;
                if let Control::Shutdown = self.note(command) {
                    return;
                }
            }
            self.set_state(SyncState::Connecting);
            match self.connect_and_sync().await {
                Ending::Shutdown => {
                    self.set_state(SyncState::Offline);
                    return;
                }
                Ending::WentOffline => attempt = 0,
                Ending::WrongAccount => {
                    self.set_state(SyncState::Offline);
                    let mut changes = self.config.token.changes();
                    loop {
                        tokio::select! {
                            () = token_changed(&mut changes) => break,
                            command = self.commands.recv() => match self.note(command) {
                                Control::Shutdown => return,
                                Control::Offline | Control::Reconnect => break,
                                Control::Continue => {}
                            },
                        }
                    }
                }
                Ending::Lost { healthy } => {
                    if healthy {
                        attempt = 0;
                    }
                    self.set_state(SyncState::Offline);
                    let delay =
                        backoff::delay(self.config.min_backoff, self.config.max_backoff, attempt);
                    attempt = attempt.saturating_add(1);
                    tracing::debug!(?delay, attempt, "reconnecting after delay");
                    let sleep = tokio::time::sleep(delay);
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            () = &mut sleep => break,
                            command = self.commands.recv() => match self.note(command) {
                                Control::Shutdown => return,
                                Control::Offline | Control::Reconnect => break,
                                Control::Continue => {}
                            },
                        }
                    }
                }
            }
        }
    }

    async fn connect(&mut self) -> Result<Result<Socket, LocalError>, Control> {
        let url = self.config.url.clone();
        let connect = tokio::time::timeout(CONNECT_TIMEOUT, crate::net::connect_websocket(&url));
        tokio::pin!(connect);
        loop {
            tokio::select! {
                result = &mut connect => {
                    return Ok(match result {
                        Ok(Ok(socket)) => Ok(socket),
                        Ok(Err(error)) => Err(error),
                        Err(_) => Err(LocalError::Connection("handshake timed out".into())),
                    });
                }
                command = self.commands.recv() => match self.note(command) {
                    // Not connected yet: the connection being made reads the outbox afresh.
                    Control::Continue | Control::Reconnect => {}
                    control => return Err(control),
                },
            }
        }
    }

    async fn connect_and_sync(&mut self) -> Ending {
        let token = match self.config.token.token() {
            Ok(token) => token,
            Err(error) => {
                tracing::warn!(code = error.code(), "no token to connect with");
                return Ending::Lost { healthy: false };
            }
        };
        // Refuse before any byte is sent: the store is bound to the first account that syncs it.
        let account = match Account::of_token(&self.config.url, &token) {
            Ok(account) => account,
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "cannot tell the sign-in's account");
                return Ending::Lost { healthy: false };
            }
        };
        let store = Arc::clone(&self.store);
        let bound = tokio::task::spawn_blocking(move || store.account())
            .await
            .unwrap_or(Err(LocalError::Poisoned));
        let unbound = match bound {
            Ok(None) => true,
            Ok(Some(bound)) if bound == account => false,
            Ok(Some(bound)) => {
                tracing::warn!(
                    bound = %bound,
                    signed_in = %account,
                    "this computer's data belongs to another account; not syncing"
                );
                emit(
                    &self.events,
                    SyncEvent::AccountMismatch {
                        bound,
                        signed_in: account,
                    },
                );
                return Ending::WrongAccount;
            }
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "cannot read the store's account");
                return Ending::Lost { healthy: false };
            }
        };
        let tokens = Arc::new(BoundTokens {
            inner: Arc::clone(&self.config.token),
            url: self.config.url.clone(),
            account,
            changed: std::sync::atomic::AtomicBool::new(false),
        });
        let socket = match self.connect().await {
            Ok(Ok(socket)) => socket,
            Ok(Err(error)) => {
                tracing::warn!(code = error.code(), %error, "sync connection failed");
                emit(&self.events, SyncEvent::Problem(error.to_string()));
                return Ending::Lost { healthy: false };
            }
            Err(Control::Offline) => return Ending::WentOffline,
            Err(_) => return Ending::Shutdown,
        };
        let mut session = Session::new(
            Arc::clone(&self.store),
            self.events.clone(),
            token,
            Arc::clone(&tokens) as Arc<dyn TokenSource>,
        );
        if unbound {
            session.bind_when_accepted(tokens.account.clone());
        }
        // The presence moves into the connection's engine and back out when it ends.
        let engine = Arc::new(Mutex::new(Engine {
            session,
            presence: std::mem::take(&mut self.presence),
        }));
        let result = self.sync(&engine, socket, &tokens).await;
        let mut engine = match engine.lock() {
            Ok(engine) => engine,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.presence = std::mem::take(&mut engine.presence);
        match result {
            Ok(ending) => ending,
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "sync connection ended by a local error");
                Ending::Lost {
                    healthy: engine.session.healthy,
                }
            }
        }
    }

    async fn sync(
        &mut self,
        engine: &Arc<Mutex<Engine>>,
        socket: Socket,
        tokens: &BoundTokens,
    ) -> Result<Ending, LocalError> {
        let (mut sink, mut stream) = socket.split();
        let mut outbox = self.store.outbox();
        outbox.mark_unchanged();
        let mut step = step(engine, |engine| engine.session.start(&engine.presence)).await?;
        let mut token_changes = self.config.token.changes();
        let mut heard = tokio::time::Instant::now();
        let healthy = |engine: &Arc<Mutex<Engine>>| {
            engine
                .lock()
                .map(|engine| engine.session.healthy)
                .unwrap_or(false)
        };
        loop {
            if tokens.account_changed() {
                // Signed in as someone else meanwhile: stop here; the next connect reports it.
                tracing::warn!("the sign-in changed account; closing the sync connection");
                if let Err(error) = sink.close().await {
                    tracing::debug!(%error, "closing the sync connection failed");
                }
                return Ok(Ending::Lost { healthy: true });
            }
            let outgoing = std::mem::take(&mut step.outgoing);
            if !outgoing.is_empty() {
                for wire in outgoing {
                    if let Err(error) = sink.feed(WsMessage::Binary(wire.encode().into())).await {
                        tracing::info!(%error, "sync connection lost while sending");
                        return Ok(Ending::Lost {
                            healthy: healthy(engine),
                        });
                    }
                }
                // A connection that takes no bytes for this long is as dead as a silent one.
                match tokio::time::timeout(SILENCE_LIMIT, sink.flush()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::info!(%error, "sync connection lost while sending");
                        return Ok(Ending::Lost {
                            healthy: healthy(engine),
                        });
                    }
                    Err(_) => {
                        tracing::warn!(
                            "the server took nothing for {SILENCE_LIMIT:?}; reconnecting"
                        );
                        return Ok(Ending::Lost {
                            healthy: healthy(engine),
                        });
                    }
                }
            }
            self.set_state(step.state.clone());
            tokio::select! {
                () = token_changed(&mut token_changes) => {
                    step = self::step(engine, |engine| {
                        engine.session.reauthenticate();
                        Ok(())
                    }).await?;
                }
                () = tokio::time::sleep_until(heard + SILENCE_LIMIT) => {
                    tracing::warn!(?SILENCE_LIMIT, "nothing heard from the server; reconnecting");
                    return Ok(Ending::Lost { healthy: healthy(engine) });
                }
                // A local edit was committed (or an ack or purge changed the count).
                changed = outbox.changed() => {
                    if changed.is_err() {
                        // The store is gone: nothing more to send.
                        return Ok(Ending::Lost { healthy: healthy(engine) });
                    }
                    step = self::step(engine, |engine| {
                        engine.session.flush_outbox(&engine.presence)
                    }).await?;
                }
                message = stream.next() => {
                    if matches!(message, Some(Ok(_))) {
                        heard = tokio::time::Instant::now();
                    }
                    match message {
                    Some(Ok(WsMessage::Binary(bytes))) => match Wire::decode_from_server(&bytes) {
                        Ok(wire) => {
                            step = self::step(engine, move |engine| {
                                let Engine { session, presence } = engine;
                                session.handle(wire, presence)
                            }).await?;
                        }
                        Err(error) => tracing::warn!(code = error.code(), "undecodable frame from server; skipped"),
                    },
                    Some(Ok(WsMessage::Close(close))) => {
                        let reason = close.map(|close| close.reason.to_string()).unwrap_or_default();
                        tracing::info!(reason, "server closed the sync connection");
                        return Ok(Ending::Lost { healthy: healthy(engine) });
                    }
                    // tungstenite answers WebSocket pings itself; text frames are not ours.
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::info!(%error, "sync connection lost");
                        return Ok(Ending::Lost { healthy: healthy(engine) });
                    }
                    None => return Ok(Ending::Lost { healthy: healthy(engine) }),
                    }
                }
                command = self.commands.recv() => {
                    let control = match command {
                        Some(Command::Open(doc)) => {
                            step = self::step(engine, move |engine| {
                                engine.session.subscribe(&doc, &engine.presence)?;
                                engine.presence.opened.insert(doc);
                                Ok(())
                            }).await?;
                            Control::Continue
                        }
                        Some(Command::SetAwareness(doc, state)) => {
                            step = self::step(engine, move |engine| {
                                engine.presence.set_awareness(doc.clone(), state);
                                engine.session.send_awareness(&doc, &engine.presence)
                            }).await?;
                            Control::Continue
                        }
                        other => self.note(other),
                    };
                    let ending = match control {
                        Control::Continue => continue,
                        // Still online: the run loop connects again at once.
                        Control::Offline | Control::Reconnect => Ending::WentOffline,
                        Control::Shutdown => Ending::Shutdown,
                    };
                    let farewell = match engine.lock() {
                        Ok(mut engine) => {
                            let Engine { session, presence } = &mut *engine;
                            session.leave_awareness(presence);
                            session.take_outgoing()
                        }
                        Err(_) => Vec::new(),
                    };
                    let goodbye = async {
                        for wire in farewell {
                            if sink.feed(WsMessage::Binary(wire.encode().into())).await.is_err() {
                                break;
                            }
                        }
                        sink.close().await
                    };
                    // A peer or proxy that stops reading must not hold up a shutdown.
                    match tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await {
                        Ok(Err(error)) => tracing::debug!(%error, "closing the sync connection failed"),
                        Err(_) => tracing::info!("the sync connection did not close in time; dropped"),
                        Ok(Ok(())) => {}
                    }
                    return Ok(ending);
                }
            }
        }
    }
}

/// One connection's protocol state and the presence it announces, shared with the blocking
/// threads its steps run on (one step at a time: the socket loop awaits each).
struct Engine {
    session: Session,
    presence: Presence,
}

/// What a protocol step leaves for the socket loop.
struct Stepped {
    outgoing: Vec<Wire>,
    state: SyncState,
}

/// Run one protocol step on a blocking-pool thread: it may read or write the store (SQLite,
/// with an fsync per commit), which must never stall the runtime's worker threads.
async fn step(
    engine: &Arc<Mutex<Engine>>,
    step: impl FnOnce(&mut Engine) -> Result<(), LocalError> + Send + 'static,
) -> Result<Stepped, LocalError> {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || {
        let mut engine = engine.lock()?;
        step(&mut engine)?;
        Ok(Stepped {
            outgoing: engine.session.take_outgoing(),
            state: engine.session.state(),
        })
    })
    .await
    .unwrap_or_else(|error| {
        tracing::error!(%error, "a sync step failed");
        Err(LocalError::Poisoned)
    })
}

/// Resolves when the token source has a new token; never, for sources that do not change (or
/// once the source is gone).
async fn token_changed(changes: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match changes {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *changes = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
