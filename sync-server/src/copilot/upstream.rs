//! The model endpoint: one async-openai client per server (its connection pool is shared), a
//! streamed Chat Completions call per answer, and failures mapped to stable codes with
//! messages a lawyer understands. The key lives only inside the client; causes are logged with
//! the key blotted out.
//!
//! Retries: async-openai retries a refused start itself (429 other than `insufficient_quota`,
//! 5xx and connection failures, 3 times with back-off, honouring `Retry-After`), within our
//! start timeout. On top of that an answer whose stream breaks or stalls **before its first
//! token** is asked again once; after a token has been passed on it never is (the lawyer would
//! see text twice).

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions, CompletionUsage, CreateChatCompletionRequestArgs, FinishReason,
};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::copilot::config::CopilotSettings;
use crate::copilot::prompts::Prompt;

/// Why an answer failed: a stable code for the client, a message for the lawyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The endpoint's rate limit (429) persisted through the retries.
    RateLimited,
    /// The firm's account at the endpoint has no credit (429 `insufficient_quota`).
    AccountQuota,
    /// 5xx or no connection.
    Unavailable,
    /// No answer within the start timeout, a stall longer than the idle timeout, or over the
    /// total time allowed.
    Timeout,
    /// The stream broke off before the model finished.
    Interrupted,
    /// The endpoint refused the server's key (401/403).
    Auth,
    /// The endpoint refused the request itself (400/404/413/422: e.g. too long for the model).
    Rejected,
    /// The endpoint answered something that is not the Chat Completions format.
    BadResponse,
    Internal,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::RateLimited => "upstream_rate_limited",
            Failure::AccountQuota => "upstream_quota",
            Failure::Unavailable => "upstream_unavailable",
            Failure::Timeout => "upstream_timeout",
            Failure::Interrupted => "upstream_interrupted",
            Failure::Auth => "upstream_auth",
            Failure::Rejected => "upstream_rejected",
            Failure::BadResponse => "upstream_bad_response",
            Failure::Internal => "internal",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Failure::RateLimited => {
                "The AI service is busy right now (it is limiting requests). Wait a minute and try again."
            }
            Failure::AccountQuota => {
                "The firm's account with the AI service has run out of credit. Please tell your firm administrator."
            }
            Failure::Unavailable => {
                "The AI service is not answering properly at the moment. Try again in a few minutes."
            }
            Failure::Timeout => {
                "The AI service took too long to answer. Try again; if it keeps happening, try a shorter text."
            }
            Failure::Interrupted => {
                "The answer was cut off because the connection to the AI service broke. Try again for a complete answer."
            }
            Failure::Auth => {
                "The firm's server could not sign in to the AI service (its key was refused). Please tell your firm administrator."
            }
            Failure::Rejected => {
                "The AI service refused this request, perhaps because the text is too long for the model. Try a shorter selection."
            }
            Failure::BadResponse => {
                "The AI service sent an answer the server could not read. Try again; if it keeps happening, tell your firm administrator."
            }
            Failure::Internal => "Something went wrong on the firm's server. Try again.",
        }
    }

    /// Whether trying again later may help.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Failure::RateLimited | Failure::Unavailable | Failure::Timeout | Failure::Interrupted
        )
    }

    /// Failures during the stream, which may be asked again if nothing was passed on yet.
    fn mid_stream(self) -> bool {
        matches!(self, Failure::Interrupted | Failure::Timeout)
    }
}

/// Why streaming stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Failed(Failure),
    /// The client stopped reading (went away or pressed Stop).
    Cancelled,
}

/// Where the answer's text goes as it arrives.
pub trait Deltas: Sync {
    /// Pass a piece of the answer on; `false` when the client has gone.
    fn send_text(&self, text: String) -> impl std::future::Future<Output = bool> + Send;
}

/// What has arrived so far (read after the call ends, however it ends).
#[derive(Debug, Default)]
pub struct Progress {
    pub answer: String,
    pub first_token: Option<Duration>,
    pub usage: Option<CompletionUsage>,
    pub finish_reason: Option<FinishReason>,
    pub attempts: u32,
}

pub struct Upstream {
    client: Client<OpenAIConfig>,
    model: String,
    /// Kept only to blot it out of logged causes.
    key: Option<String>,
    start_timeout: Duration,
    idle_timeout: Duration,
    total_timeout: Duration,
    max_output_tokens: u32,
}

impl Upstream {
    pub fn new(settings: &CopilotSettings) -> Self {
        // async-openai's reqwest uses rustls without a built-in provider: give it ring, the one
        // the rest of the server already links. (Already installed is fine.)
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url())
            .with_api_key(settings.api_key.clone().unwrap_or_default())
            .with_org_id("")
            .with_project_id("");
        Self {
            client: Client::with_config(config),
            model: settings.model.clone(),
            key: settings.api_key.clone().filter(|key| !key.is_empty()),
            start_timeout: settings.start_timeout(),
            idle_timeout: settings.idle_timeout(),
            total_timeout: settings.total_timeout(),
            max_output_tokens: settings.max_output_tokens,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Stream the model's answer to `prompt`, sending each piece of text to `deltas` as it
    /// arrives. Dropping the returned future drops the upstream request (its connection is
    /// closed).
    pub async fn answer(
        &self,
        prompt: &Prompt,
        progress: &mut Progress,
        deltas: &impl Deltas,
    ) -> Result<(), Stop> {
        let started = Instant::now();
        let deadline = started + self.total_timeout;
        loop {
            progress.attempts += 1;
            match self
                .attempt(prompt, progress, deltas, started, deadline)
                .await
            {
                Err(Stop::Failed(failure))
                    if failure.mid_stream()
                        && progress.answer.is_empty()
                        && progress.attempts < 2
                        && Instant::now() < deadline =>
                {
                    tracing::warn!(
                        code = failure.code(),
                        "copilot: the model's stream failed before its first token; asking again"
                    );
                    progress.finish_reason = None;
                    progress.usage = None;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        prompt: &Prompt,
        progress: &mut Progress,
        deltas: &impl Deltas,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Stop> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(&self.model)
            .messages([
                ChatCompletionRequestSystemMessage::from(prompt.system.as_str()).into(),
                ChatCompletionRequestUserMessage::from(prompt.user.as_str()).into(),
            ])
            .stream(true)
            .stream_options(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            })
            .max_completion_tokens(self.max_output_tokens)
            .build()
            .map_err(|error| self.fail(Failure::Internal, &error))?;
        let start_by = deadline.min(Instant::now() + self.start_timeout);
        let mut stream = match tokio::time::timeout_at(
            start_by,
            self.client.chat().create_stream(request),
        )
        .await
        {
            Err(_) => return Err(Stop::Failed(Failure::Timeout)),
            Ok(Err(error)) => return Err(self.classify(&error)),
            Ok(Ok(stream)) => stream,
        };
        loop {
            let wait_until = deadline.min(Instant::now() + self.idle_timeout);
            let chunk = match tokio::time::timeout_at(wait_until, stream.next()).await {
                Err(_) => {
                    tracing::warn!(
                        over_total = Instant::now() >= deadline,
                        "copilot: the model's stream stalled"
                    );
                    return Err(Stop::Failed(Failure::Timeout));
                }
                Ok(None) => break,
                Ok(Some(Err(error))) => return Err(self.classify(&error)),
                Ok(Some(Ok(chunk))) => chunk,
            };
            if chunk.usage.is_some() {
                progress.usage = chunk.usage;
            }
            // One answer was asked for (n = 1): choice 0.
            for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
                if let Some(text) = choice.delta.content.filter(|text| !text.is_empty()) {
                    progress
                        .first_token
                        .get_or_insert_with(|| started.elapsed());
                    progress.answer.push_str(&text);
                    if !deltas.send_text(text).await {
                        return Err(Stop::Cancelled);
                    }
                }
                if choice.finish_reason.is_some() {
                    progress.finish_reason = choice.finish_reason;
                }
            }
        }
        // `[DONE]` or a clean end without the model saying why it stopped: a stream that was cut.
        if progress.finish_reason.is_none() {
            return Err(Stop::Failed(Failure::Interrupted));
        }
        Ok(())
    }

    fn classify(&self, error: &OpenAIError) -> Stop {
        let failure = match error {
            OpenAIError::ApiError(response) => {
                let status = response.status_code.as_u16();
                let api = &response.api_error;
                let insufficient =
                    |value: &Option<String>| value.as_deref() == Some("insufficient_quota");
                match status {
                    429 if insufficient(&api.r#type) || insufficient(&api.code) => {
                        Failure::AccountQuota
                    }
                    429 => Failure::RateLimited,
                    401 | 403 => Failure::Auth,
                    408 => Failure::Timeout,
                    500..=599 => Failure::Unavailable,
                    _ => Failure::Rejected,
                }
            }
            OpenAIError::Reqwest(cause) if cause.is_timeout() => Failure::Timeout,
            OpenAIError::Reqwest(cause) if cause.is_decode() || cause.is_body() => {
                Failure::Interrupted
            }
            OpenAIError::Reqwest(_) => Failure::Unavailable,
            OpenAIError::StreamError(_) => Failure::Interrupted,
            OpenAIError::JSONDeserialize(..) => Failure::BadResponse,
            _ => Failure::Internal,
        };
        self.fail(failure, error)
    }

    /// Log the cause (with the key blotted out) and keep only the code for the client.
    fn fail(&self, failure: Failure, cause: &dyn std::fmt::Display) -> Stop {
        let cause = redact(&cause.to_string(), self.key.as_deref());
        tracing::warn!(code = failure.code(), %cause, "copilot: the model call failed");
        Stop::Failed(failure)
    }
}

/// Remove the key, and anything shaped like an OpenAI key, from text that is about to be logged
/// (endpoints echo keys in some errors, e.g. "Incorrect API key provided: sk-…").
pub fn redact(text: &str, key: Option<&str>) -> String {
    let mut text = match key {
        Some(key) if !key.is_empty() => text.replace(key, "<redacted>"),
        _ => text.to_owned(),
    };
    while let Some(at) = text.find("sk-") {
        let end = text[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*'))
            .map_or(text.len(), |offset| at + offset);
        text.replace_range(at..end, "<redacted>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_blotted_out_of_logged_causes() {
        let key = "sk-proj-abc123_DEF";
        let cause = format!("invalid_request_error: Incorrect API key provided: {key}. (code 401)");
        let clean = redact(&cause, Some(key));
        assert!(!clean.contains("abc123"), "{clean}");
        let masked = "Incorrect API key provided: sk-proj-****************DEF.";
        assert_eq!(
            redact(masked, None),
            "Incorrect API key provided: <redacted>."
        );
        assert_eq!(
            redact("my-secret here", Some("my-secret")),
            "<redacted> here"
        );
    }
}
