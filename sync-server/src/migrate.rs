//! Reversible Postgres migrations, embedded from `migrations/`.

use anyhow::{Context, bail};
use sqlx::PgPool;
use sqlx::migrate::{MigrationType, Migrator};

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The versions the binary knows, ascending.
pub fn known_versions() -> Vec<i64> {
    MIGRATOR
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}

/// The versions applied to the database, ascending (empty for a fresh database).
pub async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
}

pub async fn up(pool: &PgPool, to: Option<i64>) -> anyhow::Result<()> {
    match to {
        Some(target) => MIGRATOR.run_to(target, pool).await,
        None => MIGRATOR.run(pool).await,
    }
    .context("migration failed")?;
    Ok(())
}

/// Undo migrations down to `to` (exclusive: `to` stays applied); by default undo the newest one.
pub async fn down(pool: &PgPool, to: Option<i64>) -> anyhow::Result<()> {
    let applied = applied_versions(pool).await?;
    let target = match to {
        Some(target) => target,
        None => match applied.as_slice() {
            [] => bail!("nothing to undo: no migration is applied"),
            [.., previous, _] => *previous,
            [_] => 0,
        },
    };
    MIGRATOR
        .undo(pool, target)
        .await
        .context("undoing migrations failed")?;
    Ok(())
}

pub async fn status(pool: &PgPool) -> anyhow::Result<String> {
    let applied = applied_versions(pool).await?;
    let mut out = String::new();
    for migration in MIGRATOR
        .iter()
        .filter(|m| m.migration_type != MigrationType::ReversibleDown)
    {
        let mark = if applied.contains(&migration.version) {
            "applied"
        } else {
            "pending"
        };
        out.push_str(&format!(
            "{} {:<8} {}\n",
            migration.version, mark, migration.description
        ));
    }
    for version in applied.iter().filter(|v| !known_versions().contains(v)) {
        out.push_str(&format!(
            "{version} unknown  (applied by a newer sync-server)\n"
        ));
    }
    Ok(out)
}

/// Refuse to serve against a schema that is behind or ahead of this binary.
pub async fn ensure_current(pool: &PgPool) -> anyhow::Result<()> {
    let applied = applied_versions(pool)
        .await
        .context("cannot read the migration table")?;
    let known = known_versions();
    if let Some(newer) = applied.iter().find(|version| !known.contains(version)) {
        bail!(
            "the database schema is ahead of this binary (migration {newer} is unknown): deploy the newer \
             sync-server, or roll the schema back with that version's `sync-server migrate down`"
        );
    }
    if let Some(missing) = known.iter().find(|version| !applied.contains(version)) {
        bail!(
            "the database schema is behind this binary (migration {missing} is pending): run `sync-server migrate up`"
        );
    }
    Ok(())
}
