//! Desktop sign-in against a real OpenID Connect provider (npm `oidc-provider`, configured in
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
//! tests/node/oidc-provider.mjs), driven headlessly: the "system browser" is an HTTP client that
//! follows the authorization URL through the provider's automatic login and consent to our
//! loopback callback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hub_local::{MemoryTokenStore, SignIn, SignInConfig, TokenSource, TokenStore, Url};
use tokio::sync::oneshot;

#[path = "support/oidc.rs"]
mod oidc;

use oidc::*;

fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn full_desktop_flow_signs_in_with_pkce_and_a_jwt_access_token() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;

    let (signed_in, visit) = sign_in_headless(&sign_in).await;
    let signed_in = signed_in.unwrap();

    let params = query(&visit.authorization_url);
    assert!(
        visit
            .authorization_url
            .as_str()
            .starts_with(&format!("{}/auth?", provider.issuer))
    );
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43, "base64url of a SHA-256");
    assert!(params["state"].len() >= 16);
    let redirect_uri = Url::parse(&params["redirect_uri"]).unwrap();
    assert_eq!(redirect_uri.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect_uri.path(), "/callback");
    assert_ne!(redirect_uri.port(), None);

    let (status, page) = visit.page.await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Signed in to Lawyers Hub — you can close this tab"));

    let token = signed_in.token().unwrap();
    assert_eq!(token, signed_in.access_token().unwrap());
    let claims = jwt_payload(&token);
    assert_eq!(claims["o"]["id"], "firm-acme");
    assert_eq!(claims["o"]["rol"], "admin");
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["sub"], "ada@firm-acme");
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert!(claims["sid"].is_string());
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());

    let refresh_token = store.load().unwrap().expect("the refresh token is stored");
    assert_ne!(refresh_token, token);
    assert_eq!(format!("{signed_in:?}"), "SignedIn(<redacted>)");
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_the_old_one_is_refused() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    let mut changes = signed_in.token_changes();
    changes.borrow_and_update();
    let first_access = signed_in.token().unwrap();
    let first_refresh = store.load().unwrap().unwrap();

    signed_in.refresh().await.unwrap();

    assert!(
        changes.has_changed().unwrap(),
        "watchers hear of the new token"
    );
    let second_access = signed_in.token().unwrap();
    let second_refresh = store.load().unwrap().unwrap();
    assert_ne!(second_access, first_access);
    assert_ne!(second_refresh, first_refresh, "the refresh token rotated");
    assert_eq!(jwt_payload(&second_access)["o"]["id"], "firm-acme");

    // The provider refuses the old refresh token (reuse detection).
    let metadata: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let reused = reqwest::Client::new()
        .post(metadata["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first_refresh.as_str()),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status().as_u16(), 400);
    let body: serde_json::Value = reused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_access_token_is_refreshed_before_it_expires() {
    // 2 s tokens: refreshed halfway (the 60 s margin is longer than the whole life).
    let provider = start_provider(2).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    let first_access = signed_in.token().unwrap();
    let first_refresh = store.load().unwrap().unwrap();
    let mut changes = signed_in.token_changes();
    changes.borrow_and_update();

    tokio::time::timeout(Duration::from_secs(15), changes.changed())
        .await
        .expect("a background refresh within the token's life")
        .unwrap();

    assert_ne!(signed_in.token().unwrap(), first_access);
    assert_ne!(store.load().unwrap().unwrap(), first_refresh);
}

#[tokio::test]
async fn restore_then_sign_out_wipes_both_tokens() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let first = sign_in_headless(&sign_in).await.0.unwrap();
    let first_access = first.token().unwrap();
    drop(first);

    // App restart: a new discovery over the same store signs in without the browser.
    let restarted = discover(&provider, store.clone()).await;
    let restored = restarted.restore().await.unwrap().expect("restored");
    assert_ne!(restored.token().unwrap(), first_access);
    let sync_token: Arc<dyn TokenSource> = Arc::new(restored.clone());

    restored.sign_out().await.unwrap();

    assert_eq!(store.load().unwrap(), None);
    assert_eq!(sync_token.token().unwrap_err().code(), "signin_required");
    assert_eq!(
        restored.refresh().await.unwrap_err().code(),
        "signin_required"
    );
    assert!(restarted.restore().await.unwrap().is_none());
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_is_refused() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let (page_tx, page) = oneshot::channel();

    let result = sign_in
        .sign_in(|url| {
            let mut callback = Url::parse(&query(url)["redirect_uri"]).unwrap();
            callback
                .query_pairs_mut()
                .append_pair("code", "stolen-code")
                .append_pair("state", "not-the-state-we-sent");
            tokio::spawn(async move {
                let _ = page_tx.send(browse(callback).await);
            });
        })
        .await;

    assert_eq!(result.unwrap_err().code(), "signin_state_mismatch");
    let (status, body) = page.await.unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("did not complete"));
    assert_eq!(store.load().unwrap(), None);
}

#[tokio::test]
async fn sign_in_times_out_when_the_browser_never_comes_back() {
    let provider = start_provider(300).await;
    let mut config = SignInConfig::new(&provider.issuer, CLIENT_ID);
    config.browser_timeout = Duration::from_millis(300);
    let sign_in = SignIn::discover(config, Arc::new(MemoryTokenStore::new()))
        .await
        .unwrap();

    let error = sign_in.sign_in(|_url| {}).await.unwrap_err();

    assert_eq!(error.code(), "signin_timeout");
}

#[tokio::test]
async fn discovery_refuses_a_provider_that_names_another_issuer() {
    let provider = start_provider(300).await;
    let other_name = provider.issuer.replace("127.0.0.1", "localhost");

    let error = SignIn::discover(
        SignInConfig::new(other_name, CLIENT_ID),
        Arc::new(MemoryTokenStore::new()),
    )
    .await
    .unwrap_err();

    assert_eq!(error.code(), "signin_discovery");
}
