//! scripts/backup and scripts/restore against the real Postgres: write documents through the
//! server, back up, destroy the database, restore it, restart the server, and a client catches
//! up with nothing lost. Damaged archives, non-empty targets and differing documents are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(30);

fn script(name: &str) -> Command {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name);
    let mut command = Command::new(path);
    command.env("SYNC_SERVER", env!("CARGO_BIN_EXE_sync-server"));
    command
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn archive_in(dir: &Path) -> PathBuf {
    let mut archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "dump"))
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    archives.pop().unwrap()
}

async fn drop_database(url: &str) {
    let name = url.rsplit_once('/').unwrap().1;
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", postgres_base()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
}

fn restore_url() -> String {
    format!(
        "{}/hub_restore_{}",
        postgres_base(),
        uuid::Uuid::new_v4().simple()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_destroy_restore_restart_and_the_client_catches_up_with_nothing_lost() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let laptops = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let case = new_case();
    let brief = draft_name(&case);
    let letter = draft_name(&case);
    let mut ada = Laptop::online(
        &laptops.path().join("ada.db"),
        &ws_url(&server),
        &token("ada", FIRM),
    );
    ada.write_and_sync(&brief, "Brief before the backup. ", WAIT)
        .await;
    ada.write_and_sync(&letter, "Letter before the backup. ", WAIT)
        .await;

    let (ok, text) = run(script("backup")
        .arg("--dir")
        .arg(backups.path())
        .env("DATABASE_URL", &db));
    assert!(ok, "{text}");
    assert!(text.contains("2 documents"), "{text}");
    let archive = archive_in(backups.path());
    let marker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(archive.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(marker["documents"], 2);
    assert_eq!(
        marker["schema_version"].as_i64().unwrap(),
        *sync_server::migrate::known_versions().last().unwrap()
    );
    assert!(
        std::fs::read_to_string(archive.with_extension("dump.sha256"))
            .unwrap()
            .starts_with(marker["sha256"].as_str().unwrap())
    );
    // Preflight reads the same marker.
    let newest = sync_server::preflight::newest_backup(backups.path())
        .unwrap()
        .unwrap();
    assert_eq!(newest.archive, marker["archive"].as_str().unwrap());

    // An edit after the backup, acked by the server: the backup does not hold it, the laptop does.
    ada.type_text(&brief, "Brief after the backup. ");
    ada.wait_synced(WAIT).await;
    ada.disconnect().await;
    // A restored server keeps its address (the laptop's data belongs to that server).
    let address = server.addr;
    server.shutdown.send(()).unwrap();
    tokio::time::timeout(WAIT, server.task)
        .await
        .unwrap()
        .unwrap();

    // The database is destroyed, and restored under the same name.
    drop_database(&db).await;
    let (ok, text) = run(script("restore")
        .arg("--archive")
        .arg(&archive)
        .arg("--create")
        .args(["--database-url", &db]));
    assert!(ok, "{text}");
    assert!(
        text.contains("2 documents each equal to the backup"),
        "{text}"
    );
    assert_eq!(
        stored_text(&db, &brief, "body").await,
        "Brief before the backup. "
    );

    // The server restarts on it, at the same address; a new laptop sees the backup's content...
    let mut restarted = settings(&db, None);
    restarted.bind = address;
    let server = sync_server::app::start(&restarted)
        .await
        .expect("server restarts");
    let mut fresh = Laptop::online(
        &laptops.path().join("ada-new.db"),
        &ws_url(&server),
        &token("ada", FIRM),
    );
    fresh.open(&brief);
    fresh.open(&letter);
    fresh
        .wait_until(
            "the letter from the backup",
            WAIT,
            body_contains(&letter, "Letter before the backup."),
        )
        .await;
    // ...and once the old laptop reconnects, the edit made after the backup comes back from it.
    ada.connect(&ws_url(&server), &token("ada", FIRM));
    ada.open(&brief);
    fresh
        .wait_until(
            "the post-backup edit",
            WAIT,
            body_contains(&brief, "Brief after the backup."),
        )
        .await;
    assert_eq!(
        fresh.body(&brief),
        "Brief before the backup. Brief after the backup. "
    );
    assert_eq!(
        stored_text(&db, &brief, "body").await,
        "Brief before the backup. Brief after the backup. "
    );
    fresh.disconnect().await;
    ada.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_archives_non_empty_targets_and_differing_documents_are_refused() {
    let firm = Firm::one_instance().await;
    let db = &firm.database;
    let backups = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.write_and_sync(&doc, "Some clause. ", WAIT).await;
    ada.disconnect().await;
    let (ok, text) = run(script("backup")
        .arg("--dir")
        .arg(backups.path())
        .env("DATABASE_URL", db));
    assert!(ok, "{text}");
    let archive = archive_in(backups.path());

    // Into the live, non-empty database: refused, nothing touched.
    let (ok, text) = run(script("restore")
        .arg("--archive")
        .arg(&archive)
        .args(["--database-url", db]));
    assert!(!ok);
    assert!(text.contains("the target database is not empty"), "{text}");
    assert_eq!(firm.stored_body(&doc).await, "Some clause. ");

    // A flipped byte in the archive: refused before anything is restored.
    let damaged_dir = tempfile::tempdir().unwrap();
    let damaged = damaged_dir.path().join(archive.file_name().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    std::fs::copy(
        archive.with_extension("json"),
        damaged.with_extension("json"),
    )
    .unwrap();
    let target = restore_url();
    let (ok, text) = run(script("restore")
        .arg("--archive")
        .arg(&damaged)
        .arg("--create")
        .args(["--database-url", &target]));
    assert!(!ok);
    assert!(text.contains("checksum mismatch"), "{text}");

    // A marker whose document digest differs from what the archive holds: the verification
    // after pg_restore catches it and names the document.
    let marker_path = archive.with_extension("json");
    let mut marker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker_path).unwrap()).unwrap();
    marker["document_digests"][doc.as_str()] = serde_json::json!("0".repeat(64));
    std::fs::write(&marker_path, marker.to_string()).unwrap();
    let (ok, text) = run(script("restore")
        .arg("--archive")
        .arg(&archive)
        .arg("--create")
        .args(["--database-url", &target]));
    assert!(!ok);
    assert!(
        text.contains("restored documents differ from the backup: 1 differ"),
        "{text}"
    );
    assert!(text.contains(doc.as_str()), "{text}");
}
