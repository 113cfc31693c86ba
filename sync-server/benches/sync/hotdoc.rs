//! Scenario `hotdoc`: one hot document, 10 writers + 10 observers, open loop. The offered rate
//! rises step by step; at each step every writer sends its share on a fixed schedule whatever
//! the server answers (no waiting for acks), each update stamped with the instant it was due, so
//! a server that falls behind shows it as latency rather than as a slower sender (no coordinated
//! omission). A step holds when every update reached every observer and the p99 from due
//! instant to receipt is ≤ 100 ms; the scenario reports the highest rate that held.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::{
    Editor, STEP_TIMEOUT, answer_step1, connect, dev_token, epoch, histogram, ms, new_doc_name,
    next_frame, open_doc, ws_frame,
};
use crate::fanout::observer;
use crate::options::Sizes;
use crate::raw::Socket;
use crate::report::{Row, row};
use crate::server::Server;

pub const WRITERS: usize = 10;
pub const OBSERVERS: usize = 10;
/// The p99 a step must stay within.
pub const P99_LIMIT_MS: f64 = 100.0;
/// How often a writer wakes to send what has come due.
const TICK: Duration = Duration::from_millis(5);

struct Step {
    rate: u32,
    offered: f64,
    fraction: f64,
    p50: f64,
    p99: f64,
    cpu: f64,
    postgres_cpu: f64,
    holds: bool,
}

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut sustained = 0.0;
    let target = server.target;
    for &rate in &sizes.hot_rates {
        let step = step(server, sizes, rate).await?;
        eprintln!(
            "   rate {:>6}/s: offered {:.0}/s, delivered {:.4}, p50 {:.1} ms, p99 {:.1} ms, server {:.2} cores, postgres {:.2} cores{}",
            step.rate,
            step.offered,
            step.fraction,
            step.p50,
            step.p99,
            step.cpu,
            step.postgres_cpu,
            if step.holds {
                ""
            } else {
                "  ← does not hold"
            }
        );
        let scenario = format!("hotdoc {}/s", step.rate);
        rows.push(row(&scenario, target, "delivered fraction", step.fraction));
        rows.push(row(&scenario, target, "p50 ms", step.p50));
        rows.push(row(&scenario, target, "p99 ms", step.p99));
        rows.push(row(&scenario, target, "server CPU cores", step.cpu));
        if step.holds {
            sustained = step.offered;
        } else {
            break;
        }
    }
    rows.push(row("hotdoc", target, "sustained updates/s", sustained));
    Ok(rows)
}

async fn step(server: &Server, sizes: &Sizes, rate: u32) -> anyhow::Result<Step> {
    let token = dev_token("bench-hot", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    let mut observers = Vec::with_capacity(OBSERVERS);
    for _ in 0..OBSERVERS {
        let mut ws = connect(&url).await?;
        open_doc(&mut ws, &doc, &token, None).await?;
        observers.push(ws);
    }
    let mut writers = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        let editor = Editor::new();
        let mut ws = connect(&url).await?;
        open_doc(&mut ws, &doc, &token, Some(&editor)).await?;
        writers.push((ws, editor));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now() + Duration::from_millis(100);
    let measure = start + sizes.warmup;
    let end = measure + sizes.hot_duration;
    let stop = end + Duration::from_secs(3);
    let observer_tasks: Vec<_> = observers
        .into_iter()
        .map(|ws| tokio::spawn(observer(ws, doc.clone(), measure, end, stop, None)))
        .collect();
    let per_writer = f64::from(rate) / WRITERS as f64;
    let writer_tasks: Vec<_> = writers
        .into_iter()
        .map(|(ws, editor)| {
            tokio::spawn(writer(
                ws,
                doc.clone(),
                editor,
                per_writer,
                start,
                measure,
                end,
                stop,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let (cpu0, pg0) = (server.cpu_seconds(), crate::procfs::postgres_cpu_seconds());
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, pg1) = (server.cpu_seconds(), crate::procfs::postgres_cpu_seconds());
    let mut sent = 0u64;
    for task in writer_tasks {
        sent += tokio::time::timeout(STEP_TIMEOUT, task)
            .await
            .context("a hot-document writer hung")???;
    }
    let mut latency = histogram();
    let mut delivered = 0u64;
    let mut failed = 0usize;
    for task in observer_tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                delivered += outcome.delivered;
                latency.add(&outcome.latency).expect("same bounds");
            }
            Ok(Ok(Err(error))) => {
                eprintln!("   observer failed: {error:#}");
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    let seconds = sizes.hot_duration.as_secs_f64();
    let expected = sent * OBSERVERS as u64;
    let fraction = delivered as f64 / expected.max(1) as f64;
    let p99 = ms(&latency, 0.99);
    let postgres_cpu = if server.target == crate::options::Target::Ours {
        (pg1 - pg0) / seconds
    } else {
        0.0
    };
    Ok(Step {
        rate,
        offered: sent as f64 / seconds,
        fraction,
        p50: ms(&latency, 0.50),
        p99,
        cpu: (cpu1 - cpu0) / seconds,
        postgres_cpu,
        holds: failed == 0 && delivered == expected && p99 <= P99_LIMIT_MS,
    })
}

/// Sends `per_second` stamped updates on a fixed schedule from `start` to `end`, reading what
/// the server sends in between; returns how many it sent that were due inside the window.
#[allow(clippy::too_many_arguments)]
async fn writer(
    mut ws: Socket,
    doc: String,
    editor: Editor,
    per_second: f64,
    start: Instant,
    measure: Instant,
    end: Instant,
    stop: Instant,
) -> anyhow::Result<u64> {
    let base = epoch();
    let interval = Duration::from_secs_f64(1.0 / per_second);
    let mut tick = tokio::time::interval_at(start.into(), TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next = 0u64;
    let mut counted = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = Instant::now();
                let mut fed = false;
                loop {
                    let due = start + interval.mul_f64(next as f64);
                    if due > now || due >= end {
                        break;
                    }
                    let stamp = due.duration_since(base).as_micros() as u64;
                    let update = editor.type_text(&format!("~T{stamp}~"));
                    // Counted as the observers count it: by the stamp, in whole µs.
                    let stamped = base + Duration::from_micros(stamp);
                    ws.feed(ws_frame(&doc, protocol::Message::Sync(protocol::SyncMessage::Update(update)))).await?;
                    fed = true;
                    if stamped >= measure && stamped < end {
                        counted += 1;
                    }
                    next += 1;
                }
                if fed {
                    ws.flush().await?;
                }
                if now >= end {
                    break;
                }
            }
            frame = next_frame(&mut ws) => {
                let frame = frame?.context("the server closed a hot-document writer")?;
                if let Some(reply) = answer_step1(&doc, &frame.message, Some(&editor)) {
                    ws.send(reply).await?;
                }
            }
        }
    }
    // Keep reading (the other writers' updates, acks) while the last deliveries arrive.
    let _ = tokio::time::timeout_at(stop.into(), async {
        while let Ok(Some(_)) = next_frame(&mut ws).await {}
    })
    .await;
    let _ = ws.send(WsMessage::Close(None)).await;
    Ok(counted)
}
