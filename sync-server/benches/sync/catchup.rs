//! Scenario 5, catch-up: a lawyer back online asks `$hub` what changed in a large firm and syncs
//! exactly those documents.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::SinkExt;
use protocol::{AuthMessage, ChangesField, HUB_CHANNEL, HubMessage, Message, SyncMessage};
use yrs::{ReadTxn, StateVector, Transact};

use crate::client::{
    Editor, auth_frame, connect, dev_token, expect_frame, histogram, micros_since, ms, ws_frame,
};
use crate::options::Sizes;
use crate::report::{Row, row};
use crate::server::Server;

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let db = server
        .db
        .as_ref()
        .context("catchup needs our server's database")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url())
        .await?;
    let firm = "bench-catchup";
    let cases: Vec<uuid::Uuid> = (0..sizes.catchup_docs)
        .map(|_| uuid::Uuid::new_v4())
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO firms (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(firm)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO cases (id, firm_id, created_by) SELECT id, $1, 'bench' FROM UNNEST($2::uuid[]) AS id")
        .bind(firm)
        .bind(&cases)
        .execute(&mut *tx)
        .await?;
    // Only members see a matter's changes: the user is a member of every one (granted before
    // the cursor, so only the changed documents are new to them).
    sqlx::query(
        "INSERT INTO case_members (case_id, user_id, role, added_by) SELECT id, 'bench-catchup-user', 'viewer', 'bench' FROM UNNEST($1::uuid[]) AS id",
    )
    .bind(&cases)
    .execute(&mut *tx)
    .await?;
    let docs: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO documents (name, case_id, firm_id, kind)
         SELECT 'cases/' || id::text, id, $1, 'case' FROM UNNEST($2::uuid[]) AS id RETURNING id, name",
    )
    .bind(firm)
    .bind(&cases)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("VACUUM ANALYZE documents")
        .execute(&pool)
        .await?;
    // Each changed document gets a realistic small body.
    let body = {
        let editor = Editor::new();
        for _ in 0..40 {
            editor.type_text("A paragraph of a matter note, typed in one go. ");
        }
        editor
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    };
    let token = dev_token("bench-catchup-user", firm);
    let mut latency = histogram();
    let mut returned = 0;
    let rounds = sizes
        .catchup_rounds
        .min(docs.len() / sizes.catchup_changed.max(1));
    for round in 0..rounds {
        let changed = &docs[round * sizes.catchup_changed..(round + 1) * sizes.catchup_changed];
        let cursor: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&pool)
                .await?;
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO doc_updates (doc_id, bytes, user_id) SELECT id, $2, 'bench' FROM UNNEST($1::bigint[]) AS id")
            .bind(&ids)
            .bind(&body)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE documents SET change_xid = pg_current_xact_id()::text::bigint WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let begin = Instant::now();
        let mut ws = connect(&server.url()).await?;
        ws.send(auth_frame(HUB_CHANNEL, &token)).await?;
        loop {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Auth(AuthMessage::Authenticated { .. }) if frame.doc == HUB_CHANNEL => {
                    break;
                }
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("$hub denied: {reason}")
                }
                _ => {}
            }
        }
        let mut since = cursor;
        let mut names: Vec<String> = Vec::new();
        for _page in 0..100 {
            ws.send(ws_frame(
                HUB_CHANNEL,
                Message::Stateless(HubMessage::request(since).to_json()),
            ))
            .await?;
            let reply = loop {
                let frame = expect_frame(&mut ws).await?;
                if let (true, Message::Stateless(text)) = (frame.doc == HUB_CHANNEL, &frame.message)
                    && let Ok(message) = HubMessage::parse(text)
                {
                    match message {
                        HubMessage::Changes(ChangesField::Reply(reply)) => break reply,
                        HubMessage::Error { code, message } => {
                            bail!("$hub error {code}: {message}")
                        }
                        _ => {}
                    }
                }
            };
            names.extend(reply.docs);
            since = reply.cursor;
            if !reply.more {
                break;
            }
        }
        returned = names.len();
        for name in &names {
            ws.feed(auth_frame(name, &token)).await?;
            ws.feed(ws_frame(name, Message::Sync(SyncMessage::Step1(vec![0]))))
                .await?;
        }
        ws.flush().await?;
        let mut waiting: HashSet<&str> = names.iter().map(String::as_str).collect();
        while !waiting.is_empty() {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Sync(SyncMessage::Step2(_)) => {
                    waiting.remove(frame.doc.as_str());
                }
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("{} denied: {reason}", frame.doc)
                }
                _ => {}
            }
        }
        let _ = latency.record(micros_since(begin));
        let _ = ws.close(None).await;
        let expected: HashSet<&str> = changed.iter().map(|(_, name)| name.as_str()).collect();
        if names.len() != expected.len()
            || !names.iter().all(|name| expected.contains(name.as_str()))
        {
            bail!(
                "catch-up returned {} documents, expected exactly the {} changed ones",
                names.len(),
                expected.len()
            );
        }
    }
    pool.close().await;
    let target = server.target;
    Ok(vec![
        row("catchup", target, "documents in firm", docs.len() as f64),
        row("catchup", target, "changed docs returned", returned as f64),
        row("catchup", target, "rounds", rounds as f64),
        row("catchup", target, "p50 ms", ms(&latency, 0.50)),
        row("catchup", target, "p99 ms", ms(&latency, 0.99)),
        row("catchup", target, "max ms", latency.max() as f64 / 1000.0),
    ])
}
