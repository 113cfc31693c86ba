//! Scenario 3, idle connections: the server's memory per open, idle connection.

use std::time::Duration;

use futures_util::SinkExt;

use crate::client::{
    answer_step1, connect, dev_token, new_doc_name, next_frame, open_doc, open_many,
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
    // One connection loads the document, so the difference below is connections only.
    let mut primer = connect(&url).await?;
    open_doc(&mut primer, &doc, &token, None).await?;
    let mut tasks = vec![keep(primer, doc.clone(), stop_rx.clone())];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.rss_bytes();
    let sockets = open_many(sizes.idle_connections, |_| {
        let (url, token, doc) = (url.clone(), token.clone(), doc.clone());
        async move {
            let mut ws = connect(&url).await?;
            open_doc(&mut ws, &doc, &token, None).await?;
            anyhow::Ok(ws)
        }
    })
    .await?;
    tasks.extend(
        sockets
            .into_iter()
            .map(|ws| keep(ws, doc.clone(), stop_rx.clone())),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_bytes();
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let target = server.target;
    let per = (after as f64 - before as f64) / sizes.idle_connections as f64;
    Ok(vec![
        row("idle", target, "connections", sizes.idle_connections as f64),
        row("idle", target, "RSS before MiB", before as f64 / 1048576.0),
        row("idle", target, "RSS after MiB", after as f64 / 1048576.0),
        row("idle", target, "bytes/connection", per),
    ])
}
