//! One WebSocket connection: decode each frame, authorize it, and act on it, in arrival order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use bytes::Bytes;
use protocol::{
    AuthMessage, AwarenessUpdate, ChangesField, DocKind, DocName, Frame, HUB_CHANNEL, HubMessage,
    IntegrateError, MAX_CHANGES_PER_REPLY, Message, ProtocolError, SyncMessage, Wire,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::Control;

use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use crate::hub::{ConnSender, DocEntry, NewSubscriber, Outbox, SubId};
use crate::limits::{AddressSlot, PerMinute, UserSlot};
use crate::metrics;
use crate::persist::WriteRequest;
use crate::role::{COMMENTS_ROOT, Role, Writes};
use crate::state::AppState;
use crate::ws::{Incoming, ReadError, Upgraded as Socket};

/// Messages larger than this are sent as fragments of this size (256 KiB): a client with a
/// smaller frame limit (tungstenite's default is 16 MiB) still receives a 20 MB first sync.
pub const FRAGMENT: usize = 256 * 1024;

/// How often an idle connection is pinged.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(15);
/// Distinct tokens remembered per connection (one per user session, refreshed over time).
const MAX_TOKENS_PER_CONNECTION: usize = 8;

/// Close codes (RFC 6455 and Hocuspocus's 44xx).
const CLOSE_PROTOCOL: u16 = 1002;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_UNSUPPORTED: u16 = 1003;
/// 1012 "Service Restart": clients reconnect (to another instance) and resend.
pub const CLOSE_SERVICE_RESTART: u16 = 1012;
/// Metric: client updates refused because yrs cannot integrate them (safely).
pub const REFUSED_UPDATES: &str = "hub_refused_updates_total";
/// Metric: commenters' changes refused for writing outside a draft's comments.
pub const REFUSED_OUT_OF_SCOPE: &str = "hub_refused_out_of_scope_total";
/// Hocuspocus's "Unauthorized": nothing was authenticated in time.
const CLOSE_UNAUTHORIZED: u16 = 4401;

struct Subscription {
    /// This routing key's subscription in the hub (its own live access, broadcasts, presence).
    id: SubId,
    entry: Arc<DocEntry>,
    principal: Arc<Principal>,
    user_id: Arc<str>,
    /// Live access ([`Role::code`]), updated by the hub the moment membership changes.
    access: Arc<AtomicU8>,
    /// A matter record or a draft: what a commenter may write depends on it.
    kind: DocKind,
    /// The token's expiry, shared with the hub so broadcasts stop when it passes.
    expires_at: Arc<AtomicI64>,
}

/// The `SyncStatus` answer to one update (encoded when sent: an idle subscription keeps no
/// copy of it).
fn sync_status(key: &str, applied: bool) -> Bytes {
    Bytes::from(Frame::new(key, Message::SyncStatus(applied)).encode())
}

struct Session {
    state: AppState,
    sender: ConnSender,
    /// Verified tokens, by their SHA-256 (the tokens themselves, a kilobyte each from an
    /// identity provider, are not kept).
    principals: Vec<([u8; 32], Arc<Principal>)>,
    /// Users recorded on this connection, with the firm and profile their token named then.
    seen_users: Vec<Arc<Principal>>,
    /// Boxed: an empty slot of the map then costs a pointer, not a whole subscription.
    docs: HashMap<String, Box<Subscription>>,
    /// The catch-up channel, once authenticated: the caller's firm and user, and the token's
    /// expiry (shared with the hub, which sends no notice on an expired token).
    hub: Option<(String, String, Arc<AtomicI64>)>,
    /// Whether anything was authenticated on this socket (else it is closed after a while).
    authenticated: bool,
    /// This connection counted against each of its users' connection limits.
    user_slots: Vec<(String, UserSlot)>,
    /// Catch-up requests left this minute.
    changes_budget: PerMinute,
    /// This connection counted against its peer address's limit (released when it ends).
    _address_slot: Option<AddressSlot>,
}

/// Why a connection must end.
struct Fatal {
    code: u16,
    reason: String,
}

/// One sync connection's state while it waits: what an idle lawyer costs the server. Built
/// before the task's future (so nothing in it is stored twice, as an `async fn`'s arguments
/// moved into its locals would be), then [`Connection::run`].
pub struct Connection {
    socket: Socket,
    session: Session,
    outbox: Arc<Outbox>,
    restart: tokio::sync::watch::Receiver<bool>,
    keepalive: tokio::time::Interval,
    auth_deadline: tokio::time::Instant,
}

impl Connection {
    pub fn new(
        socket: Socket,
        id: crate::hub::ConnId,
        state: AppState,
        address_slot: Option<AddressSlot>,
    ) -> Self {
        metrics::connection_opened();
        state.open_connections.fetch_add(1, Ordering::AcqRel);
        let outbox = Arc::new(Outbox::default());
        let (auth_timeout_secs, changes_per_minute) = {
            let limits = state.limiter.settings();
            (limits.auth_timeout_secs, limits.changes_per_minute)
        };
        let restart = state.restarting.subscribe();
        let session = Session {
            state,
            sender: ConnSender::new(id, outbox.clone()),
            principals: Vec::new(),
            seen_users: Vec::new(),
            docs: HashMap::new(),
            hub: None,
            authenticated: false,
            user_slots: Vec::new(),
            changes_budget: PerMinute::new(changes_per_minute),
            _address_slot: address_slot,
        };
        let now = tokio::time::Instant::now();
        let auth_deadline = now + std::time::Duration::from_secs(auth_timeout_secs);
        // Application-level keep-alive, as Hocuspocus sends: providers reconnect after 30 s of
        // silence, so an idle but healthy connection must hear something. Its first tick is no
        // later than the authentication deadline, which it then checks (one timer in all).
        let mut keepalive = tokio::time::interval_at(auth_deadline.min(now + KEEPALIVE), KEEPALIVE);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if *restart.borrow() {
            session
                .sender
                .close(CLOSE_SERVICE_RESTART, "service restart");
        }
        Self {
            socket,
            session,
            outbox,
            restart,
            keepalive,
            auth_deadline,
        }
    }

    /// Serve the connection until it ends: one task reads frames and, in between, writes what
    /// the hub queued in `outbox` (empty, and unallocated, while the connection is idle).
    // Not an `async fn`: its argument would be stored twice in the future (once as the
    // argument, once as the local it is moved into); the block uses the captured `self` in place.
    #[allow(clippy::manual_async_fn)]
    pub fn run(mut self) -> impl std::future::Future<Output = ()> + Send {
        async move {
            let id = self.session.sender.id;
            let mut writing = std::collections::VecDeque::new();
            let mut closing: Option<(u16, String)> = None;
            loop {
                let message = tokio::select! {
                    biased;
                    () = self.outbox.ready() => {
                        // Boxed: the write's state exists only while frames are being written.
                        match Box::pin(write_queued(&mut self.socket, &self.outbox, &mut writing)).await {
                            Ok(None) => continue,
                            Ok(Some(close)) => closing = Some(close),
                            Err(()) => {}
                        }
                        break;
                    }
                    message = self.socket.read() => message,
                    now = self.keepalive.tick() => {
                        // A socket that authenticates nothing holds a connection for nobody.
                        if !self.session.authenticated && now >= self.auth_deadline {
                            metrics::protocol_error();
                            self.session.sender.close(
                                CLOSE_UNAUTHORIZED,
                                &format!(
                                    "authenticate within {} s of connecting",
                                    self.session.state.limiter.settings().auth_timeout_secs
                                ),
                            );
                        } else {
                            self.session.sender.send(Bytes::from_static(&[protocol::message_type::PING as u8]));
                            // A deadline longer than the keep-alive is kept to the second too.
                            if !self.session.authenticated && self.auth_deadline < now + KEEPALIVE {
                                self.keepalive.reset_at(self.auth_deadline);
                            }
                        }
                        continue;
                    }
                    // Draining for a restart: every connection ends, subscribed to anything or not.
                    changed = self.restart.changed() => {
                        if changed.is_err() || *self.restart.borrow_and_update() {
                            self.session.sender.close(CLOSE_SERVICE_RESTART, "service restart");
                        }
                        continue;
                    }
                };
                let result = match message {
                    // Boxed: an idle connection then holds a pointer here, not the largest state of
                    // every query future below (that is most of a connection's memory).
                    Ok(Incoming::Binary(bytes)) => Box::pin(self.session.handle(&bytes)).await,
                    Ok(Incoming::Ping(payload)) => {
                        if Box::pin(self.socket.send_control(Control::Pong, &payload))
                            .await
                            .is_err()
                        {
                            break;
                        }
                        Ok(())
                    }
                    // The client closes: answer its close frame at once (RFC 6455 §5.5.1).
                    Ok(Incoming::Close) => {
                        closing = Some((1000, String::new()));
                        break;
                    }
                    Ok(Incoming::Text) => Err(Fatal {
                        code: CLOSE_UNSUPPORTED,
                        reason: "binary frames only (Hocuspocus protocol)".into(),
                    }),
                    Err(ReadError::TooBig) => Err(Fatal {
                        code: CLOSE_TOO_BIG,
                        reason: "message too big".into(),
                    }),
                    Err(ReadError::Protocol(reason)) => Err(Fatal {
                        code: CLOSE_PROTOCOL,
                        reason: reason.into(),
                    }),
                    Err(ReadError::Closed) => {
                        tracing::debug!(conn = id, "websocket closed by the peer");
                        break;
                    }
                };
                if let Err(fatal) = result {
                    metrics::protocol_error();
                    tracing::info!(conn = id, code = fatal.code, reason = %fatal.reason, "closing connection");
                    self.session.sender.close(fatal.code, &fatal.reason);
                }
            }
            let Self {
                socket,
                mut session,
                outbox,
                ..
            } = self;
            session.cleanup();
            let open_connections = session.state.open_connections.clone();
            drop(session);
            // Boxed: its timers and close frame are not part of every idle connection's task.
            Box::pin(finish(socket, outbox, writing, closing)).await;
            metrics::connection_closed();
            open_connections.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The end of a connection: what was queued before it still goes out (a denial, the close
/// reason), briefly, then the close frame.
async fn finish(
    mut socket: Socket,
    outbox: Arc<Outbox>,
    mut writing: std::collections::VecDeque<Bytes>,
    mut closing: Option<(u16, String)>,
) {
    if closing.is_none() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            if let Ok(Some(close)) = write_queued(&mut socket, &outbox, &mut writing).await {
                closing = Some(close);
            }
        })
        .await;
    }
    outbox.finish();
    if let Some((code, reason)) = closing {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            socket.send_close(code, &reason),
        )
        .await;
    }
}

/// Write everything queued; `Ok(Some(close))` when the connection is to be closed (after those
/// frames); `Err` when the socket failed.
async fn write_queued(
    socket: &mut Socket,
    outbox: &Outbox,
    writing: &mut std::collections::VecDeque<Bytes>,
) -> Result<Option<(u16, String)>, ()> {
    loop {
        let close = outbox.take(writing);
        if writing.is_empty() {
            // A burst (a join storm's queue) does not stay allocated on an idle connection.
            if writing.capacity() > 64 {
                *writing = std::collections::VecDeque::new();
            }
            return Ok(close);
        }
        socket.send(writing).await.map_err(|_| ())?;
        if close.is_some() {
            return Ok(close);
        }
    }
}

impl Session {
    fn reply(&self, frame: Frame) {
        self.sender.send(Bytes::from(frame.encode()));
    }

    fn deny(&self, key: &str, reason: &str) {
        self.reply(Frame::new(
            key,
            Message::Auth(AuthMessage::PermissionDenied {
                reason: reason.into(),
            }),
        ));
    }

    /// The socket's answer to a failed domain call, decided here and only here. A refusal
    /// denies the one key (`PermissionDenied` with a reason the laptop acts on: "document not
    /// found" after it was granted means a wall) and the connection stays. Postgres failing
    /// ends the connection (1011): the client must not take it for a refusal (a laptop purges
    /// a matter it is refused), so it reconnects and resends.
    fn answer(&self, key: &str, error: Error) -> Result<(), Fatal> {
        let reason = match error {
            Error::NotFound => "document not found".to_owned(),
            Error::TooManyNewCases => format!(
                "too many new matters (at most {} a minute): wait a minute and try again",
                self.state.limiter.settings().new_cases_per_minute
            ),
            Error::Database(error) => {
                tracing::error!(%error, "storage unavailable; closing the connection");
                return Err(Fatal {
                    code: 1011,
                    reason: "storage unavailable: reconnect and try again".into(),
                });
            }
            refusal => refusal.to_string(),
        };
        self.deny(key, &reason);
        Ok(())
    }

    async fn handle(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        metrics::frame_in(bytes.len());
        let wire = Wire::decode(bytes).map_err(|error| Fatal {
            code: if error.code() == "frame_too_large" {
                CLOSE_TOO_BIG
            } else {
                CLOSE_PROTOCOL
            },
            reason: format!("malformed frame: {error}"),
        })?;
        match wire {
            Wire::Ping => {
                self.sender.send(Bytes::from(Wire::Pong.encode()));
                Ok(())
            }
            Wire::Pong => Ok(()),
            Wire::Frame(frame) => self.handle_frame(frame).await,
        }
    }

    async fn handle_frame(&mut self, frame: Frame) -> Result<(), Fatal> {
        let Frame { doc: key, message } = frame;
        if let Message::Auth(auth) = message {
            return self.authenticate(key, auth).await;
        }
        if key == HUB_CHANNEL {
            return self.handle_hub(message).await;
        }
        let now = chrono::Utc::now().timestamp();
        let Some(subscription) = self.docs.get(&key) else {
            self.deny(&key, "authenticate this document first");
            return Ok(());
        };
        let Some(role) = Role::from_code(subscription.access.load(Ordering::Acquire)) else {
            // Access was revoked while this document was open: nothing more is served.
            self.unsubscribe(&key);
            self.deny(&key, "access revoked");
            return Ok(());
        };
        if subscription.principal.is_expired(now) {
            // Nothing is served on an expired token until the client re-authenticates on this
            // socket; its updates are refused in order (they stay in its outbox).
            let refused = matches!(
                message,
                Message::Sync(SyncMessage::Step2(_) | SyncMessage::Update(_))
                    | Message::SyncReply(SyncMessage::Step2(_) | SyncMessage::Update(_))
            );
            let request = refused.then(|| WriteRequest {
                entry: subscription.entry.clone(),
                update: None,
                user_id: subscription.user_id.clone(),
                origin: self.sender.clone(),
                subscription: subscription.id,
                ack: sync_status(&key, false),
                received: std::time::Instant::now(),
            });
            self.reply(Frame::new(
                key.as_str(),
                Message::Auth(AuthMessage::TokenRequest),
            ));
            metrics::TOKEN_REQUESTS.fetch_add(1, Ordering::Relaxed);
            if let Some(request) = request
                && !self.state.persister.submit(request).await
            {
                return Err(Fatal {
                    code: 1011,
                    reason: "server is shutting down".into(),
                });
            }
            return Ok(());
        }
        match message {
            Message::Sync(SyncMessage::Step1(ref state_vector))
            | Message::SyncReply(SyncMessage::Step1(ref state_vector)) => {
                // A Step1 that is itself a reply must not be answered with another Step1.
                let reply_step1 = matches!(message, Message::Sync(_));
                let entry = &subscription.entry;
                let heavy = entry.step1_is_heavy(key.as_str(), state_vector);
                let answer = crate::hub::cpu_bound_if(heavy, || {
                    entry.sync_step1(key.as_str(), state_vector)
                })
                .map_err(|error| Fatal {
                    code: CLOSE_PROTOCOL,
                    reason: format!("bad state vector: {error}"),
                })?;
                for frame in answer.frames.iter() {
                    self.sender.send(frame.clone());
                }
                if reply_step1 {
                    self.reply(Frame::new(
                        key.as_str(),
                        Message::Sync(SyncMessage::Step1(answer.state_vector)),
                    ));
                }
                Ok(())
            }
            Message::Sync(SyncMessage::Step2(update) | SyncMessage::Update(update))
            | Message::SyncReply(SyncMessage::Step2(update) | SyncMessage::Update(update)) => {
                protocol::validate_update(&update).map_err(|error| Fatal {
                    code: CLOSE_PROTOCOL,
                    reason: format!("refused update: {error}"),
                })?;
                let empty = update.len() <= 2 && update.iter().all(|byte| *byte == 0);
                let mut update = update;
                let writes = role.writes(subscription.kind);
                // Refused like a viewer's write: a viewer's, or a commenter's that reaches
                // outside the draft's comments (checked against the document as it is now).
                let mut refused = writes == Writes::Nothing;
                if !empty && !refused {
                    let entry = subscription.entry.clone();
                    let within = (writes == Writes::Comments).then_some(COMMENTS_ROOT);
                    // Before `draft_deleted`, which materializes the document.
                    let heavy = entry.admit_is_heavy(&update);
                    let was_deleted = crate::hub::cpu_bound_if(heavy, || entry.draft_deleted());
                    match crate::hub::cpu_bound_if(heavy, || entry.admit(&update, within)) {
                        Ok(()) => {
                            if !was_deleted && entry.draft_deleted() {
                                update = self.keep_held_draft(&key, &entry, update).await?;
                            }
                        }
                        Err(IntegrateError::Refused(ProtocolError::OutsideScope(what))) => {
                            tracing::warn!(doc = entry.id, user = %subscription.user_id, %what, "refused a commenter's change outside the comments");
                            ::metrics::counter!(REFUSED_OUT_OF_SCOPE).increment(1);
                            refused = true;
                        }
                        // Never stored: it would break every later load of the document, or
                        // make yrs use freed memory. The document is unchanged.
                        Err(IntegrateError::Refused(error)) => {
                            tracing::warn!(doc = entry.id, code = error.code(), %error, "refused a malformed update");
                            ::metrics::counter!(REFUSED_UPDATES).increment(1);
                            return Err(Fatal {
                                code: CLOSE_PROTOCOL,
                                reason: format!("refused update: {error}"),
                            });
                        }
                        // What yrs may have integrated of it before failing is dropped by
                        // reloading.
                        Err(error @ IntegrateError::Integration(_)) => {
                            tracing::warn!(doc = entry.id, %error, "refused an update yrs cannot integrate");
                            ::metrics::counter!(REFUSED_UPDATES).increment(1);
                            self.state.hub.reload(&entry);
                            return Err(Fatal {
                                code: CLOSE_PROTOCOL,
                                reason: format!("refused update: {error}"),
                            });
                        }
                    }
                }
                // Refused updates are answered SyncStatus(false), in order with the others.
                let request = WriteRequest {
                    entry: subscription.entry.clone(),
                    update: (!empty && !refused).then(|| Bytes::from(update)),
                    user_id: subscription.user_id.clone(),
                    origin: self.sender.clone(),
                    subscription: subscription.id,
                    ack: sync_status(&key, !refused),
                    received: std::time::Instant::now(),
                };
                if !self.state.persister.submit(request).await {
                    return Err(Fatal {
                        code: 1011,
                        reason: "server is shutting down".into(),
                    });
                }
                Ok(())
            }
            Message::Awareness(bytes) => {
                let update = AwarenessUpdate::decode(&bytes).map_err(|error| Fatal {
                    code: CLOSE_PROTOCOL,
                    reason: format!("bad awareness: {error}"),
                })?;
                let entry = subscription.entry.clone();
                let accepted =
                    self.state
                        .hub
                        .apply_awareness(&entry, &update, Some(subscription.id));
                if let Some(accepted) = accepted {
                    self.state
                        .fanout
                        .publish_awareness(&entry.name, &entry.firm_id, &accepted)
                        .await;
                }
                Ok(())
            }
            Message::QueryAwareness => {
                let snapshot = self.state.hub.awareness_snapshot(&subscription.entry);
                self.reply(Frame::new(key.as_str(), Message::Awareness(snapshot)));
                Ok(())
            }
            Message::Close(_) => {
                self.unsubscribe(&key);
                Ok(())
            }
            // Document-scoped stateless messages have no server-side meaning here; a client may
            // not ask the server to broadcast on its behalf; acks flow server → client only.
            Message::Stateless(_)
            | Message::BroadcastStateless(_)
            | Message::SyncStatus(_)
            | Message::Auth(_) => Ok(()),
        }
    }

    /// A draft's deletion just arrived. On a matter under legal hold it is undone: the server
    /// adds its own edit setting the tombstone back, stores and broadcasts both together
    /// (the history keeps the attempt), sends the undoing edit to the sender (whom the
    /// broadcast skips) and tells it why in a stateless message. Acked like any update, so the
    /// laptop's outbox does not resend it. Returns the update to store.
    async fn keep_held_draft(
        &self,
        key: &str,
        entry: &Arc<DocEntry>,
        update: Vec<u8>,
    ) -> Result<Vec<u8>, Fatal> {
        let refusal = match crate::hold::refuse_deletion(&self.state.pool, entry.case_id).await {
            Ok(()) => return Ok(update),
            Err(Error::LegalHold { reason }) => Error::LegalHold { reason },
            Err(error) => {
                // Unknown whether held: drop what was admitted; the client reconnects and
                // resends.
                tracing::error!(%error, "could not read the matter's legal hold");
                self.state.hub.reload(entry);
                return Err(Fatal {
                    code: 1011,
                    reason: "storage unavailable: reconnect and try again".into(),
                });
            }
        };
        let undo = crate::hub::cpu_bound(|| entry.undo_draft_deletion()).map_err(|error| {
            self.state.hub.reload(entry);
            Fatal {
                code: 1011,
                reason: format!("the draft could not be kept: {error}"),
            }
        })?;
        let merged =
            yrs::merge_updates_v1([update.as_slice(), undo.as_slice()]).map_err(|error| {
                self.state.hub.reload(entry);
                Fatal {
                    code: 1011,
                    reason: format!("the draft could not be kept: {error}"),
                }
            })?;
        tracing::info!(doc = entry.id, "kept a draft of a matter under legal hold");
        if let Some(subscription) = self.docs.get(key) {
            let principal = subscription.principal.clone();
            self.audit(
                &principal,
                Some(entry.case_id),
                "deletion_refused_legal_hold",
                serde_json::json!({ "document": entry.name }),
            )
            .await;
        }
        self.reply(Frame::new(key, Message::Sync(SyncMessage::Update(undo))));
        let notice = serde_json::json!({ "code": refusal.code(), "message": refusal.to_string() });
        self.reply(Frame::new(key, Message::Stateless(notice.to_string())));
        Ok(merged)
    }

    async fn verify(&mut self, token: &str) -> Result<Arc<Principal>, Error> {
        use sha2::Digest;
        let now = chrono::Utc::now().timestamp();
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some((_, principal)) = self
            .principals
            .iter()
            .find(|(known, principal)| *known == digest && !principal.is_expired(now))
        {
            return Ok(principal.clone());
        }
        let principal = Arc::new(self.state.verifier.verify(token).await?);
        // Recorded once per connection, and again only when a new token names the person
        // differently (a refreshed token after a change of name in the identity provider).
        let recorded = self
            .seen_users
            .iter()
            .find(|seen| seen.user_id == principal.user_id);
        let first_sight = recorded.is_none();
        if recorded.is_none_or(|seen| {
            seen.firm_id != principal.firm_id || seen.profile != principal.profile
        }) {
            db::directory::ensure_principal(&self.state.pool, &principal).await?;
            self.seen_users
                .retain(|seen| seen.user_id != principal.user_id);
            self.seen_users.push(principal.clone());
        }
        if first_sight {
            self.audit(&principal, None, "sign_in_seen", serde_json::json!({}))
                .await;
        }
        if self.principals.len() >= MAX_TOKENS_PER_CONNECTION {
            self.principals.clear();
        }
        self.principals.retain(|(known, _)| *known != digest);
        self.principals.push((digest, principal.clone()));
        Ok(principal)
    }

    async fn authenticate(&mut self, key: String, auth: AuthMessage) -> Result<(), Fatal> {
        let AuthMessage::Token { token, .. } = auth else {
            return Ok(());
        };
        let principal = match self.verify(&token).await {
            Ok(principal) => principal,
            Err(error) => return self.answer(&key, error),
        };
        if !self.count_user(&principal.user_id) {
            self.deny(
                &key,
                &format!(
                    "too many connections for this user (at most {}): close another window or device",
                    self.state.limiter.settings().max_connections_per_user
                ),
            );
            return Ok(());
        }
        self.authenticated = true;
        let authenticated = |writes: Writes| {
            Frame::new(
                key.as_str(),
                Message::Auth(AuthMessage::Authenticated {
                    scope: writes.scope().into(),
                }),
            )
        };
        if key == HUB_CHANNEL {
            match &self.hub {
                // A refreshed token on the open channel: same person, new expiry.
                Some((firm, user, expires_at))
                    if *firm == principal.firm_id && *user == principal.user_id =>
                {
                    expires_at.store(principal.expires_at, Ordering::Release);
                }
                _ => {
                    if let Some((previous, _, _)) = self.hub.take() {
                        self.state.hub.unsubscribe_hub(&previous, self.sender.id);
                    }
                    let expires_at = Arc::new(AtomicI64::new(principal.expires_at));
                    self.state.hub.subscribe_hub(
                        &principal.firm_id,
                        &principal.user_id,
                        self.sender.clone(),
                        expires_at.clone(),
                    );
                    self.hub = Some((
                        principal.firm_id.clone(),
                        principal.user_id.clone(),
                        expires_at,
                    ));
                }
            }
            self.reply(authenticated(Writes::Everything));
            return Ok(());
        }
        let name = key.split('\0').next().unwrap_or_default();
        let doc = match DocName::parse(name) {
            Ok(doc) => doc,
            Err(error) => {
                self.deny(&key, &error.to_string());
                return Ok(());
            }
        };
        if let Some(existing) = self.docs.get(&key) {
            // A refreshed token on an open key renews nothing by itself: the same person's
            // membership and walls are read again, as on a first open.
            if *existing.user_id == *principal.user_id
                && Role::from_code(existing.access.load(Ordering::Acquire)).is_some()
            {
                let access = match crate::db::access::case_access(
                    &self.state.pool,
                    existing.entry.case_id,
                    &principal.user_id,
                )
                .await
                {
                    Ok(access) => access,
                    Err(error) => return self.answer(&key, error.into()),
                };
                if let Some(existing) = self.docs.get_mut(&key) {
                    existing.access.store(Role::code(access), Ordering::Release);
                    if let Some(role) = access {
                        existing
                            .expires_at
                            .store(principal.expires_at, Ordering::Release);
                        existing.principal = principal;
                        let writes = role.writes(existing.kind);
                        self.reply(authenticated(writes));
                        return Ok(());
                    }
                }
            }
            self.unsubscribe(&key);
        }
        let max_docs = self.state.limiter.settings().max_docs_per_connection;
        if self.docs.len() >= max_docs {
            self.deny(
                &key,
                &format!("too many documents open on this connection (at most {max_docs})"),
            );
            return Ok(());
        }
        // Read before the role: a change applied after this bumps it (see below).
        let epoch = self.state.hub.access_epoch();
        let limiter = self.state.limiter.clone();
        let user_for_limit = principal.user_id.clone();
        let row = match db::sync::open_document(
            &self.state.pool,
            &doc,
            &principal.user_id,
            &principal.firm_id,
            move || limiter.new_case(&user_for_limit),
        )
        .await
        {
            Ok(row) => row,
            Err(error) => {
                if let Error::NotFound = error {
                    let case_id = uuid::Uuid::parse_str(doc.case_id().as_str()).ok();
                    crate::db::audit::audit_refusal(
                        &self.state.pool,
                        &principal.firm_id,
                        &principal.user_id,
                        case_id,
                        "access_denied",
                        serde_json::json!({ "document": doc.as_str() }),
                    )
                    .await;
                }
                return self.answer(&key, error);
            }
        };
        let user_id: Arc<str> = Arc::from(principal.user_id.as_str());
        let access = Arc::new(AtomicU8::new(Role::code(Some(row.role))));
        let expires_at = Arc::new(AtomicI64::new(principal.expires_at));
        let subscribed = self
            .state
            .hub
            .subscribe(
                &self.state.pool,
                &row,
                doc.as_str(),
                NewSubscriber {
                    sender: self.sender.clone(),
                    routing_key: key.clone(),
                    user_id: user_id.clone(),
                    access: access.clone(),
                    kind: doc.kind(),
                    expires_at: expires_at.clone(),
                    greeting: Bytes::from(authenticated(row.role.writes(doc.kind())).encode()),
                },
            )
            .await;
        let (entry, id) = match subscribed {
            Ok(subscribed) => subscribed,
            Err(error) => return self.answer(&key, error.into()),
        };
        let subscription = Subscription {
            id,
            entry,
            user_id: user_id.clone(),
            principal,
            access: access.clone(),
            kind: doc.kind(),
            expires_at,
        };
        self.docs.insert(key.clone(), Box::new(subscription));
        // An access change applied between reading the role and registering the subscription
        // did not find it: read the role again, now that any later change will.
        if self.state.hub.access_changed_since(epoch) {
            let fresh =
                match crate::db::access::case_access(&self.state.pool, row.case_id, &user_id).await
                {
                    Ok(fresh) => fresh,
                    Err(error) => {
                        self.unsubscribe(&key);
                        return self.answer(&key, error.into());
                    }
                };
            let Some(fresh) = fresh else {
                self.unsubscribe(&key);
                return self.answer(&key, Error::NotFound);
            };
            access.store(Role::code(Some(fresh)), Ordering::Release);
            if fresh.writes(doc.kind()) != row.role.writes(doc.kind()) {
                // The greeting told the role read before the change: tell the new one.
                self.reply(authenticated(fresh.writes(doc.kind())));
            }
        }
        let Some(subscription) = self.docs.get(&key) else {
            return Ok(());
        };
        let principal = subscription.principal.clone();
        self.audit(
            &principal,
            Some(row.case_id),
            "document_opened",
            serde_json::json!({ "document": doc.as_str() }),
        )
        .await;
        Ok(())
    }

    /// Count this connection against `user`'s limit the first time it authenticates as them.
    fn count_user(&mut self, user: &str) -> bool {
        if self.user_slots.iter().any(|(counted, _)| counted == user) {
            return true;
        }
        match self.state.limiter.user_connection(user) {
            Some(slot) => {
                self.user_slots.push((user.to_owned(), slot));
                true
            }
            None => false,
        }
    }

    async fn handle_hub(&mut self, message: Message) -> Result<(), Fatal> {
        let Some((firm, user, expires_at)) = self.hub.clone() else {
            self.deny(HUB_CHANNEL, "authenticate this channel first");
            return Ok(());
        };
        let Message::Stateless(text) = message else {
            return Ok(());
        };
        if expires_at.load(Ordering::Acquire) <= chrono::Utc::now().timestamp() {
            // Like documents: nothing is served on an expired token until the client
            // re-authenticates on this socket.
            self.reply(Frame::new(
                HUB_CHANNEL,
                Message::Auth(AuthMessage::TokenRequest),
            ));
            metrics::TOKEN_REQUESTS.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let reply = match HubMessage::parse(&text) {
            Ok(HubMessage::Changes(ChangesField::Request(_))) if !self.changes_budget.take() => {
                HubMessage::Error {
                    code: "rate_limited".into(),
                    message: format!(
                        "at most {} catch-up requests a minute: wait for the change notice",
                        self.state.limiter.settings().changes_per_minute
                    ),
                }
            }
            Ok(HubMessage::Changes(ChangesField::Request(request))) => {
                match db::sync::changes_since(
                    &self.state.pool,
                    &firm,
                    &user,
                    request.since,
                    MAX_CHANGES_PER_REPLY,
                )
                .await
                {
                    Ok((cursor, docs, more)) => HubMessage::reply(cursor, docs, more),
                    Err(error) => {
                        tracing::error!(%error, "catch-up query failed");
                        HubMessage::Error {
                            code: "server_error".into(),
                            message: "try again".into(),
                        }
                    }
                }
            }
            Ok(_) => HubMessage::Error {
                code: "unsupported".into(),
                message: "clients may only ask for changes".into(),
            },
            Err(error) => HubMessage::Error {
                code: error.code().into(),
                message: error.to_string(),
            },
        };
        self.reply(Frame::new(HUB_CHANNEL, Message::Stateless(reply.to_json())));
        Ok(())
    }

    async fn audit(
        &self,
        principal: &Principal,
        case_id: Option<uuid::Uuid>,
        action: &str,
        detail: serde_json::Value,
    ) {
        let entry = crate::db::audit::Audit {
            firm_id: &principal.firm_id,
            case_id,
            user_id: Some(&principal.user_id),
            action,
            detail,
        };
        crate::db::audit::audit_best_effort(&self.state.pool, entry).await;
    }

    fn unsubscribe(&mut self, key: &str) {
        if let Some(subscription) = self.docs.remove(key)
            && let Some(removal) = self
                .state
                .hub
                .unsubscribe(&subscription.entry, subscription.id)
        {
            let fanout = self.state.fanout.clone();
            let entry = subscription.entry.clone();
            tokio::spawn(async move {
                fanout
                    .publish_awareness(&entry.name, &entry.firm_id, &removal)
                    .await
            });
        }
    }

    fn cleanup(&mut self) {
        let keys: Vec<String> = self.docs.keys().cloned().collect();
        for key in keys {
            self.unsubscribe(&key);
        }
        if let Some((firm, _, _)) = self.hub.take() {
            self.state.hub.unsubscribe_hub(&firm, self.sender.id);
        }
    }
}
