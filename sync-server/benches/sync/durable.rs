//! Scenario 1, durable throughput: writers keep a window of updates in flight, each timed until
//! the server acks it (after the commit). That closed loop finds the most a server commits per
//! second, and its latency is mostly the window queued in front of it (Little's law: 400 in
//! flight at 30,000/s is 13 ms on average). So the scenario then offers fixed rates open loop
//! (`Sizes::durable_rates`): the same writers send on a schedule whatever the server answers,
//! each update timed from the instant it was due to its ack, which is the latency a firm sees
//! at that load ("ack p99 at 20,000/s").

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
    for &rate in &sizes.durable_rates {
        rows.extend(paced(server, sizes, rate).await?);
    }
    Ok(rows)
}

/// The open-loop step at `rate` updates/s (all writers together), on fresh documents.
async fn paced(server: &Server, sizes: &Sizes, rate: u32) -> anyhow::Result<Vec<Row>> {
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
    let start = Instant::now() + std::time::Duration::from_millis(100);
    let measure = start + sizes.warmup;
    let end = measure + sizes.duration;
    let per_writer = f64::from(rate) / sizes.durable_writers as f64;
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(n, (ws, doc, editor, unacked))| {
            // Writers' schedules spread over one interval, not all due at the same instant.
            let offset = std::time::Duration::from_secs_f64(
                n as f64 / sizes.durable_writers as f64 / per_writer,
            );
            tokio::spawn(paced_writer(
                ws,
                doc,
                editor,
                unacked,
                per_writer,
                start + offset,
                measure,
                end,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let (cpu0, pg0) = (server.cpu_seconds(), postgres_cpu_seconds());
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, pg1) = (server.cpu_seconds(), postgres_cpu_seconds());
    let mut latency = histogram();
    let (mut sent, mut acked, mut refused, mut failed) = (0, 0, 0, 0);
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok((due, outcome)))) => {
                sent += due;
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
        bail!("every open-loop writer failed at {rate}/s");
    }
    let seconds = sizes.duration.as_secs_f64();
    let scenario = format!("durable {rate}/s");
    let target = server.target;
    eprintln!(
        "   rate {rate:>6}/s: offered {:.0}/s, acked {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, server {:.2} cores, postgres {:.2} cores",
        sent as f64 / seconds,
        acked as f64 / seconds,
        ms(&latency, 0.50),
        ms(&latency, 0.99),
        (cpu1 - cpu0) / seconds,
        (pg1 - pg0) / seconds,
    );
    let mut rows = vec![
        row(
            &scenario,
            target,
            "offered updates/s",
            sent as f64 / seconds,
        ),
        row(&scenario, target, "acked updates/s", acked as f64 / seconds),
        row(&scenario, target, "ack p50 ms", ms(&latency, 0.50)),
        row(&scenario, target, "ack p99 ms", ms(&latency, 0.99)),
        row(
            &scenario,
            target,
            "ack max ms",
            latency.max() as f64 / 1000.0,
        ),
        row(
            &scenario,
            target,
            "server CPU cores",
            (cpu1 - cpu0) / seconds,
        ),
    ];
    if target == Target::Ours {
        rows.push(row(
            &scenario,
            target,
            "postgres CPU cores",
            (pg1 - pg0) / seconds,
        ));
    }
    if refused > 0 || failed > 0 {
        rows.push(row(&scenario, target, "refused acks", refused as f64));
        rows.push(row(&scenario, target, "failed writers", failed as f64));
    }
    Ok(rows)
}

/// One open-loop writer: sends `per_second` updates on a fixed schedule from `start` to `end`
/// whatever the server answers, and times each from the instant it was due to its ack (so a
/// server that falls behind shows as latency, not as a slower sender). Returns how many of its
/// updates were due inside the measured window, and its acks.
#[allow(clippy::too_many_arguments)]
async fn paced_writer(
    mut ws: Socket,
    doc: String,
    editor: Editor,
    unacked: usize,
    per_second: f64,
    start: Instant,
    measure: Instant,
    end: Instant,
) -> anyhow::Result<(u64, WriterOutcome)> {
    let interval = std::time::Duration::from_secs_f64(1.0 / per_second);
    let mut in_flight: VecDeque<Option<Instant>> = std::iter::repeat_n(None, unacked).collect();
    let mut outcome = WriterOutcome {
        acked: 0,
        refused: 0,
        latency: histogram(),
    };
    let mut next = 0u32;
    let mut due_in_window = 0u64;
    // After the last update is due, wait this long for the acks still in flight.
    let drain = end + std::time::Duration::from_secs(3);
    loop {
        let due = start + interval * next;
        let sending = due < end;
        if !sending && in_flight.iter().all(Option::is_none) {
            break;
        }
        tokio::select! {
            biased;
            frame = next_frame(&mut ws) => {
                let frame = frame?.context("the server closed the connection")?;
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
                    if let Some(sent) = sent
                        && sent >= measure
                        && sent < end
                    {
                        if !ok {
                            // Refused, not stored: not an ack.
                            outcome.refused += 1;
                            continue;
                        }
                        outcome.acked += 1;
                        let _ = outcome.latency.record((now - sent).as_micros() as u64);
                    }
                }
            }
            _ = tokio::time::sleep_until(due.into()), if sending => {
                let now = Instant::now();
                loop {
                    let due = start + interval * next;
                    if due > now || due >= end {
                        break;
                    }
                    let update = editor.type_text(if next.is_multiple_of(2) { "ab" } else { "cde" });
                    ws.feed(ws_frame(&doc, Message::Sync(SyncMessage::Update(update))))
                        .await?;
                    in_flight.push_back(Some(due));
                    if due >= measure {
                        due_in_window += 1;
                    }
                    next += 1;
                }
                ws.flush().await?;
            }
            _ = tokio::time::sleep_until(drain.into()), if !sending => break,
        }
    }
    let _ = ws.close(None).await;
    Ok((due_in_window, outcome))
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
