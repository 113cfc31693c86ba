//! Copilot proxy overhead: time to first token and total stream time through
//! `POST /api/v1/copilot/chat`, against calling the same OpenAI-compatible stand-in directly,
//! with N concurrent streams.
//!
//! ```sh
//! cargo bench -p sync-server --bench copilot -- [--streams 50] [--rounds 20] [--pieces 20] [--delay-ms 10] [--burst]
//! ```
//!
//! Everything runs in this process on loopback: the stand-in (tests/common/openai_standin.rs,
//! the exact Chat Completions streaming format, `pieces` content chunks `delay-ms` apart), the
//! real server (`app::start`, release build, fresh Postgres database `hub_bench_copilot_<pid>`,
//! dropped after) and the clients (reqwest, one per stream, reading the SSE bytes as they come).
//! Both targets see the same request body; `direct` posts it straight to the stand-in.
//! Time to first token = from sending the request to receiving the first non-empty content
//! piece; total = until `[DONE]` (direct) or the `done` event (proxy), which the proxy sends
//! after writing the usage row.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/common/openai_standin.rs"]
mod standin;

use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use sqlx::PgPool;
use standin::{End, Reply, StandIn};
use sync_server::config::ServeSettings;

const SECRET: &str = "copilot-bench-secret-0123456789";
const FIRM: &str = "firm-bench";

#[derive(Parser)]
struct Options {
    /// Concurrent streams.
    #[arg(long, default_value_t = 50)]
    streams: usize,
    /// Requests per stream, one after another (the first is a warm-up and not counted).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Content chunks per answer.
    #[arg(long, default_value_t = 20)]
    pieces: usize,
    /// Pause before each content chunk (milliseconds).
    #[arg(long, default_value_t = 10)]
    delay_ms: u64,
    /// Start all streams at the same instant (then every round starts as a burst of `streams`
    /// requests), instead of spreading their starts evenly over one answer's length (50 answers
    /// always in progress, arriving one after another, as in steady use).
    #[arg(long)]
    burst: bool,
    /// Direct-then-proxy runs, one after the other.
    #[arg(long, default_value_t = 3)]
    pairs: usize,
    /// Accepted for `cargo bench` compatibility.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    settings: ServeSettings,
}

struct Sample {
    /// The first event of any kind: the proxy's `start` (sent once every check has passed, before
    /// the model is called), the endpoint's role chunk.
    first_event: Duration,
    first_token: Duration,
    total: Duration,
}

/// Read an SSE body; returns when `end` matches an event's text.
async fn read_stream(
    mut response: reqwest::Response,
    started: Instant,
    is_content: impl Fn(&str) -> bool,
    is_end: impl Fn(&str) -> bool,
) -> Sample {
    let mut buffer = String::new();
    let mut first_token = None;
    let mut first_event = None;
    loop {
        let chunk = response
            .chunk()
            .await
            .expect("stream reads")
            .expect("stream ends with its last event");
        buffer.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            first_event.get_or_insert_with(|| started.elapsed());
            if first_token.is_none() && is_content(&event) {
                first_token = Some(started.elapsed());
            }
            if is_end(&event) {
                return Sample {
                    first_event: first_event.unwrap_or_default(),
                    first_token: first_token.expect("content before the end"),
                    total: started.elapsed(),
                };
            }
        }
    }
}

async fn direct(http: &reqwest::Client, url: &str, body: &Value) -> Sample {
    let started = Instant::now();
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .expect("stand-in answers");
    assert_eq!(response.status(), 200);
    read_stream(
        response,
        started,
        |event| {
            event
                .strip_prefix("data: ")
                .and_then(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .and_then(|chunk| {
                    chunk["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_owned)
                })
                .is_some_and(|content| !content.is_empty())
        },
        |event| event.starts_with("data: [DONE]"),
    )
    .await
}

async fn proxied(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Sample {
    let started = Instant::now();
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("server answers");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    read_stream(
        response,
        started,
        |event| event.starts_with("event: delta"),
        |event| {
            assert!(!event.starts_with("event: error"), "{event}");
            event.starts_with("event: done")
        },
    )
    .await
}

#[derive(Clone, Copy)]
enum Target {
    Direct,
    Proxy,
}

async fn run(
    target: Target,
    options: &Options,
    direct_url: &str,
    proxy_url: &str,
    direct_body: &Value,
    proxy_body: &Value,
    tokens: &[String],
) -> (Histogram<u64>, Histogram<u64>, Histogram<u64>, Duration) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in tokens.iter().take(options.streams) {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .unwrap();
        let (direct_url, proxy_url) = (direct_url.to_owned(), proxy_url.to_owned());
        let (direct_body, proxy_body) = (direct_body.clone(), proxy_body.clone());
        let token = token.clone();
        let rounds = options.rounds;
        let offset = if options.burst {
            Duration::ZERO
        } else {
            Duration::from_millis(options.pieces as u64 * options.delay_ms) * tasks.len() as u32
                / options.streams as u32
        };
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut samples = Vec::new();
            for round in 0..rounds {
                let sample = match target {
                    Target::Direct => direct(&http, &direct_url, &direct_body).await,
                    Target::Proxy => proxied(&http, &proxy_url, &token, &proxy_body).await,
                };
                if round > 0 {
                    samples.push(sample);
                }
            }
            samples
        }));
    }
    let mut event = Histogram::<u64>::new(3).unwrap();
    let mut first = Histogram::<u64>::new(3).unwrap();
    let mut total = Histogram::<u64>::new(3).unwrap();
    for task in tasks {
        for sample in task.await.unwrap() {
            event.record(sample.first_event.as_micros() as u64).unwrap();
            first.record(sample.first_token.as_micros() as u64).unwrap();
            total.record(sample.total.as_micros() as u64).unwrap();
        }
    }
    (event, first, total, started.elapsed())
}

fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let standin = StandIn::start().await;
    let pieces: Vec<String> = (0..options.pieces)
        .map(|index| format!(" word{index}"))
        .collect();
    let piece_refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    standin.otherwise(Reply::stream_with(
        &piece_refs,
        Duration::from_millis(options.delay_ms),
        End::Done,
    ));

    let base =
        std::env::var("BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("hub_bench_copilot_{}", std::process::id());
    let admin = PgPool::connect(&format!("{base}/postgres")).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let url = format!("{base}/{name}");
    let pool = PgPool::connect(&url).await?;
    sync_server::migrate::up(&pool, None).await?;

    // One matter, consented, the firm's copilot on; every stream is its own lawyer on it.
    let case = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO firms (id) VALUES ($1)")
        .bind(FIRM)
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO cases (id, firm_id, created_by) VALUES ($1, $2, 'lawyer-0')")
        .bind(case)
        .bind(FIRM)
        .execute(&pool)
        .await?;
    let dev = sync_server::auth::DevAuth::new(SECRET);
    let mut tokens = Vec::new();
    for index in 0..options.streams {
        let user = format!("lawyer-{index}");
        sqlx::query("INSERT INTO case_members (case_id, user_id, role, added_by) VALUES ($1, $2, 'editor', 'bench')")
            .bind(case)
            .bind(&user)
            .execute(&pool)
            .await?;
        tokens.push(dev.mint(&user, FIRM, 3600).expect("token"));
    }
    sqlx::query(
        "INSERT INTO copilot_firm_policy (firm_id, enabled, updated_by) VALUES ($1, true, 'bench')",
    )
    .bind(FIRM)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO case_ai_consent (case_id, consented, set_by) VALUES ($1, true, 'bench')",
    )
    .bind(case)
    .execute(&pool)
    .await?;

    let base_url = standin.base_url();
    let streams = options.streams.to_string();
    let serve = Serve::try_parse_from([
        "sync-server",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--dev-auth",
        "--dev-secret",
        SECRET,
        "--copilot-api-key",
        "sk-bench-not-a-real-key",
        "--copilot-base-url",
        &base_url,
        "--copilot-rate-per-minute",
        "100000",
        "--copilot-max-concurrent",
        &streams,
        "--copilot-monthly-tokens",
        "1000000000000",
    ])?;
    let server = sync_server::app::start(&serve.settings).await?;
    let proxy_url = format!("http://{}/api/v1/copilot/chat", server.addr);
    let direct_url = format!("{base_url}/chat/completions");
    let text =
        "The Supplier shall deliver the Goods to the Customer's premises by 1 March. ".repeat(20);
    let proxy_body =
        json!({"case_id": case, "action": "redraft", "text": text, "instruction": "more formal"});
    // The request the proxy sends for that, as the stand-in saw it: the direct client sends the same.
    let warmup = reqwest::Client::new();
    proxied(&warmup, &proxy_url, &tokens[0], &proxy_body).await;
    let direct_body = standin
        .seen()
        .last()
        .expect("the proxy called the stand-in")
        .body
        .clone();

    println!(
        "copilot bench: {} streams × {} rounds (first not counted), {} pieces {} ms apart, {}",
        options.streams,
        options.rounds,
        options.pieces,
        options.delay_ms,
        if options.burst {
            "all starting at once (bursts)"
        } else {
            "starts spread over an answer's length (steady)"
        },
    );
    let mut results = Vec::new();
    let targets = (0..options.pairs).flat_map(|_| [Target::Direct, Target::Proxy]);
    for target in targets {
        let (event, first, total, elapsed) = run(
            target,
            &options,
            &direct_url,
            &proxy_url,
            &direct_body,
            &proxy_body,
            &tokens,
        )
        .await;
        let label = match target {
            Target::Direct => "direct",
            Target::Proxy => "proxy",
        };
        println!(
            "{label:>6}: n={} first event p50 {} p99 {} | TTFT p50 {} p99 {} max {} ms | total p50 {} p99 {} max {} ms | {:.1} s",
            first.len(),
            ms(event.value_at_quantile(0.5)),
            ms(event.value_at_quantile(0.99)),
            ms(first.value_at_quantile(0.5)),
            ms(first.value_at_quantile(0.99)),
            ms(first.max()),
            ms(total.value_at_quantile(0.5)),
            ms(total.value_at_quantile(0.99)),
            ms(total.max()),
            elapsed.as_secs_f64()
        );
        results.push((label, first, total));
    }
    println!();
    println!(
        "| run | target | streams | TTFT p50 ms | TTFT p99 ms | total p50 ms | total p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (index, (label, first, total)) in results.iter().enumerate() {
        println!(
            "| {} | {label} | {} | {} | {} | {} | {} |",
            index / 2 + 1,
            options.streams,
            ms(first.value_at_quantile(0.5)),
            ms(first.value_at_quantile(0.99)),
            ms(total.value_at_quantile(0.5)),
            ms(total.value_at_quantile(0.99)),
        );
    }
    println!();
    for pair in results.chunks(2) {
        let [
            (_, direct_first, direct_total),
            (_, proxy_first, proxy_total),
        ] = pair
        else {
            continue;
        };
        let overhead = |proxy: &Histogram<u64>, direct: &Histogram<u64>, quantile: f64| {
            proxy.value_at_quantile(quantile) as i64 - direct.value_at_quantile(quantile) as i64
        };
        println!(
            "overhead: TTFT p50 {:+.2} ms, p99 {:+.2} ms; total p50 {:+.2} ms, p99 {:+.2} ms",
            overhead(proxy_first, direct_first, 0.5) as f64 / 1000.0,
            overhead(proxy_first, direct_first, 0.99) as f64 / 1000.0,
            overhead(proxy_total, direct_total, 0.5) as f64 / 1000.0,
            overhead(proxy_total, direct_total, 0.99) as f64 / 1000.0,
        );
    }
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM copilot_usage WHERE outcome = 'ok'")
        .fetch_one(&pool)
        .await?;
    println!("usage rows recorded (outcome ok): {calls}");

    let _ = server.shutdown.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    Ok(())
}
