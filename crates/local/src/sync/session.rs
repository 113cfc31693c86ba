//! One connection's sync state machine, without I/O: it consumes decoded server frames and
//! client commands, and produces frames to send (`take_outgoing`) and events. `client.rs` owns
//! the socket and the reconnect loop; a new `Session` starts on every connect, so in-flight
//! bookkeeping from a dead connection is dropped and unacknowledged outbox entries are resent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use protocol::{
    AuthMessage, AwarenessEntry, AwarenessUpdate, CaseId, ChangesField, DocName, Frame,
    HUB_CHANNEL, HubMessage, Message, SyncMessage, Wire,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::{LocalError, Store, SyncEvent, SyncState};

/// Outbox entries read per query while flushing.
const OUTBOX_BATCH: usize = 256;
/// The empty v1 update: nothing to apply, nothing to tell the UI.
const EMPTY_UPDATE: &[u8] = &[0, 0];

/// What a `PermissionDenied` means for the matter on this laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    /// Sent to open connections when the firm removes or screens the lawyer.
    Revoked,
    /// The server's one answer for a matter the lawyer may not see (another firm's, removed,
    /// screened, or never created): a wall only if the server granted the matter before.
    NotFound,
    /// Anything else ("server error …", "too many …", "authenticate …"): may pass; never purges.
    Other,
}

impl Denial {
    /// Only the server's two exact answers count; an unknown reason is treated as passing, so a
    /// new server message can never make a laptop destroy data.
    fn of(reason: &str) -> Self {
        match reason {
            "access revoked" => Self::Revoked,
            "document not found" => Self::NotFound,
            _ => Self::Other,
        }
    }
}

/// What this device says about itself, kept across connections.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    pub client_id: u64,
    /// Documents kept subscribed for live updates.
    pub opened: HashSet<DocName>,
    /// Our awareness state per document: (clock, JSON state).
    pub awareness: HashMap<DocName, (u64, String)>,
}

impl Presence {
    /// Our new awareness state for `doc` (its clock moves on).
    pub fn set_awareness(&mut self, doc: DocName, state: String) {
        let entry = self.awareness.entry(doc).or_insert((0, String::new()));
        entry.0 += 1;
        entry.1 = state;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Pending,
    ReadWrite,
    /// A commenter on a draft: changes are sent, and the server keeps only those that stay in
    /// the draft's comments.
    Comment,
    ReadOnly,
    Denied,
}

#[derive(Debug)]
struct DocSync {
    scope: Scope,
    /// The server's Step2 (answer to our Step1) has arrived.
    synced: bool,
    /// One item per Step2/Update frame sent, popped by each `SyncStatus`.
    in_flight: VecDeque<Option<i64>>,
}

/// This connection's catch-up channel (`$hub` on the wire): what the server listed as changed
/// since the stored cursor, and when that cursor may move on.
#[derive(Debug, Default)]
struct CatchUp {
    authenticated: bool,
    /// A `changes` request is outstanding.
    requesting: bool,
    /// Newest cursor seen, to be stored once every document it covers finished syncing.
    cursor: Option<i64>,
    /// Documents listed by a catch-up reply whose initial sync has not finished.
    waiting: HashSet<DocName>,
    /// A change notice arrived while a request was outstanding: ask again after the reply.
    again: bool,
}

pub(crate) struct Session {
    store: Arc<Store>,
    events: UnboundedSender<SyncEvent>,
    token: String,
    /// Where fresh tokens come from when the server asks again (`TokenRequest`).
    tokens: Arc<dyn crate::TokenSource>,
    docs: HashMap<DocName, DocSync>,
    catch_up: CatchUp,
    /// Highest outbox id already sent (or skipped) on this connection.
    sent_upto: i64,
    outgoing: Vec<Wire>,
    /// Set once the server authenticated anything: the connection is worth keeping.
    pub healthy: bool,
    /// The store belongs to nobody yet: it is bound to this account when the server accepts
    /// the token (the catch-up channel's `Authenticated`), and until then nothing but that one
    /// authentication is sent, so a token the server refuses never binds the store.
    binding: Option<crate::Account>,
}

fn frame(doc: &str, message: Message) -> Wire {
    Wire::Frame(Frame::new(doc, message))
}

pub(crate) fn emit(events: &UnboundedSender<SyncEvent>, event: SyncEvent) {
    // A closed receiver means the app stopped listening; syncing continues regardless.
    if events.send(event).is_err() {
        tracing::trace!("sync event dropped: no receiver");
    }
}

impl Session {
    pub fn new(
        store: Arc<Store>,
        events: UnboundedSender<SyncEvent>,
        token: String,
        tokens: Arc<dyn crate::TokenSource>,
    ) -> Self {
        Self {
            store,
            events,
            token,
            tokens,
            docs: HashMap::new(),
            catch_up: CatchUp::default(),
            sent_upto: 0,
            outgoing: Vec::new(),
            healthy: false,
            binding: None,
        }
    }

    /// Bind the store to `account` once the server accepts the token (see `binding`).
    pub fn bind_when_accepted(&mut self, account: crate::Account) {
        self.binding = Some(account);
    }

    pub fn take_outgoing(&mut self) -> Vec<Wire> {
        std::mem::take(&mut self.outgoing)
    }

    fn auth_frame(&mut self, doc: &str) -> Wire {
        // The newest token: after an expiry the server asks again, and the old one will not do.
        if let Ok(token) = self.tokens.token() {
            self.token = token;
        }
        frame(
            doc,
            Message::Auth(AuthMessage::Token {
                token: self.token.clone(),
                provider_version: None,
            }),
        )
    }

    /// Everything sent right after connecting: catch-up, then opened documents and documents
    /// with pending outbox entries, then the outbox itself. Frames are pipelined.
    pub fn start(&mut self, presence: &Presence) -> Result<(), LocalError> {
        {
            let auth = self.auth_frame(HUB_CHANNEL);
            self.outgoing.push(auth)
        };
        if self.binding.is_some() {
            return Ok(());
        }
        self.begin(presence)
    }

    /// Catch-up, subscriptions and the outbox: what follows the first authentication.
    fn begin(&mut self, presence: &Presence) -> Result<(), LocalError> {
        self.request_changes(self.store.cursor()?);
        let mut docs: Vec<DocName> = presence.opened.iter().cloned().collect();
        docs.extend(presence.awareness.keys().cloned());
        docs.extend(self.store.pending_documents()?);
        for doc in docs {
            self.subscribe(&doc, presence)?;
        }
        self.flush_outbox(presence)
    }

    fn request_changes(&mut self, since: i64) {
        self.catch_up.requesting = true;
        self.outgoing.push(frame(
            HUB_CHANNEL,
            Message::Stateless(HubMessage::request(since).to_json()),
        ));
    }

    /// A fresh token is available: send it for the catch-up channel and every document this
    /// connection follows, before the old one expires (the server then keeps streaming).
    pub fn reauthenticate(&mut self) {
        let mut keys: Vec<String> = self
            .docs
            .iter()
            .filter(|(_, sync)| sync.scope != Scope::Denied)
            .map(|(doc, _)| doc.as_str().to_owned())
            .collect();
        if self.catch_up.authenticated {
            keys.push(HUB_CHANNEL.to_owned());
        }
        for key in keys {
            let auth = self.auth_frame(&key);
            self.outgoing.push(auth);
        }
    }

    /// Authenticate `doc` and start its initial sync, unless already done on this connection.
    pub fn subscribe(&mut self, doc: &DocName, presence: &Presence) -> Result<(), LocalError> {
        // Before the store is bound, nothing about any document leaves: `begin` subscribes
        // opened and pending documents once it is.
        if self.docs.contains_key(doc) || self.binding.is_some() {
            return Ok(());
        }
        // A matter made before this store was bound stays on this computer until attached: no
        // Step1 (the server's Step1 would pull it up as our Step2) and no outbox entries.
        if self.store.is_local_only(&doc.case_id())? {
            return Ok(());
        }
        let state_vector = self.store.state_vector(doc)?;
        {
            let auth = self.auth_frame(doc.as_str());
            self.outgoing.push(auth)
        };
        self.outgoing.push(frame(
            doc.as_str(),
            Message::Sync(SyncMessage::Step1(state_vector)),
        ));
        self.docs.insert(
            doc.clone(),
            DocSync {
                scope: Scope::Pending,
                synced: false,
                in_flight: VecDeque::new(),
            },
        );
        if let Some((clock, state)) = presence.awareness.get(doc) {
            self.send_awareness_entry(doc, presence.client_id, *clock, state.clone());
        }
        if presence.opened.contains(doc) || presence.awareness.contains_key(doc) {
            self.outgoing
                .push(frame(doc.as_str(), Message::QueryAwareness));
        }
        Ok(())
    }

    fn send_awareness_entry(&mut self, doc: &DocName, client_id: u64, clock: u64, state: String) {
        let update = AwarenessUpdate {
            entries: vec![AwarenessEntry {
                client_id,
                clock,
                state,
            }],
        };
        self.outgoing
            .push(frame(doc.as_str(), Message::Awareness(update.encode())));
    }

    /// Send our current awareness state for `doc` (subscribing it first if needed).
    pub fn send_awareness(&mut self, doc: &DocName, presence: &Presence) -> Result<(), LocalError> {
        if !self.docs.contains_key(doc) {
            // subscribe() sends the state itself.
            return self.subscribe(doc, presence);
        }
        if let Some((clock, state)) = presence.awareness.get(doc) {
            self.send_awareness_entry(doc, presence.client_id, *clock, state.clone());
        }
        Ok(())
    }

    /// Tell the server we are gone from every document we announced ourselves in.
    pub fn leave_awareness(&mut self, presence: &mut Presence) {
        let client_id = presence.client_id;
        let docs: Vec<(DocName, u64)> = presence
            .awareness
            .iter_mut()
            .map(|(doc, (clock, _))| {
                *clock += 1;
                (doc.clone(), *clock)
            })
            .collect();
        for (doc, clock) in docs {
            if self
                .docs
                .get(&doc)
                .is_some_and(|sync| sync.scope != Scope::Denied)
            {
                self.send_awareness_entry(&doc, client_id, clock, "null".into());
            }
        }
    }

    /// Send outbox entries not yet sent on this connection (none to read when the store's
    /// newest entry is one this connection has sent).
    pub fn flush_outbox(&mut self, presence: &Presence) -> Result<(), LocalError> {
        if self.binding.is_some() || self.store.outbox_state().newest <= self.sent_upto {
            return Ok(());
        }
        loop {
            let entries = self.store.pending_after(self.sent_upto, OUTBOX_BATCH)?;
            let Some(last) = entries.last() else {
                return Ok(());
            };
            self.sent_upto = last.id;
            for entry in entries {
                self.subscribe(&entry.doc, presence)?;
                let Some(sync) = self.docs.get_mut(&entry.doc) else {
                    continue;
                };
                // Kept in the outbox: a later connection may have the rights again.
                if matches!(sync.scope, Scope::Denied | Scope::ReadOnly) {
                    continue;
                }
                sync.in_flight.push_back(Some(entry.id));
                self.outgoing.push(frame(
                    entry.doc.as_str(),
                    Message::Sync(SyncMessage::Update(entry.update)),
                ));
            }
        }
    }

    /// Where this connection stands, for `SyncEvent::State`.
    pub fn state(&self) -> SyncState {
        // Waiting for the server to accept the token (and bind the store) is not in step yet.
        let busy = self.binding.is_some()
            || self.catch_up.requesting
            || self.docs.values().any(|sync| {
                sync.scope != Scope::Denied && (!sync.synced || !sync.in_flight.is_empty())
            });
        let pending = self.store.outbox_state().pending;
        if busy {
            SyncState::Syncing { pending }
        } else {
            SyncState::Synced
        }
    }

    /// Handle one message from the server. `Err` is a local failure (the database); protocol
    /// oddities from the server are logged and skipped.
    pub fn handle(&mut self, wire: Wire, presence: &mut Presence) -> Result<(), LocalError> {
        let frame = match wire {
            Wire::Ping => {
                self.outgoing.push(Wire::Pong);
                return Ok(());
            }
            Wire::Pong => return Ok(()),
            Wire::Frame(frame) => frame,
        };
        let name = frame.document_name().to_owned();
        if name == HUB_CHANNEL {
            return self.handle_catch_up(frame.message, presence);
        }
        let doc = match DocName::parse(&name) {
            Ok(doc) => doc,
            Err(error) => {
                tracing::warn!(
                    code = error.code(),
                    "server sent a frame for an invalid document name"
                );
                return Ok(());
            }
        };
        if !self.docs.contains_key(&doc) {
            tracing::debug!(doc = %doc, "ignoring a frame for a document not subscribed on this connection");
            return Ok(());
        }
        match frame.message {
            Message::Auth(auth) => self.handle_doc_auth(&doc, auth, presence),
            Message::Sync(sync) | Message::SyncReply(sync) => self.handle_sync(&doc, sync),
            Message::SyncStatus(stored) => self.handle_status(&doc, stored),
            Message::Awareness(bytes) => {
                self.handle_awareness(&doc, &bytes, presence.client_id);
                Ok(())
            }
            Message::Close(reason) => {
                tracing::info!(doc = %doc, reason, "server closed the document");
                self.docs.remove(&doc);
                Ok(())
            }
            Message::QueryAwareness => {
                if let Some((clock, state)) = presence.awareness.get(&doc) {
                    self.send_awareness_entry(&doc, presence.client_id, *clock, state.clone());
                }
                Ok(())
            }
            Message::Stateless(_) | Message::BroadcastStateless(_) => Ok(()),
        }
    }

    fn handle_doc_auth(
        &mut self,
        doc: &DocName,
        auth: AuthMessage,
        presence: &mut Presence,
    ) -> Result<(), LocalError> {
        match auth {
            AuthMessage::Authenticated { scope } => {
                self.healthy = true;
                self.store.record_matter_granted(&doc.case_id())?;
                if let Some(sync) = self.docs.get_mut(doc) {
                    let now = match scope.as_str() {
                        "readonly" => Scope::ReadOnly,
                        "comment" => Scope::Comment,
                        _ => Scope::ReadWrite,
                    };
                    let before = std::mem::replace(&mut sync.scope, now);
                    // The server re-announces the scope when the lawyer's role changes while
                    // the document is open: the window asks for the role again.
                    if matches!(before, Scope::ReadWrite | Scope::Comment | Scope::ReadOnly)
                        && before != now
                    {
                        emit(
                            &self.events,
                            SyncEvent::RoleChanged {
                                case_id: doc.case_id(),
                            },
                        );
                    }
                }
            }
            AuthMessage::PermissionDenied { reason } => {
                let denial = Denial::of(&reason);
                let refused_before = self
                    .docs
                    .get(doc)
                    .is_some_and(|sync| sync.scope == Scope::Denied);
                if refused_before && denial == Denial::Other {
                    // The answers to frames pipelined behind the first refusal
                    // ("authenticate this document first"): already reported.
                    tracing::debug!(doc = %doc, reason, "further refusal of a refused document");
                    return Ok(());
                }
                let wall = match denial {
                    Denial::Revoked => true,
                    Denial::NotFound => self.store.matter_granted_before(&doc.case_id())?,
                    Denial::Other => false,
                };
                if wall {
                    return self.remove_matter(doc.case_id(), reason, presence);
                }
                tracing::warn!(doc = %doc, reason, "access to document denied; its outbox is kept");
                if let Some(sync) = self.docs.get_mut(doc) {
                    sync.scope = Scope::Denied;
                    sync.in_flight.clear();
                }
                self.catch_up.waiting.remove(doc);
                self.store_cursor_when_done()?;
                emit(
                    &self.events,
                    SyncEvent::Denied {
                        doc: doc.clone(),
                        reason,
                    },
                );
            }
            AuthMessage::TokenRequest => {
                // Our token expired: authenticate again with a fresh one, then ask for what was
                // not sent to us meanwhile (the server pauses the stream while a token is stale).
                let auth = self.auth_frame(doc.as_str());
                self.outgoing.push(auth);
                let state_vector = self.store.state_vector(doc)?;
                self.outgoing.push(frame(
                    doc.as_str(),
                    Message::Sync(SyncMessage::Step1(state_vector)),
                ));
            }
            AuthMessage::Token { .. } => {
                tracing::warn!(doc = %doc, "server sent a token frame; ignored")
            }
        }
        Ok(())
    }

    /// The firm walled the lawyer off `case_id`: purge the matter, stop syncing every document
    /// of it on this connection and on later ones, and tell the app once.
    fn remove_matter(
        &mut self,
        case_id: CaseId,
        reason: String,
        presence: &mut Presence,
    ) -> Result<(), LocalError> {
        let report = self.store.purge_case(&case_id, &reason)?;
        for (_, sync) in self
            .docs
            .iter_mut()
            .filter(|(doc, _)| doc.case_id() == case_id)
        {
            sync.scope = Scope::Denied;
            sync.in_flight.clear();
        }
        self.catch_up.waiting.retain(|doc| doc.case_id() != case_id);
        presence.opened.retain(|doc| doc.case_id() != case_id);
        presence.awareness.retain(|doc, _| doc.case_id() != case_id);
        self.store_cursor_when_done()?;
        // The server denies every open document of the matter; the first purge takes them all.
        if report.docs > 0 {
            tracing::warn!(
                %case_id,
                reason,
                discarded = report.unsynced_updates,
                "matter removed from this computer by the firm"
            );
            emit(
                &self.events,
                SyncEvent::MatterRemoved {
                    case_id,
                    reason,
                    discarded_changes: report.unsynced_updates,
                },
            );
        }
        Ok(())
    }

    fn handle_sync(&mut self, doc: &DocName, message: SyncMessage) -> Result<(), LocalError> {
        // Nothing from a refused document is applied (it may belong to a purged matter).
        if self
            .docs
            .get(doc)
            .is_some_and(|sync| sync.scope == Scope::Denied)
        {
            return Ok(());
        }
        match message {
            SyncMessage::Step1(state_vector) => {
                let Some(sync) = self.docs.get(doc) else {
                    return Ok(());
                };
                if matches!(sync.scope, Scope::Denied | Scope::ReadOnly) {
                    return Ok(());
                }
                let diff = match self.store.diff_since(doc, &state_vector) {
                    Ok(diff) => diff,
                    Err(LocalError::InvalidStateVector(error)) => {
                        tracing::warn!(doc = %doc, error, "server sent an invalid state vector");
                        return Ok(());
                    }
                    Err(error) => return Err(error),
                };
                if let Some(sync) = self.docs.get_mut(doc) {
                    sync.in_flight.push_back(None);
                }
                self.outgoing
                    .push(frame(doc.as_str(), Message::Sync(SyncMessage::Step2(diff))));
            }
            SyncMessage::Step2(update) => {
                // A sync step answers our state vector: everything we lack, in order. Refused
                // (only a server bug could do that): logged, and not asked for again in a loop.
                self.apply_remote(doc, update)?;
                if let Some(sync) = self.docs.get_mut(doc) {
                    sync.synced = true;
                }
                if self.catch_up.waiting.remove(doc) {
                    self.store_cursor_when_done()?;
                }
            }
            SyncMessage::Update(update) => {
                if !self.apply_remote(doc, update)? {
                    self.resync(doc)?;
                }
            }
        }
        Ok(())
    }

    /// This laptop is behind on `doc`: a live update arrived before what it builds on (yrs would
    /// have kept it pending; `protocol::integrate_update` refuses that, see integrate.rs). Ask
    /// for everything we lack with a fresh sync step, as on connect: the server's answer holds
    /// the refused update and what it builds on.
    fn resync(&mut self, doc: &DocName) -> Result<(), LocalError> {
        let Some(sync) = self.docs.get_mut(doc) else {
            return Ok(());
        };
        if sync.scope == Scope::Denied {
            return Ok(());
        }
        sync.synced = false;
        let state_vector = self.store.state_vector(doc)?;
        self.outgoing.push(frame(
            doc.as_str(),
            Message::Sync(SyncMessage::Step1(state_vector)),
        ));
        Ok(())
    }

    /// Apply a change from the server; `false` when it was refused as not integrable here.
    fn apply_remote(&mut self, doc: &DocName, update: Vec<u8>) -> Result<bool, LocalError> {
        if update == EMPTY_UPDATE {
            return Ok(true);
        }
        match self.store.apply_remote_update(doc, &update) {
            Ok(()) => {
                emit(
                    &self.events,
                    SyncEvent::RemoteUpdate {
                        doc: doc.clone(),
                        update,
                    },
                );
                Ok(true)
            }
            Err(LocalError::InvalidUpdate(error)) => {
                tracing::warn!(doc = %doc, error, "a change from the server cannot be integrated yet; asking for what is missing");
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    fn handle_status(&mut self, doc: &DocName, stored: bool) -> Result<(), LocalError> {
        let Some(sync) = self.docs.get_mut(doc) else {
            return Ok(());
        };
        match sync.in_flight.pop_front() {
            Some(Some(id)) if stored => self.store.ack(&[id])?,
            Some(Some(id)) => {
                tracing::warn!(doc = %doc, id, "server refused an update; kept in the outbox")
            }
            Some(None) if !stored => tracing::warn!(doc = %doc, "server refused our sync step 2"),
            Some(None) => {}
            None => tracing::warn!(doc = %doc, "sync status without a matching update"),
        }
        Ok(())
    }

    fn handle_awareness(&mut self, doc: &DocName, bytes: &[u8], own_client_id: u64) {
        match AwarenessUpdate::decode(bytes) {
            Ok(update) => {
                let states: Vec<AwarenessEntry> = update
                    .entries
                    .into_iter()
                    .filter(|entry| entry.client_id != own_client_id)
                    .collect();
                if !states.is_empty() {
                    emit(
                        &self.events,
                        SyncEvent::Awareness {
                            doc: doc.clone(),
                            states,
                        },
                    );
                }
            }
            Err(error) => {
                tracing::warn!(doc = %doc, code = error.code(), "invalid awareness update from server")
            }
        }
    }

    fn handle_catch_up(&mut self, message: Message, presence: &Presence) -> Result<(), LocalError> {
        match message {
            Message::Auth(AuthMessage::Authenticated { .. }) => {
                self.healthy = true;
                self.catch_up.authenticated = true;
                if let Some(account) = self.binding.take() {
                    // The server accepted the token: from now on the store is this account's.
                    self.store.bind_account(&account)?;
                    self.begin(presence)?;
                }
            }
            Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                // The catch-up channel is refused only when the server refuses the token itself
                // (a rotated signing key, clock skew, a revoked sign-in): every document would be
                // refused too, and a connection that stays open on those refusals looks synced
                // while nothing syncs. End it; the client reconnects with backoff and the
                // newest token. Before binding, nothing was sent and the store stays unbound.
                let problem = format!("the server refused the sign-in ({reason}); sign in again");
                emit(&self.events, SyncEvent::Problem(problem.clone()));
                return Err(LocalError::Connection(problem));
            }
            Message::Auth(AuthMessage::TokenRequest) => {
                let auth = self.auth_frame(HUB_CHANNEL);
                self.outgoing.push(auth)
            }
            Message::Stateless(text) => match HubMessage::parse(&text) {
                Ok(HubMessage::Changes(ChangesField::Reply(reply))) => {
                    self.catch_up.requesting = false;
                    self.follow(&reply.docs, Some(reply.cursor), presence)?;
                    if reply.more {
                        self.request_changes(reply.cursor);
                    } else if std::mem::take(&mut self.catch_up.again) {
                        // Nothing is missed from the reply's cursor on (it is a snapshot xmin).
                        self.request_changes(reply.cursor);
                    } else {
                        self.store_cursor_when_done()?;
                    }
                }
                Ok(HubMessage::Changed { docs, .. }) => {
                    // A notice carries no cursor that is safe to store (another instance may
                    // still be committing older changes) and, from our server, no names (it
                    // cannot know which matters we may see): follow any names given and ask for
                    // changes since our cursor; the access-filtered reply moves the cursor on.
                    // The server sends at most one notice a second per connection.
                    self.follow(&docs, None, presence)?;
                    if self.catch_up.requesting {
                        self.catch_up.again = true;
                    } else {
                        self.request_changes(self.store.cursor()?);
                    }
                }
                Ok(HubMessage::Error { code, message }) => {
                    tracing::warn!(code, message, "catch-up request refused");
                    self.catch_up.requesting = false;
                }
                Ok(HubMessage::Changes(ChangesField::Request(_))) => {}
                Err(error) => tracing::warn!(code = error.code(), "invalid catch-up message"),
            },
            _ => {}
        }
        Ok(())
    }

    /// Sync the listed documents (those not yet synced on this connection) and remember the
    /// cursor to store once they are done.
    fn follow(
        &mut self,
        docs: &[String],
        cursor: Option<i64>,
        presence: &Presence,
    ) -> Result<(), LocalError> {
        for name in docs {
            let doc = match DocName::parse(name) {
                Ok(doc) => doc,
                Err(error) => {
                    tracing::warn!(
                        code = error.code(),
                        "a catch-up reply listed an invalid document name"
                    );
                    continue;
                }
            };
            self.subscribe(&doc, presence)?;
            if let Some(sync) = self.docs.get(&doc)
                && !sync.synced
                && sync.scope != Scope::Denied
            {
                self.catch_up.waiting.insert(doc);
            }
        }
        if let Some(cursor) = cursor {
            self.catch_up.cursor = Some(
                self.catch_up
                    .cursor
                    .map_or(cursor, |known| known.max(cursor)),
            );
        }
        Ok(())
    }

    fn store_cursor_when_done(&mut self) -> Result<(), LocalError> {
        if self.catch_up.requesting || !self.catch_up.waiting.is_empty() {
            return Ok(());
        }
        if let Some(cursor) = self.catch_up.cursor.take() {
            self.store.set_cursor(cursor)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Denial;

    #[test]
    fn only_the_servers_two_definitive_answers_can_purge() {
        assert_eq!(Denial::of("access revoked"), Denial::Revoked);
        assert_eq!(Denial::of("document not found"), Denial::NotFound);
        for passing in [
            "server error: database unavailable",
            "server error",
            "too many connections",
            "too many documents",
            "authenticate first",
            "authenticate again",
            "Access revoked",
            "access revoked ",
            "",
        ] {
            assert_eq!(Denial::of(passing), Denial::Other, "{passing:?}");
        }
    }
}
