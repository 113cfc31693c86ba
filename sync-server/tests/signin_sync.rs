//! The whole identity chain with real parts: a lawyer signs in on the desktop side (PKCE through
//! a real OIDC provider, headless browser), and the sync-server — configured for that provider's
//! JWKS, issuer, audience and azp — accepts the resulting RS256 token for sync and REST, also
//! after a refresh rotates it and after an app restart restores the sign-in without a browser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

extern crate local as hub_local;

mod common;
#[path = "../../crates/local/tests/support/oidc.rs"]
mod oidc;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use local::{MemoryTokenStore, SyncClient, SyncConfig, SyncEvent, SyncState, TokenSource};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lawyer_signs_in_with_oidc_and_syncs_with_that_token() {
    let provider = oidc::start_provider(300).await;
    let kept_tokens = Arc::new(MemoryTokenStore::new());
    let sign_in = oidc::discover(&provider, kept_tokens.clone()).await;
    let (signed_in, _visit) = oidc::sign_in_headless(&sign_in).await;
    let signed_in = signed_in.unwrap();

    // The firm's server trusts exactly this provider.
    let discovery: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let db = fresh_database().await;
    let mut config = settings(&db, None);
    config.dev_auth = false;
    config.identity.issuer = Some(provider.issuer.clone());
    config.identity.jwks_url = Some(discovery["jwks_uri"].as_str().unwrap().to_owned());
    config.identity.authorized_parties = vec![oidc::CLIENT_ID.into()];
    config.identity.audiences = vec!["urn:lawyers-hub:sync".into()];
    let server = sync_server::app::start(&config)
        .await
        .expect("starts against the provider's JWKS");

    // Sync with the signed-in session as the token source.
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("ada.db"));
    let doc = draft_name(&new_case());
    // Signed in before the matter is written (one written before any sign-in stays local-only
    // until attached): the store belongs to this account.
    let account =
        local::Account::of_token(&ws_url(&server), &signed_in.access_token().unwrap()).unwrap();
    store.bind_account(&account).unwrap();
    store
        .edit(&doc, |_, txn| {
            use yrs::{Text, WriteTxn};
            let body = txn.get_or_insert_text("body");
            body.insert(txn, 0, "Engagement letter, signed in with OIDC.");
        })
        .unwrap();
    let (handle, mut events) = SyncClient::start(
        store.clone(),
        SyncConfig {
            url: ws_url(&server),
            token: Arc::new(signed_in.clone()),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        },
    );
    handle.open(doc.clone());
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.pending_count().unwrap() != 0 {
        match tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("synced in time")
            .unwrap()
        {
            SyncEvent::Denied { reason, .. } => panic!("denied: {reason}"),
            SyncEvent::State(SyncState::Synced)
            | SyncEvent::State(_)
            | SyncEvent::RemoteUpdate { .. } => {}
            SyncEvent::AccountMismatch { bound, signed_in } => {
                panic!("account mismatch: {bound} / {signed_in}")
            }
            SyncEvent::Awareness { .. }
            | SyncEvent::MatterRemoved { .. }
            | SyncEvent::RoleChanged { .. }
            | SyncEvent::Problem(_) => {}
        }
    }
    assert_eq!(
        stored_text(&db, &doc, "body").await,
        "Engagement letter, signed in with OIDC."
    );

    // REST with the same token: the matter is Ada's, and the firm came from the `o.id` claim.
    let cases = |token: String| {
        let url = format!("http://{}/api/v1/cases", server.addr);
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let (status, listed) = cases(signed_in.token().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["id"], doc.case_id().as_str());
    assert_eq!(listed[0]["role"], "owner");

    // A refresh rotates the access token; the new one is accepted too.
    let before = signed_in.token().unwrap();
    signed_in.refresh().await.unwrap();
    let after = signed_in.token().unwrap();
    assert_ne!(before, after);
    assert_eq!(cases(after).await.0, 200);
    let firm: Option<String> = sqlx::query_scalar("SELECT firm_id FROM cases LIMIT 1")
        .fetch_optional(&sqlx::PgPool::connect(&db).await.unwrap())
        .await
        .unwrap();
    assert_eq!(firm.as_deref(), Some("firm-acme"));
    handle.shutdown().await;

    // App restart: the sign-in kept next to the refresh token is restored without a browser,
    // and the firm's server accepts the restored access token.
    drop(signed_in);
    let restored = match local::SignIn::restore_kept(
        local::SignInConfig::new(&provider.issuer, oidc::CLIENT_ID),
        kept_tokens,
    )
    .await
    {
        local::Restored::SignedIn(restored) => restored,
        other => panic!("the kept sign-in was not restored: {other:?}"),
    };
    let (status, listed) = cases(restored.token().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["id"], doc.case_id().as_str());
}
