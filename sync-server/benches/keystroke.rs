//! The edit path, per keystroke, end to end on the laptop (a bench binary, not a timed test):
//! one typed character, as the editor's Yjs document encodes it, from the moment the desktop
//! command receives the bytes until
//!
//! - **durable**: the update log and outbox rows are committed (`synchronous = FULL`), and
//! - **on the wire**: the sync client's WebSocket frame with it leaves the laptop (seen by a TCP
//!   relay between the laptop and the real sync-server, which timestamps every read from the
//!   laptop's side),
//!
//! plus the work the laptop does for it until the server's acknowledgement is processed: store
//! mutex acquisitions and SQLite statements (SQLITE_TRACE_STMT, so BEGIN and COMMIT count),
//! divided by the number of keystrokes. The bytes the edit takes across the desktop IPC are
//! reported for both encodings (a JSON array of numbers, raw bytes).
//!
//! The laptop side is the real `hub_local::Store` (SQLCipher file) and `SyncClient` on a
//! two-worker tokio runtime like the desktop app's; the server is the real sync-server on a
//! fresh Postgres database. `desktop_command` below does what the desktop's
//! `apply_local_update` command does once Tauri hands it the bytes (src-tauri/src/commands.rs).
//!
//! `cargo bench -p sync-server --bench keystroke [-- --quick]`; figures go to docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

// The integration tests' fixtures: a fresh, migrated database and the server's settings.
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use local::store::matter_record::CaseFields;
use local::{DocName, FixedKey, StaticToken, Store, SyncClient, SyncConfig, SyncEvent, SyncState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, Text, Transact, Update, WriteTxn, XmlElementPrelim, XmlFragment, XmlOut};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// A TCP relay in front of `server`: bytes pass unchanged both ways; the instant of every read
/// from the laptop's side goes to `wire`.
async fn relay(server: std::net::SocketAddr, wire: UnboundedSender<Instant>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (laptop, _) = listener.accept().await.unwrap();
            laptop.set_nodelay(true).unwrap();
            let upstream = TcpStream::connect(server).await.unwrap();
            upstream.set_nodelay(true).unwrap();
            let (mut laptop_read, mut laptop_write) = laptop.into_split();
            let (mut server_read, mut server_write) = upstream.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut server_read, &mut laptop_write).await;
            });
            let wire = wire.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    let read = match laptop_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => read,
                    };
                    let _ = wire.send(Instant::now());
                    if server_write.write_all(&buffer[..read]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// What the desktop's `apply_local_update` command does once Tauri hands it the bytes: on a
/// blocking-pool thread, skip a removed matter's save, else write log + outbox in one
/// transaction, which returns the number of unsynced changes (the status bar's) from the store's
/// own count. The sync client hears of the new outbox entry from the store's watch channel.
/// Returns when the write is durable, with the number of unsynced changes.
async fn desktop_command(store: &Arc<Store>, doc: &DocName, update: Vec<u8>) -> usize {
    let target = Arc::clone(store);
    let name = doc.clone();
    tokio::task::spawn_blocking(move || {
        if target.matter_removed(&name.case_id())? {
            return Ok(target.outbox_state().pending);
        }
        target.apply_local_update(&name, &update)
    })
    .await
    .unwrap()
    .unwrap()
}

async fn wait_for_state(events: &mut UnboundedReceiver<SyncEvent>, wanted: &SyncState) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(SyncEvent::State(state))) if &state == wanted => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the sync client stopped"),
            Err(_) => panic!("no {wanted:?} within 30 s"),
        }
    }
}

/// The paragraph the lawyer types into, as the editor's Yjs doc would hold it.
fn type_one(editor: &Doc, stroke: usize) -> Vec<u8> {
    let mut txn = editor.transact_mut();
    let fragment = txn.get_or_insert_xml_fragment("default");
    let Some(XmlOut::Element(paragraph)) = fragment.get(&txn, 100) else {
        panic!("paragraph 100 missing")
    };
    let Some(XmlOut::Text(text)) = paragraph.get(&txn, 0) else {
        panic!("text missing")
    };
    text.insert(&mut txn, 10 + (stroke % 50) as u32, "x");
    txn.encode_update_v1()
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(if quick { 200 } else { 1000 }));
}

async fn run(count: usize) {
    let database = common::fresh_database().await;
    let server = common::start_server(&database, None).await;
    let (wire_sender, mut wire) = unbounded_channel();
    let port = relay(server.addr, wire_sender).await;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(&dir.path().join("laptop.db"), &FixedKey("bench-key".into())).unwrap(),
    );
    let token = common::token("alice", common::FIRM);
    let (handle, mut events) = SyncClient::start(
        Arc::clone(&store),
        SyncConfig {
            url: format!("ws://127.0.0.1:{port}/api/v1/sync"),
            token: Arc::new(StaticToken(token)),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        },
    );
    wait_for_state(&mut events, &SyncState::Synced).await;

    // A 300-paragraph draft (~10,000 words), made in the editor's shape and synced first.
    let case = store
        .create_case(&CaseFields {
            title: "Bench matter".into(),
            ..CaseFields::default()
        })
        .unwrap();
    let doc = store
        .create_draft(&case, "Share purchase agreement")
        .unwrap();
    let editor = Doc::new();
    let state = store.full_state(&doc).unwrap();
    editor
        .transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let before = editor.transact().state_vector();
    {
        let mut txn = editor.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment("default");
        for paragraph in 0..300 {
            let element = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            element.push_back(
                &mut txn,
                yrs::XmlTextPrelim::new(format!(
                    "Clause {paragraph}. The seller shall indemnify the buyer against all losses \
                     arising from any breach of the warranties in this agreement."
                )),
            );
        }
    }
    let seed = editor.transact().encode_diff_v1(&before);
    handle.open(doc.clone());
    desktop_command(&store, &doc, seed).await;
    wait_for_state(&mut events, &SyncState::Synced).await;

    store.count_statements().unwrap();
    let warmup = count / 10;
    let mut durable = Vec::with_capacity(count);
    let mut on_wire = Vec::with_capacity(count);
    let (mut locks, mut statements) = (0, 0);
    let (mut ipc_json, mut ipc_raw) = (0usize, 0usize);
    for stroke in 0..warmup + count {
        let update = type_one(&editor, stroke);
        if stroke == warmup {
            locks = store.lock_acquisitions();
            statements = Store::statements_counted();
        }
        ipc_json += serde_json::to_string(&update).unwrap().len();
        ipc_raw += update.len();
        while wire.try_recv().is_ok() {}
        let started = Instant::now();
        desktop_command(&store, &doc, update).await;
        let written = started.elapsed();
        let sent = loop {
            let at = wire.recv().await.unwrap();
            if at >= started {
                break at - started;
            }
        };
        wait_for_state(&mut events, &SyncState::Synced).await;
        if stroke >= warmup {
            durable.push(written);
            on_wire.push(sent);
        }
        // A fast typist: about 12 characters a second.
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    let locks = store.lock_acquisitions() - locks;
    let statements = Store::statements_counted() - statements;
    println!(
        "keystroke path ({count} keystrokes into a 300-paragraph draft, each acked before the next):"
    );
    println!(
        "  keystroke → durable: p50 {} p99 {} max {}",
        ms(percentile(&mut durable, 0.50)),
        ms(percentile(&mut durable, 0.99)),
        ms(*durable.last().unwrap())
    );
    println!(
        "  keystroke → on the wire: p50 {} p99 {} max {}",
        ms(percentile(&mut on_wire, 0.50)),
        ms(percentile(&mut on_wire, 0.99)),
        ms(*on_wire.last().unwrap())
    );
    println!(
        "  per keystroke (until the server's ack is processed): {:.2} store lock acquisitions, {:.2} SQLite statements",
        locks as f64 / count as f64,
        statements as f64 / count as f64
    );
    println!(
        "  across the desktop IPC: {:.1} bytes as a JSON array of numbers, {:.1} bytes raw",
        ipc_json as f64 / (warmup + count) as f64,
        ipc_raw as f64 / (warmup + count) as f64
    );
    handle.shutdown().await;
    let _ = server.shutdown.send(());
}
