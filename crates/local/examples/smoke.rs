//! The critical journeys against a running sync-server, as a lawyer's laptop makes them:
//! sign in → open a matter → save a draft → read it back from a second, empty laptop.
//! `scripts/smoke URL` runs this; it prints one line per step and exits 1 on the first failure.
//!
//!   cargo run -p hub-local --example smoke -- --url https://hub.firm.example --token "$TOKEN"

use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_local::{
    DocName, FixedKey, StaticToken, Store, SyncClient, SyncConfig, SyncEvent, SyncState,
};
use yrs::{WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

struct Options {
    url: String,
    token: String,
}

fn options() -> Result<Options, String> {
    let mut url = None;
    let mut token = std::env::var("HUB_SMOKE_TOKEN").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next(),
            "--token" => token = args.next(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url is required (http(s)://host[:port])")?;
    let token = token.ok_or("--token (or HUB_SMOKE_TOKEN) is required")?;
    Ok(Options {
        url: url.trim_end_matches('/').to_owned(),
        token,
    })
}

fn websocket_url(base: &str) -> String {
    let rest = base
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            base.strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })
        .unwrap_or_else(|| base.to_owned());
    format!("{rest}/api/v1/sync")
}

/// A laptop: an encrypted store in a temporary directory, and its sync client.
struct Laptop {
    store: Arc<Store>,
    sync: hub_local::SyncHandle,
    events: tokio::sync::mpsc::UnboundedReceiver<SyncEvent>,
    _dir: tempfile::TempDir,
}

impl Laptop {
    fn start(url: &str, token: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        let key = format!("smoke-{}", uuid::Uuid::new_v4());
        let store = Arc::new(
            Store::open(&dir.path().join("smoke.db"), &FixedKey(key))
                .map_err(|error| format!("local store: {error}"))?,
        );
        let (sync, events) = SyncClient::start(
            store.clone(),
            SyncConfig {
                url: url.to_owned(),
                token: Arc::new(StaticToken(token.to_owned())),
                min_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(2),
            },
        );
        Ok(Self {
            store,
            sync,
            events,
            _dir: dir,
        })
    }

    /// Wait for Synced with an empty outbox (every edit acked after its Postgres commit).
    async fn synced(&mut self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        let mut state = SyncState::Connecting;
        loop {
            let pending = self
                .store
                .pending_count()
                .map_err(|error| error.to_string())?;
            if state == SyncState::Synced && pending == 0 {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(SyncEvent::State(next))) => state = next,
                Ok(Some(SyncEvent::Denied { doc, reason })) => {
                    return Err(format!("the server refused {doc}: {reason}"));
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("the sync client stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "not synced within {STEP_TIMEOUT:?} (state {state:?}, {pending} edits unacknowledged)"
                    ));
                }
            }
        }
    }

    async fn wait_for(&mut self, check: impl Fn(&Store) -> bool) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            if check(&self.store) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(SyncEvent::Denied { doc, reason })) => {
                    return Err(format!("the server refused {doc}: {reason}"));
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("the sync client stopped".into()),
                Err(_) => return Err(format!("not received within {STEP_TIMEOUT:?}")),
            }
        }
    }
}

async fn step<T>(
    number: usize,
    name: &str,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let started = Instant::now();
    match work.await {
        Ok(value) => {
            println!("✔ {number}. {name} ({} ms)", started.elapsed().as_millis());
            Ok(value)
        }
        Err(error) => {
            println!("✘ {number}. {name}: {error}");
            Err(error)
        }
    }
}

async fn journeys(options: Options) -> Result<(), String> {
    let ws = websocket_url(&options.url);
    let http = hub_local::net::network()
        .http()
        .timeout(STEP_TIMEOUT)
        .build()
        .map_err(|error| error.to_string())?;
    let cases_url = format!("{}/api/v1/cases", options.url);

    step(1, "sign in (the server accepts the token)", async {
        let response = http
            .get(&cases_url)
            .bearer_auth(&options.token)
            .send()
            .await
            .map_err(|error| hub_local::net::describe(&error, &cases_url))?;
        match response.status().as_u16() {
            200 => Ok(()),
            401 => Err("401: the token was refused (expired, wrong issuer or audience?)".into()),
            status => Err(format!("{cases_url} answered {status}")),
        }
    })
    .await?;

    let case = hub_local::CaseId::parse(&uuid::Uuid::new_v4().to_string())
        .map_err(|error| error.to_string())?;
    let title = format!("Smoke test {}", chrono_free_now());
    let matter = DocName::case(&case);
    let mut laptop = Laptop::start(&ws, &options.token)?;
    step(
        2,
        "open a matter (created, synced, listed by the server)",
        async {
            laptop
                .store
                .edit(&matter, |_, txn| {
                    hub_local::store::matter_record::create(
                        txn,
                        &hub_local::store::matter_record::CaseFields {
                            title: title.clone(),
                            status: "open".into(),
                            ..Default::default()
                        },
                    );
                })
                .map_err(|error| error.to_string())?;
            laptop.sync.open(matter.clone());
            laptop.synced().await?;
            let listed = http
                .get(&cases_url)
                .bearer_auth(&options.token)
                .send()
                .await
                .map_err(|error| error.to_string())?
                .text()
                .await
                .map_err(|error| error.to_string())?;
            if listed.contains(case.as_str()) {
                Ok(())
            } else {
                Err(format!("GET /api/v1/cases does not list matter {case}"))
            }
        },
    )
    .await?;

    let draft = DocName::draft(&case, &uuid::Uuid::new_v4().to_string())
        .map_err(|error| error.to_string())?;
    let sentence = format!("The smoke test wrote this sentence ({case}).");
    step(
        3,
        "save a draft (acknowledged after the server's commit)",
        async {
            laptop
                .store
                .edit(&draft, |_, txn| {
                    let fragment = txn.get_or_insert_xml_fragment("default");
                    let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
                    paragraph.push_back(txn, XmlTextPrelim::new(sentence.as_str()));
                })
                .map_err(|error| error.to_string())?;
            laptop.sync.open(draft.clone());
            laptop.synced().await
        },
    )
    .await?;

    step(4, "read the draft back on a second, empty laptop", async {
        let mut second = Laptop::start(&ws, &options.token)?;
        second.sync.open(draft.clone());
        let expected = sentence.clone();
        let name = draft.clone();
        second
            .wait_for(move |store| {
                store
                    .read(&name, |txn| {
                        hub_local::store::draft::plain_text(txn).contains(&expected)
                    })
                    .unwrap_or(false)
            })
            .await?;
        second.sync.shutdown().await;
        Ok(())
    })
    .await?;
    laptop.sync.shutdown().await;
    Ok(())
}

/// Seconds since the epoch, for a recognisable title without a date crate.
fn chrono_free_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("smoke: {error}");
            std::process::exit(2);
        }
    };
    let target = options.url.clone();
    match journeys(options).await {
        Ok(()) => println!("smoke: all journeys passed against {target}"),
        Err(_) => {
            println!("smoke: FAILED against {target}");
            std::process::exit(1);
        }
    }
}
