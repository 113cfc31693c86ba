//! The firm server's REST API as the desktop app uses it, beside the sync socket: a matter's
//! members, and the AI copilot — whether it may be used on a matter, the client's consent, and
//! answers streamed from `POST /api/v1/copilot/chat` (Server-Sent Events: `start`, `delta`s, then
//! `done` or `error`; the server holds the model key, which never reaches the laptop). Dropping
//! the future returned by [`FirmServer::chat`] closes the connection, which the server turns into
//! a cancelled model call (the Stop button).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::firm::replies::{
    AuditEntry, AuditFilter, ConflictCheck, ConflictQuery, CopilotAvailability, CopilotPolicy,
    FirmMatter, FirmRoles, FirmScreen, MatterRef, MatterRole, Member, Person, UsageReport,
};
use crate::{CaseId, LocalError, TokenSource};

/// Longest wait for a plain (non-streaming) request to the firm's server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What the app asks the copilot to do; the server turns it into a prompt from its templates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CopilotRequest {
    pub case_id: String,
    /// `summarize`, `redraft`, `draft_clause` or `review_risks`.
    pub action: String,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
}

/// One event of an answer, as the server sends it (`data` is the event's JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopilotEvent {
    pub event: String,
    pub data: serde_json::Value,
}

pub struct FirmServer {
    http: reqwest::Client,
    base: String,
    token: Arc<dyn TokenSource>,
}

/// `ws://host:port/api/v1/sync` → `http://host:port` (and `wss` → `https`).
pub fn http_base(sync_url: &str) -> Result<String, LocalError> {
    let (scheme, rest) = if let Some(rest) = sync_url.strip_prefix("wss://") {
        ("https", rest)
    } else if let Some(rest) = sync_url.strip_prefix("ws://") {
        ("http", rest)
    } else {
        return Err(LocalError::InvalidInput(format!(
            "the server address {sync_url} is not a ws:// or wss:// address"
        )));
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(LocalError::InvalidInput(format!(
            "the server address {sync_url} has no host"
        )));
    }
    Ok(format!("{scheme}://{host}"))
}

fn unreachable(error: reqwest::Error) -> LocalError {
    // reqwest errors carry the URL, never the Authorization header.
    LocalError::Connection(crate::net::describe(&error, "the firm's server"))
}

/// `&since=…` for a usage report, or nothing (the server's default: this month).
fn since_query(since: Option<&str>) -> String {
    since.map_or_else(String::new, |since| {
        format!("&since={}", path_segment(since))
    })
}

/// A user id as one URL path segment (ids from identity providers may hold `|`, `@`, `/`), or a
/// query value: everything but RFC 3986's unreserved characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Parse Server-Sent Events out of `buffer`, leaving any incomplete event in it.
pub(crate) fn drain_events(buffer: &mut String) -> Vec<CopilotEvent> {
    let mut events = Vec::new();
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let mut name = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = value.trim().to_owned();
            } else if let Some(value) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if data.is_empty() {
            continue; // a keep-alive comment
        }
        let data = serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data));
        events.push(CopilotEvent { event: name, data });
    }
    events
}

impl FirmServer {
    pub fn new(sync_url: &str, token: Arc<dyn TokenSource>) -> Result<Self, LocalError> {
        let http = crate::net::network()
            .http()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(unreachable)?;
        Ok(Self {
            http,
            base: http_base(sync_url)?,
            token,
        })
    }

    /// Turn a refusal (`{code, message}` JSON) into an error the UI can show as it is.
    async fn refusal(response: reqwest::Response) -> LocalError {
        #[derive(Deserialize)]
        struct Refusal {
            code: String,
            message: String,
        }
        let status = response.status();
        match response.json::<Refusal>().await {
            Ok(refusal) => LocalError::CopilotRefused {
                code: refusal.code,
                message: refusal.message,
            },
            Err(_) => LocalError::CopilotRefused {
                code: "server_error".into(),
                message: format!("The firm's server answered {status}. Please try again later."),
            },
        }
    }

    /// Send a request to `/api/v1/{path}` with the user's token; a non-2xx answer becomes the
    /// server's `{code, message}` as an error.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LocalError> {
        let request = self
            .http
            .request(method, format!("{}/api/v1/{path}", self.base))
            .bearer_auth(self.token.token()?);
        let response = build(request).send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        Ok(response)
    }

    /// GET a JSON resource under `/api/v1`.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, LocalError> {
        self.send(reqwest::Method::GET, path, |request| {
            request.timeout(REQUEST_TIMEOUT)
        })
        .await?
        .json()
        .await
        .map_err(unreachable)
    }

    /// `GET /api/v1/cases/{case}/copilot`: whether the copilot may be used here, and why not.
    pub async fn availability(&self, case_id: &CaseId) -> Result<CopilotAvailability, LocalError> {
        self.get_json(&format!("cases/{case_id}/copilot")).await
    }

    /// `GET /api/v1/cases/{case}/members`: who may open the matter, with their roles.
    pub async fn members(&self, case_id: &CaseId) -> Result<Vec<Member>, LocalError> {
        self.get_json(&format!("cases/{case_id}/members")).await
    }

    /// `PUT /api/v1/cases/{case}/ai-consent`: record (or withdraw) the client's consent, with
    /// how it was given (`note`: "engagement letter of 3 March, clause 12").
    pub async fn set_consent(
        &self,
        case_id: &CaseId,
        consented: bool,
        note: &str,
    ) -> Result<(), LocalError> {
        let path = format!("cases/{case_id}/ai-consent");
        let body = serde_json::json!({ "consented": consented, "note": note });
        self.send_json(reqwest::Method::PUT, &path, &body).await
    }

    /// A request with a JSON body whose answer has none (204).
    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(), LocalError> {
        self.send(method, path, |request| {
            request.json(body).timeout(REQUEST_TIMEOUT)
        })
        .await?;
        Ok(())
    }

    /// `GET /api/v1/cases`: my matters, with their legal holds.
    pub async fn matters(&self) -> Result<Vec<FirmMatter>, LocalError> {
        self.get_json("cases").await
    }

    /// `PUT` (place) or `DELETE` (lift) `/api/v1/cases/{case}/hold`, with a reason (firm admins).
    pub async fn set_hold(
        &self,
        case_id: &CaseId,
        held: bool,
        reason: &str,
    ) -> Result<(), LocalError> {
        let method = if held {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        self.send(method, &format!("cases/{case_id}/hold"), |request| {
            request
                .json(&serde_json::json!({ "reason": reason }))
                .timeout(REQUEST_TIMEOUT)
        })
        .await?;
        Ok(())
    }

    /// A request with a JSON body whose answer is JSON.
    async fn exchange_json<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, LocalError> {
        self.send(method, path, |request| {
            request.json(body).timeout(REQUEST_TIMEOUT)
        })
        .await?
        .json()
        .await
        .map_err(unreachable)
    }

    /// `POST /api/v1/conflicts/check`: the new matter's client and parties against every matter
    /// of the firm. The server records the check (and audits it) whatever the lawyer decides.
    pub async fn check_conflicts(
        &self,
        query: &ConflictQuery,
    ) -> Result<ConflictCheck, LocalError> {
        self.exchange_json(reqwest::Method::POST, "conflicts/check", query)
            .await
    }

    /// `GET /api/v1/me`: whether the lawyer is a firm admin or the conflicts/risk role.
    pub async fn firm_roles(&self) -> Result<FirmRoles, LocalError> {
        self.get_json("me").await
    }

    /// `GET /api/v1/directory?q=`: people of the firm by name, email or id.
    pub async fn directory(&self, query: &str) -> Result<Vec<Person>, LocalError> {
        self.get_json(&format!("directory?q={}", path_segment(query)))
            .await
    }

    /// `PUT /api/v1/cases/{case}/members/{user}`: share the matter, or change a role (owners
    /// and firm admins).
    pub async fn set_member(
        &self,
        case_id: &CaseId,
        user_id: &str,
        role: MatterRole,
    ) -> Result<(), LocalError> {
        let path = format!("cases/{case_id}/members/{}", path_segment(user_id));
        let body = serde_json::json!({ "role": role.as_str() });
        self.send_json(reqwest::Method::PUT, &path, &body).await
    }

    /// `DELETE /api/v1/cases/{case}/members/{user}`: take someone off the matter.
    pub async fn remove_member(&self, case_id: &CaseId, user_id: &str) -> Result<(), LocalError> {
        let path = format!("cases/{case_id}/members/{}", path_segment(user_id));
        self.send(reqwest::Method::DELETE, &path, |request| {
            request.timeout(REQUEST_TIMEOUT)
        })
        .await?;
        Ok(())
    }

    /// `GET /api/v1/audit`: the firm's audit log (admins), or a matter's (its owners).
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, LocalError> {
        self.get_json(&format!("audit{}", filter.query())).await
    }

    /// `GET /api/v1/audit.csv`: the same entries as a CSV file's bytes.
    pub async fn audit_csv(&self, filter: &AuditFilter) -> Result<Vec<u8>, LocalError> {
        let path = format!("audit.csv{}", filter.query());
        let response = self
            .send(reqwest::Method::GET, &path, |request| {
                request.timeout(Duration::from_secs(120))
            })
            .await?;
        Ok(response.bytes().await.map_err(unreachable)?.to_vec())
    }

    /// `GET /api/v1/screens`: every ethical wall in the firm (admins, the risk role).
    pub async fn firm_screens(&self) -> Result<Vec<FirmScreen>, LocalError> {
        self.get_json("screens").await
    }

    /// `GET /api/v1/matters`: every matter of the firm (admins, the conflicts/risk role).
    pub async fn matter_choices(&self) -> Result<Vec<MatterRef>, LocalError> {
        self.get_json("matters").await
    }

    /// `PUT /api/v1/cases/{case}/screens/{user}`: wall someone off a matter, with the reason.
    pub async fn add_screen(
        &self,
        case_id: &CaseId,
        user_id: &str,
        reason: &str,
    ) -> Result<(), LocalError> {
        let path = format!("cases/{case_id}/screens/{}", path_segment(user_id));
        let body = serde_json::json!({ "reason": reason });
        self.send_json(reqwest::Method::PUT, &path, &body).await
    }

    /// `DELETE /api/v1/cases/{case}/screens/{user}`: lift a wall (membership is not restored).
    pub async fn lift_screen(&self, case_id: &CaseId, user_id: &str) -> Result<(), LocalError> {
        let path = format!("cases/{case_id}/screens/{}", path_segment(user_id));
        self.send(reqwest::Method::DELETE, &path, |request| {
            request.timeout(REQUEST_TIMEOUT)
        })
        .await?;
        Ok(())
    }

    /// `GET /api/v1/copilot/policy`.
    pub async fn copilot_policy(&self) -> Result<CopilotPolicy, LocalError> {
        self.get_json("copilot/policy").await
    }

    /// `PUT /api/v1/copilot/policy` `{"enabled"}` (firm admins): the firm's switch.
    pub async fn set_copilot_enabled(&self, enabled: bool) -> Result<CopilotPolicy, LocalError> {
        let body = serde_json::json!({ "enabled": enabled });
        self.exchange_json(reqwest::Method::PUT, "copilot/policy", &body)
            .await
    }

    /// `GET /api/v1/copilot/usage?since=` (firm admins): by person, matter and month.
    pub async fn copilot_usage(&self, since: Option<&str>) -> Result<UsageReport, LocalError> {
        self.get_json(&format!("copilot/usage?limit=1{}", since_query(since)))
            .await
    }

    /// `GET /api/v1/copilot/usage.csv?since=` (firm admins): the CSV text.
    pub async fn copilot_usage_csv(&self, since: Option<&str>) -> Result<String, LocalError> {
        let path = format!("copilot/usage.csv?{}", since_query(since));
        self.send(reqwest::Method::GET, &path, |request| {
            request.timeout(REQUEST_TIMEOUT)
        })
        .await?
        .text()
        .await
        .map_err(unreachable)
    }

    /// Stream an answer, calling `on_event` for each event as it arrives. Returns after the
    /// server's last event. Drop the future to stop: the connection closes and the server
    /// cancels the model call.
    pub async fn chat(
        &self,
        request: &CopilotRequest,
        mut on_event: impl FnMut(CopilotEvent),
    ) -> Result<(), LocalError> {
        let mut response = self
            .send(reqwest::Method::POST, "copilot/chat", |builder| {
                builder.json(request)
            })
            .await?;
        let mut buffer = String::new();
        let mut pending_bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            pending_bytes.extend_from_slice(&chunk);
            // Only decode complete UTF-8; keep a split character for the next chunk.
            let valid = match std::str::from_utf8(&pending_bytes) {
                Ok(text) => text.len(),
                Err(error) => error.valid_up_to(),
            };
            buffer.push_str(&String::from_utf8_lossy(&pending_bytes[..valid]));
            pending_bytes.drain(..valid);
            for event in drain_events(&mut buffer) {
                on_event(event);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_http_address_from_the_sync_address() {
        assert_eq!(
            http_base("wss://hub.firm.example/api/v1/sync").unwrap(),
            "https://hub.firm.example"
        );
        assert_eq!(
            http_base("ws://127.0.0.1:8080/api/v1/sync").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(http_base("https://x").is_err());
        assert!(http_base("ws:///api").is_err());
    }

    #[test]
    fn user_ids_are_one_path_segment() {
        assert_eq!(path_segment("user_2abc"), "user_2abc");
        assert_eq!(path_segment("auth0|ada/x@y"), "auth0%7Cada%2Fx%40y");
    }

    #[test]
    fn parses_server_sent_events_across_chunks() {
        let mut buffer =
            String::from("event: start\ndata: {\"model\":\"m\"}\n\nevent: delta\ndata: {\"te");
        let first = drain_events(&mut buffer);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].event, "start");
        buffer.push_str("xt\":\"Hi\"}\n\n: keep-alive\n\nevent: done\ndata: {}\n\n");
        let rest = drain_events(&mut buffer);
        assert_eq!(
            rest.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
            ["delta", "done"]
        );
        assert_eq!(rest[0].data["text"], "Hi");
        assert!(buffer.is_empty());
    }
}
