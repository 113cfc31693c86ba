//! One local store per account, with the real server and a real laptop (SQLCipher store + sync
//! client): a store that synced for one (server, firm, user) never uploads to another, and
//! matters made on the laptop before any sign-in stay on it until the lawyer attaches them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use local::{Account, DocName, SyncEvent, SyncState, normalize_server};

const WAIT: Duration = Duration::from_secs(20);

async fn document_firm(database_url: &str, doc: &DocName) -> Option<String> {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let firm = sqlx::query_scalar("SELECT firm_id FROM documents WHERE name = $1")
        .bind(doc.as_str())
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    firm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_firms_token_uploads_nothing_from_this_store() {
    let firm = Firm::one_instance().await;
    let database = &firm.database;
    let url = firm.url();
    let path = firm.store_path("laptop");

    // ada@firm-a syncs a matter, then writes a second one while offline.
    let synced = draft_name(&new_case());
    let mut laptop = Laptop::online(&path, &url, &token("ada", "firm-a"));
    laptop
        .write_and_sync(&synced, "Firm A's privileged strategy. ", WAIT)
        .await;
    laptop.disconnect().await;
    let unsent = draft_name(&new_case());
    laptop.type_text(&unsent, "Firm A's unsent advice. ");
    let pending = laptop.store.pending_count().unwrap();
    assert!(pending > 0);

    // The same store, now with mallory@firm-b's token.
    laptop.connect(&url, &token("mallory", "firm-b"));
    laptop.open(&synced);
    laptop.open(&unsent);
    let (bound, signed_in) = laptop.wait_account_mismatch(WAIT).await;
    laptop.disconnect().await;
    let server_name = normalize_server(&url).unwrap();
    assert_eq!(
        bound,
        Account {
            server: server_name.clone(),
            firm: "firm-a".into(),
            user: "ada".into()
        }
    );
    assert_eq!(
        signed_in,
        Account {
            server: server_name,
            firm: "firm-b".into(),
            user: "mallory".into()
        }
    );

    assert_eq!(
        document_firm(database, &unsent).await,
        None,
        "firm A's unsent matter reached the server"
    );
    assert_eq!(stored_text(database, &unsent, "body").await, "");
    assert_eq!(
        document_firm(database, &synced).await.as_deref(),
        Some("firm-a")
    );
    assert_eq!(
        laptop.store.pending_count().unwrap(),
        pending,
        "the outbox is kept"
    );
    assert!(
        laptop.body(&synced).contains("privileged"),
        "nothing was purged"
    );

    // ada signs in again: her unsent matter goes to her firm, as it always should have.
    laptop.connect(&url, &token("ada", "firm-a"));
    laptop.open(&unsent);
    laptop.wait_synced(WAIT).await;
    assert_eq!(
        document_firm(database, &unsent).await.as_deref(),
        Some("firm-a")
    );
    assert!(
        stored_text(database, &unsent, "body")
            .await
            .contains("unsent advice")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_server_gets_nothing_from_this_store() {
    let firm = Firm::one_instance().await;
    let other = Firm::one_instance().await;
    let path = firm.store_path("laptop");

    let synced = draft_name(&new_case());
    let mut laptop = Laptop::online(&path, &firm.url(), &token("ada", "firm-a"));
    laptop
        .write_and_sync(&synced, "Synced to the firm's server. ", WAIT)
        .await;
    laptop.disconnect().await;
    let unsent = draft_name(&new_case());
    laptop.type_text(&unsent, "Written on the train. ");

    // The server address changed in Settings (same user, same firm, another server).
    laptop.connect(&other.url(), &token("ada", "firm-a"));
    laptop.open(&synced);
    let (bound, signed_in) = laptop.wait_account_mismatch(WAIT).await;
    laptop.disconnect().await;
    assert_eq!(bound.server, normalize_server(&firm.url()).unwrap());
    assert_eq!(signed_in.server, normalize_server(&other.url()).unwrap());
    assert_eq!(document_firm(&other.database, &synced).await, None);
    assert_eq!(document_firm(&other.database, &unsent).await, None);
    assert_eq!(
        laptop.store.pending_count().unwrap(),
        1,
        "the outbox is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matters_made_before_sign_in_wait_to_be_attached() {
    let firm = Firm::one_instance().await;
    let database = &firm.database;
    let url = firm.url();
    let path = firm.store_path("laptop");

    let early = draft_name(&new_case());
    let mut laptop = Laptop::offline(&path);
    laptop.type_text(&early, "Made before anyone signed in. ");

    laptop.connect(&url, &token("ada", "firm-a"));
    let later = draft_name(&new_case());
    laptop.open(&later);
    laptop.type_text(&later, "Made after sign-in. ");
    laptop.open(&early);
    laptop.wait_sent(&later, WAIT).await;
    assert_eq!(
        document_firm(database, &later).await.as_deref(),
        Some("firm-a")
    );
    assert_eq!(
        document_firm(database, &early).await,
        None,
        "an unattached matter was uploaded"
    );
    assert_eq!(stored_text(database, &early, "body").await, "");
    assert_eq!(
        laptop.store.local_only_matters().unwrap(),
        vec![early.case_id().to_string()]
    );
    assert!(
        laptop
            .store
            .pending()
            .unwrap()
            .iter()
            .any(|entry| entry.doc == early),
        "kept"
    );

    // The lawyer chooses to upload it to the firm.
    assert_eq!(laptop.store.attach_local_matters().unwrap(), 1);
    laptop.handle.as_ref().unwrap().matters_attached();
    laptop.wait_sent(&early, WAIT).await;
    assert_eq!(
        document_firm(database, &early).await.as_deref(),
        Some("firm-a")
    );
    assert!(
        stored_text(database, &early, "body")
            .await
            .contains("before anyone signed in")
    );
    assert!(laptop.store.local_only_matters().unwrap().is_empty());
}

/// A token source whose holder signs in as someone else while connected.
struct Switching {
    current: std::sync::Mutex<String>,
    ticks: tokio::sync::watch::Sender<u64>,
}

impl local::TokenSource for Switching {
    fn token(&self) -> Result<String, local::LocalError> {
        Ok(self.current.lock().unwrap().clone())
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.ticks.subscribe())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_account_on_an_open_connection_is_never_used() {
    let firm = Firm::one_instance().await;
    let database = &firm.database;
    let url = firm.url();
    let tokens = std::sync::Arc::new(Switching {
        current: std::sync::Mutex::new(token("ada", "firm-a")),
        ticks: tokio::sync::watch::channel(0).0,
    });
    let mut laptop = Laptop::offline(&firm.store_path("laptop"));
    laptop.connect_with(&url, tokens.clone());
    let first = draft_name(&new_case());
    laptop
        .write_and_sync(&first, "ada's first matter. ", WAIT)
        .await;

    // Signed in as mallory@firm-b while connected, then more work on the laptop.
    *tokens.current.lock().unwrap() = token("mallory", "firm-b");
    tokens.ticks.send_modify(|tick| *tick += 1);
    let second = draft_name(&new_case());
    laptop.open(&second);
    laptop.type_text(&second, "ada's second matter. ");
    laptop.type_text(&first, "More of ada's work. ");
    let (bound, signed_in) = laptop.wait_account_mismatch(WAIT).await;
    assert_eq!(
        (bound.user.as_str(), signed_in.user.as_str()),
        ("ada", "mallory")
    );
    laptop.disconnect().await;

    // Nothing went to firm-b; what did go, went to ada's firm as ada.
    assert_ne!(
        document_firm(database, &second).await.as_deref(),
        Some("firm-b")
    );
    assert_eq!(
        document_firm(database, &first).await.as_deref(),
        Some("firm-a")
    );
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    let in_firm_b: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents WHERE firm_id = 'firm-b'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(in_firm_b, 0);
    pool.close().await;
}

/// The store is bound when the server accepts the token, not when the client starts: a token
/// the server refuses (here signed with another key, as a forged or stale one would be) leaves
/// the store unbound and sends nothing, and the lawyer's real account can still take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_never_binds_the_store() {
    let firm = Firm::one_instance().await;
    let database = &firm.database;
    let url = firm.url();
    let path = firm.store_path("laptop");

    let mut laptop = Laptop::offline(&path);
    let draft = draft_name(&new_case());
    laptop.type_text(&draft, "Written before signing in. ");
    let forged = sync_server::auth::DevAuth::new("not the server's secret")
        .mint("mallory", "firm-b", 3600)
        .unwrap();
    laptop.connect(&url, &forged);
    laptop.open(&draft);
    // The server answers the catch-up channel's authentication with a refusal; give the client
    // time to hear it (it keeps retrying with backoff).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        laptop.store.account().unwrap(),
        None,
        "a refused token took the store"
    );
    laptop.disconnect().await;
    assert_eq!(document_firm(database, &draft).await, None);

    // The lawyer signs in properly: the store is hers.
    laptop.connect(&url, &token("ada", "firm-a"));
    let later = draft_name(&new_case());
    laptop.open(&later);
    laptop.type_text(&later, "Written after signing in. ");
    laptop.wait_sent(&later, WAIT).await;
    assert_eq!(
        document_firm(database, &later).await.as_deref(),
        Some("firm-a")
    );
    assert_eq!(
        laptop.store.account().unwrap().map(|account| account.user),
        Some("ada".to_owned())
    );
    assert_eq!(
        laptop.store.local_only_matters().unwrap(),
        vec![draft.case_id().to_string()],
        "made before signing in: kept on this computer until attached"
    );
}

/// One store file per account: signing in as a lawyer of another firm (or another lawyer)
/// switches to that account's own file, which syncs to that account alone; switching back
/// finds the first account's store as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_syncs_its_own_store_file() {
    let firm = Firm::one_instance().await;
    let database = &firm.database;
    let url = firm.url();
    let files = local::StoreFiles::new(firm.dir.path());

    let ada = token("ada", "firm-a");
    let ada_account = Account::of_token(&url, &ada).unwrap();
    assert_eq!(files.path_for(None, &ada_account), files.default_path());
    let firm_a = draft_name(&new_case());
    let mut first = Laptop::online(&files.default_path(), &url, &ada);
    first
        .write_and_sync(&firm_a, "Firm A's privileged strategy. ", WAIT)
        .await;
    first.disconnect().await;
    let unsent = draft_name(&new_case());
    first.type_text(&unsent, "Firm A's unsent advice. ");
    let owner = first.store.account().unwrap();
    assert_eq!(owner.as_ref(), Some(&ada_account));

    // The same computer, signed in as a lawyer of firm B.
    let mallory = token("mallory", "firm-b");
    let mallory_account = Account::of_token(&url, &mallory).unwrap();
    let other = files.path_for(owner.as_ref(), &mallory_account);
    assert_ne!(other, files.default_path());
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let firm_b = draft_name(&new_case());
    let mut second = Laptop::online(&other, &url, &mallory);
    second
        .write_and_sync(&firm_b, "Firm B's own matter. ", WAIT)
        .await;
    second.disconnect().await;
    assert_eq!(
        document_firm(database, &firm_b).await.as_deref(),
        Some("firm-b")
    );
    assert_eq!(document_firm(database, &unsent).await, None);
    assert_eq!(second.body(&firm_a), "");
    assert_eq!(second.body(&unsent), "");
    assert_eq!(
        second.store.account().unwrap(),
        Some(mallory_account.clone())
    );
    // Each account finds its own file again, whoever is asked first.
    assert_eq!(files.path_for(owner.as_ref(), &mallory_account), other);
    assert_eq!(
        files.path_for(owner.as_ref(), &ada_account),
        files.default_path()
    );

    // ada again: her unsent matter goes to her firm.
    drop(second);
    first.connect(&url, &ada);
    first.open(&unsent);
    first.wait_sent(&unsent, WAIT).await;
    assert_eq!(
        document_firm(database, &unsent).await.as_deref(),
        Some("firm-a")
    );
    assert_eq!(first.body(&firm_b), "");
}

/// A laptop whose token the server stops accepting (the IdP rotated its signing key, the
/// sign-in was revoked) is told why and is never shown as synced while its edits wait: before,
/// the refused catch-up channel was ignored, every document was refused one by one, and the
/// connection stayed open reporting "synced".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_on_a_bound_store_is_a_problem_never_synced() {
    let firm = Firm::one_instance().await;
    let url = firm.url();
    let doc = draft_name(&new_case());
    let mut laptop = Laptop::online(&firm.store_path("laptop"), &url, &token("ada", "firm-a"));
    laptop.write_and_sync(&doc, "Synced once. ", WAIT).await;
    laptop.disconnect().await;
    laptop.type_text(&doc, "Written while the key rotated. ");

    let refused = sync_server::auth::DevAuth::new("a key the server no longer trusts")
        .mint("ada", "firm-a", 3600)
        .unwrap();
    laptop.connect(&url, &refused);
    laptop.open(&doc);
    let events = laptop.events.as_mut().unwrap();
    let problem = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("client running") {
                SyncEvent::Problem(problem) => return problem,
                SyncEvent::State(SyncState::Synced) => {
                    panic!("reported synced with a refused token and an unsent edit")
                }
                _ => {}
            }
        }
    })
    .await
    .expect("told why, in time");
    assert!(problem.contains("refused the sign-in"), "{problem}");
    assert_eq!(laptop.store.pending_count().unwrap(), 1, "the edit is kept");
    laptop.disconnect().await;
}
