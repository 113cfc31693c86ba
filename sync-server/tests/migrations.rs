//! Migrations are reversible and the server refuses a schema that does not match it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sqlx::PgPool;

fn schema(url: &str) -> String {
    let output = std::process::Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", url])
        .output()
        .expect("pg_dump runs (postgresql-client)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| {
            !line.starts_with("--")
                && !line.starts_with("\\restrict")
                && !line.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_down_up_leaves_an_identical_schema_and_serve_checks_it() {
    let url = fresh_database().await;
    let pool = PgPool::connect(&url).await.unwrap();
    let after_up = schema(&url);
    assert!(after_up.contains("CREATE TABLE public.doc_updates"));

    sync_server::migrate::down(&pool, Some(0)).await.unwrap();
    assert!(
        sync_server::migrate::applied_versions(&pool)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!schema(&url).contains("doc_updates"));
    let refused = sync_server::app::start(&settings(&url, None))
        .await
        .err()
        .expect("serve refuses an old schema");
    assert!(
        refused.to_string().contains("sync-server migrate up"),
        "{refused}"
    );

    sync_server::migrate::up(&pool, None).await.unwrap();
    assert_eq!(schema(&url), after_up);
    let status = sync_server::migrate::status(&pool).await.unwrap();
    assert!(
        status.contains("applied") && !status.contains("pending"),
        "{status}"
    );
    assert!(sync_server::app::start(&settings(&url, None)).await.is_ok());
}
