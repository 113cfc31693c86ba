//! Typed settings: flags, then `HUB_*` / standard environment variables. Validated at start-up.

use std::net::SocketAddr;

use clap::Args;

use crate::claims::{AdminRule, ClaimPath, ClaimsError};
use crate::copilot::config::CopilotConfigError;

/// Settings that are unsafe or cannot work, found at start-up: each message names the variable
/// and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "HUB_ENV=production refuses development tokens: remove --dev-auth / HUB_DEV_AUTH \
         and configure Clerk/OIDC verification"
    )]
    DevTokensInProduction,
    #[error(
        "no token verifier is configured: set HUB_OIDC_ISSUER for Clerk/OIDC sign-in \
         (keys are found through its discovery document, or set CLERK_JWT_KEY or \
         HUB_JWKS_URL), or start with --dev-auth for local development"
    )]
    NoVerifier,
    #[error("HUB_OIDC_ISSUER must be an https:// URL (got {0})")]
    IssuerNotHttps(String),
    #[error("HUB_AUTHORIZED_PARTIES must list the accepted azp values in production")]
    NoAuthorizedParties,
    #[error("HUB_DEV_SECRET must be at least 16 characters")]
    DevSecretTooShort,
    #[error("HUB_DB_POOL must be at least 2 (one connection is reserved for writes)")]
    PoolTooSmall,
    /// `HUB_FIRM_CLAIM`, `HUB_ADMIN_CLAIM`, `HUB_ADMIN_VALUE`.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// `HUB_COPILOT_*`.
    #[error(transparent)]
    Copilot(#[from] CopilotConfigError),
}

/// Where the server runs. Production refuses anything meant only for development.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on.
    #[arg(long, env = "HUB_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Redis URL for fan-out between instances (optional; without it one instance works alone).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    #[arg(
        long = "env",
        env = "HUB_ENV",
        value_enum,
        default_value = "development"
    )]
    pub environment: Environment,
    /// Accept HS256 development tokens minted by `sync-server dev-token`. Refused in production.
    #[arg(long, env = "HUB_DEV_AUTH", default_value_t = false)]
    pub dev_auth: bool,
    #[command(flatten)]
    pub dev_secret: DevSecret,
    #[command(flatten)]
    pub identity: IdentitySettings,
    /// Unload a document this many seconds after its last subscriber left.
    #[arg(long, env = "HUB_DOC_IDLE_SECS", default_value_t = 60)]
    pub doc_idle_secs: u64,
    /// Compact a document's update log once it holds this many rows (or eight times as many
    /// updates: a row may hold several).
    #[arg(long, env = "HUB_COMPACT_AFTER", default_value_t = 1000)]
    pub compact_after: i64,
    /// Concurrent write transactions (documents are sharded across them). Default: one per
    /// core the server may run on, at most 4. More transactions than cores only split the same
    /// work into smaller batches: on one core (compaction off), 4 writers committed 20,234
    /// updates/s and 1 writer 33,308/s (docs/BENCHMARKS.md, "Durable writes at a fixed rate").
    #[arg(long, env = "HUB_WRITERS")]
    pub writers: Option<usize>,
    /// Emit logs as JSON lines.
    #[arg(long, env = "HUB_LOG_JSON", default_value_t = false)]
    pub log_json: bool,
    #[command(flatten)]
    pub copilot: crate::copilot::config::CopilotSettings,
    #[command(flatten)]
    pub ops: OpsSettings,
    #[command(flatten)]
    pub limits: crate::limits::LimitSettings,
}

/// Operations: draining on SIGTERM, and what `preflight` checks beyond the serve settings.
#[derive(Clone, Debug, Args)]
pub struct OpsSettings {
    /// Seconds between failing `/readyz` and closing sockets on SIGTERM, so a load balancer
    /// stops routing here first (Kubernetes: a few seconds; behind nginx alone: 0).
    #[arg(long, env = "HUB_DRAIN_DELAY_SECS", default_value_t = 0)]
    pub drain_delay_secs: u64,
    /// Most seconds from SIGTERM to exit: in-flight writes finish within it.
    #[arg(long, env = "HUB_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
    /// The URL clients use (`https://…`); preflight requires TLS for it in production.
    #[arg(long, env = "HUB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where `scripts/backup` writes its archives and markers (preflight checks the newest).
    #[arg(long, env = "HUB_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// Preflight fails when the newest backup is older than this.
    #[arg(long, env = "HUB_BACKUP_MAX_AGE_HOURS", default_value_t = 26)]
    pub backup_max_age_hours: u64,
    /// The desktop installers and `.sig` files this server offers as updates (`sync-server
    /// releases add`); every instance should see the same directory. Unset: no updates offered.
    #[arg(long, env = "HUB_RELEASES_DIR")]
    pub releases_dir: Option<std::path::PathBuf>,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            drain_delay_secs: 0,
            shutdown_timeout_secs: 10,
            public_url: None,
            backup_dir: None,
            backup_max_age_hours: 26,
            releases_dir: None,
        }
    }
}

/// How to verify sign-in tokens from Clerk or another OIDC provider.
#[derive(Clone, Args, Default)]
pub struct IdentitySettings {
    /// The token issuer to pin (`iss`), e.g. `https://clerk.your-firm.com` or your IdP's issuer URL.
    #[arg(long = "oidc-issuer", env = "HUB_OIDC_ISSUER")]
    pub issuer: Option<String>,
    /// The JWKS URL (default: the `jwks_uri` of `{issuer}/.well-known/openid-configuration`).
    #[arg(long = "jwks-url", env = "HUB_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// A PEM public key to verify with instead of fetching the JWKS (Clerk's "JWT public key").
    #[arg(long = "jwt-key", env = "CLERK_JWT_KEY")]
    pub jwt_key: Option<String>,
    /// Accepted `azp` (authorized party) values, comma separated: your app's origins/client ids.
    #[arg(
        long = "authorized-parties",
        env = "HUB_AUTHORIZED_PARTIES",
        value_delimiter = ','
    )]
    pub authorized_parties: Vec<String>,
    /// For IdPs other than Clerk: the claim holding the firm id (dotted path, e.g. `tenant.id`).
    #[arg(long = "firm-claim", env = "HUB_FIRM_CLAIM")]
    pub firm_claim: Option<String>,
    /// The claim that marks firm admins (dotted path; a string or an array), e.g. `roles`
    /// (Entra app roles) or `groups` (Okta). Default: Clerk's organization role.
    #[arg(long = "admin-claim", env = "HUB_ADMIN_CLAIM")]
    pub admin_claim: Option<String>,
    /// The value(s) of `HUB_ADMIN_CLAIM` that make a firm admin, comma separated.
    #[arg(long = "admin-value", env = "HUB_ADMIN_VALUE", value_delimiter = ',')]
    pub admin_values: Vec<String>,
    /// The value(s) of the admin role's claim (`HUB_ADMIN_CLAIM`, or Clerk's organization role)
    /// that make the firm's conflicts role, comma separated. Default: `conflicts`.
    #[arg(
        long = "conflicts-value",
        env = "HUB_CONFLICTS_VALUE",
        value_delimiter = ','
    )]
    pub conflicts_values: Vec<String>,
    /// Accepted audiences (`aud`), comma separated: a token must name one of them.
    #[arg(long = "audience", env = "HUB_AUDIENCE", value_delimiter = ',')]
    pub audiences: Vec<String>,
}

impl std::fmt::Debug for IdentitySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySettings")
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .field("jwt_key", &self.jwt_key.as_ref().map(|_| "<pem>"))
            .field("authorized_parties", &self.authorized_parties)
            .field("firm_claim", &self.firm_claim)
            .field("admin_claim", &self.admin_claim)
            .field("admin_values", &self.admin_values)
            .field("conflicts_values", &self.conflicts_values)
            .field("audiences", &self.audiences)
            .finish()
    }
}

/// Where verification keys come from, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLocation<'a> {
    /// `CLERK_JWT_KEY`: one PEM public key, no network.
    Pem(&'a str),
    /// `HUB_JWKS_URL`.
    JwksUrl(&'a str),
    /// Neither: the issuer's OpenID Connect discovery document names the JWKS (`jwks_uri`).
    Discovery,
}

impl IdentitySettings {
    pub fn configured(&self) -> bool {
        self.issuer.is_some()
    }

    pub fn key_location(&self) -> KeyLocation<'_> {
        match (&self.jwt_key, &self.jwks_url) {
            (Some(pem), _) => KeyLocation::Pem(pem),
            (None, Some(url)) => KeyLocation::JwksUrl(url),
            (None, None) => KeyLocation::Discovery,
        }
    }

    /// `HUB_FIRM_CLAIM`, parsed.
    pub fn firm_claim_path(&self) -> Result<Option<ClaimPath>, ClaimsError> {
        self.firm_claim
            .as_deref()
            .map(|claim| ClaimPath::parse("HUB_FIRM_CLAIM", claim))
            .transpose()
    }

    /// `HUB_ADMIN_CLAIM` and `HUB_ADMIN_VALUE`, parsed.
    pub fn admin_rule(&self) -> Result<AdminRule, ClaimsError> {
        AdminRule::from_settings(self.admin_claim.as_deref(), &self.admin_values)
    }

    /// `HUB_AUDIENCE` without empty entries.
    pub fn accepted_audiences(&self) -> Vec<String> {
        self.audiences
            .iter()
            .map(|audience| audience.trim().to_owned())
            .filter(|audience| !audience.is_empty())
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer
            && !(issuer.starts_with("https://") || is_loopback_http(issuer))
        {
            return Err(ConfigError::IssuerNotHttps(issuer.clone()));
        }
        self.firm_claim_path()?;
        self.admin_rule()?;
        Ok(())
    }
}

/// `http://` on this computer only (a test or development identity provider).
pub fn is_loopback_http(url: &str) -> bool {
    url.strip_prefix("http://").is_some_and(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some(port) = authority.strip_prefix("[::1]") {
            return port.is_empty() || port.starts_with(':');
        }
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _port)| host);
        host == "127.0.0.1" || host == "localhost"
    })
}

#[derive(Clone, Args)]
pub struct DatabaseSettings {
    /// Postgres connection URL.
    #[arg(long = "database-url", env = "DATABASE_URL")]
    pub url: String,
    /// Most Postgres connections this instance opens.
    #[arg(long, env = "HUB_DB_POOL", default_value_t = 16)]
    pub pool_size: u32,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[derive(Clone, Args)]
pub struct DevSecret {
    /// Shared secret for development tokens.
    #[arg(
        long = "dev-secret",
        env = "HUB_DEV_SECRET",
        default_value = "lawyers-hub-local-development-only"
    )]
    pub value: String,
}

impl std::fmt::Debug for DevSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevSecret(<redacted>)")
    }
}

impl std::fmt::Debug for ServeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeSettings")
            .field("bind", &self.bind)
            .field("database", &self.database)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("environment", &self.environment)
            .field("dev_auth", &self.dev_auth)
            .field("identity", &self.identity)
            .field("doc_idle_secs", &self.doc_idle_secs)
            .field("compact_after", &self.compact_after)
            .field("writers", &self.writers)
            .field("copilot", &self.copilot)
            .field("ops", &self.ops)
            .field("limits", &self.limits)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl ServeSettings {
    /// The write transactions to run: `HUB_WRITERS`, or one per core this process may run on
    /// (its CPU affinity, so a server pinned to one core gets one), at most 4.
    pub fn writers(&self) -> usize {
        self.writers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|cores| cores.get())
                .unwrap_or(1)
                .min(4)
        })
    }

    /// Refuse configurations that are unsafe or cannot work, saying how to fix them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.dev_auth && self.environment == Environment::Production {
            return Err(ConfigError::DevTokensInProduction);
        }
        if !self.dev_auth && !self.identity.configured() {
            return Err(ConfigError::NoVerifier);
        }
        self.identity.validate()?;
        if self.identity.configured()
            && self.environment == Environment::Production
            && self.identity.authorized_parties.is_empty()
        {
            return Err(ConfigError::NoAuthorizedParties);
        }
        if self.dev_auth && self.dev_secret.value.len() < 16 {
            return Err(ConfigError::DevSecretTooShort);
        }
        self.copilot.validate()?;
        if self.database.pool_size < 2 {
            return Err(ConfigError::PoolTooSmall);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(environment: Environment, dev_auth: bool) -> ServeSettings {
        ServeSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            database: DatabaseSettings {
                url: "postgres://hub:secret@db/hub".into(),
                pool_size: 16,
            },
            redis_url: None,
            environment,
            dev_auth,
            dev_secret: DevSecret {
                value: "a-secret-of-enough-length".into(),
            },
            identity: IdentitySettings::default(),
            doc_idle_secs: 60,
            compact_after: 1000,
            writers: None,
            log_json: false,
            copilot: Default::default(),
            ops: OpsSettings::default(),
            limits: Default::default(),
        }
    }

    #[test]
    fn production_refuses_development_tokens_and_nothing_runs_unauthenticated() {
        assert!(settings(Environment::Development, true).validate().is_ok());
        let refused = settings(Environment::Production, true)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(refused.contains("refuses development tokens"), "{refused}");
        let refused = settings(Environment::Development, false)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(refused.contains("no token verifier"), "{refused}");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let text = format!("{:?}", settings(Environment::Development, true));
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("postgres://hub:***@db/hub"));
    }

    #[test]
    fn only_loopback_may_be_plain_http() {
        for url in [
            "http://127.0.0.1:4000",
            "http://localhost/oidc",
            "http://[::1]:9000/x",
        ] {
            assert!(is_loopback_http(url), "{url}");
        }
        for url in [
            "http://127.0.0.1.evil.test",
            "http://user@127.0.0.1",
            "http://idp.test",
            "https://127.0.0.1",
            "http://[::1].evil.test",
        ] {
            assert!(!is_loopback_http(url), "{url}");
        }
    }

    #[test]
    fn identity_claims_are_checked_at_start_up() {
        let mut config = settings(Environment::Development, true);
        config.identity.admin_claim = Some("roles".into());
        let refused = config.validate().unwrap_err().to_string();
        assert!(refused.contains("HUB_ADMIN_VALUE"), "{refused}");
        config.identity.admin_values = vec!["Hub.Admin".into()];
        assert!(config.validate().is_ok());
        config.identity.firm_claim = Some("tenant..id".into());
        let refused = config.validate().unwrap_err().to_string();
        assert!(refused.contains("HUB_FIRM_CLAIM"), "{refused}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://hub:s3cret@db:5432/hub"),
            "postgres://hub:***@db:5432/hub"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
