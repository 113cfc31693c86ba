//! Zero-downtime rolling restart: two sync-server processes behind a real nginx on loopback,
//! sharing Postgres and Redis. Lawyers edit continuously while one instance gets SIGTERM and is
//! restarted, then the other. Every acknowledged edit is durable, every client converges, and
//! the longest time any edit waited for its ack (the client-visible stall) is measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(60);
const CLIENTS: usize = 4;
/// Each client makes one edit this often.
const EDIT_EVERY: Duration = Duration::from_millis(40);
/// The stall above which the test fails outright (the target is 2 s; a loaded 2-core CI
/// machine gets headroom, and the figure is printed either way).
const STALL_LIMIT: Duration = Duration::from_secs(5);

fn spawn_server(db: &str, port: u16, logs: &Path) -> ChildProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("server-{port}.log")))
        .unwrap();
    ChildProcess::spawn(
        sync_server_command(db, port)
            .env("REDIS_URL", redis_url())
            .env("HUB_SHUTDOWN_TIMEOUT_SECS", "5")
            .env("HUB_LOG", "info")
            .stderr(log),
        "sync-server binary runs",
    )
}

async fn wait_ready(port: u16) {
    let deadline = Instant::now() + WAIT;
    let url = format!("http://127.0.0.1:{port}/readyz");
    loop {
        if let Ok(response) = reqwest::get(&url).await
            && response.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "instance on {port} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// nginx on `port` balancing over the two instances, retrying the other one when an instance
/// refuses or is gone.
fn spawn_nginx(dir: &Path, port: u16, upstreams: [u16; 2]) -> ChildProcess {
    let http = format!(
        r#"  upstream hub {{
    server 127.0.0.1:{a} max_fails=1 fail_timeout=1s;
    server 127.0.0.1:{b} max_fails=1 fail_timeout=1s;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://hub;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_connect_timeout 1s;
      # A draining instance refuses new sockets with 503: try the other one.
      proxy_next_upstream error timeout http_502 http_503;
    }}
  }}
"#,
        a = upstreams[0],
        b = upstreams[1],
    );
    nginx(dir, 1024, &http)
}

/// One edit's life: typed at `typed`, its outbox entry `id`, acked (entry gone) at `acked`.
struct Edit {
    marker: String,
    id: i64,
    typed: Instant,
    acked: Option<Instant>,
}

struct Client {
    laptop: Laptop,
    edits: Vec<Edit>,
    next_edit: Instant,
    /// Times the client lost its connection (a restart reached it).
    disconnects: usize,
}

impl Client {
    fn type_edit(&mut self, index: usize, number: usize, doc: &local::DocName) {
        let marker = format!("<{index}.{number}>");
        self.laptop.type_text(doc, &marker);
        // Acks come in order, so the newest outbox entry is this edit's, unless the edit was
        // already acked (a test thread descheduled for a few milliseconds on a loaded machine):
        // then the outbox is empty.
        let newest = self
            .laptop
            .store
            .pending()
            .unwrap()
            .last()
            .map(|entry| entry.id);
        let typed = Instant::now();
        self.edits.push(Edit {
            marker,
            id: newest.unwrap_or(-1),
            typed,
            acked: newest.is_none().then_some(typed),
        });
    }

    fn record_disconnects(&mut self) {
        let events = self.laptop.events.as_mut().expect("online");
        while let Ok(event) = events.try_recv() {
            if let local::SyncEvent::State(state) = event {
                if matches!(
                    state,
                    local::SyncState::Connecting | local::SyncState::Offline
                ) && !matches!(
                    self.laptop.state,
                    local::SyncState::Connecting | local::SyncState::Offline
                ) {
                    self.disconnects += 1;
                }
                self.laptop.state = state;
            }
        }
    }

    fn record_acks(&mut self) {
        let pending: BTreeSet<i64> = self
            .laptop
            .store
            .pending()
            .unwrap()
            .iter()
            .map(|entry| entry.id)
            .collect();
        let now = Instant::now();
        for edit in self.edits.iter_mut().filter(|edit| edit.acked.is_none()) {
            if !pending.contains(&edit.id) {
                edit.acked = Some(now);
            }
        }
    }

    fn acked_markers(&self) -> Vec<&str> {
        self.edits
            .iter()
            .filter(|edit| edit.acked.is_some())
            .map(|edit| edit.marker.as_str())
            .collect()
    }
}

/// What the restart controller reports to the editing loop.
enum Step {
    /// Instance `port` exited after SIGTERM, taking `took`.
    Exited {
        port: u16,
        took: Duration,
    },
    Done,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_behind_nginx_loses_no_acked_edit_and_clients_converge() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let proxy_port = free_port();
    let servers = [
        spawn_server(&db, ports[0], dir.path()),
        spawn_server(&db, ports[1], dir.path()),
    ];
    wait_ready(ports[0]).await;
    wait_ready(ports[1]).await;
    let _nginx = spawn_nginx(dir.path(), proxy_port, ports);
    wait_for_port(proxy_port, "nginx").await;
    let url = format!("ws://127.0.0.1:{proxy_port}/api/v1/sync");

    // The owner opens the draft (creating the matter), then adds three editors through the proxy.
    let doc = draft_name(&new_case());
    let users: Vec<String> = (0..CLIENTS)
        .map(|index| format!("lawyer-{index}"))
        .collect();
    let mut clients: Vec<Client> = Vec::new();
    for (index, user) in users.iter().enumerate() {
        let mut laptop = Laptop::online(
            &dir.path().join(format!("{user}.db")),
            &url,
            &token(user, FIRM),
        );
        if index == 0 {
            laptop.write_and_sync(&doc, "", WAIT).await;
            for editor in &users[1..] {
                let response = reqwest::Client::new()
                    .put(format!(
                        "http://127.0.0.1:{proxy_port}/api/v1/cases/{}/members/{editor}",
                        doc.case_id()
                    ))
                    .bearer_auth(token(user, FIRM))
                    .json(&serde_json::json!({ "role": "editor" }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 204);
            }
        } else {
            laptop.open(&doc);
            laptop.wait_synced(WAIT).await;
        }
        clients.push(Client {
            laptop,
            edits: Vec::new(),
            next_edit: Instant::now(),
            disconnects: 0,
        });
    }

    // The controller restarts one instance, then the other, while the loop below keeps editing.
    let (steps, mut step_rx) = tokio::sync::mpsc::unbounded_channel::<Step>();
    let logs = dir.path().to_owned();
    let controller_db = db.clone();
    let controller = tokio::spawn(async move {
        let mut servers = servers;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for (slot, port) in ports.into_iter().enumerate() {
            let signalled = Instant::now();
            servers[slot].sigterm();
            let status = loop {
                if let Some(status) = servers[slot].0.try_wait().unwrap() {
                    break status;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            let took = signalled.elapsed();
            assert!(status.success(), "instance {port} exited with {status:?}");
            steps.send(Step::Exited { port, took }).unwrap();
            servers[slot] = spawn_server(&controller_db, port, &logs);
            wait_ready(port).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        steps.send(Step::Done).unwrap();
        servers
    });

    let started = Instant::now();
    let mut number = 0;
    let mut exits = Vec::new();
    let mut durable_checks = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    loop {
        tick.tick().await;
        let now = Instant::now();
        for (index, client) in clients.iter_mut().enumerate() {
            if now >= client.next_edit {
                number += 1;
                client.type_edit(index, number, &doc);
                client.next_edit = now + EDIT_EVERY;
            }
            client.record_acks();
            client.record_disconnects();
        }
        match step_rx.try_recv() {
            Ok(Step::Exited { port, took }) => {
                // Everything acked so far, through either instance, is in Postgres.
                let durable = stored_text(&db, &doc, "body").await;
                for client in &clients {
                    for marker in client.acked_markers() {
                        assert!(
                            durable.contains(marker),
                            "edit {marker} was acked but is not in Postgres after {port} stopped"
                        );
                    }
                    durable_checks += client.acked_markers().len();
                }
                exits.push((port, took));
            }
            Ok(Step::Done) => break,
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the rolling restart took too long"
        );
    }
    let _servers = controller.await.unwrap();
    let editing = started.elapsed();

    // Everyone catches up: every edit acked, every replica identical to Postgres.
    for client in &mut clients {
        client.laptop.wait_synced(WAIT).await;
        client.record_acks();
    }
    let all_markers: Vec<String> = clients
        .iter()
        .flat_map(|client| client.edits.iter().map(|edit| edit.marker.clone()))
        .collect();
    let durable = stored_text(&db, &doc, "body").await;
    for marker in &all_markers {
        assert!(durable.contains(marker.as_str()), "edit {marker} was lost");
    }
    for client in &mut clients {
        client
            .laptop
            .wait_until("convergence", WAIT, |store| {
                store.text(&doc, "body").unwrap() == durable
            })
            .await;
    }

    // The client-visible stall: the longest any edit waited for its ack.
    let mut waits: Vec<Duration> = clients
        .iter()
        .flat_map(|client| client.edits.iter())
        .map(|edit| edit.acked.expect("acked") - edit.typed)
        .collect();
    waits.sort();
    let longest = *waits.last().unwrap();
    let p50 = waits[waits.len() / 2];
    let p99 = waits[waits.len() * 99 / 100];
    println!(
        "ROLLING RESTART: {CLIENTS} clients, {} edits in {:.1} s through nginx, 2 instances restarted in turn; \
         lost 0; acked edits checked in Postgres at the two exits (sum) {durable_checks}; ack wait p50 {} ms, p99 {} ms, longest stall {} ms; \
         SIGTERM to exit {:?} ms",
        all_markers.len(),
        editing.as_secs_f64(),
        p50.as_millis(),
        p99.as_millis(),
        longest.as_millis(),
        exits
            .iter()
            .map(|(_, took)| took.as_millis())
            .collect::<Vec<_>>(),
    );
    assert_eq!(exits.len(), 2);
    let disconnects: Vec<usize> = clients.iter().map(|client| client.disconnects).collect();
    println!("disconnects per client: {disconnects:?}");
    assert!(
        disconnects.iter().all(|count| *count >= 1),
        "every client was on a restarted instance: {disconnects:?}"
    );
    for (_, took) in &exits {
        assert!(
            *took < Duration::from_secs(6),
            "an instance took {took:?} to exit"
        );
    }
    assert!(
        longest <= STALL_LIMIT,
        "the longest stall was {longest:?} (target 2 s)"
    );
    for client in &mut clients {
        client.laptop.disconnect().await;
    }
}
