//! Scenario 1, durable throughput: writers keep a window of updates in flight, each timed until
//! the server acks it (after the commit).

use std::collections::VecDeque;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use protocol::{Message, SyncMessage};

use crate::client::{
    Editor, STEP_TIMEOUT, answer_step1, connect, dev_token, histogram, ms, new_doc_name,
    next_frame, open_doc, open_many, ws_frame,
};
use crate::options::{Sizes, Target};
use crate::procfs::postgres_cpu_seconds;
use crate::raw::Socket;
use crate::report::{Row, row};
use crate::server::Server;

pub struct WriterOutcome {
    pub acked: u64,
    pub refused: u64,
    pub latency: Histogram<u64>,
}

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-writer", "bench-firm");
    let url = server.url();
    let writers = open_many(sizes.durable_writers, |_| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let doc = new_doc_name();
            let editor = Editor::new();
            let mut ws = connect(&url).await?;
            let unacked = open_doc(&mut ws, &doc, &token, Some(&editor)).await?;
            anyhow::Ok((ws, doc, editor, unacked))
        }
    })
    .await?;
    let measure = Instant::now() + sizes.warmup;
    let end = measure + sizes.duration;
    let window = sizes.durable_window;
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|(ws, doc, editor, unacked)| {
            tokio::spawn(durable_writer(
                ws, doc, editor, unacked, window, measure, end,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let (cpu0, pg0) = (server.cpu_seconds(), postgres_cpu_seconds());
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, pg1) = (server.cpu_seconds(), postgres_cpu_seconds());
    let mut latency = histogram();
    let (mut acked, mut refused, mut failed) = (0, 0, 0);
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                acked += outcome.acked;
                refused += outcome.refused;
                latency
                    .add(&outcome.latency)
                    .expect("same histogram bounds");
            }
            Ok(Ok(Err(error))) => {
                eprintln!("  writer failed: {error:#}");
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    if failed == sizes.durable_writers {
        bail!("every writer failed");
    }
    let seconds = sizes.duration.as_secs_f64();
    let scenario = "durable";
    let target = server.target;
    let mut rows = vec![
        row(scenario, target, "acked updates/s", acked as f64 / seconds),
        row(scenario, target, "ack p50 ms", ms(&latency, 0.50)),
        row(scenario, target, "ack p95 ms", ms(&latency, 0.95)),
        row(scenario, target, "ack p99 ms", ms(&latency, 0.99)),
        row(
            scenario,
            target,
            "ack max ms",
            latency.max() as f64 / 1000.0,
        ),
        row(
            scenario,
            target,
            "server CPU cores",
            (cpu1 - cpu0) / seconds,
        ),
        row(
            scenario,
            target,
            "server CPU µs/update",
            (cpu1 - cpu0) * 1e6 / acked.max(1) as f64,
        ),
    ];
    if target == Target::Ours {
        rows.push(row(
            scenario,
            target,
            "postgres CPU cores",
            (pg1 - pg0) / seconds,
        ));
    }
    if refused > 0 || failed > 0 {
        rows.push(row(scenario, target, "refused acks", refused as f64));
        rows.push(row(scenario, target, "failed writers", failed as f64));
    }
    Ok(rows)
}

/// One writer: keeps `window` updates in flight and times each until its SyncStatus(true).
pub async fn durable_writer(
    mut ws: Socket,
    doc: String,
    editor: Editor,
    unacked: usize,
    window: usize,
    measure: Instant,
    end: Instant,
) -> anyhow::Result<WriterOutcome> {
    // Sent frames awaiting their ack, oldest first; `None` for handshake Step2s (not timed).
    let mut in_flight: VecDeque<Option<Instant>> = std::iter::repeat_n(None, unacked).collect();
    let mut outcome = WriterOutcome {
        acked: 0,
        refused: 0,
        latency: histogram(),
    };
    let mut counter = 0u64;
    while Instant::now() < end {
        if in_flight.len() < window {
            while in_flight.len() < window {
                counter += 1;
                let update = editor.type_text(if counter.is_multiple_of(2) {
                    "ab"
                } else {
                    "cde"
                });
                ws.feed(ws_frame(&doc, Message::Sync(SyncMessage::Update(update))))
                    .await?;
                in_flight.push_back(Some(Instant::now()));
            }
            ws.flush().await?;
        }
        let frame = match tokio::time::timeout_at(end.into(), next_frame(&mut ws)).await {
            Err(_) => break,
            Ok(frame) => frame?.context("the server closed the connection")?,
        };
        if let Some(reply) = answer_step1(&doc, &frame.message, Some(&editor)) {
            ws.send(reply).await?;
            in_flight.push_back(None);
            continue;
        }
        if let Message::SyncStatus(ok) = frame.message {
            let now = Instant::now();
            let sent = in_flight
                .pop_front()
                .context("an ack for nothing in flight")?;
            if !ok {
                outcome.refused += 1;
            }
            if let Some(sent) = sent
                && now >= measure
                && now <= end
            {
                outcome.acked += 1;
                if sent >= measure {
                    let _ = outcome.latency.record((now - sent).as_micros() as u64);
                }
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}
