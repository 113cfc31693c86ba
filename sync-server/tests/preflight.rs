//! `sync-server preflight` and the production start-up gate, run as the real binary against the
//! real Postgres and Redis, with a real RSA key and a real backup marker on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sync-server"));
    // Only what each test sets: nothing leaks in from the CI environment.
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

fn run(command: &mut Command) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.code().unwrap_or(-1), text)
}

/// An RSA public key in PEM, made by openssl (as Clerk's "JWT public key" is).
fn rsa_public_pem(dir: &Path) -> String {
    let private = dir.join("key.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .output()
        .unwrap();
    String::from_utf8(public.stdout).unwrap()
}

fn write_marker(dir: &Path, hours_old: i64) {
    let finished = chrono::Utc::now() - chrono::Duration::hours(hours_old);
    std::fs::write(dir.join("lawyers-hub-test.dump"), b"archive").unwrap();
    std::fs::write(
        dir.join("lawyers-hub-test.json"),
        serde_json::json!({
            "finished_at": finished.to_rfc3339(),
            "archive": "lawyers-hub-test.dump",
            "schema_version": 20261125000003i64,
        })
        .to_string(),
    )
    .unwrap();
}

/// A complete production configuration.
fn production(command: &mut Command, db: &str, pem: &str, backups: &Path) {
    command
        .env("DATABASE_URL", db)
        .env("HUB_ENV", "production")
        .env("HUB_OIDC_ISSUER", "https://clerk.firm.example")
        .env("CLERK_JWT_KEY", pem)
        .env("HUB_AUTHORIZED_PARTIES", "https://app.firm.example")
        .env("HUB_COPILOT_API_KEY", "sk-preflight-test-key")
        .env("REDIS_URL", redis_url())
        .env("HUB_BACKUP_DIR", backups)
        .env("HUB_PUBLIC_URL", "https://hub.firm.example");
}

fn assert_every_failure_has_a_fix(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        if line.starts_with('✘') {
            assert!(
                lines
                    .get(index + 1)
                    .is_some_and(|next| next.trim_start().starts_with("fix: ")),
                "{line} has no fix:\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn development_settings_fail_the_checklist_with_a_fix_for_each_failure() {
    let db = fresh_database().await;
    let (code, text) = run(binary()
        .arg("preflight")
        .env("DATABASE_URL", &db)
        .env("HUB_DEV_AUTH", "true")
        .env("HUB_DEV_SECRET", SECRET));
    assert_eq!(code, 1, "{text}");
    for line in [
        "✘ production mode",
        "✘ development tokens off",
        "✔ settings valid",
        "✔ database reachable",
        "✔ migrations current",
        "✘ sign-in keys (Clerk/OIDC)",
        "✘ copilot key",
        "✔ redis reachable — not configured",
        "✘ recent backup",
        "✘ TLS for clients",
    ] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
    assert_every_failure_has_a_fix(&text);
    assert!(text.contains("6 of 10 checks failed"), "{text}");
}

#[tokio::test]
async fn a_complete_production_configuration_passes() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = rsa_public_pem(dir.path());
    write_marker(dir.path(), 2);
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let (code, text) = run(command.arg("preflight"));
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains('✘'), "{text}");
    assert!(text.contains("all 10 checks passed"), "{text}");
    assert!(
        !text.contains("sk-preflight-test-key"),
        "the key leaked:\n{text}"
    );
}

#[tokio::test]
async fn each_broken_item_is_caught_and_production_refuses_unsafe_ones_at_start() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = rsa_public_pem(dir.path());

    // A stale backup: preflight fails, but serving is not unsafe, so production starts.
    write_marker(dir.path(), 30);
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let (code, text) = run(command.arg("preflight"));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "✘ recent backup — the newest backup lawyers-hub-test.dump is 30 h old (limit 26 h)"
        ),
        "{text}"
    );
    assert!(text.contains("1 of 10 checks failed"), "{text}");
    let port = free_port();
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let mut server = command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "production server with a stale backup").await;
    server.kill().unwrap();
    server.wait().unwrap();

    // Unreachable Redis and a bad key: both caught, each with its fix.
    let mut command = binary();
    production(&mut command, &db, "not a pem", dir.path());
    let (code, text) = run(command
        .env("REDIS_URL", format!("redis://127.0.0.1:{}", free_port()))
        .arg("preflight"));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✘ redis reachable"), "{text}");
    assert!(
        text.contains("✘ sign-in keys (Clerk/OIDC) — CLERK_JWT_KEY is not an RSA public key"),
        "{text}"
    );
    assert_every_failure_has_a_fix(&text);

    // Plain HTTP to clients off loopback is unsafe.
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let (code, text) = run(command
        .env("HUB_PUBLIC_URL", "http://hub.firm.example")
        .arg("preflight"));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✘ TLS for clients"), "{text}");

    // A schema one migration behind: preflight names the command, and production refuses to
    // start, printing the checklist.
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    sync_server::migrate::down(&pool, None).await.unwrap();
    pool.close().await;
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let (code, text) = run(command.arg("preflight"));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✘ migrations current"), "{text}");
    assert!(text.contains("fix: run `sync-server migrate up`"), "{text}");
    let mut command = binary();
    production(&mut command, &db, &pem, dir.path());
    let started = std::time::Instant::now();
    let (code, text) = run(command.args(["serve", "--bind", "127.0.0.1:0"]));
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("refusing to start in production"), "{text}");
    assert!(text.contains("✘ migrations current"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20));
}
