//! The AI copilot proxy against a real Postgres and an OpenAI-compatible stand-in that speaks
//! the exact Chat Completions streaming format (tests/common/openai_standin.rs). Every byte the
//! server sends to a client, and every log line of this process, is kept and searched for the
//! key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/openai_standin.rs"]
mod standin;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use protocol::{AuthMessage, Message};
use serde_json::{Value, json};
use standin::{End, Reply, StandIn};
use sync_server::copilot::config::CopilotSettings;

const KEY: &str = "sk-standin-KEY-7f3a9c1e5b2d4680aaee";
const WAIT: Duration = Duration::from_secs(20);

/// Every log line of this test process (all tests share it).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || LogWriter(writer.clone()))
            .with_ansi(false)
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Env {
    firm: Firm,
    standin: StandIn,
    http: reqwest::Client,
    /// Every status line, header and body byte the server sent to the tests' clients.
    received: Arc<Mutex<Vec<u8>>>,
    case: String,
    ada: String,
    admin: String,
}

async fn env(tweak: impl FnOnce(&mut CopilotSettings)) -> Env {
    logs();
    let standin = StandIn::start().await;
    let firm = Firm::one_instance_with(|settings| {
        settings.copilot = CopilotSettings {
            api_key: Some(KEY.into()),
            base_url: Some(standin.base_url()),
            start_timeout_secs: 10,
            idle_timeout_secs: 10,
            ..CopilotSettings::default()
        };
        tweak(&mut settings.copilot);
    })
    .await;
    // Ada opens a draft of a new matter over the real sync socket: the matter is created with
    // her as its owner.
    let case = new_case();
    let ada = token("ada", FIRM);
    let mut socket = raw::connect(&firm.url()).await;
    let answer = raw::authenticate(&mut socket, draft_name(&case).as_str(), &ada).await;
    assert!(
        matches!(answer, Message::Auth(AuthMessage::Authenticated { .. })),
        "{answer:?}"
    );
    let admin = sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role("root", FIRM, Some("admin"), 3600)
        .unwrap();
    Env {
        firm,
        standin,
        http: reqwest::Client::new(),
        received: Arc::new(Mutex::new(Vec::new())),
        case,
        ada,
        admin,
    }
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.firm.server().addr)
    }

    fn keep(&self, response: &reqwest::Response) {
        let mut received = self.received.lock().unwrap();
        received.extend_from_slice(
            format!("{:?} {:?}\n", response.status(), response.headers()).as_bytes(),
        );
    }

    async fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        self.keep(&response);
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        self.received.lock().unwrap().extend_from_slice(&bytes);
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, headers)
    }

    /// Turn the copilot on for the firm and record the client's consent on the matter.
    async fn allow(&self) {
        let (status, body, _) = self
            .rest(
                reqwest::Method::PUT,
                "/api/v1/copilot/policy",
                &self.admin,
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(
            (status, body["enabled"].as_bool()),
            (200, Some(true)),
            "{body}"
        );
        let path = format!("/api/v1/cases/{}/ai-consent", self.case);
        let consent = json!({"consented": true, "note": "engagement letter, clause 12"});
        let (status, body, _) = self
            .rest(reqwest::Method::PUT, &path, &self.ada, Some(consent))
            .await;
        assert_eq!(status, 204, "{body}");
    }

    fn request(&self, action: &str, text: &str, instruction: Option<&str>) -> Value {
        json!({"case_id": self.case, "action": action, "text": text, "instruction": instruction})
    }

    /// Start a chat; `Err` with (status, body) when refused before streaming.
    async fn chat(&self, token: &str, body: Value) -> Result<Answer, (u16, Value)> {
        let response = self
            .http
            .post(self.url("/api/v1/copilot/chat"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        if response.status() != 200 {
            let status = response.status().as_u16();
            let bytes = response.bytes().await.unwrap();
            self.received.lock().unwrap().extend_from_slice(&bytes);
            return Err((
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ));
        }
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Ok(Answer {
            response,
            buffer: String::new(),
            received: self.received.clone(),
        })
    }

    async fn usage_rows(&self) -> Vec<Value> {
        let pool = sqlx::PgPool::connect(&self.firm.database).await.unwrap();
        let rows: Vec<(Value,)> =
            sqlx::query_as("SELECT to_jsonb(u) FROM copilot_usage u ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows.into_iter().map(|(row,)| row).collect()
    }

    /// Wait until `count` calls are recorded.
    async fn wait_usage(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let rows = self.usage_rows().await;
            if rows.len() >= count {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "{} usage rows, expected {count}",
                rows.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The Prometheus exposition (kept with the other received bytes).
    async fn metrics(&self) -> String {
        let response = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        self.received
            .lock()
            .unwrap()
            .extend_from_slice(text.as_bytes());
        text
    }

    /// The key is in none of the bytes sent to clients, nor in any log line.
    fn assert_key_absent(&self) {
        let received = self.received.lock().unwrap();
        assert!(!received.is_empty());
        let text = String::from_utf8_lossy(&received);
        assert!(!text.contains(KEY), "the key reached a client");
        assert!(
            !text.contains("7f3a9c1e"),
            "part of the key reached a client"
        );
        let logs = logs().lock().unwrap();
        let logs = String::from_utf8_lossy(&logs);
        assert!(
            logs.contains("copilot answer ended"),
            "log lines are captured"
        );
        assert!(
            !logs.contains(KEY) && !logs.contains("7f3a9c1e"),
            "the key is in the logs"
        );
    }
}

/// A streaming answer being read.
struct Answer {
    response: reqwest::Response,
    buffer: String,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Answer {
    /// The next event (name, data), skipping keep-alive comments; `None` at the end.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event: ") {
                        name = value.to_owned();
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data.push_str(value);
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((
                    name,
                    serde_json::from_str(&data).expect("event data is JSON"),
                ));
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("the server sends in time")
                .expect("the stream reads")?;
            self.received.lock().unwrap().extend_from_slice(&chunk);
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn all(mut self) -> Vec<(String, Value)> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn text_of(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_streams_through_in_order_and_every_call_is_accounted_for() {
    let env = env(|_| {}).await;
    env.allow().await;
    let pieces = [
        "The Supplier",
        " shall",
        " deliver",
        " the Goods",
        " by 1 March.",
    ];
    env.standin.script([Reply::stream(&pieces)]);
    let availability = format!("/api/v1/cases/{}/copilot", env.case);
    let (status, body, _) = env
        .rest(reqwest::Method::GET, &availability, &env.ada, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["available"], json!(true), "{body}");
    assert_eq!(body["reason_code"], Value::Null);

    let request = env.request(
        "redraft",
        "Supplier to deliver goods by March 1.",
        Some("more formal"),
    );
    let events = env.chat(&env.ada, request).await.unwrap().all().await;
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["start", "delta", "delta", "delta", "delta", "delta", "done"]
    );
    assert_eq!(events[0].1["model"], "gpt-4o");
    assert_eq!(events[0].1["action"], "redraft");
    assert_eq!(text_of(&events), pieces.concat());
    let done = &events[6].1;
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(
        done["usage"],
        json!({"prompt_tokens": 57, "completion_tokens": 5, "total_tokens": 62, "estimated": false})
    );
    assert_eq!(done["quota"]["used_tokens"], 62);

    // What reached the model: the configured model and key, streaming with usage, the
    // templates' system and user messages.
    let seen = env.standin.seen();
    assert_eq!(seen.len(), 1);
    let upstream = &seen[0];
    assert_eq!(upstream.path, "/v1/chat/completions");
    assert_eq!(
        upstream.authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(upstream.body["model"], "gpt-4o");
    assert_eq!(upstream.body["stream"], true);
    assert_eq!(upstream.body["stream_options"]["include_usage"], true);
    assert_eq!(upstream.body["max_completion_tokens"], 4096);
    let messages = upstream.body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(
        messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("drafting assistant inside Lawyers Hub")
    );
    assert_eq!(messages[1]["role"], "user");
    let user = messages[1]["content"].as_str().unwrap();
    assert!(
        user.contains("Supplier to deliver goods by March 1.") && user.contains("more formal"),
        "{user}"
    );

    // One usage row, without the text (the firm did not opt in).
    let rows = env.wait_usage(1).await;
    let row = &rows[0];
    assert_eq!(row["user_id"], "ada");
    assert_eq!(row["case_id"], json!(env.case));
    assert_eq!(row["action"], "redraft");
    assert_eq!(row["model"], "gpt-4o");
    assert_eq!(
        (
            row["prompt_tokens"].as_i64(),
            row["completion_tokens"].as_i64()
        ),
        (Some(57), Some(5))
    );
    assert_eq!(
        (row["outcome"].as_str(), row["tokens_estimated"].as_bool()),
        (Some("ok"), Some(false))
    );
    assert!(row["first_token_ms"].is_i64() && row["latency_ms"].is_i64());
    assert_eq!(
        (&row["prompt_text"], &row["answer_text"]),
        (&Value::Null, &Value::Null)
    );

    // Admins see usage; lawyers do not.
    let (status, report, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/usage",
            &env.admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["totals"]["calls"], 1);
    assert_eq!(report["totals"]["prompt_tokens"], 57);
    assert_eq!(report["by_user"][0]["user_id"], "ada");
    assert_eq!(report["calls"][0]["outcome"], "ok");
    assert!(report["calls"][0].get("prompt_text").is_none());
    let (status, body, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/usage",
            &env.ada,
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));

    // With the firm's opt-in, the text is kept too.
    let (status, _, _) = env
        .rest(
            reqwest::Method::PUT,
            "/api/v1/copilot/policy",
            &env.admin,
            Some(json!({"store_content": true})),
        )
        .await;
    assert_eq!(status, 200);
    env.standin.script([Reply::stream(&["- **Risk**", " one"])]);
    let events = env
        .chat(
            &env.ada,
            env.request("review_risks", "Liability is unlimited.", None),
        )
        .await
        .unwrap()
        .all()
        .await;
    assert_eq!(events.last().unwrap().0, "done");
    let rows = env.wait_usage(2).await;
    assert!(
        rows[1]["prompt_text"]
            .as_str()
            .unwrap()
            .contains("Liability is unlimited.")
    );
    assert_eq!(rows[1]["answer_text"], "- **Risk** one");
    let (_, report, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/usage?limit=1",
            &env.admin,
            None,
        )
        .await;
    assert_eq!(report["totals"]["calls"], 2);
    assert_eq!(report["calls"].as_array().unwrap().len(), 1);
    assert_eq!(report["calls"][0]["answer_text"], "- **Risk** one");
    // An ethical wall holds against administrators: screened, they see none of its rows.
    let screen = format!("/api/v1/cases/{}/screens/root", env.case);
    let (status, _, _) = env
        .rest(
            reqwest::Method::PUT,
            &screen,
            &env.ada,
            Some(json!({"reason": "conflict"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, report, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/usage",
            &env.admin,
            None,
        )
        .await;
    assert_eq!(report["totals"]["calls"], 0, "{report}");
    assert!(report["calls"].as_array().unwrap().is_empty(), "{report}");
    assert!(report["by_user"].as_array().unwrap().is_empty(), "{report}");

    // Prometheus: calls by outcome, tokens by kind, the latency histogram.
    let metrics = env.metrics().await;
    for series in [
        "hub_copilot_calls_total{outcome=\"ok\"}",
        "hub_copilot_tokens_total{kind=\"prompt\"}",
        "hub_copilot_tokens_total{kind=\"completion\"}",
        "hub_copilot_latency_seconds_bucket",
    ] {
        assert!(metrics.contains(series), "{series} missing");
    }
    env.assert_key_absent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_refusals_come_before_any_call_to_the_model() {
    let env = env(|copilot| copilot.max_input_chars = 1000).await;
    let availability = format!("/api/v1/cases/{}/copilot", env.case);
    let consent_path = format!("/api/v1/cases/{}/ai-consent", env.case);
    let ben = token("ben", FIRM);
    let zed = token("zed", "firm-other");
    let ask = env.request("summarize", "The parties agree as follows.", None);

    // The firm's switch is off by default.
    let (status, body, _) = env
        .rest(reqwest::Method::GET, &availability, &env.ada, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["available"].as_bool(), body["reason_code"].as_str()),
        (Some(false), Some("copilot_disabled"))
    );
    assert!(body["message"].as_str().unwrap().contains("administrator"));
    let (status, body) = env.chat(&env.ada, ask.clone()).await.err().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("copilot_disabled"))
    );

    // Only firm admins switch it.
    let (status, body, _) = env
        .rest(
            reqwest::Method::PUT,
            "/api/v1/copilot/policy",
            &env.ada,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _, _) = env
        .rest(
            reqwest::Method::PUT,
            "/api/v1/copilot/policy",
            &env.admin,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);

    // No consent recorded on the matter yet.
    let (_, body, _) = env
        .rest(reqwest::Method::GET, &availability, &env.ada, None)
        .await;
    assert_eq!(body["reason_code"], "consent_required");
    assert_eq!(body["consented"], false);
    let (status, body) = env.chat(&env.ada, ask.clone()).await.err().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_required"))
    );
    assert!(body["message"].as_str().unwrap().contains("consented"));

    // Not on the matter, or another firm: the matter does not exist for them, whatever its
    // policy, and only owners and admins record consent.
    for stranger in [&ben, &zed] {
        let (status, body) = env.chat(stranger, ask.clone()).await.err().unwrap();
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        let (status, _, _) = env
            .rest(reqwest::Method::GET, &availability, stranger, None)
            .await;
        assert_eq!(status, 404);
        let (status, _, _) = env
            .rest(
                reqwest::Method::PUT,
                &consent_path,
                stranger,
                Some(json!({"consented": true})),
            )
            .await;
        assert_eq!(status, 404);
    }
    grant_role(&env, "ben", "editor").await;
    let (status, body, _) = env
        .rest(
            reqwest::Method::PUT,
            &consent_path,
            &ben,
            Some(json!({"consented": true})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _, _) = env
        .rest(
            reqwest::Method::PUT,
            &consent_path,
            &env.ada,
            Some(json!({"consented": true})),
        )
        .await;
    assert_eq!(status, 204);

    // Bad input: clear errors, nothing sent.
    let cases = [
        (
            env.request("summarize", &"x".repeat(1001), None),
            413,
            "too_large",
        ),
        (
            env.request("redraft", "ok", Some(&"y".repeat(2001))),
            413,
            "too_large",
        ),
        (
            env.request("summarize", "   ", None),
            400,
            "invalid_request",
        ),
        (
            env.request("draft_clause", "", None),
            400,
            "invalid_request",
        ),
        (
            json!({"case_id": env.case, "action": "sing", "text": "x"}),
            422,
            "invalid_request",
        ),
        (
            json!({"action": "summarize", "text": "x"}),
            422,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let (got, error) = env.chat(&env.ada, body.clone()).await.err().unwrap();
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    // A body far over the limit is cut off at the door (before it is even parsed).
    let (status, error) = env
        .chat(
            &env.ada,
            env.request("summarize", &"z".repeat(200_000), None),
        )
        .await
        .err()
        .unwrap();
    assert_eq!((status, error["code"].as_str()), (413, Some("too_large")));
    assert!(
        error["message"].as_str().unwrap().contains("length limit"),
        "refused by the body limit, not after parsing: {error}"
    );
    let response = env
        .http
        .post(env.url("/api/v1/copilot/chat"))
        .bearer_auth(&env.ada)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "invalid_request");
    let (status, body) = env.chat("not-a-token", ask.clone()).await.err().unwrap();
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    assert_eq!(env.standin.requests(), 0, "nothing reached the model");
    let metrics = env.metrics().await;
    assert!(metrics.contains("hub_copilot_calls_total{outcome=\"refused\"}"));
    assert!(metrics.contains("hub_copilot_errors_total{code=\"consent_required\"}"));

    // Allowed now: the audit log has both policy changes; one call goes through.
    let (_, body, _) = env
        .rest(reqwest::Method::GET, &availability, &ben, None)
        .await;
    assert_eq!(
        (body["available"].as_bool(), body["consented"].as_bool()),
        (Some(true), Some(true))
    );
    let events = env.chat(&ben, ask.clone()).await.unwrap().all().await;
    assert_eq!(text_of(&events), "Hello world");
    assert_eq!(env.standin.requests(), 1);
    let (_, audit, _) = env
        .rest(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{}/audit", env.case),
            &env.ada,
            None,
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"ai_consent_set"), "{actions:?}");

    // A server without a model configured says so.
    let mut bare = settings(&env.firm.database, None);
    bare.copilot = CopilotSettings::default();
    let bare = sync_server::app::start(&bare).await.unwrap();
    let response = env
        .http
        .get(format!("http://{}{availability}", bare.addr))
        .bearer_auth(&env.ada)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason_code"], "copilot_not_configured");
    let response = env
        .http
        .post(format!("http://{}/api/v1/copilot/chat", bare.addr))
        .bearer_auth(&env.ada)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    env.assert_key_absent();
}

async fn grant_role(env: &Env, user: &str, role: &str) {
    let path = format!("/api/v1/cases/{}/members/{user}", env.case);
    let (status, body, _) = env
        .rest(
            reqwest::Method::PUT,
            &path,
            &env.ada,
            Some(json!({"role": role})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cancels_the_model_call_within_100_ms() {
    let env = env(|copilot| copilot.max_concurrent = 1).await;
    env.allow().await;

    // Stop while the answer is streaming: the model stalls after three pieces.
    env.standin.script([Reply::stream_with(
        &["One", " two", " three"],
        Duration::ZERO,
        End::Stall,
    )]);
    let mut answer = env
        .chat(
            &env.ada,
            env.request("summarize", "A long agreement.", None),
        )
        .await
        .unwrap();
    let mut text = String::new();
    while text != "One two three" {
        let (name, data) = answer.next().await.unwrap();
        if name == "delta" {
            text.push_str(data["text"].as_str().unwrap());
        }
    }
    let connection = env.standin.seen()[0].connection;
    assert!(env.standin.closed_at(connection).is_none());
    let stopped = Instant::now();
    drop(answer);
    let closed = env
        .standin
        .wait_closed(connection, WAIT)
        .await
        .expect("upstream closed");
    let streaming = closed.duration_since(stopped);
    println!("cancellation reached the model endpoint {streaming:?} after Stop (while streaming)");
    assert!(streaming < Duration::from_millis(100), "{streaming:?}");
    let rows = env.wait_usage(1).await;
    assert_eq!(rows[0]["outcome"], "cancelled");
    assert_eq!(rows[0]["tokens_estimated"], true);
    assert_eq!(rows[0]["completion_tokens"], 4, "13 characters ≈ 4 tokens");

    // Stop before the first token: the model has not answered at all yet.
    env.standin
        .script([Reply::stream_with(&[], Duration::ZERO, End::Stall)]);
    let mut answer = env
        .chat(
            &env.ada,
            env.request("summarize", "Another agreement.", None),
        )
        .await
        .unwrap();
    assert_eq!(answer.next().await.unwrap().0, "start");
    let seen = env.standin.wait_requests(2, WAIT).await;
    let connection = seen[1].connection;
    let stopped = Instant::now();
    drop(answer);
    let closed = env
        .standin
        .wait_closed(connection, WAIT)
        .await
        .expect("upstream closed");
    let waiting = closed.duration_since(stopped);
    println!(
        "cancellation reached the model endpoint {waiting:?} after Stop (before the first token)"
    );
    assert!(waiting < Duration::from_millis(100), "{waiting:?}");
    let rows = env.wait_usage(2).await;
    assert_eq!(rows[1]["outcome"], "cancelled");

    // The stopped answers no longer count against the one-at-a-time limit.
    let events = env
        .chat(
            &env.ada,
            env.request("summarize", "A third agreement.", None),
        )
        .await
        .unwrap()
        .all()
        .await;
    assert_eq!(events.last().unwrap().0, "done");
    env.assert_key_absent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_concurrency_and_quota_limits_refuse_with_clear_errors() {
    let env = env(|copilot| {
        copilot.rate_per_minute = 3;
        copilot.max_concurrent = 1;
    })
    .await;
    env.allow().await;
    let ask = env.request("summarize", "Short text.", None);

    // One answer at a time.
    env.standin
        .script([Reply::stream_with(&["Slow"], Duration::ZERO, End::Stall)]);
    let mut first = env.chat(&env.ada, ask.clone()).await.unwrap();
    assert_eq!(first.next().await.unwrap().0, "start");
    let (status, body) = env.chat(&env.ada, ask.clone()).await.err().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_streams"))
    );
    drop(first);
    env.wait_usage(1).await;

    // Three starts a minute.
    for _ in 0..2 {
        let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
        assert_eq!(events.last().unwrap().0, "done");
    }
    let response = env
        .http
        .post(env.url("/api/v1/copilot/chat"))
        .bearer_auth(&env.ada)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!((1..=61).contains(&retry_after), "{retry_after}");
    assert_eq!(body["retry_after_secs"], retry_after);
    assert!(body["message"].as_str().unwrap().contains("seconds"));
    assert_eq!(env.standin.requests(), 3);

    // The monthly allowance: 3 calls have used well over 100 tokens.
    env.wait_usage(3).await;
    let (status, policy, _) = env
        .rest(
            reqwest::Method::PUT,
            "/api/v1/copilot/policy",
            &env.admin,
            Some(json!({"monthly_token_quota": 100})),
        )
        .await;
    assert_eq!(
        (status, policy["effective_monthly_tokens"].as_i64()),
        (200, Some(100))
    );
    let (status, body) = env.chat(&env.ada, ask.clone()).await.err().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("quota_exceeded"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("allowance"),
        "{body}"
    );
    let availability = format!("/api/v1/cases/{}/copilot", env.case);
    let (_, body, _) = env
        .rest(reqwest::Method::GET, &availability, &env.ada, None)
        .await;
    assert_eq!(body["reason_code"], "quota_exceeded");
    assert_eq!(body["quota"]["monthly_tokens"], 100);
    assert!(body["quota"]["used_tokens"].as_i64().unwrap() > 100);
    // Back to the server's default (null clears the firm's number).
    let (_, policy, _) = env
        .rest(
            reqwest::Method::PUT,
            "/api/v1/copilot/policy",
            &env.admin,
            Some(json!({"monthly_token_quota": null})),
        )
        .await;
    assert_eq!(policy["monthly_token_quota"], Value::Null);
    assert_eq!(policy["enabled"], true, "fields not sent are kept");
    let (_, body, _) = env
        .rest(reqwest::Method::GET, &availability, &env.ada, None)
        .await;
    assert_eq!(body["available"], true);
    assert_eq!(env.standin.requests(), 3, "refusals never reach the model");
    env.assert_key_absent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_failures_become_events_a_lawyer_understands_and_the_key_never_leaks() {
    let env = env(|copilot| copilot.idle_timeout_secs = 1).await;
    env.allow().await;
    let ask = env.request("redraft", "The Tenant shall pay rent.", None);
    let error_of = |events: &[(String, Value)]| {
        let (name, data) = events.last().unwrap().clone();
        assert_eq!(name, "error", "{events:?}");
        assert!(data["message"].as_str().unwrap().len() > 20);
        (
            data["code"].as_str().unwrap().to_owned(),
            data["retryable"].as_bool().unwrap(),
        )
    };
    let mut expected_requests = 0;
    let mut check = |added: usize, requests: usize| {
        expected_requests += added;
        assert_eq!(requests, expected_requests);
    };

    // 429 that persists: async-openai retries it 3 times, then a busy message.
    env.standin
        .script(std::iter::repeat_n(Reply::rate_limited(), 4));
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(error_of(&events), ("upstream_rate_limited".into(), true));
    check(4, env.standin.requests());

    // A 429 that clears: the retry is invisible to the lawyer.
    env.standin
        .script([Reply::rate_limited(), Reply::stream(&["Rent", " is due."])]);
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(text_of(&events), "Rent is due.");
    check(2, env.standin.requests());

    // 500s.
    env.standin
        .script(std::iter::repeat_n(Reply::server_error(), 4));
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(error_of(&events), ("upstream_unavailable".into(), true));
    check(4, env.standin.requests());

    // The firm's account is out of credit: not retried.
    env.standin.script([Reply::insufficient_quota()]);
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(error_of(&events), ("upstream_quota".into(), false));
    check(1, env.standin.requests());

    // Cut off mid-answer: what arrived stays, nothing is asked again (it would repeat text).
    env.standin.script([Reply::stream_with(
        &["The Tenant", " shall"],
        Duration::ZERO,
        End::Disconnect,
    )]);
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(text_of(&events), "The Tenant shall");
    assert_eq!(error_of(&events), ("upstream_interrupted".into(), true));
    check(1, env.standin.requests());

    // Cut off before the first token: asked again once, safely.
    env.standin.script([
        Reply::stream_with(&[], Duration::ZERO, End::Disconnect),
        Reply::stream(&["Second", " try."]),
    ]);
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(text_of(&events), "Second try.");
    assert_eq!(events.last().unwrap().0, "done");
    check(2, env.standin.requests());

    // A model that stalls before its first token (idle timeout 1 s): asked again once, then
    // a timeout message.
    env.standin.script([
        Reply::stream_with(&[], Duration::ZERO, End::Stall),
        Reply::stream_with(&[], Duration::ZERO, End::Stall),
    ]);
    let started = Instant::now();
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(error_of(&events), ("upstream_timeout".into(), true));
    assert!(started.elapsed() < Duration::from_secs(10));
    check(2, env.standin.requests());

    // The endpoint refuses the key and echoes it in its error: the lawyer gets a plain message,
    // the key goes nowhere.
    env.standin.script([Reply::bad_key()]);
    let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    assert_eq!(error_of(&events), ("upstream_auth".into(), false));
    check(1, env.standin.requests());

    let rows = env.wait_usage(8).await;
    let outcomes: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|row| {
            (
                row["outcome"].as_str().unwrap().to_owned(),
                row["error_code"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let error = |code: &str| ("error".to_owned(), Some(code.to_owned()));
    let ok = ("ok".to_owned(), None);
    // Rows are written after each answer ends, so their order may differ from the calls'.
    let mut outcomes = outcomes;
    outcomes.sort();
    let mut expected = vec![
        error("upstream_rate_limited"),
        ok.clone(),
        error("upstream_unavailable"),
        error("upstream_quota"),
        error("upstream_interrupted"),
        ok,
        error("upstream_timeout"),
        error("upstream_auth"),
    ];
    expected.sort();
    assert_eq!(outcomes, expected);
    // The usage report counts them.
    let (_, report, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/usage",
            &env.admin,
            None,
        )
        .await;
    assert_eq!(report["totals"]["errors"], 6);
    // The endpoint's echo of the key did reach the server's log path, blotted out.
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).to_string();
    assert!(
        logs.contains("Incorrect API key provided: <redacted>"),
        "the cause is logged"
    );
    let metrics = env.metrics().await;
    for code in [
        "upstream_rate_limited",
        "upstream_interrupted",
        "upstream_timeout",
        "upstream_auth",
    ] {
        let series = format!("hub_copilot_errors_total{{code=\"{code}\"}}");
        assert!(metrics.contains(&series), "{series} missing");
    }
    let (_, policy, _) = env
        .rest(
            reqwest::Method::GET,
            "/api/v1/copilot/policy",
            &env.ada,
            None,
        )
        .await;
    assert_eq!(policy["configured"], true);
    env.assert_key_absent();
}

/// A counter's value in the Prometheus text (0 when absent).
fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

const FROM_MEMORY: &str = "hub_copilot_policy_checks_total{source=\"memory\"}";

impl Env {
    /// Ask until the answer is refused with `code`; how long that took after `since`.
    async fn until_refused(&self, token: &str, code: &str, since: Instant) -> Duration {
        let ask = self.request("summarize", "The parties agree as follows.", None);
        loop {
            match self.chat(token, ask.clone()).await {
                Err((_, body)) if body["code"] == code => return since.elapsed(),
                Err((status, body)) => panic!("refused with {status} {body}, expected {code}"),
                Ok(answer) => {
                    answer.all().await;
                }
            }
            assert!(since.elapsed() < WAIT, "still allowed after {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn sql(&self, statement: &str) {
        let pool = sqlx::PgPool::connect(&self.firm.database).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_checks_are_kept_in_memory_and_every_revocation_applies_at_once() {
    let env = env(|_| {}).await;
    env.allow().await;
    grant_role(&env, "ben", "editor").await;
    let ben = token("ben", FIRM);
    let ask = env.request("summarize", "The parties agree as follows.", None);
    let listening = |metrics: &str| counter(metrics, "hub_copilot_policy_listener_up") == 1.0;
    let deadline = Instant::now() + WAIT;
    while !listening(&env.metrics().await) {
        assert!(
            Instant::now() < deadline,
            "the policy listener never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Checks come from memory. The set-up above committed three transactions (firm policy,
    // consent, membership) whose trigger notices may still be on their way, on a busy machine
    // for tens of milliseconds; each one drops the cache once more, costing at most one check
    // read from Postgres. So within 3 + 3 answers, two checks must have come from memory.
    let before = counter(&env.metrics().await, FROM_MEMORY);
    let mut after = before;
    for _ in 0..6 {
        let events = env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
        assert_eq!(events.last().unwrap().0, "done");
        after = counter(&env.metrics().await, FROM_MEMORY);
        if after >= before + 2.0 {
            break;
        }
    }
    assert!(after >= before + 2.0, "kept checks: {before} → {after}");

    // Through this server: the very next request is refused.
    let consent_path = format!("/api/v1/cases/{}/ai-consent", env.case);
    let (status, _, _) = env
        .rest(
            reqwest::Method::PUT,
            &consent_path,
            &env.ada,
            Some(json!({"consented": false})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = env.chat(&env.ada, ask.clone()).await.err().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("consent_required"))
    );
    env.allow().await;
    env.chat(&ben, ask.clone()).await.unwrap().all().await;
    let path = format!("/api/v1/cases/{}/members/ben", env.case);
    let (status, _, _) = env
        .rest(reqwest::Method::DELETE, &path, &env.ada, None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = env.chat(&ben, ask.clone()).await.err().unwrap();
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    // Written by someone else (another instance, an administrator in psql): the trigger's
    // notice reaches this server within milliseconds.
    let consent = |value: bool| {
        format!(
            "UPDATE case_ai_consent SET consented = {value} WHERE case_id = '{}'",
            env.case
        )
    };
    let revocations = [
        (consent(false), &env.ada, "consent_required"),
        (
            "DELETE FROM case_members WHERE user_id = 'ben'".to_owned(),
            &ben,
            "not_found",
        ),
        (
            format!("UPDATE copilot_firm_policy SET enabled = false WHERE firm_id = '{FIRM}'"),
            &env.ada,
            "copilot_disabled",
        ),
    ];
    for (revoke, who, code) in revocations {
        // Allowed again, and the check is in memory.
        env.sql(&consent(true)).await;
        grant_role(&env, "ben", "viewer").await;
        env.chat(who, ask.clone()).await.unwrap().all().await;
        env.chat(who, ask.clone()).await.unwrap().all().await;
        let since = Instant::now();
        env.sql(&revoke).await;
        let took = env.until_refused(who, code, since).await;
        eprintln!("{code}: refused {took:?} after the commit by another writer");
        assert!(took < Duration::from_secs(1), "{code} took {took:?}");
    }

    // The listening connection is cut: nothing is kept until it is back, then all works again.
    env.sql("UPDATE copilot_firm_policy SET enabled = true")
        .await;
    env.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let up = listening(&env.metrics().await);
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the policy listener never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    env.chat(&env.ada, ask.clone()).await.unwrap().all().await;
    let since = Instant::now();
    env.sql(&consent(false)).await;
    let took = env.until_refused(&env.ada, "consent_required", since).await;
    assert!(
        took < Duration::from_secs(1),
        "after reconnecting: {took:?}"
    );
    env.assert_key_absent();
}
