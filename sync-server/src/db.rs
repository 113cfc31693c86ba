//! Every SQL statement of the server, grouped by domain so a schema change is found in one
//! place: the sync core (`sync`), membership and walls (`access`), the audit and security logs
//! (`audit`), backups (`backup`), the firm directory (`directory`), legal holds (`hold`) and the copilot (`copilot`). Nothing here knows
//! about HTTP or WebSockets; callers above map these results to their own errors.

pub mod access;
pub mod audit;
pub mod backup;
pub mod conflicts;
pub mod copilot;
pub mod directory;
pub mod hold;
pub mod sync;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::config::DatabaseSettings;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(settings.pool_size)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&settings.url)
        .await
}

/// Whether Postgres answers (readiness).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Send `payload` on the Postgres notice `channel` (a listener's heartbeat).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn notify(pool: &PgPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}
