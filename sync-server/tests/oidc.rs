//! Clerk/OIDC token verification with real RSA keys (made by openssl), a real JWKS endpoint on
//! loopback, and a real sync session authorized by an RS256 token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sync_server::auth::AuthError;
use sync_server::claims::{AdminRule, ClaimPath};
use sync_server::config::Environment;
use sync_server::oidc::{JwksCache, JwksRefresh, KeySource, OidcSettings, OidcVerifier};

const ISSUER: &str = "https://clerk.firm-acme.test";
const APP: &str = "https://app.lawyers-hub.test";

/// An RSA key pair from openssl, with its JWK.
struct RsaKey {
    private_pem: Vec<u8>,
    public_pem: String,
    jwk: serde_json::Value,
}

fn rsa_key(kid: &str) -> RsaKey {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.pem");
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        private.to_str().unwrap(),
    ]);
    let public_pem =
        String::from_utf8(run(&["pkey", "-in", private.to_str().unwrap(), "-pubout"])).unwrap();
    let modulus = String::from_utf8(run(&[
        "pkey",
        "-in",
        private.to_str().unwrap(),
        "-noout",
        "-text",
    ]))
    .unwrap();
    // Parse "modulus:\n    00:c3:...:ab\npublicExponent: 65537" from the text dump.
    let hex: String = modulus
        .split("modulus:")
        .nth(1)
        .unwrap()
        .split("publicExponent")
        .next()
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    let mut bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    while bytes.first() == Some(&0) {
        bytes.remove(0);
    }
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    RsaKey {
        private_pem: std::fs::read(&private).unwrap(),
        public_pem,
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}),
    }
}

fn sign(key: &RsaKey, kid: Option<&str>, claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&key.private_pem).unwrap(),
    )
    .unwrap()
}

/// Settings for a server that trusts only our test Clerk instance (no development tokens).
fn clerk_settings(db: &str) -> sync_server::config::ServeSettings {
    let mut config = common::settings(db, None);
    clerk(&mut config);
    config
}

/// Clerk sign-in instead of development tokens.
fn clerk(config: &mut sync_server::config::ServeSettings) {
    config.dev_auth = false;
    config.identity.issuer = Some(ISSUER.into());
    config.identity.authorized_parties = vec![APP.into()];
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Clerk session token v2 claims for Ada at Acme.
fn clerk_claims() -> serde_json::Value {
    json!({
        "iss": ISSUER, "sub": "user_ada", "azp": APP, "sid": "sess_1",
        "iat": now(), "nbf": now() - 1, "exp": now() + 60,
        "o": {"id": "org_acme", "rol": "admin", "slg": "acme"}, "v": 2
    })
}

fn settings() -> OidcSettings {
    OidcSettings {
        issuer: ISSUER.into(),
        authorized_parties: vec![APP.into()],
        require_azp: false,
        firm_claim: None,
        admin: AdminRule::default(),
        risk_roles: Vec::new(),
        audiences: Vec::new(),
    }
}

fn with(mut claims: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    claims[key] = value;
    claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_tokens_are_verified_to_the_letter() {
    let key = rsa_key("k1");
    let pem = jsonwebtoken::DecodingKey::from_rsa_pem(key.public_pem.as_bytes()).unwrap();
    let verifier = OidcVerifier::new(settings(), KeySource::Pem(Box::new(pem)));

    let principal = verifier
        .verify(&sign(&key, None, clerk_claims()))
        .await
        .unwrap();
    assert_eq!(
        (principal.user_id.as_str(), principal.firm_id.as_str()),
        ("user_ada", "org_acme")
    );
    assert!(principal.firm_admin);

    // Clerk v1: org_id / org_role.
    let mut v1 = clerk_claims();
    v1.as_object_mut().unwrap().remove("o");
    v1["org_id"] = json!("org_v1");
    assert_eq!(
        verifier
            .verify(&sign(&key, None, v1))
            .await
            .unwrap()
            .firm_id,
        "org_v1"
    );

    let refused = [
        (
            with(clerk_claims(), "exp", json!(now() - 60)),
            AuthError::Expired,
        ),
        (
            with(clerk_claims(), "nbf", json!(now() + 60)),
            AuthError::NotYetValid,
        ),
        (
            with(clerk_claims(), "iss", json!("https://evil.test")),
            AuthError::Invalid,
        ),
        (
            with(clerk_claims(), "azp", json!("https://phishing.test")),
            AuthError::UnauthorizedParty,
        ),
        (
            with(clerk_claims(), "sts", json!("pending")),
            AuthError::PendingSession,
        ),
        (with(clerk_claims(), "o", json!({})), AuthError::NoFirm),
    ];
    for (claims, expected) in refused {
        assert_eq!(
            verifier.verify(&sign(&key, None, claims.clone())).await,
            Err(expected),
            "{claims}"
        );
    }
    // Within the 5 s of clock skew a just-expired token still passes.
    assert!(
        verifier
            .verify(&sign(
                &key,
                None,
                with(clerk_claims(), "exp", json!(now() - 2))
            ))
            .await
            .is_ok()
    );
    // No sub, no token.
    let mut no_sub = clerk_claims();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        verifier.verify(&sign(&key, None, no_sub)).await,
        Err(AuthError::Invalid)
    );
    // azp absent is fine (server-to-server tokens).
    let mut no_azp = clerk_claims();
    no_azp.as_object_mut().unwrap().remove("azp");
    assert!(verifier.verify(&sign(&key, None, no_azp)).await.is_ok());
    // Another key, and an HS256 token signed with the public key as secret (algorithm confusion).
    let other = rsa_key("k2");
    assert_eq!(
        verifier.verify(&sign(&other, None, clerk_claims())).await,
        Err(AuthError::Invalid)
    );
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &clerk_claims(),
        &EncodingKey::from_secret(key.public_pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(verifier.verify(&confused).await, Err(AuthError::Invalid));

    // Another IdP with the firm in a configured claim.
    let generic = OidcVerifier::new(
        OidcSettings {
            firm_claim: Some(ClaimPath::parse("HUB_FIRM_CLAIM", "tenant.id").unwrap()),
            ..settings()
        },
        KeySource::Pem(Box::new(
            jsonwebtoken::DecodingKey::from_rsa_pem(key.public_pem.as_bytes()).unwrap(),
        )),
    );
    let claims = with(clerk_claims(), "tenant", json!({"id": "firm-from-tenant"}));
    assert_eq!(
        generic
            .verify(&sign(&key, None, claims))
            .await
            .unwrap()
            .firm_id,
        "firm-from-tenant"
    );
}

/// A JWKS endpoint on loopback whose answers a test changes while it runs.
#[derive(Clone, Default)]
struct Jwks {
    keys: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// Requests received (answered or not).
    hits: Arc<AtomicUsize>,
    /// While set, requests are received and counted but never answered (a stalled IdP).
    hang: Arc<AtomicBool>,
    /// Told whenever a request starts to hang.
    hung: Arc<tokio::sync::Notify>,
    /// The `Cache-Control` header to send, if any.
    cache_control: Arc<std::sync::Mutex<Option<String>>>,
}

impl Jwks {
    fn serving(keys: Vec<serde_json::Value>) -> Self {
        let jwks = Self::default();
        *jwks.keys.lock().unwrap() = keys;
        jwks
    }

    async fn start(&self) -> String {
        let jwks = self.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move {
                    jwks.hits.fetch_add(1, Ordering::SeqCst);
                    if jwks.hang.load(Ordering::SeqCst) {
                        jwks.hung.notify_one();
                        std::future::pending::<()>().await;
                    }
                    let body = axum::Json(json!({"keys": jwks.keys.lock().unwrap().clone()}));
                    let cache_control = jwks.cache_control.lock().unwrap().clone();
                    match cache_control {
                        Some(value) => axum::response::IntoResponse::into_response((
                            [("cache-control", value)],
                            body,
                        )),
                        None => axum::response::IntoResponse::into_response(body),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/.well-known/jwks.json")
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A JWKS endpoint that counts its requests and can rotate keys.
async fn jwks_server(
    keys: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    hits: Arc<AtomicUsize>,
) -> String {
    Jwks {
        keys,
        hits,
        ..Jwks::default()
    }
    .start()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_keys_are_cached_refetched_on_rotation_and_rate_limited() {
    let (k1, k2, k3) = (rsa_key("k1"), rsa_key("k2"), rsa_key("k3"));
    let published = Arc::new(std::sync::Mutex::new(vec![k1.jwk.clone()]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = jwks_server(published.clone(), hits.clone()).await;
    let cache = JwksCache::new(url);
    assert_eq!(cache.refresh().await.unwrap(), 1);
    let verifier = OidcVerifier::new(settings(), KeySource::Jwks(cache));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    for _ in 0..5 {
        verifier
            .verify(&sign(&k1, Some("k1"), clerk_claims()))
            .await
            .unwrap();
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known keys come from the cache"
    );

    // Unknown kid: one refetch (the key may have rotated), then refusal; further unknown kids
    // within the interval cost the IdP nothing.
    published.lock().unwrap().push(k2.jwk.clone());
    for _ in 0..20 {
        assert_eq!(
            verifier
                .verify(&sign(&k3, Some("k3"), clerk_claims()))
                .await,
            Err(AuthError::UnknownKey)
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "one refetch, then rate-limited"
    );
    // The refetch brought k2 in: a token signed with the rotated-in key is accepted from cache.
    verifier
        .verify(&sign(&k2, Some("k2"), clerk_claims()))
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // A token without kid is refused outright with a JWKS.
    assert_eq!(
        verifier.verify(&sign(&k1, None, clerk_claims())).await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_picked_up_on_first_use() {
    let (k1, k2) = (rsa_key("k1"), rsa_key("k2"));
    let published = Arc::new(std::sync::Mutex::new(vec![k1.jwk.clone()]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = jwks_server(published.clone(), hits.clone()).await;
    // The verifier starts without a fetch: the first unknown kid triggers one.
    let verifier = OidcVerifier::new(settings(), KeySource::Jwks(JwksCache::new(url)));
    published.lock().unwrap().push(k2.jwk.clone());
    let principal = verifier
        .verify(&sign(&k2, Some("k2"), clerk_claims()))
        .await
        .unwrap();
    assert_eq!(principal.firm_id, "org_acme");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_configured_for_clerk_syncs_with_rs256_tokens_and_refuses_dev_tokens() {
    let key = rsa_key("k1");
    let firm = Firm::one_instance_with(|config| {
        clerk(config);
        config.identity.jwt_key = Some(key.public_pem.clone());
    })
    .await;
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &firm.store_path("ada"),
        &firm.url(),
        &sign(&key, None, clerk_claims()),
    );
    ada.open(&doc);
    ada.type_text(&doc, "Signed in with Clerk.");
    ada.wait_synced(Duration::from_secs(20)).await;
    assert_eq!(firm.stored_body(&doc).await, "Signed in with Clerk.");

    // A development token means nothing to this server. (Asked on a raw socket: a laptop
    // whose token is refused never opens its documents, so it reports no per-document denial.)
    use common::raw::{authenticate, connect};
    use protocol::{AuthMessage, Message};
    let mut socket = connect(&ws_url(firm.server())).await;
    assert_eq!(
        authenticate(&mut socket, doc.as_str(), &token("mallory", "org_acme")).await,
        Message::Auth(AuthMessage::PermissionDenied {
            reason: "the token is invalid".into()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firm_admins_from_the_org_role_claim_manage_access_without_reading_the_matter() {
    let key = rsa_key("k1");
    let firm = Firm::one_instance_with(|config| {
        clerk(config);
        config.identity.jwt_key = Some(key.public_pem.clone());
    })
    .await;
    let server = firm.server();
    let as_user = |sub: &str, role: &str| {
        let mut claims = clerk_claims();
        claims["sub"] = json!(sub);
        claims["o"]["rol"] = json!(role);
        sign(&key, None, claims)
    };
    let doc = draft_name(&new_case());
    let mut owner = Laptop::online(
        &firm.store_path("o"),
        &firm.url(),
        &as_user("user_ada", "basic_member"),
    );
    owner.open(&doc);
    owner.type_text(&doc, "Confidential.");
    owner.wait_synced(Duration::from_secs(20)).await;

    let put = |token: String, user: &str| {
        let url = format!(
            "http://{}/api/v1/cases/{}/members/{user}",
            server.addr,
            doc.case_id()
        );
        async move {
            reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .json(&json!({"role": "editor"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A firm admin who is not on the matter may grant access...
    assert_eq!(put(as_user("user_admin", "admin"), "user_ben").await, 204);
    // ...an ordinary member of the firm who is not on it may not even see it...
    assert_eq!(
        put(as_user("user_carl", "basic_member"), "user_carl").await,
        404
    );
    // ...and being an admin does not open the matter's documents.
    let mut admin = Laptop::online(
        &firm.store_path("a"),
        &firm.url(),
        &as_user("user_admin", "admin"),
    );
    admin.open(&doc);
    let (_, reason) = admin.wait_denied(Duration::from_secs(20)).await;
    assert_eq!(reason, "document not found");
}

/// Every forged or unacceptable token is refused by sync (PermissionDenied with the reason) and
/// by REST (401 with the same reason), against the real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attack_matrix_is_refused_by_sync_and_rest() {
    use common::raw::{authenticate, connect};
    use protocol::{AuthMessage, Message};

    let (key, rotated) = (rsa_key("k1"), rsa_key("k-unknown"));
    let published = Arc::new(std::sync::Mutex::new(vec![key.jwk.clone()]));
    let hits = Arc::new(AtomicUsize::new(0));
    let jwks = jwks_server(published, hits.clone()).await;
    let firm = Firm::one_instance_with(|config| {
        clerk(config);
        config.identity.jwks_url = Some(jwks);
    })
    .await;
    let server = firm.server();
    let doc = draft_name(&new_case());

    let b64 = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let valid = sign(&key, Some("k1"), clerk_claims());
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let mut claims = clerk_claims();
        claims["o"]["id"] = json!("org_victim");
        format!("{}.{}.{}", parts[0], b64(&claims), parts[2])
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&clerk_claims())
    );
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(
            &header,
            &clerk_claims(),
            &EncodingKey::from_secret(key.public_pem.as_bytes()),
        )
        .unwrap()
    };
    let matrix: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            sign(
                &key,
                Some("k1"),
                with(clerk_claims(), "exp", json!(now() - 60)),
            ),
            "the token has expired",
        ),
        (
            "not yet valid",
            sign(
                &key,
                Some("k1"),
                with(clerk_claims(), "nbf", json!(now() + 60)),
            ),
            "the token is not valid yet",
        ),
        (
            "wrong iss",
            sign(
                &key,
                Some("k1"),
                with(clerk_claims(), "iss", json!("https://evil.test")),
            ),
            "the token is invalid",
        ),
        (
            "azp not allowed",
            sign(
                &key,
                Some("k1"),
                with(clerk_claims(), "azp", json!("https://phishing.test")),
            ),
            "the token was issued to an application this server does not accept",
        ),
        ("alg none", alg_none, "the token is invalid"),
        (
            "HS256 with the public key",
            confused,
            "the token is invalid",
        ),
        (
            "unknown kid",
            sign(&rotated, Some("k-unknown"), clerk_claims()),
            "the token was signed with an unknown key",
        ),
        ("tampered payload", tampered, "the token is invalid"),
        (
            "pending session",
            sign(
                &key,
                Some("k1"),
                with(clerk_claims(), "sts", json!("pending")),
            ),
            "the sign-in is not complete (pending session)",
        ),
        ("garbage", "not.a.token".into(), "the token is invalid"),
    ];
    for (case, token, reason) in &matrix {
        let mut socket = connect(&firm.url()).await;
        let answer = authenticate(&mut socket, doc.as_str(), token).await;
        assert_eq!(
            answer,
            Message::Auth(AuthMessage::PermissionDenied {
                reason: (*reason).into()
            }),
            "sync: {case}"
        );
        let response = reqwest::Client::new()
            .get(format!("http://{}/api/v1/cases", server.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "REST: {case}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            (body["code"].as_str(), body["message"].as_str()),
            (Some("unauthorized"), Some(*reason)),
            "REST: {case}"
        );
    }
    // The unknown kid caused exactly one refetch (start-up fetch + one), not one per attempt.
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A valid token of another firm finds nothing of this firm's matter.
    let mut ada = Laptop::online(&firm.store_path("a"), &firm.url(), &valid);
    ada.open(&doc);
    ada.type_text(&doc, "Acme only.");
    ada.wait_synced(Duration::from_secs(20)).await;
    let other_firm = sign(
        &key,
        Some("k1"),
        with(
            clerk_claims(),
            "o",
            json!({"id": "org_other", "rol": "admin"}),
        ),
    );
    let mut socket = connect(&firm.url()).await;
    let answer = authenticate(&mut socket, doc.as_str(), &other_firm).await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied {
            reason: "document not found".into()
        })
    );
    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/api/v1/cases/{}/members",
            server.addr,
            doc.case_id()
        ))
        .bearer_auth(&other_firm)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    // And without any token, nothing at all.
    let response = reqwest::get(format!("http://{}/api/v1/cases", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

/// Security item 5.1: in production a token without `azp` is refused once authorized parties
/// are configured (a token minted for another client of the same IdP carries none, or an
/// unexpected one). Outside production `azp` is checked only when present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_requires_azp_when_authorized_parties_are_configured() {
    let key = rsa_key("k1");
    let mut config = clerk_settings("postgres://unused@127.0.0.1/unused");
    config.identity.jwt_key = Some(key.public_pem.clone());
    let mut claims = clerk_claims();
    claims.as_object_mut().unwrap().remove("azp");
    let no_azp = sign(&key, None, claims);
    let allowed = sign(&key, None, clerk_claims());
    let foreign = sign(
        &key,
        None,
        with(clerk_claims(), "azp", json!("https://phishing.test")),
    );

    config.environment = Environment::Production;
    let production = sync_server::auth::build_verifier(&config).await.unwrap();
    assert_eq!(
        production.verify(&no_azp).await,
        Err(AuthError::UnauthorizedParty),
        "production accepted a token without azp"
    );
    assert!(production.verify(&allowed).await.is_ok());
    assert_eq!(
        production.verify(&foreign).await,
        Err(AuthError::UnauthorizedParty)
    );
    // Without azp, RFC 9068's client_id (or Okta's cid, or Entra v1's appid) names the client.
    for claim in ["client_id", "cid", "appid"] {
        let mut claims = clerk_claims();
        claims.as_object_mut().unwrap().remove("azp");
        claims[claim] = json!(APP);
        assert!(
            production
                .verify(&sign(&key, None, claims.clone()))
                .await
                .is_ok()
        );
        claims[claim] = json!("another-client");
        assert_eq!(
            production.verify(&sign(&key, None, claims)).await,
            Err(AuthError::UnauthorizedParty),
            "{claim}"
        );
    }

    config.environment = Environment::Development;
    let development = sync_server::auth::build_verifier(&config).await.unwrap();
    assert!(development.verify(&no_azp).await.is_ok());
    assert_eq!(
        development.verify(&foreign).await,
        Err(AuthError::UnauthorizedParty)
    );
}

/// Verify `token` until `expected` comes back, for at most `within`.
async fn verifies_as(
    verifier: &OidcVerifier,
    token: &str,
    expected: Result<(), AuthError>,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if verifier.verify(token).await.map(|_| ()) == expected {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Security item 5.2: a key the IdP withdraws (rotated out after a compromise) stops being
/// trusted within a bounded time, without waiting for an unknown kid. The refresh interval
/// follows the JWKS response's `Cache-Control: max-age`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_removed_from_the_jwks_is_refused_after_the_periodic_refresh() {
    let (k1, k2) = (rsa_key("k1"), rsa_key("k2"));
    let jwks = Jwks::serving(vec![k1.jwk.clone(), k2.jwk.clone()]);
    *jwks.cache_control.lock().unwrap() = Some("public, max-age=1".into());
    let url = jwks.start().await;
    // Without max-age the next refresh would be a minute away: only max-age=1 brings it in.
    let cache = JwksCache::with_refresh(
        url,
        JwksRefresh {
            default: Duration::from_secs(60),
            min: Duration::from_millis(100),
            max: Duration::from_secs(60),
        },
    );
    assert_eq!(cache.refresh().await.unwrap(), 2);
    cache.refresh_periodically();
    let verifier = OidcVerifier::new(settings(), KeySource::Jwks(cache));
    let old = sign(&k1, Some("k1"), clerk_claims());
    verifier.verify(&old).await.unwrap();

    jwks.keys.lock().unwrap().retain(|jwk| jwk["kid"] != "k1");
    assert!(
        verifies_as(
            &verifier,
            &old,
            Err(AuthError::UnknownKey),
            Duration::from_secs(5)
        )
        .await,
        "a key removed from the JWKS was still trusted after 5 s (max-age=1)"
    );
    verifier
        .verify(&sign(&k2, Some("k2"), clerk_claims()))
        .await
        .unwrap();
    assert!(jwks.hits() >= 2, "refreshed in the background");
}

/// Security item 5.3: while the IdP is slow, a JWKS fetch must not hold up tokens signed with
/// keys already known; concurrent unknown kids share one fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_jwks_fetch_does_not_stall_verification_of_known_keys() {
    let (k1, k3) = (rsa_key("k1"), rsa_key("k3"));
    let jwks = Jwks::serving(vec![k1.jwk.clone()]);
    let url = jwks.start().await;
    let cache = JwksCache::new(url);
    cache.refresh().await.unwrap();
    let verifier = Arc::new(OidcVerifier::new(settings(), KeySource::Jwks(cache)));
    jwks.hang.store(true, Ordering::SeqCst);

    // An unknown kid makes the verifier refetch; the identity provider never answers.
    let unknown: Vec<_> = (0..5)
        .map(|_| {
            let verifier = verifier.clone();
            let token = sign(&k3, Some("k3"), clerk_claims());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(5), jwks.hung.notified())
        .await
        .expect("the refetch reaches the identity provider");

    // Meanwhile a token signed with a known key verifies at once.
    let known = tokio::time::timeout(
        Duration::from_secs(1),
        verifier.verify(&sign(&k1, Some("k1"), clerk_claims())),
    )
    .await;
    assert!(
        matches!(known, Ok(Ok(_))),
        "a known kid waited for the hanging JWKS fetch: {known:?}"
    );
    for task in unknown {
        assert_eq!(task.await.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(jwks.hits(), 2, "the start-up fetch and one refetch");
}

/// Security item 5.4: `/api/v1/stats` is not public: a firm admin's bearer token is required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_are_for_firm_admins_only() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = format!("http://{}/api/v1/stats", server.addr);
    let http = reqwest::Client::new();
    let status = |request: reqwest::RequestBuilder| async move {
        request.send().await.unwrap().status().as_u16()
    };
    assert_eq!(status(http.get(&url)).await, 401, "no token");
    assert_eq!(
        status(http.get(&url).bearer_auth("not.a.token")).await,
        401,
        "garbage token"
    );
    assert_eq!(
        status(http.get(&url).bearer_auth(token("ada", FIRM))).await,
        403,
        "a member who is not a firm admin"
    );
    let admin = sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role("root", FIRM, Some("admin"), 3600)
        .unwrap();
    let response = http.get(&url).bearer_auth(admin).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("connections "));
}

/// HUB_AUDIENCE lists every audience the deployment's tokens may carry (Entra: `api://<app id>`
/// in v1 tokens, the bare application id in v2; Okta: the authorization server's audience); a
/// token must name one of them, as a string or in an array, and may not leave `aud` out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_audiences_accept_any_listed_one_and_require_aud() {
    let key = rsa_key("k1");
    let pem = || {
        KeySource::Pem(Box::new(
            jsonwebtoken::DecodingKey::from_rsa_pem(key.public_pem.as_bytes()).unwrap(),
        ))
    };
    let app = "6f0c3c1e-5b7a-4d0e-9a51-3c2b1d0e9f87";
    let verifier = OidcVerifier::new(
        OidcSettings {
            audiences: vec![format!("api://{app}"), app.into()],
            ..settings()
        },
        pem(),
    );
    let with_aud = |aud: serde_json::Value| sign(&key, None, with(clerk_claims(), "aud", aud));
    for accepted in [
        json!(format!("api://{app}")),
        json!(app),
        json!(["https://graph.microsoft.com", app]),
    ] {
        assert!(
            verifier.verify(&with_aud(accepted.clone())).await.is_ok(),
            "{accepted}"
        );
    }
    for refused in [
        json!("api://another-app"),
        json!(["https://graph.microsoft.com"]),
    ] {
        assert_eq!(
            verifier.verify(&with_aud(refused.clone())).await,
            Err(AuthError::Invalid),
            "{refused}"
        );
    }
    assert_eq!(
        verifier.verify(&sign(&key, None, clerk_claims())).await,
        Err(AuthError::Invalid),
        "a token without aud dodges nothing"
    );
    // Without configured audiences, aud is not looked at.
    let open = OidcVerifier::new(settings(), pem());
    assert!(open.verify(&with_aud(json!("anything"))).await.is_ok());
}

/// Without HUB_JWKS_URL the keys come from the issuer's discovery document, which must name
/// exactly the configured issuer; a provider without one stops the start with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_must_name_the_configured_issuer() {
    let key = rsa_key("k1");
    let jwks = Jwks::serving(vec![key.jwk.clone()]).start().await;
    let claimed_issuer = Arc::new(std::sync::Mutex::new(String::new()));
    let app = {
        let claimed_issuer = claimed_issuer.clone();
        axum::Router::new().route(
            "/tenant/.well-known/openid-configuration",
            axum::routing::get(move || {
                let issuer = claimed_issuer.lock().unwrap().clone();
                let jwks = jwks.clone();
                async move { axum::Json(json!({"issuer": issuer, "jwks_uri": jwks})) }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let issuer = format!("{base}/tenant");

    let mut config = clerk_settings("postgres://unused@127.0.0.1/unused");
    config.identity.issuer = Some(issuer.clone());
    *claimed_issuer.lock().unwrap() = issuer.clone();
    let verifier = sync_server::auth::build_verifier(&config).await.unwrap();
    let claims = with(clerk_claims(), "iss", json!(issuer));
    assert_eq!(
        verifier
            .verify(&sign(&key, Some("k1"), claims))
            .await
            .unwrap()
            .firm_id,
        "org_acme"
    );

    *claimed_issuer.lock().unwrap() = "https://evil.test".into();
    let refused = sync_server::auth::build_verifier(&config)
        .await
        .err()
        .expect("another issuer's document is refused");
    assert!(
        refused
            .to_string()
            .contains("names the issuer \"https://evil.test\""),
        "{refused}"
    );

    config.identity.issuer = Some(format!("{base}/no-such-tenant"));
    let refused = sync_server::auth::build_verifier(&config)
        .await
        .err()
        .expect("no discovery document, no start");
    assert!(refused.to_string().contains("HUB_JWKS_URL"), "{refused}");
}
