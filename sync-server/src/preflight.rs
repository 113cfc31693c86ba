//! `sync-server preflight`: the deployment checklist, each item checked against the real
//! database, Redis, identity provider and backup directory. Also run at start-up in production,
//! where a failure marked unsafe refuses the start.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Environment, ServeSettings};

/// One checklist line.
#[derive(Debug)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was found (never a secret).
    pub detail: String,
    /// How to fix a failure.
    pub fix: String,
    /// Serving with this failure would be unsafe or cannot work: production refuses to start.
    pub blocks_start: bool,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            fix: String::new(),
            blocks_start: false,
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
            fix: fix.into(),
            blocks_start: true,
        }
    }

    /// A failure worth fixing that does not make serving unsafe (start-up warns only).
    fn advise(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            blocks_start: false,
            ..Self::fail(name, detail, fix)
        }
    }
}

pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    pub fn blocking(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|check| !check.ok && check.blocks_start)
    }

    /// The checklist: `✔ name — detail` or `✘ name — detail` followed by `  fix: …`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mark = if check.ok { '✔' } else { '✘' };
            out.push_str(&format!("{mark} {} — {}\n", check.name, check.detail));
            if !check.ok {
                out.push_str(&format!("    fix: {}\n", check.fix));
            }
        }
        let failed = self.checks.iter().filter(|check| !check.ok).count();
        if failed == 0 {
            out.push_str(&format!("all {} checks passed\n", self.checks.len()));
        } else {
            out.push_str(&format!(
                "{failed} of {} checks failed\n",
                self.checks.len()
            ));
        }
        out
    }
}

/// What `scripts/backup` (`sync-server backup`) writes next to each archive.
#[derive(Debug, Deserialize)]
pub struct BackupMarker {
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub archive: String,
    pub schema_version: i64,
}

const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(settings: &ServeSettings) -> Report {
    let mut checks = Vec::new();
    checks.push(if settings.environment == Environment::Production {
        Check::pass("production mode", "HUB_ENV=production")
    } else {
        Check::advise(
            "production mode",
            "HUB_ENV is development",
            "set HUB_ENV=production on a firm's server",
        )
    });
    checks.push(if settings.dev_auth {
        Check::fail(
            "development tokens off",
            "--dev-auth / HUB_DEV_AUTH is on: anyone with the dev secret can sign in",
            "remove --dev-auth and HUB_DEV_AUTH; configure HUB_OIDC_ISSUER",
        )
    } else {
        Check::pass("development tokens off", "dev auth is off")
    });
    checks.push(match settings.validate() {
        Ok(()) => Check::pass("settings valid", "every setting passed validation"),
        Err(error) => Check::fail(
            "settings valid",
            error.to_string(),
            "correct the setting named above",
        ),
    });
    checks.extend(database(settings).await);
    checks.push(identity(settings).await);
    checks.push(if settings.copilot.configured() {
        Check::pass(
            "copilot key",
            format!(
                "configured for {}",
                crate::config::redact_url(settings.copilot.base_url())
            ),
        )
    } else {
        Check::advise(
            "copilot key",
            "HUB_COPILOT_API_KEY is not set: the copilot answers 503",
            "set HUB_COPILOT_API_KEY (and HUB_COPILOT_BASE_URL for a non-OpenAI endpoint)",
        )
    });
    checks.push(redis(settings).await);
    checks.push(backup(settings));
    checks.push(tls(settings));
    Report { checks }
}

async fn database(settings: &ServeSettings) -> Vec<Check> {
    let connected = tokio::time::timeout(NETWORK_TIMEOUT, async {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(NETWORK_TIMEOUT)
            .connect(&settings.database.url)
            .await
    })
    .await;
    let pool = match connected {
        Ok(Ok(pool)) => pool,
        Ok(Err(error)) => {
            return vec![Check::fail(
                "database reachable",
                format!(
                    "cannot connect: {}",
                    crate::config::redact_url(&error.to_string())
                ),
                "check DATABASE_URL, that Postgres runs and accepts this host",
            )];
        }
        Err(_) => {
            return vec![Check::fail(
                "database reachable",
                "no answer within 5 s",
                "check DATABASE_URL's host and port and the network path to Postgres",
            )];
        }
    };
    let mut checks = vec![Check::pass(
        "database reachable",
        crate::config::redact_url(&settings.database.url),
    )];
    checks.push(match crate::migrate::ensure_current(&pool).await {
        Ok(()) => Check::pass(
            "migrations current",
            format!(
                "schema at {}",
                crate::migrate::known_versions().last().copied().unwrap_or(0)
            ),
        ),
        Err(error) => {
            let message = format!("{error:#}");
            let fix = if message.contains("behind") {
                "run `sync-server migrate up`"
            } else if message.contains("ahead") {
                "deploy the newer sync-server, or `sync-server migrate down --to <version>` with the newer binary"
            } else {
                "check that DATABASE_URL's user may read _sqlx_migrations"
            };
            Check::fail("migrations current", message, fix)
        }
    });
    pool.close().await;
    checks
}

async fn identity(settings: &ServeSettings) -> Check {
    const NAME: &str = "sign-in keys (Clerk/OIDC)";
    let Some(issuer) = &settings.identity.issuer else {
        return Check::fail(
            NAME,
            "HUB_OIDC_ISSUER is not set: no production sign-in",
            "set HUB_OIDC_ISSUER and CLERK_JWT_KEY (or HUB_JWKS_URL)",
        );
    };
    if settings.identity.authorized_parties.is_empty() {
        return Check::fail(
            NAME,
            "HUB_AUTHORIZED_PARTIES is empty",
            "list your apps' azp values in HUB_AUTHORIZED_PARTIES",
        );
    }
    // Discovery and the JWKS are two requests, each with its own 5 s timeout.
    match tokio::time::timeout(2 * NETWORK_TIMEOUT, crate::auth::build_verifier(settings)).await {
        Ok(Ok(verifier)) => {
            let source = match verifier.oidc().and_then(|oidc| oidc.jwks()) {
                Some(jwks) => format!("JWKS {} fetched", jwks.url()),
                None => "PEM key (CLERK_JWT_KEY) parsed".to_owned(),
            };
            Check::pass(NAME, format!("issuer {issuer}; {source}"))
        }
        Ok(Err(error)) => Check::fail(
            NAME,
            format!("{error:#}"),
            "fix CLERK_JWT_KEY (Clerk Dashboard → API keys → JWT public key), HUB_OIDC_ISSUER \
             (its /.well-known/openid-configuration must answer) or HUB_JWKS_URL",
        ),
        Err(_) => Check::fail(
            NAME,
            "the identity provider did not answer within 10 s",
            "check HUB_OIDC_ISSUER / HUB_JWKS_URL and outbound HTTPS, or use CLERK_JWT_KEY",
        ),
    }
}

async fn redis(settings: &ServeSettings) -> Check {
    const NAME: &str = "redis reachable";
    let Some(url) = &settings.redis_url else {
        return Check::pass(NAME, "not configured (one instance alone)");
    };
    let shown = crate::config::redact_url(url);
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(NETWORK_TIMEOUT, ping).await {
        Ok(Ok(_)) => Check::pass(NAME, shown),
        Ok(Err(error)) => Check::fail(
            NAME,
            format!("{shown}: {error}"),
            "start Redis or fix REDIS_URL (or unset it when running one instance)",
        ),
        Err(_) => Check::fail(
            NAME,
            format!("{shown}: no answer within 5 s"),
            "check REDIS_URL's host and port",
        ),
    }
}

fn backup(settings: &ServeSettings) -> Check {
    const NAME: &str = "recent backup";
    let max_age = chrono::Duration::hours(settings.ops.backup_max_age_hours as i64);
    let Some(dir) = &settings.ops.backup_dir else {
        return Check::advise(
            NAME,
            "HUB_BACKUP_DIR is not set",
            "set HUB_BACKUP_DIR to where scripts/backup writes, and schedule scripts/backup",
        );
    };
    match newest_backup(dir) {
        Ok(Some(marker)) => {
            let age = chrono::Utc::now() - marker.finished_at;
            if age <= max_age {
                Check::pass(
                    NAME,
                    format!(
                        "{} ({} h old, schema {})",
                        marker.archive,
                        age.num_hours(),
                        marker.schema_version
                    ),
                )
            } else {
                Check::advise(
                    NAME,
                    format!(
                        "the newest backup {} is {} h old (limit {} h)",
                        marker.archive,
                        age.num_hours(),
                        settings.ops.backup_max_age_hours
                    ),
                    format!("run scripts/backup --dir {}", dir.display()),
                )
            }
        }
        Ok(None) => Check::advise(
            NAME,
            format!("no backup marker in {}", dir.display()),
            format!("run scripts/backup --dir {}", dir.display()),
        ),
        Err(error) => Check::advise(
            NAME,
            format!("cannot read {}: {error}", dir.display()),
            "make HUB_BACKUP_DIR readable by the server's user",
        ),
    }
}

/// The newest marker whose archive is present.
pub fn newest_backup(dir: &Path) -> std::io::Result<Option<BackupMarker>> {
    let mut newest: Option<BackupMarker> = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(marker) = serde_json::from_str::<BackupMarker>(&text) else {
            continue;
        };
        if !dir.join(&marker.archive).is_file() {
            continue;
        }
        if newest
            .as_ref()
            .is_none_or(|current| marker.finished_at > current.finished_at)
        {
            newest = Some(marker);
        }
    }
    Ok(newest)
}

fn tls(settings: &ServeSettings) -> Check {
    const NAME: &str = "TLS for clients";
    match &settings.ops.public_url {
        None => Check::advise(
            NAME,
            "HUB_PUBLIC_URL is not set",
            "set HUB_PUBLIC_URL to the https:// address your TLS-terminating proxy serves",
        ),
        Some(url) if url.starts_with("https://") => {
            Check::pass(NAME, format!("clients connect to {url}"))
        }
        Some(url) if is_loopback(url) => Check::advise(
            NAME,
            format!("{url} is plain HTTP on loopback (fine for a test, not for a firm)"),
            "serve clients through a TLS-terminating proxy and set HUB_PUBLIC_URL=https://…",
        ),
        Some(url) => Check::fail(
            NAME,
            format!("{url} is not https: tokens and documents would cross the network in clear"),
            "terminate TLS in front of the server and set HUB_PUBLIC_URL=https://…",
        ),
    }
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.starts_with("127.") || rest.starts_with("localhost") || rest.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_marks_failures_with_a_fix() {
        let report = Report {
            checks: vec![
                Check::pass("a", "fine"),
                Check::fail("b", "broken", "do this"),
            ],
        };
        let text = report.render();
        assert!(text.contains("✔ a — fine"), "{text}");
        assert!(text.contains("✘ b — broken\n    fix: do this"), "{text}");
        assert!(text.ends_with("1 of 2 checks failed\n"));
        assert!(!report.passed());
        assert_eq!(report.blocking().count(), 1);
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080"));
        assert!(is_loopback("http://localhost"));
        assert!(!is_loopback("http://hub.firm.example"));
    }
}
