//! A real OpenID Connect provider (tests/node/oidc-provider.mjs) and a headless "system
//! browser" for sign-in tests. Shared by hub-local's and sync-server's tests (`#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hub_local::{LocalError, SignIn, SignInConfig, SignedIn, TokenStore, Url};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

pub const CLIENT_ID: &str = "lawyers-hub-desktop";

/// The provider process; killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    _child: Child,
}

impl OidcProvider {
    /// The provider's port (part of its issuer).
    pub fn port(&self) -> u16 {
        Url::parse(&self.issuer).unwrap().port().unwrap()
    }

    /// Kills the provider and waits until it has exited: its port refuses connections, as a
    /// provider does for a laptop offline. `start_provider_with(.., &[("OIDC_PORT", ..)])`
    /// brings one back on the same issuer (knowing none of the old tokens).
    pub async fn stop(mut self) {
        self._child.kill().await.unwrap();
    }
}

pub async fn start_provider(access_token_ttl_secs: u64) -> OidcProvider {
    start_provider_with(access_token_ttl_secs, &[]).await
}

/// A provider with extra settings (tests/node/README.md): `OIDC_PROFILE` (`clerk`, `entra`,
/// `okta`: the access token's claim layout), `OIDC_ADMINS`, `OIDC_FIRM`, `OIDC_AUDIENCE`, …
pub async fn start_provider_with(access_token_ttl_secs: u64, env: &[(&str, &str)]) -> OidcProvider {
    // This file serves the tests of more than one crate: find the repository's tests/node.
    let node_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/node"))
        .find(|dir| dir.join("oidc-provider.mjs").exists())
        .expect("tests/node/oidc-provider.mjs in the repository");
    assert!(
        node_dir.join("node_modules/oidc-provider").exists(),
        "tests/node/node_modules lacks oidc-provider: run scripts/setup (npm ci in tests/node)"
    );
    let mut child = Command::new("node")
        .arg(node_dir.join("oidc-provider.mjs"))
        .args(["--port", "0"])
        .env("OIDC_ACCESS_TTL", access_token_ttl_secs.to_string())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed: run scripts/setup");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stdout.read_line(&mut line)).await;
    if !matches!(read, Ok(Ok(n)) if n > 0) {
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await;
        panic!("oidc-provider.mjs did not start: {stderr}");
    }
    let ready: serde_json::Value = serde_json::from_str(&line).expect("a JSON ready line");
    // Keep draining stdout (oidc-provider prints notices) so the child never blocks on a pipe.
    tokio::spawn(async move {
        let mut sink = String::new();
        while matches!(stdout.read_line(&mut sink).await, Ok(n) if n > 0) {
            sink.clear();
        }
    });
    OidcProvider {
        issuer: ready["issuer"].as_str().unwrap().to_owned(),
        _child: child,
    }
}

pub async fn discover(provider: &OidcProvider, store: Arc<dyn TokenStore>) -> SignIn {
    SignIn::discover(SignInConfig::new(&provider.issuer, CLIENT_ID), store)
        .await
        .unwrap()
}

/// Signs `account` in (the provider takes it from `login_hint`) through the whole desktop flow
/// and returns their access token.
pub async fn access_token_of(provider: &OidcProvider, account: &str) -> String {
    let mut config = SignInConfig::new(&provider.issuer, CLIENT_ID);
    config
        .extra_params
        .push(("login_hint".into(), account.to_owned()));
    let store = Arc::new(hub_local::MemoryTokenStore::new());
    let sign_in = SignIn::discover(config, store).await.unwrap();
    let signed_in = sign_in_headless(&sign_in).await.0.unwrap();
    signed_in.access_token().unwrap()
}

/// What the headless browser saw: the authorization URL and the final page.
pub struct BrowserVisit {
    pub authorization_url: Url,
    pub page: oneshot::Receiver<(u16, String)>,
}

/// Signs in with a headless "browser" that follows every redirect to the loopback callback.
pub async fn sign_in_headless(sign_in: &SignIn) -> (Result<SignedIn, LocalError>, BrowserVisit) {
    let (page_tx, page) = oneshot::channel();
    let mut seen = None;
    let result = sign_in
        .sign_in(|url| {
            seen = Some(url.clone());
            let url = url.clone();
            tokio::spawn(async move {
                let _ = page_tx.send(browse(url).await);
            });
        })
        .await;
    let visit = BrowserVisit {
        authorization_url: seen.expect("open_browser was called"),
        page,
    };
    (result, visit)
}

/// GETs `url` and follows redirects by hand, carrying cookies like a browser would.
pub async fn browse(mut url: Url) -> (u16, String) {
    let http = hub_local::net::network()
        .http()
        .redirect(hub_local::net::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies = BTreeMap::<String, String>::new();
    for _ in 0..10 {
        let mut request = http.get(url.clone());
        if !cookies.is_empty() {
            let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(hub_local::net::reqwest::header::COOKIE, header.join("; "));
        }
        let response = request.send().await.unwrap();
        for set_cookie in response
            .headers()
            .get_all(hub_local::net::reqwest::header::SET_COOKIE)
        {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    cookies.remove(name);
                } else {
                    cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        if response.status().is_redirection() {
            let location = response.headers()[hub_local::net::reqwest::header::LOCATION]
                .to_str()
                .unwrap();
            url = url.join(location).unwrap();
            continue;
        }
        let status = response.status().as_u16();
        return (status, response.text().await.unwrap());
    }
    panic!("too many redirects");
}

pub fn jwt_payload(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
