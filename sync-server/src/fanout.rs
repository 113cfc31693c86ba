//! Optional Redis fan-out between instances. Each instance publishes the updates it committed
//! and the awareness it received; every instance applies what others published. Postgres stays
//! the source of truth: after a Redis outage each instance re-reads its loaded documents from
//! Postgres and tells catch-up subscribers to ask again, so nothing is lost, only delayed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use protocol::{AwarenessUpdate, Reader, Writer};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::hub::DocHub;

const CHANNEL: &str = "lawyers-hub:sync";
const KIND_UPDATE: u8 = 0;
const KIND_AWARENESS: u8 = 1;
/// "I dropped messages while Redis was away: re-read your documents from Postgres."
const KIND_RESYNC: u8 = 2;
// Kind 3 carried access changes until they moved to Postgres notices (`crate::access_watch`):
// pub/sub drops messages, and a lost revocation must never happen. It is not reused.
/// Messages waiting for Redis before new ones are dropped (and a resync is announced later).
const PUBLISH_QUEUE: usize = 16 * 1024;

pub struct Fanout {
    instance: Uuid,
    /// Publishing never blocks a writer: messages go through this queue to a publisher task.
    queue: Option<mpsc::Sender<Vec<u8>>>,
    client: Option<redis::Client>,
    healthy: AtomicBool,
    /// Messages were lost (queue full or Redis down): announce a resync once Redis is back.
    dropped: AtomicBool,
}

impl Fanout {
    /// No Redis: this instance works alone.
    pub fn disabled() -> Self {
        Self {
            instance: Uuid::new_v4(),
            queue: None,
            client: None,
            healthy: AtomicBool::new(true),
            dropped: AtomicBool::new(false),
        }
    }

    pub async fn connect(url: &str) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let manager = client.get_connection_manager_with_config(config).await?;
        let (queue, receiver) = mpsc::channel(PUBLISH_QUEUE);
        let fanout = Arc::new(Self {
            instance: Uuid::new_v4(),
            queue: Some(queue),
            client: Some(client),
            healthy: AtomicBool::new(true),
            dropped: AtomicBool::new(false),
        });
        tokio::spawn(publish_loop(fanout.clone(), manager, receiver));
        Ok(fanout)
    }

    pub fn enabled(&self) -> bool {
        self.client.is_some()
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn encode(&self, kind: u8, doc: &str, firm: &str, payload: &[u8]) -> Vec<u8> {
        let mut writer = Writer::with_capacity(payload.len() + doc.len() + firm.len() + 24);
        writer.write_raw(self.instance.as_bytes());
        writer.write_u8(kind);
        writer.write_var_str(doc);
        writer.write_var_str(firm);
        writer.write_var_bytes(payload);
        writer.into_vec()
    }

    pub async fn publish_updates(&self, updates: Vec<(String, String, Bytes)>) {
        if updates.is_empty() {
            return;
        }
        let messages = updates
            .iter()
            .map(|(doc, firm, bytes)| self.encode(KIND_UPDATE, doc, firm, bytes))
            .collect();
        self.publish(messages).await;
    }

    pub async fn publish_awareness(&self, doc: &str, firm: &str, update: &[u8]) {
        self.publish(vec![self.encode(KIND_AWARENESS, doc, firm, update)])
            .await;
    }

    async fn publish(&self, messages: Vec<Vec<u8>>) {
        let Some(queue) = &self.queue else { return };
        for message in messages {
            if queue.try_send(message).is_err() && !self.dropped.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "redis publishing is behind: dropping fan-out messages until it recovers"
                );
            }
        }
    }

    /// Receive what other instances publish, forever, reconnecting with backoff.
    pub fn spawn_subscriber(self: &Arc<Self>, hub: Arc<DocHub>, pool: PgPool, compact_after: i64) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let fanout = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            let mut first = true;
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                        Ok(()) => {
                            delay = Duration::from_millis(100);
                            fanout.healthy.store(true, Ordering::Relaxed);
                            if !first {
                                tracing::info!(
                                    "redis subscription restored; re-reading loaded documents"
                                );
                                resync(&hub, &pool).await;
                            }
                            let mut stream = pubsub.into_on_message();
                            while let Some(message) = stream.next().await {
                                fanout.receive(
                                    &hub,
                                    &pool,
                                    message.get_payload_bytes(),
                                    compact_after,
                                );
                            }
                            fanout.healthy.store(false, Ordering::Relaxed);
                            tracing::warn!("redis subscription lost");
                        }
                        Err(error) => tracing::warn!(%error, "redis subscribe failed"),
                    },
                    Err(error) => {
                        fanout.healthy.store(false, Ordering::Relaxed);
                        tracing::debug!(%error, "redis not reachable");
                    }
                }
                first = false;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
    }

    fn receive(&self, hub: &Arc<DocHub>, pool: &PgPool, payload: &[u8], compact_after: i64) {
        let Some((instance, kind, doc, firm, bytes)) = decode(payload) else {
            tracing::warn!("ignoring a malformed fan-out message");
            return;
        };
        if instance == self.instance {
            return;
        }
        match kind {
            KIND_UPDATE => {
                // The answer says the document is due for compaction and marks it as compacting:
                // start it, or the mark would never be cleared on this instance.
                if hub.apply_committed(doc, &Bytes::copy_from_slice(bytes), None, compact_after)
                    && let Some(entry) = hub.get(doc)
                {
                    crate::hub::compaction::spawn(pool.clone(), hub.clone(), entry);
                }
                hub.notify_changed(firm);
            }
            KIND_AWARENESS => {
                if let (Some(entry), Ok(update)) = (hub.get(doc), AwarenessUpdate::decode(bytes)) {
                    hub.apply_awareness(&entry, &update, None);
                }
            }
            KIND_RESYNC => {
                tracing::info!(
                    "another instance lost fan-out messages; re-reading loaded documents"
                );
                let (hub, pool) = (hub.clone(), pool.clone());
                tokio::spawn(async move { resync(&hub, &pool).await });
            }
            _ => {}
        }
    }
}

fn decode(payload: &[u8]) -> Option<(Uuid, u8, &str, &str, &[u8])> {
    let instance = Uuid::from_slice(payload.get(..16)?).ok()?;
    let mut reader = Reader::new(payload.get(16..)?);
    let kind = reader.read_u8("kind").ok()?;
    let doc = reader.read_var_str("doc").ok()?;
    let firm = reader.read_var_str("firm").ok()?;
    let bytes = reader.read_var_bytes("payload").ok()?;
    Some((instance, kind, doc, firm, bytes))
}

/// After an outage: bring every loaded document up to date from Postgres and ask every
/// catch-up subscriber to run catch-up again.
async fn resync(hub: &DocHub, pool: &PgPool) {
    for entry in hub.loaded() {
        if let Err(error) = hub.resync_from_store(pool, &entry).await {
            tracing::warn!(%error, doc = entry.id, "resync from Postgres failed");
        }
    }
    for firm in hub.hub_firms() {
        hub.notify_changed(&firm);
    }
}

/// Drain the publish queue into Redis, pipelined. While Redis is away messages are dropped (the
/// writers never wait); when it is back, a resync notice tells other instances to re-read.
async fn publish_loop(
    fanout: Arc<Fanout>,
    mut connection: ConnectionManager,
    mut queue: mpsc::Receiver<Vec<u8>>,
) {
    let mut batch = Vec::with_capacity(512);
    while queue.recv_many(&mut batch, 512).await > 0 {
        let mut pipe = redis::pipe();
        if fanout.healthy() && fanout.dropped.swap(false, Ordering::Relaxed) {
            let notice = fanout.encode(KIND_RESYNC, "", "", &[]);
            pipe.cmd("PUBLISH").arg(CHANNEL).arg(notice).ignore();
        }
        for message in &batch {
            pipe.cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(message.as_slice())
                .ignore();
        }
        match pipe.query_async::<()>(&mut connection).await {
            Ok(()) => {
                if !fanout.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("redis publishing recovered");
                }
            }
            Err(error) => {
                fanout.dropped.store(true, Ordering::Relaxed);
                if fanout.healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(%error, "redis unavailable: serving this instance's clients alone until it returns");
                }
            }
        }
        batch.clear();
    }
}
