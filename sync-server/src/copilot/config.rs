//! Settings of the AI copilot proxy: which OpenAI-compatible endpoint, with which key and model,
//! and the limits the server enforces. The key is redacted from `Debug` and never logged.

use std::time::Duration;

use clap::Args;

/// OpenAI's API, the default endpoint.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

#[derive(Clone, Args)]
pub struct CopilotSettings {
    /// API key for the model endpoint (sent as `Authorization: Bearer`). Never leaves the server.
    #[arg(long = "copilot-api-key", env = "HUB_COPILOT_API_KEY")]
    pub api_key: Option<String>,
    /// Base URL of an OpenAI-compatible Chat Completions API (default OpenAI's). Azure OpenAI,
    /// vLLM, llama.cpp `server`, LiteLLM, … work by URL, e.g. `http://10.0.0.5:8000/v1`.
    #[arg(long = "copilot-base-url", env = "HUB_COPILOT_BASE_URL")]
    pub base_url: Option<String>,
    /// Model name sent to the endpoint.
    #[arg(
        long = "copilot-model",
        env = "HUB_COPILOT_MODEL",
        default_value = "gpt-4o"
    )]
    pub model: String,
    /// Seconds to wait for the endpoint to start answering (its own retries included).
    #[arg(
        long = "copilot-start-timeout-secs",
        env = "HUB_COPILOT_START_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub start_timeout_secs: u64,
    /// Seconds without a streamed chunk before the answer is given up as stalled.
    #[arg(
        long = "copilot-idle-timeout-secs",
        env = "HUB_COPILOT_IDLE_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub idle_timeout_secs: u64,
    /// Longest a whole answer may take, in seconds.
    #[arg(
        long = "copilot-total-timeout-secs",
        env = "HUB_COPILOT_TOTAL_TIMEOUT_SECS",
        default_value_t = 180
    )]
    pub total_timeout_secs: u64,
    /// Most characters of draft text (or selection) one request may send.
    #[arg(
        long = "copilot-max-input-chars",
        env = "HUB_COPILOT_MAX_INPUT_CHARS",
        default_value_t = 100_000
    )]
    pub max_input_chars: usize,
    /// Most tokens the model may write in one answer.
    #[arg(
        long = "copilot-max-output-tokens",
        env = "HUB_COPILOT_MAX_OUTPUT_TOKENS",
        default_value_t = 4096
    )]
    pub max_output_tokens: u32,
    /// Requests each user may start per minute (per server instance).
    #[arg(
        long = "copilot-rate-per-minute",
        env = "HUB_COPILOT_RATE_PER_MINUTE",
        default_value_t = 20
    )]
    pub rate_per_minute: u32,
    /// Answers each user may have streaming at once (per server instance).
    #[arg(
        long = "copilot-max-concurrent",
        env = "HUB_COPILOT_MAX_CONCURRENT",
        default_value_t = 3
    )]
    pub max_concurrent: u32,
    /// Tokens (prompt + answer) each user may use per calendar month (UTC), unless the firm's
    /// policy sets its own number.
    #[arg(
        long = "copilot-monthly-tokens",
        env = "HUB_COPILOT_MONTHLY_TOKENS",
        default_value_t = 2_000_000
    )]
    pub monthly_tokens: i64,
}

impl Default for CopilotSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            model: "gpt-4o".into(),
            start_timeout_secs: 30,
            idle_timeout_secs: 30,
            total_timeout_secs: 180,
            max_input_chars: 100_000,
            max_output_tokens: 4096,
            rate_per_minute: 20,
            max_concurrent: 3,
            monthly_tokens: 2_000_000,
        }
    }
}

impl std::fmt::Debug for CopilotSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopilotSettings")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::config::redact_url),
            )
            .field("model", &self.model)
            .field("start_timeout_secs", &self.start_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("total_timeout_secs", &self.total_timeout_secs)
            .field("max_input_chars", &self.max_input_chars)
            .field("max_output_tokens", &self.max_output_tokens)
            .field("rate_per_minute", &self.rate_per_minute)
            .field("max_concurrent", &self.max_concurrent)
            .field("monthly_tokens", &self.monthly_tokens)
            .finish()
    }
}

impl CopilotSettings {
    /// The copilot is offered when the server knows an endpoint to call: a key for OpenAI, or
    /// an explicit base URL (self-hosted endpoints often need no key).
    pub fn configured(&self) -> bool {
        self.api_key.as_deref().is_some_and(|key| !key.is_empty()) || self.base_url.is_some()
    }

    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(OPENAI_BASE_URL)
            .trim_end_matches('/')
    }

    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs(self.start_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub fn total_timeout(&self) -> Duration {
        Duration::from_secs(self.total_timeout_secs)
    }

    pub fn validate(&self) -> Result<(), CopilotConfigError> {
        if let Some(url) = &self.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(CopilotConfigError::BaseUrl {
                got: crate::config::redact_url(url),
            });
        }
        if self.model.trim().is_empty() {
            return Err(CopilotConfigError::NoModel);
        }
        let timeouts = [
            ("HUB_COPILOT_START_TIMEOUT_SECS", self.start_timeout_secs),
            ("HUB_COPILOT_IDLE_TIMEOUT_SECS", self.idle_timeout_secs),
            ("HUB_COPILOT_TOTAL_TIMEOUT_SECS", self.total_timeout_secs),
        ];
        for (setting, value) in timeouts {
            if value == 0 {
                return Err(CopilotConfigError::ZeroTimeout { setting });
            }
        }
        if self.max_input_chars == 0 || self.max_output_tokens == 0 {
            return Err(CopilotConfigError::ZeroSizes);
        }
        if self.rate_per_minute == 0 || self.max_concurrent == 0 {
            return Err(CopilotConfigError::ZeroRates);
        }
        if self.monthly_tokens < 0 {
            return Err(CopilotConfigError::NegativeMonthlyTokens);
        }
        Ok(())
    }
}

/// A copilot setting that cannot work; the message names the variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopilotConfigError {
    #[error(
        "HUB_COPILOT_BASE_URL must be an http:// or https:// URL ending in the API \
         version, e.g. {OPENAI_BASE_URL} (got {got})"
    )]
    BaseUrl { got: String },
    #[error("HUB_COPILOT_MODEL must name a model, e.g. gpt-4o")]
    NoModel,
    #[error("{setting} must be at least 1 second")]
    ZeroTimeout { setting: &'static str },
    #[error("HUB_COPILOT_MAX_INPUT_CHARS and HUB_COPILOT_MAX_OUTPUT_TOKENS must be above 0")]
    ZeroSizes,
    #[error(
        "HUB_COPILOT_RATE_PER_MINUTE and HUB_COPILOT_MAX_CONCURRENT must be above 0 \
         (turn the copilot off per firm with PUT /api/v1/copilot/policy instead)"
    )]
    ZeroRates,
    #[error("HUB_COPILOT_MONTHLY_TOKENS cannot be negative")]
    NegativeMonthlyTokens,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let settings = CopilotSettings {
            api_key: Some("sk-test-very-secret-key".into()),
            base_url: Some("https://user:pass@llm.internal/v1".into()),
            ..CopilotSettings::default()
        };
        let text = format!("{settings:?}");
        assert!(!text.contains("sk-test"), "{text}");
        assert!(!text.contains("pass@"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn configuration_mistakes_are_named() {
        assert!(CopilotSettings::default().validate().is_ok());
        assert!(!CopilotSettings::default().configured());
        let bad = CopilotSettings {
            base_url: Some("api.openai.com".into()),
            ..CopilotSettings::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("HUB_COPILOT_BASE_URL")
        );
        let bad = CopilotSettings {
            idle_timeout_secs: 0,
            ..CopilotSettings::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("HUB_COPILOT_IDLE_TIMEOUT_SECS")
        );
        let local = CopilotSettings {
            base_url: Some("http://127.0.0.1:8000/v1/".into()),
            ..CopilotSettings::default()
        };
        assert!(local.configured());
        assert_eq!(local.base_url(), "http://127.0.0.1:8000/v1");
    }
}
