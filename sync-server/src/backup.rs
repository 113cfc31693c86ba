//! `sync-server backup` and `sync-server restore` (wrapped by `scripts/backup` and
//! `scripts/restore`).
//!
//! A backup is a `pg_dump` custom-format archive, its SHA-256, and a marker JSON written last
//! (a marker means a complete backup) with the time, the schema version and a digest of every
//! document's state. The digests are taken inside the very snapshot `pg_dump` reads
//! (`pg_export_snapshot`), so they describe exactly what the archive holds. A restore goes only
//! into an empty database, checks the checksum before and the schema and every document's
//! digest after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

use crate::db;

/// What is written next to every archive.
#[derive(Debug, Serialize, Deserialize)]
pub struct Marker {
    pub format: u32,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// The archive's file name, in the marker's directory.
    pub archive: String,
    pub bytes: u64,
    pub sha256: String,
    /// The newest applied migration, and all of them.
    pub schema_version: i64,
    pub schema_versions: Vec<i64>,
    pub documents: usize,
    /// Document name → SHA-256 of its full encoded state.
    pub document_digests: BTreeMap<String, String>,
}

/// Split `postgres://user:password@host/db` into the URL without the password and the
/// password, so the password reaches `pg_dump` through `PGPASSWORD`, not the process list.
fn split_password(url: &str) -> (String, Option<String>) {
    if let (Some(scheme), Some(at)) = (url.find("://"), url.rfind('@'))
        && at > scheme
    {
        let credentials = &url[scheme + 3..at];
        if let Some(colon) = credentials.find(':') {
            let password = percent_decode(&credentials[colon + 1..]);
            let without = format!(
                "{}{}{}",
                &url[..scheme + 3],
                &credentials[..colon],
                &url[at..]
            );
            return (without, Some(password));
        }
    }
    (url.to_owned(), None)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[index + 1..index + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pg_tool(program: &str, url: &str) -> tokio::process::Command {
    let (url, password) = split_password(url);
    let mut command = tokio::process::Command::new(program);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command.kill_on_drop(true);
    command
}

/// SHA-256 of a file, streamed.
pub fn file_sha256(path: &Path) -> anyhow::Result<(String, u64)> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Every document's digest, read through `conn` (inside the caller's snapshot).
async fn document_digests(conn: &mut PgConnection) -> anyhow::Result<BTreeMap<String, String>> {
    let documents = db::backup::documents(&mut *conn)
        .await
        .context("cannot list documents")?;
    let mut digests = BTreeMap::new();
    for (id, name) in documents {
        let stored = db::sync::load_document(&mut *conn, id)
            .await
            .with_context(|| format!("cannot read document {name}"))?;
        let digest = match crate::hub::rebuild_state(&stored) {
            Ok(state) => hex::encode(Sha256::digest(&state)),
            Err(error) => {
                // One document yrs cannot integrate must not stop the backup (or the check of a
                // restore) of every other: its stored bytes are digested as they are instead.
                crate::hub::bad_document(
                    id,
                    "backup: document does not integrate; its stored rows are checked byte for byte",
                    &error,
                );
                let mut hasher = Sha256::new();
                if let Some(snapshot) = &stored.snapshot {
                    hasher.update(snapshot);
                }
                for (_, update) in &stored.updates {
                    hasher.update(update);
                }
                format!("raw:{}", hex::encode(hasher.finalize()))
            }
        };
        digests.insert(name, digest);
    }
    Ok(digests)
}

async fn applied_versions(conn: &mut PgConnection) -> anyhow::Result<Vec<i64>> {
    db::backup::applied_versions(&mut *conn)
        .await
        .context("cannot read the migration table (is this a Lawyers Hub database?)")
}

/// Write a backup into `dir`; returns the marker's path.
pub async fn backup(database_url: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let started_at = chrono::Utc::now();
    let stem = format!("lawyers-hub-{}", started_at.format("%Y%m%dT%H%M%S%.3fZ"));
    let archive = dir.join(format!("{stem}.dump"));
    let mut conn = PgConnection::connect(database_url)
        .await
        .context("cannot connect to Postgres (DATABASE_URL)")?;
    let snapshot = db::backup::export_snapshot(&mut conn).await?;
    // pg_dump reads the exported snapshot while this transaction stays open and digests the
    // same data.
    let dump = pg_tool("pg_dump", database_url)
        .args(["--format=custom", "--no-owner", "--no-privileges"])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--file={}", archive.display()))
        .spawn()
        .context("cannot run pg_dump (install postgresql-client)")?;
    let versions = applied_versions(&mut conn).await?;
    let digests = document_digests(&mut conn).await?;
    let output = dump.wait_with_output().await?;
    db::backup::commit(&mut conn).await?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&archive);
        bail!("pg_dump failed ({})", output.status);
    }
    let (sha256, bytes) = file_sha256(&archive)?;
    let marker = Marker {
        format: 1,
        started_at,
        finished_at: chrono::Utc::now(),
        archive: format!("{stem}.dump"),
        bytes,
        sha256,
        schema_version: versions.last().copied().unwrap_or(0),
        schema_versions: versions,
        documents: digests.len(),
        document_digests: digests,
    };
    std::fs::write(
        dir.join(format!("{stem}.dump.sha256")),
        format!("{}  {stem}.dump\n", marker.sha256),
    )?;
    let marker_path = dir.join(format!("{stem}.json"));
    let partial = dir.join(format!(".{stem}.json.partial"));
    std::fs::write(&partial, serde_json::to_vec_pretty(&marker)?)?;
    std::fs::rename(&partial, &marker_path)?;
    Ok(marker_path)
}

pub fn read_marker(archive: &Path) -> anyhow::Result<Marker> {
    let path = archive.with_extension("json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no backup marker at {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a backup marker", path.display()))
}

/// What a restore verified.
#[derive(Debug)]
pub struct Restored {
    pub documents: usize,
    pub schema_version: i64,
}

/// Restore `archive` into the (empty, or with `create` missing) database at `database_url`,
/// then verify schema and every document against the marker.
pub async fn restore(archive: &Path, database_url: &str, create: bool) -> anyhow::Result<Restored> {
    let marker = read_marker(archive)?;
    let (sha256, _) = file_sha256(archive)?;
    ensure!(
        sha256 == marker.sha256,
        "checksum mismatch: {} has SHA-256 {sha256}, the marker says {}; the archive is damaged, use another backup",
        archive.display(),
        marker.sha256
    );
    if create {
        create_database(database_url).await?;
    }
    let mut conn = PgConnection::connect(database_url)
        .await
        .context("cannot connect to the target database")?;
    let tables = db::backup::table_count(&mut conn).await?;
    ensure!(
        tables == 0,
        "the target database is not empty ({tables} tables): restore into a fresh database (--create with a new name) and point DATABASE_URL at it"
    );
    let output = pg_tool("pg_restore", database_url)
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ])
        .arg(archive)
        .output()
        .await
        .context("cannot run pg_restore (install postgresql-client)")?;
    if !output.status.success() {
        bail!(
            "pg_restore failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let versions = applied_versions(&mut conn).await?;
    ensure!(
        versions == marker.schema_versions,
        "schema mismatch after restore: migrations {versions:?}, the marker says {:?}",
        marker.schema_versions
    );
    let digests = document_digests(&mut conn).await?;
    let mut differing: Vec<&str> = Vec::new();
    for (name, digest) in &marker.document_digests {
        if digests.get(name) != Some(digest) {
            differing.push(name);
        }
    }
    let extra = digests
        .keys()
        .filter(|name| !marker.document_digests.contains_key(*name))
        .count();
    ensure!(
        differing.is_empty() && extra == 0,
        "restored documents differ from the backup: {} differ or are missing (first: {}), {extra} unexpected",
        differing.len(),
        differing.first().copied().unwrap_or("-")
    );
    Ok(Restored {
        documents: digests.len(),
        schema_version: marker.schema_version,
    })
}

/// Create the database named in `database_url` (connecting to `postgres` on the same server).
async fn create_database(database_url: &str) -> anyhow::Result<()> {
    let (base, name) = database_url
        .rsplit_once('/')
        .context("DATABASE_URL has no database name")?;
    let name = name.split('?').next().unwrap_or(name);
    ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {name:?}: use letters, digits and _ only"
    );
    let mut admin = PgConnection::connect(&format!("{base}/postgres"))
        .await
        .context("cannot connect to the `postgres` database to create the target")?;
    let exists = db::backup::database_exists(&mut admin, name).await?;
    if !exists {
        db::backup::create_database(&mut admin, name)
            .await
            .with_context(|| format!("cannot create database {name}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_go_to_the_environment_not_the_command_line() {
        assert_eq!(
            split_password("postgres://hub:s%40cret@db:5432/hub"),
            (
                "postgres://hub@db:5432/hub".to_owned(),
                Some("s@cret".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/hub"),
            ("postgres://postgres@127.0.0.1/hub".to_owned(), None)
        );
    }
}
