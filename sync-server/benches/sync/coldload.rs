//! Scenario 4, cold load: the first open of a large document (a long history folded into a
//! snapshot plus pending updates), written straight into our database.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::SinkExt;
use protocol::{AuthMessage, Message, SyncMessage};
use rand::{Rng, SeedableRng};
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

use crate::client::{
    auth_frame, connect, dev_token, expect_frame, histogram, micros_since, ms, ws_frame,
};
use crate::options::Sizes;
use crate::report::{Row, row};
use crate::server::Server;

/// An editing history: `history` small transactions (typing runs, cursor jumps, deletions)
/// folded into one snapshot, then `pending` more transactions kept as separate updates.
pub fn build_history(history: usize, pending: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("body");
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut cursor = 0u32;
    let mut edit = |rng: &mut rand::rngs::StdRng| {
        let mut txn = doc.transact_mut();
        let len = text.len(&txn);
        let roll = rng.random_range(0..100);
        if roll < 5 {
            cursor = rng.random_range(0..=len);
        }
        cursor = cursor.min(len);
        if roll >= 93 && cursor > 4 {
            let n = rng.random_range(1..=3);
            text.remove_range(&mut txn, cursor - n, n);
            cursor -= n;
        } else {
            let chunk = ["a", "e", "t", "s", " ", "th"][rng.random_range(0..6)];
            text.insert(&mut txn, cursor, chunk);
            cursor += chunk.len() as u32;
        }
        txn.encode_update_v1()
    };
    for _ in 0..history {
        edit(&mut rng);
    }
    let snapshot = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let pending_updates: Vec<Vec<u8>> = (0..pending).map(|_| edit(&mut rng)).collect();
    (snapshot, pending_updates)
}

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let db = server
        .db
        .as_ref()
        .context("coldload needs our server's database")?;
    let started = Instant::now();
    let (snapshot, pending) = build_history(sizes.cold_history, sizes.cold_pending);
    eprintln!(
        "  history: {} edits → {:.1} KB state, {} pending updates ({:.1} s)",
        sizes.cold_history,
        snapshot.len() as f64 / 1024.0,
        pending.len(),
        started.elapsed().as_secs_f64()
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url())
        .await?;
    let firm = "bench-cold";
    sqlx::query("INSERT INTO firms (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(firm)
        .execute(&pool)
        .await?;
    let pending_refs: Vec<&[u8]> = pending.iter().map(Vec::as_slice).collect();
    let mut names = Vec::new();
    for _ in 0..sizes.cold_loads {
        let case = uuid::Uuid::new_v4();
        let name = format!("cases/{case}");
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO cases (id, firm_id, created_by) VALUES ($1, $2, 'bench')")
            .bind(case)
            .bind(firm)
            .execute(&mut *tx)
            .await?;
        // Only members read a matter: the reader is one (as sharing it would make them).
        sqlx::query(
            "INSERT INTO case_members (case_id, user_id, role, added_by) VALUES ($1, 'bench-cold-reader', 'viewer', 'bench')",
        )
        .bind(case)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (name, case_id, firm_id, kind) VALUES ($1, $2, $3, 'case') RETURNING id",
        )
        .bind(&name)
        .bind(case)
        .bind(firm)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO doc_snapshots (doc_id, state, updates_folded) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&snapshot)
        .bind(sizes.cold_history as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO doc_updates (doc_id, bytes, user_id) SELECT $1, b, 'bench' FROM UNNEST($2::bytea[]) AS b")
            .bind(id)
            .bind(&pending_refs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        names.push(name);
    }
    sqlx::query("VACUUM ANALYZE doc_updates")
        .execute(&pool)
        .await?;
    pool.close().await;
    let token = dev_token("bench-cold-reader", firm);
    let mut latency = histogram();
    let mut step2_bytes = 0;
    for name in &names {
        let mut ws = connect(&server.url()).await?;
        let begin = Instant::now();
        ws.feed(auth_frame(name, &token)).await?;
        ws.feed(ws_frame(name, Message::Sync(SyncMessage::Step1(vec![0]))))
            .await?;
        ws.flush().await?;
        // The full state has arrived when the server's own Step1 does: it is sent after the
        // Step2 and after any updates that complete a first sync.
        let mut received = 0;
        let mut seen_step2 = false;
        loop {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Sync(SyncMessage::Step2(update)) => {
                    received += update.len();
                    seen_step2 = true;
                }
                Message::Sync(SyncMessage::Update(update)) if seen_step2 => {
                    received += update.len()
                }
                Message::Sync(SyncMessage::Step1(_)) if seen_step2 => break,
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("cold load denied: {reason}")
                }
                _ => {}
            }
        }
        step2_bytes = received;
        let _ = latency.record(micros_since(begin));
        let _ = ws.close(None).await;
    }
    let target = server.target;
    Ok(vec![
        row(
            "coldload",
            target,
            "history edits",
            sizes.cold_history as f64,
        ),
        row(
            "coldload",
            target,
            "snapshot KB",
            snapshot.len() as f64 / 1024.0,
        ),
        row("coldload", target, "pending updates", pending.len() as f64),
        row(
            "coldload",
            target,
            "initial sync KB",
            step2_bytes as f64 / 1024.0,
        ),
        row("coldload", target, "loads", names.len() as f64),
        row("coldload", target, "p50 ms", ms(&latency, 0.50)),
        row("coldload", target, "p99 ms", ms(&latency, 0.99)),
        row("coldload", target, "max ms", latency.max() as f64 / 1000.0),
    ])
}
