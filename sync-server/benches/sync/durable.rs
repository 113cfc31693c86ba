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
use crate::server::{Server, WriteCounters};

pub struct WriterOutcome {
    /// Updates due inside the measured window (open loop only).
    pub due: u64,
    pub acked: u64,
    pub refused: u64,
    pub latency: Histogram<u64>,
}

impl WriterOutcome {
    fn new() -> Self {
        Self {
            due: 0,
            acked: 0,
            refused: 0,
            latency: histogram(),
        }
    }
}

/// Every writer's outcome, summed, and how many writers failed.
struct Gathered {
    outcome: WriterOutcome,
    failed: usize,
}

type Writer = (Socket, String, Editor, usize);

/// `sizes.durable_writers` writers, each on a fresh document, opened and synced.
async fn open_writers(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Writer>> {
    let token = dev_token("bench-writer", "bench-firm");
    let url = server.url();
    open_many(sizes.durable_writers, |_| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let doc = new_doc_name();
            let editor = Editor::new();
            let mut ws = connect(&url).await?;
            let unacked = open_doc(&mut ws, &doc, &token, Some(&editor)).await?;
            anyhow::Ok((ws, doc, editor, unacked))
        }
    })
    .await
}

/// Waits for every writer; fails when all of them did.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<WriterOutcome>>>,
) -> anyhow::Result<Gathered> {
    let writers = tasks.len();
    let mut total = Gathered {
        outcome: WriterOutcome::new(),
        failed: 0,
    };
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                total.outcome.due += outcome.due;
                total.outcome.acked += outcome.acked;
                total.outcome.refused += outcome.refused;
                total
                    .outcome
                    .latency
                    .add(&outcome.latency)
                    .expect("same histogram bounds");
            }
            Ok(Ok(Err(error))) => {
                eprintln!("  writer failed: {error:#}");
                total.failed += 1;
            }
            _ => total.failed += 1,
        }
    }
    if total.failed == writers {
        bail!("every writer failed");
    }
    Ok(total)
}

/// The rows both loops report: acked rate, ack latency, CPU, refusals and failures.
fn ack_rows(
    scenario: &str,
    server: &Server,
    seconds: f64,
    gathered: &Gathered,
    used: &Used,
) -> Vec<Row> {
    let (cpu, postgres) = (used.cpu, used.postgres);
    let target = server.target;
    let Gathered { outcome, failed } = gathered;
    let latency = &outcome.latency;
    let mut rows = vec![
        row(
            scenario,
            target,
            "acked updates/s",
            outcome.acked as f64 / seconds,
        ),
        row(scenario, target, "ack p50 ms", ms(latency, 0.50)),
        row(scenario, target, "ack p95 ms", ms(latency, 0.95)),
        row(scenario, target, "ack p99 ms", ms(latency, 0.99)),
        row(
            scenario,
            target,
            "ack max ms",
            latency.max() as f64 / 1000.0,
        ),
        row(scenario, target, "server CPU cores", cpu / seconds),
        row(
            scenario,
            target,
            "server CPU µs/update",
            cpu * 1e6 / outcome.acked.max(1) as f64,
        ),
    ];
    if target == Target::Ours {
        rows.push(row(
            scenario,
            target,
            "postgres CPU cores",
            postgres / seconds,
        ));
    }
    if let Some(writes) = used.writes {
        rows.push(row(
            scenario,
            target,
            "updates per commit",
            writes.updates_per_commit(),
        ));
        rows.push(row(
            scenario,
            target,
            "rows per update",
            writes.rows_per_update(),
        ));
    }
    if outcome.refused > 0 || *failed > 0 {
        rows.push(row(
            scenario,
            target,
            "refused acks",
            outcome.refused as f64,
        ));
        rows.push(row(scenario, target, "failed writers", *failed as f64));
    }
    rows
}

/// What the server side used from `measure` to `end`.
struct Used {
    /// Server CPU seconds.
    cpu: f64,
    /// Its Postgres cluster's CPU seconds.
    postgres: f64,
    /// Our server's commits, updates and rows (`None` for the other targets).
    writes: Option<WriteCounters>,
}

/// Server and Postgres CPU seconds, and our server's write counters, from `measure` to `end`.
async fn used_between(server: &Server, measure: Instant, end: Instant) -> anyhow::Result<Used> {
    tokio::time::sleep_until(measure.into()).await;
    let (cpu0, pg0) = (server.cpu_seconds(), postgres_cpu_seconds());
    let writes0 = server.write_counters().await?;
    tokio::time::sleep_until(end.into()).await;
    let (cpu, postgres) = (server.cpu_seconds() - cpu0, postgres_cpu_seconds() - pg0);
    let writes = server.write_counters().await?;
    Ok(Used {
        cpu,
        postgres,
        writes: writes
            .zip(writes0)
            .map(|(after, before)| after.since(before)),
    })
}

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let writers = open_writers(server, sizes).await?;
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
    let used = used_between(server, measure, end).await?;
    let gathered = gather(tasks).await?;
    let seconds = sizes.duration.as_secs_f64();
    let mut rows = ack_rows("durable", server, seconds, &gathered, &used);
    for &rate in &sizes.durable_rates {
        rows.extend(paced(server, sizes, rate).await?);
    }
    Ok(rows)
}

/// The open-loop step at `rate` updates/s (all writers together), on fresh documents.
async fn paced(server: &Server, sizes: &Sizes, rate: u32) -> anyhow::Result<Vec<Row>> {
    let writers = open_writers(server, sizes).await?;
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
    let used = used_between(server, measure, end).await?;
    let gathered = gather(tasks)
        .await
        .with_context(|| format!("open loop at {rate}/s"))?;
    let seconds = sizes.duration.as_secs_f64();
    let scenario = format!("durable {rate}/s");
    let offered = gathered.outcome.due as f64 / seconds;
    let mut rows = vec![row(&scenario, server.target, "offered updates/s", offered)];
    rows.extend(ack_rows(&scenario, server, seconds, &gathered, &used));
    let packing = used.writes.map_or(String::new(), |writes| {
        format!(
            ", {:.1} updates/commit, {:.2} rows/update",
            writes.updates_per_commit(),
            writes.rows_per_update()
        )
    });
    eprintln!(
        "   rate {rate:>6}/s: offered {offered:.0}/s, acked {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, server {:.2} cores, postgres {:.2} cores{packing}",
        gathered.outcome.acked as f64 / seconds,
        ms(&gathered.outcome.latency, 0.50),
        ms(&gathered.outcome.latency, 0.99),
        used.cpu / seconds,
        used.postgres / seconds,
    );
    Ok(rows)
}

/// One open-loop writer: sends `per_second` updates on a fixed schedule from `start` to `end`
/// whatever the server answers, and times each from the instant it was due to its ack (so a
/// server that falls behind shows as latency, not as a slower sender). Returns how many of its
/// updates were due inside the measured window (`due`), and its acks.
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
) -> anyhow::Result<WriterOutcome> {
    let interval = std::time::Duration::from_secs_f64(1.0 / per_second);
    let mut in_flight: VecDeque<Option<Instant>> = std::iter::repeat_n(None, unacked).collect();
    let mut outcome = WriterOutcome::new();
    let mut next = 0u32;
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
                if let Some(ack) = take_frame(&mut ws, &doc, &editor, frame, &mut in_flight).await?
                    && let Some(sent) = ack.sent
                    && sent >= measure
                    && sent < end
                {
                    if ack.stored {
                        outcome.acked += 1;
                        let _ = outcome.latency.record((ack.at - sent).as_micros() as u64);
                    } else {
                        // Refused, not stored: not an ack.
                        outcome.refused += 1;
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
                        outcome.due += 1;
                    }
                    next += 1;
                }
                ws.flush().await?;
            }
            _ = tokio::time::sleep_until(drain.into()), if !sending => break,
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}

/// The server's answer to one of a writer's frames.
struct Ack {
    /// When the acked frame was sent (or due); `None` for an untimed handshake Step2.
    sent: Option<Instant>,
    /// When the ack arrived.
    at: Instant,
    /// SyncStatus(true): stored. A refusal is SyncStatus(false).
    stored: bool,
}

/// What a writer does with a frame from the server: answers a SyncStep1 (its Step2 then awaits
/// an ack of its own, untimed), and takes an ack's frame off `in_flight` (oldest first).
/// Returns the ack, or `None` for any other frame.
async fn take_frame(
    ws: &mut Socket,
    doc: &str,
    editor: &Editor,
    frame: protocol::Frame,
    in_flight: &mut VecDeque<Option<Instant>>,
) -> anyhow::Result<Option<Ack>> {
    if let Some(reply) = answer_step1(doc, &frame.message, Some(editor)) {
        ws.send(reply).await?;
        in_flight.push_back(None);
        return Ok(None);
    }
    let Message::SyncStatus(stored) = frame.message else {
        return Ok(None);
    };
    let at = Instant::now();
    let sent = in_flight
        .pop_front()
        .context("an ack for nothing in flight")?;
    Ok(Some(Ack { sent, at, stored }))
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
    let mut outcome = WriterOutcome::new();
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
        let Some(ack) = take_frame(&mut ws, &doc, &editor, frame, &mut in_flight).await? else {
            continue;
        };
        if !ack.stored {
            // Refused, not stored: not an ack (as in the open loop).
            outcome.refused += 1;
            continue;
        }
        if let Some(sent) = ack.sent
            && ack.at >= measure
            && ack.at <= end
        {
            outcome.acked += 1;
            if sent >= measure {
                let _ = outcome.latency.record((ack.at - sent).as_micros() as u64);
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}
