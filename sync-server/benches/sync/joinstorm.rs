//! Scenario `joinstorm`: 150 clients open the same 20 MB document at once. A seeding client
//! builds the document (20,000 paragraphs of 1 KB inserted at scattered places, sent as ~1 MB
//! updates, each acked) and stays connected, so the document is loaded on every server; then
//! all clients connect at the same instant, authenticate and send SyncStep1 with an empty state
//! vector. Each is synced when the whole of the server's answer has arrived (its SyncStep2 and
//! any updates sent with it, up to the server's own SyncStep1 — or, for a server that sends
//! that first, the SyncStep2). Reported: time until all are synced, p50/p99 per client, and
//! the server's peak RSS (sampled every 10 ms) against its RSS before the storm. The joining
//! clients read what arrives without assembling it (`storm_client`): the load generator's one
//! core must not be what sets the time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::SinkExt;
use protocol::{Frame, Message, SyncMessage};
use yrs::{Text, Transact};

use crate::client::{
    Editor, STEP_TIMEOUT, connect, dev_token, expect_frame, histogram, ms, new_doc_name,
    next_frame, open_doc, ws_frame,
};
use crate::options::Sizes;
use crate::report::{Row, row};
use crate::server::Server;
use crate::storm_client::{Received, StormSocket};

/// Bytes of text per inserted paragraph.
const PARAGRAPH: usize = 1024;
/// Paragraphs per seeding update (~1 MB each, under the 8 MiB frame limit).
const PER_UPDATE: usize = 1000;

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-storm", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    // The seeder: builds the document and keeps it open.
    let editor = Editor::new();
    let mut seeder = connect(&url).await?;
    let mut unacked = open_doc(&mut seeder, &doc, &token, Some(&editor)).await?;
    let paragraphs = sizes.storm_bytes / PARAGRAPH;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut state_bytes = 0usize;
    let started = Instant::now();
    for first in (0..paragraphs).step_by(PER_UPDATE) {
        let update = {
            let mut txn = editor.doc.transact_mut();
            for n in first..(first + PER_UPDATE).min(paragraphs) {
                // Scattered positions: a history of separate items, not one merged run.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = editor.text.len(&txn);
                let at = if len == 0 {
                    0
                } else {
                    (seed % u64::from(len)) as u32
                };
                let text = format!("¶{n:07} {}", "lorem ipsum dolor sit amet ".repeat(40));
                editor
                    .text
                    .insert(&mut txn, at, &text[..PARAGRAPH.min(text.len())]);
            }
            txn.encode_update_v1()
        };
        state_bytes += update.len();
        seeder
            .send(ws_frame(&doc, Message::Sync(SyncMessage::Update(update))))
            .await?;
        unacked += 1;
        // Wait for every ack before the next update (the server has it before the storm).
        while unacked > 0 {
            let frame = expect_frame(&mut seeder).await?;
            match frame.message {
                Message::SyncStatus(_) => unacked -= 1,
                message => {
                    if let Some(reply) = crate::client::answer_step1(&doc, &message, Some(&editor))
                    {
                        seeder.send(reply).await?;
                        unacked += 1;
                    }
                }
            }
        }
    }
    let state = {
        use yrs::ReadTxn;
        editor
            .doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
            .len()
    };
    eprintln!(
        "  seeded a {:.1} MB document ({:.1} MB of updates) in {:.1} s",
        state as f64 / 1e6,
        state_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Keep the seeder's socket read (keep-alives) while the storm runs.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let keeper = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                frame = next_frame(&mut seeder) => if !matches!(frame, Ok(Some(_))) { break },
            }
        }
        let _ = seeder.close(None).await;
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        let pid = server.pid;
        tokio::task::spawn_blocking(move || {
            while sampling.load(Ordering::Relaxed) {
                let rss: u64 = crate::procfs::process_tree(pid)
                    .iter()
                    .map(|pid| crate::procfs::rss_of(*pid))
                    .sum();
                peak.fetch_max(rss, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // Connect everyone first (TCP + WebSocket handshake), then send every Auth + SyncStep1 at
    // the same instant: the storm is the document's first sync, 150 times at once.
    let mut sockets = Vec::with_capacity(sizes.storm_clients);
    for _ in 0..sizes.storm_clients {
        let socket = tokio::time::timeout(STEP_TIMEOUT, StormSocket::connect(&url))
            .await
            .context("connect timed out")??;
        sockets.push(socket);
    }
    let go = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let (doc, token) = (doc.clone(), token.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(go.into()).await;
                socket.send(&crate::raw::token_frame(&doc, &token)).await?;
                socket
                    .send(&Frame::new(
                        &doc,
                        Message::Sync(SyncMessage::Step1(vec![0])),
                    ))
                    .await?;
                let mut bytes = 0usize;
                let (mut step1, mut step2) = (false, false);
                loop {
                    let received = tokio::time::timeout(STEP_TIMEOUT * 2, socket.receive())
                        .await
                        .context("no answer in time")??;
                    match received {
                        Received::Denied(reason) => bail!("permission denied: {reason}"),
                        Received::Step2(length) => {
                            bytes += length;
                            step2 = true;
                        }
                        Received::Update(length) => bytes += length,
                        Received::Step1 => {
                            step1 = true;
                            if !step2 {
                                socket
                                    .send(&Frame::new(
                                        &doc,
                                        Message::Sync(SyncMessage::Step2(vec![0, 0])),
                                    ))
                                    .await?;
                            }
                        }
                        Received::Other => {}
                    }
                    if step1 && step2 {
                        break;
                    }
                }
                let took = go.elapsed();
                anyhow::Ok((socket, took, bytes))
            })
        })
        .collect();
    let mut latency = histogram();
    let mut synced = 0usize;
    let mut short = 0usize;
    let mut sockets = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok((ws, took, bytes))) => {
                if bytes + 4096 < state / 2 {
                    short += 1;
                }
                synced += 1;
                let _ = latency.record(took.as_micros() as u64);
                sockets.push(ws);
            }
            Ok(Err(error)) => eprintln!("   joining client failed: {error:#}"),
            Err(error) => eprintln!("   joining client panicked: {error}"),
        }
    }
    let all = go.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let _ = stop_tx.send(true);
    let _ = keeper.await;
    // The joined clients leave (their sockets close).
    drop(sockets);
    let target = server.target;
    let peak = peak.load(Ordering::Relaxed);
    if short > 0 {
        eprintln!("   {short} clients received less than half the document");
    }
    Ok(vec![
        row("joinstorm", target, "document MB", state as f64 / 1e6),
        row("joinstorm", target, "clients synced", synced as f64),
        row("joinstorm", target, "all synced s", all.as_secs_f64()),
        row("joinstorm", target, "p50 s", ms(&latency, 0.50) / 1000.0),
        row("joinstorm", target, "p99 s", ms(&latency, 0.99) / 1000.0),
        row(
            "joinstorm",
            target,
            "server RSS before MiB",
            before as f64 / 1048576.0,
        ),
        row(
            "joinstorm",
            target,
            "server peak RSS MiB",
            peak as f64 / 1048576.0,
        ),
    ])
}
