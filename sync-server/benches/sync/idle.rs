//! Scenario 3, idle connections: the server's memory per open, idle connection.

use std::time::Duration;

use futures_util::SinkExt;

use crate::client::{
    answer_step1, connect, dev_token, new_doc_name, next_frame, open_doc, open_readers,
};
use crate::options::Sizes;
use crate::raw::Socket;
use crate::report::{Row, row};
use crate::server::Server;

pub async fn run(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-idle", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let keep = |mut ws: Socket, doc: String, mut stop: tokio::sync::watch::Receiver<bool>| {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    frame = next_frame(&mut ws) => match frame {
                        Ok(Some(frame)) => {
                            if let Some(reply) = answer_step1(&doc, &frame.message, None)
                                && ws.send(reply).await.is_err()
                            {
                                break;
                            }
                        }
                        _ => break,
                    },
                }
            }
            let _ = ws.close(None).await;
        })
    };
    // One connection loads the document; then connections are added in steps and RSS read at
    // each (after 2 s settled). The slope from the first step to each later one is what each
    // further lawyer costs, free of the start-up and first-connection costs.
    let mut primer = connect(&url).await?;
    open_doc(&mut primer, &doc, &token, None).await?;
    let mut tasks = vec![keep(primer, doc.clone(), stop_rx.clone())];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut open = 0usize;
    let mut readings: Vec<(usize, u64)> = Vec::new();
    for &step in &sizes.idle_steps {
        let sockets = open_readers(step.saturating_sub(open), &url, &doc, &token).await?;
        open = step.max(open);
        tasks.extend(
            sockets
                .into_iter()
                .map(|ws| keep(ws, doc.clone(), stop_rx.clone())),
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        readings.push((open, server.rss_bytes()));
    }
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let target = server.target;
    let mut rows = Vec::new();
    if let Some(&(first, first_rss)) = readings.first() {
        rows.push(row(
            "idle",
            target,
            "RSS at first step MiB",
            first_rss as f64 / 1048576.0,
        ));
        for &(count, rss) in &readings[1..] {
            let slope = (rss as f64 - first_rss as f64) / (count - first) as f64;
            rows.push(row(
                "idle",
                target,
                if count == *sizes.idle_steps.last().unwrap_or(&0) {
                    "bytes/connection (slope to last)"
                } else {
                    "bytes/connection (slope to mid)"
                },
                slope,
            ));
        }
    }
    Ok(rows)
}
