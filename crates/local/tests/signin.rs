//! Desktop sign-in against a real OpenID Connect provider (npm `oidc-provider`, configured in
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
//! tests/node/oidc-provider.mjs), driven headlessly: the "system browser" is an HTTP client that
//! follows the authorization URL through the provider's automatic login and consent to our
//! loopback callback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hub_local::{
    MemoryTokenStore, Restored, Revocation, SignIn, SignInConfig, SignedInUser, TokenSource,
    TokenStore, Url,
};
use tokio::sync::oneshot;

#[path = "support/oidc.rs"]
mod oidc;

use oidc::*;

fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The test provider's default account, as its ID token names it.
fn ada() -> SignedInUser {
    SignedInUser {
        subject: "ada@firm-acme".into(),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@firm-acme".into()),
    }
}

async fn metadata(provider: &OidcProvider) -> serde_json::Value {
    reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// Uses `refresh_token` at the token endpoint directly, as nothing in the app would: the
/// provider's own verdict on it.
async fn refresh_directly(
    provider: &OidcProvider,
    refresh_token: &str,
) -> (u16, serde_json::Value) {
    let metadata = metadata(provider).await;
    let response = hub_local::net::network()
        .http()
        .build()
        .unwrap()
        .post(metadata["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn config(provider: &OidcProvider) -> SignInConfig {
    SignInConfig::new(&provider.issuer, CLIENT_ID)
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

    // Who is signed in comes from the ID token (scopes profile and email), and is kept next to
    // the refresh token for the next start.
    let scopes = params["scope"].split(' ').collect::<Vec<_>>();
    for scope in ["openid", "profile", "email", "offline_access"] {
        assert!(scopes.contains(&scope), "{scope} in {scopes:?}");
    }
    assert_eq!(signed_in.user(), Some(ada()));
    assert_eq!(store.load_user().unwrap(), Some(ada()));
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
    let reused = hub_local::net::network()
        .http()
        .build()
        .unwrap()
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
async fn after_a_restart_the_kept_sign_in_is_restored_without_a_browser_and_sign_out_revokes_it() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let first = sign_in_headless(&sign_in).await.0.unwrap();
    let first_access = first.token().unwrap();
    drop(first);
    drop(sign_in);

    // App restart: a new sign-in layer over the same store; no browser is ever opened (the
    // restore has no way to open one).
    assert_eq!(
        SignIn::kept_user(&(store.clone() as Arc<dyn TokenStore>)).await,
        Some(ada())
    );
    let restored = match SignIn::restore_kept(config(&provider), store.clone()).await {
        Restored::SignedIn(restored) => restored,
        other => panic!("expected a restored sign-in, got {other:?}"),
    };
    assert_eq!(restored.user(), Some(ada()));

    // The restored access token is a fresh one from the provider, for the same user and firm.
    let access = restored.token().unwrap();
    assert_ne!(access, first_access);
    let claims = jwt_payload(&access);
    assert_eq!(claims["sub"], "ada@firm-acme");
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["o"]["id"], "firm-acme");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(claims["exp"].as_u64().unwrap() > now);

    // It refreshes like a session signed in with the browser.
    let before_refresh = store.load().unwrap().unwrap();
    restored.refresh().await.unwrap();
    assert_ne!(restored.token().unwrap(), access);
    let kept = store.load().unwrap().unwrap();
    assert_ne!(kept, before_refresh, "rotated");

    // Sign-out revokes the refresh token at the provider (RFC 7009), then wipes everything.
    let sync_token: Arc<dyn TokenSource> = Arc::new(restored.clone());
    assert_eq!(restored.sign_out().await.unwrap(), Revocation::Revoked);
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.load_user().unwrap(), None);
    assert_eq!(sync_token.token().unwrap_err().code(), "signin_required");
    assert_eq!(
        restored.refresh().await.unwrap_err().code(),
        "signin_required"
    );
    assert!(matches!(
        SignIn::restore_kept(config(&provider), store.clone()).await,
        Restored::NothingKept
    ));

    // The provider itself refuses the revoked token now.
    let (status, body) = refresh_directly(&provider, &kept).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn sign_out_wipes_the_tokens_when_the_provider_offers_no_revocation() {
    let provider = start_provider_with(300, &[("OIDC_REVOCATION", "0")]).await;
    assert!(
        metadata(&provider)
            .await
            .get("revocation_endpoint")
            .is_none()
    );
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();

    assert_eq!(signed_in.sign_out().await.unwrap(), Revocation::NotOffered);

    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.load_user().unwrap(), None);
}

#[tokio::test]
async fn sign_out_wipes_the_tokens_even_when_the_provider_cannot_be_told() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    provider.stop().await;

    let revocation = signed_in.sign_out().await.unwrap();

    assert_eq!(revocation.code(), "failed", "{revocation:?}");
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.load_user().unwrap(), None);
    assert_eq!(signed_in.token().unwrap_err().code(), "signin_required");
}

#[tokio::test]
async fn a_refresh_token_the_provider_refuses_at_restore_is_wiped() {
    let provider = start_provider(300).await;
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    drop(signed_in);
    // Revoked at the provider meanwhile (an administrator ended the grant, say).
    let kept = store.load().unwrap().unwrap();
    let revoked = hub_local::net::network()
        .http()
        .build()
        .unwrap()
        .post(
            metadata(&provider).await["revocation_endpoint"]
                .as_str()
                .unwrap(),
        )
        .form(&[
            ("token", kept.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);

    let restored = SignIn::restore_kept(config(&provider), store.clone()).await;

    // Signed out, with who it was for, to say "signed out, please sign in again".
    match restored {
        Restored::Refused { user } => assert_eq!(user, Some(ada())),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.load_user().unwrap(), None);
}

#[tokio::test]
async fn an_unreachable_provider_at_restore_keeps_the_refresh_token() {
    let provider = start_provider(300).await;
    let port = provider.port().to_string();
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    drop(sign_in_headless(&sign_in).await.0.unwrap());
    let kept = store.load().unwrap().unwrap();
    provider.stop().await;

    // Offline on a plane: the provider is gone after discovery, or before it.
    for restored in [
        sign_in.restore().await,
        SignIn::restore_kept(config_for_port(&port), store.clone()).await,
    ] {
        match restored {
            Restored::Offline { user, error } => {
                assert_eq!(user, Some(ada()), "still shows who is signed in");
                assert_eq!(error.code(), "connection", "{error}");
            }
            other => panic!("expected offline, got {other:?}"),
        }
        assert_eq!(store.load().unwrap().as_deref(), Some(kept.as_str()));
        assert_eq!(store.load_user().unwrap(), Some(ada()));
    }

    // Back online: the provider answers again (this one, restarted, knows no old grant, so it
    // refuses the token — and only then is it wiped).
    let provider = start_provider_with(300, &[("OIDC_PORT", port.as_str())]).await;
    assert!(matches!(
        SignIn::restore_kept(config(&provider), store.clone()).await,
        Restored::Refused { .. }
    ));
    assert_eq!(store.load().unwrap(), None);
}

fn config_for_port(port: &str) -> SignInConfig {
    SignInConfig::new(format!("http://127.0.0.1:{port}"), CLIENT_ID)
}

#[tokio::test]
async fn background_refreshes_retry_while_offline_and_only_a_refusal_ends_the_session() {
    // 2 s tokens, refreshed after 1 s.
    let provider = start_provider(2).await;
    let port = provider.port().to_string();
    let store = Arc::new(MemoryTokenStore::new());
    let sign_in = discover(&provider, store.clone()).await;
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    let mut refusal = signed_in.refusal();
    let kept = store.load().unwrap().unwrap();
    provider.stop().await;

    // Offline past the access token's expiry: refreshes fail and are retried; the session and
    // the refresh token stay, and nothing asks the lawyer to sign in again.
    let refused_while_offline =
        tokio::time::timeout(Duration::from_secs(4), refusal.wait_for(|refused| *refused))
            .await
            .is_ok();
    assert!(
        !refused_while_offline,
        "no refusal while the provider is unreachable"
    );
    assert_eq!(signed_in.token().unwrap_err().code(), "token_unavailable");
    assert_eq!(store.load().unwrap().as_deref(), Some(kept.as_str()));
    assert_eq!(signed_in.user(), Some(ada()));

    // The provider answers again and refuses the token (it knows no old grant): that ends it.
    let _provider = start_provider_with(2, &[("OIDC_PORT", port.as_str())]).await;
    tokio::time::timeout(
        Duration::from_secs(40),
        refusal.wait_for(|refused| *refused),
    )
    .await
    .expect("the retry reaches the provider")
    .unwrap();
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(signed_in.token().unwrap_err().code(), "signin_required");
}

#[tokio::test]
async fn dropping_a_sign_in_in_progress_closes_the_loopback_listener() {
    let provider = start_provider(300).await;
    let sign_in = discover(&provider, Arc::new(MemoryTokenStore::new())).await;
    let (redirect_tx, redirect) = oneshot::channel();
    let pending = tokio::spawn(async move {
        sign_in
            .sign_in(|url| {
                let _ = redirect_tx.send(Url::parse(&query(url)["redirect_uri"]).unwrap());
            })
            .await
    });
    let redirect = redirect.await.unwrap();
    let address = format!("127.0.0.1:{}", redirect.port().unwrap());
    tokio::net::TcpStream::connect(&address)
        .await
        .expect("the browser's way back is open while the sign-in waits");

    // Cancel: the app drops the waiting sign-in.
    pending.abort();
    assert!(pending.await.unwrap_err().is_cancelled());

    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "nothing listens for the browser after a cancel"
    );
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
