//! Scenario 2, fan-out: one writer, many observers of the same document; each delivery is timed
//! from the stamp the writer put in the text.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use protocol::{Message, SyncMessage};

use crate::client::{
    Editor, STEP_TIMEOUT, answer_step1, connect, dev_token, epoch, histogram, micros_since, ms,
    new_doc_name, next_frame, open_doc, open_readers, ws_frame,
};
use crate::options::Sizes;
use crate::raw::Socket;
use crate::report::{Row, row};
use crate::server::Server;

/// Text inserted by the fan-out writer: `~T<µs since the bench epoch>~`. Yjs v1 updates carry
/// inserted strings verbatim, so observers find the stamp without decoding the update.
pub fn stamp_text() -> String {
    format!("~T{}~", micros_since(epoch()))
}

/// Every stamp in an update (a server may merge several updates into one frame).
pub fn find_stamps(update: &[u8]) -> Vec<u64> {
    let mut stamps = Vec::new();
    let mut rest = update;
    while let Some(at) = rest.windows(2).position(|pair| pair == b"~T") {
        rest = &rest[at + 2..];
        let Some(len) = rest.iter().position(|byte| *byte == b'~') else {
            break;
        };
        if let Some(stamp) = std::str::from_utf8(&rest[..len])
            .ok()
            .and_then(|digits| digits.parse().ok())
        {
            stamps.push(stamp);
        }
        rest = &rest[len..];
    }
    stamps
}

pub struct ObserverOutcome {
    pub delivered: u64,
    pub latency: Histogram<u64>,
}

pub async fn run(server: &Server, sizes: &Sizes, observers: usize) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-observer", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    let started = Instant::now();
    let sockets = open_readers(observers, &url, &doc, &token).await?;
    eprintln!(
        "  {observers} observers connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let editor = Editor::new();
    let mut writer = connect(&url).await?;
    let unacked = open_doc(&mut writer, &doc, &token, Some(&editor)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measure = Instant::now() + sizes.warmup;
    let end = measure + sizes.duration;
    let stop = end + Duration::from_secs(2);
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(n, ws)| {
            let presence = Presence::spread(n, observers);
            tokio::spawn(observer(
                ws,
                doc.clone(),
                measure,
                end,
                stop,
                Some(presence),
            ))
        })
        .collect();
    let writer_task = tokio::spawn(fanout_writer(
        writer,
        doc.clone(),
        editor,
        unacked,
        sizes.fanout_rate,
        measure,
        end,
    ));
    tokio::time::sleep_until(measure.into()).await;
    let cpu0 = server.cpu_seconds();
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = server.cpu_seconds();
    let sent = tokio::time::timeout(STEP_TIMEOUT, writer_task)
        .await
        .context("writer hung")???;
    let mut latency = histogram();
    let (mut delivered, mut failed) = (0u64, 0u64);
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                delivered += outcome.delivered;
                latency
                    .add(&outcome.latency)
                    .expect("same histogram bounds");
            }
            Ok(Ok(Err(error))) => {
                if failed == 0 {
                    eprintln!("  observer failed: {error:#}");
                }
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    let seconds = sizes.duration.as_secs_f64();
    let scenario = format!("fanout O={observers}");
    let target = server.target;
    let expected = sent * observers as u64;
    Ok(vec![
        row(
            &scenario,
            target,
            "deliveries/s",
            delivered as f64 / seconds,
        ),
        row(
            &scenario,
            target,
            "delivered fraction",
            delivered as f64 / expected.max(1) as f64,
        ),
        row(&scenario, target, "p50 ms", ms(&latency, 0.50)),
        row(&scenario, target, "p95 ms", ms(&latency, 0.95)),
        row(&scenario, target, "p99 ms", ms(&latency, 0.99)),
        row(&scenario, target, "max ms", latency.max() as f64 / 1000.0),
        row(
            &scenario,
            target,
            "server CPU cores",
            (cpu1 - cpu0) / seconds,
        ),
        row(
            &scenario,
            target,
            "server CPU µs/delivery",
            (cpu1 - cpu0) * 1e6 / delivered.max(1) as f64,
        ),
        row(&scenario, target, "failed observers", failed as f64),
    ])
}

/// Sends stamped updates at `rate`/s until `end`; returns how many were sent inside the window.
pub async fn fanout_writer(
    mut ws: Socket,
    doc: String,
    editor: Editor,
    _unacked: usize,
    rate: u32,
    measure: Instant,
    end: Instant,
) -> anyhow::Result<u64> {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0;
    loop {
        tokio::select! {
            now = tick.tick() => {
                if now.into_std() >= end {
                    break;
                }
                let update = editor.type_text(&stamp_text());
                let at = Instant::now();
                ws.send(ws_frame(&doc, Message::Sync(SyncMessage::Update(update)))).await?;
                if at >= measure && at < end {
                    sent += 1;
                }
            }
            frame = next_frame(&mut ws) => {
                let frame = frame?.context("the server closed the writer's connection")?;
                if let Some(reply) = answer_step1(&doc, &frame.message, Some(&editor)) {
                    ws.send(reply).await?;
                }
            }
        }
    }
    // Stay connected while the last deliveries arrive.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = next_frame(&mut ws).await {}
    })
    .await;
    let _ = ws.close(None).await;
    Ok(sent)
}

/// A lawyer's presence, as the stock provider keeps it (y-protocols `Awareness`): its state is
/// sent when it connects and renewed every 15 s (half the 30 s timeout after which others drop
/// it). Observers renew at phases spread over the 15 s, as lawyers who joined at different
/// times do: with 1,500 of them, 100 presence updates a second, each relayed to everyone else
/// (Hocuspocus, the relay) or as far as the server's per-document presence cap allows (ours).
pub struct Presence {
    client_id: u64,
    clock: u64,
    next: tokio::time::Instant,
}

/// y-protocols renews a client's own awareness state this often.
const PRESENCE_RENEWAL: Duration = Duration::from_secs(15);

impl Presence {
    pub fn spread(n: usize, of: usize) -> Self {
        // Phases uniform over the 15 s and unrelated to the order of joining (which decides
        // whose presence fits under the server's per-document cap).
        let scrambled = (n as u64).wrapping_mul(2_654_435_761) % of.max(1) as u64;
        let phase = PRESENCE_RENEWAL.mul_f64(scrambled as f64 / of.max(1) as f64);
        Self {
            client_id: 1_000_000 + n as u64,
            clock: 0,
            next: tokio::time::Instant::now() + phase,
        }
    }

    fn frame(&mut self, doc: &str) -> tokio_tungstenite::tungstenite::Message {
        self.clock += 1;
        let update = protocol::AwarenessUpdate {
            entries: vec![protocol::AwarenessEntry {
                client_id: self.client_id,
                clock: self.clock,
                state: format!(
                    r##"{{"user":{{"name":"Observer {}","color":"#30bced"}}}}"##,
                    self.client_id
                ),
            }],
        };
        ws_frame(doc, Message::Awareness(update.encode()))
    }
}

pub async fn observer(
    mut ws: Socket,
    doc: String,
    measure: Instant,
    end: Instant,
    stop: Instant,
    mut presence: Option<Presence>,
) -> anyhow::Result<ObserverOutcome> {
    let mut outcome = ObserverOutcome {
        delivered: 0,
        latency: histogram(),
    };
    let start = epoch();
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400);
    loop {
        let renew = presence.as_ref().map_or(far, |presence| presence.next);
        let frame = tokio::select! {
            () = tokio::time::sleep_until(renew) => {
                if let Some(presence) = presence.as_mut() {
                    let frame = presence.frame(&doc);
                    presence.next += PRESENCE_RENEWAL;
                    ws.send(frame).await?;
                }
                continue;
            }
            frame = tokio::time::timeout_at(stop.into(), next_frame(&mut ws)) => frame,
        };
        let frame = match frame {
            Err(_) => break,
            Ok(frame) => match frame? {
                Some(frame) => frame,
                None => bail!("the server closed an observer"),
            },
        };
        if let Some(reply) = answer_step1(&doc, &frame.message, None) {
            ws.send(reply).await?;
            continue;
        }
        if let Message::Sync(SyncMessage::Update(update))
        | Message::SyncReply(SyncMessage::Update(update)) = &frame.message
        {
            for stamp in find_stamps(update) {
                let sent = start + Duration::from_micros(stamp);
                if sent >= measure && sent < end {
                    outcome.delivered += 1;
                    let _ = outcome.latency.record(micros_since(sent));
                }
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}
