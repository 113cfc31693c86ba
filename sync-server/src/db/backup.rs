//! The statements of `sync-server backup` and `restore`: one repeatable-read snapshot shared
//! with pg_dump, what it digests, and the checks around a restore. All on one connection the
//! caller holds (a snapshot is a session's).

use sqlx::PgConnection;

/// Open a repeatable-read, read-only transaction on `conn` and export its snapshot for pg_dump.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_snapshot(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *conn)
        .await
}

/// End the transaction [`export_snapshot`] began.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn commit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// Every document's id and name, by name.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn documents(conn: &mut PgConnection) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM documents ORDER BY name")
        .fetch_all(&mut *conn)
        .await
}

/// The schema versions applied, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
}

/// Tables outside Postgres's own schemas (a restore needs an empty database).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn table_count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut *conn)
    .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn database_exists(admin: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut *admin)
        .await
}

/// `name` must already be checked to be a plain identifier (letters, digits, `_`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut *admin)
        .await?;
    Ok(())
}
