//! Verification of Clerk / OIDC access tokens: RS256/384/512 only, keys from a PEM
//! (`CLERK_JWT_KEY`, no network) or a JWKS URL (refreshed in the background every
//! `Cache-Control: max-age`, clamped to [`JwksRefresh`]'s bounds, and refetched on an unknown
//! `kid` at most once per [`JWKS_REFETCH_INTERVAL`]), `iss` pinned, `exp` and `sub` required,
//! `nbf` checked, 5 s of clock skew, `aud` one of the configured audiences, `azp` checked
//! against an allowlist (required in production), Clerk's `sts: "pending"` refused, and the
//! firm, admin role and profile read as configured (`crate::claims`). Without a configured JWKS
//! URL the provider's `jwks_uri` comes from OpenID Connect discovery.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::{AuthError, Principal};
use crate::claims::{AdminRule, ClaimPath, Profile};

/// Least time between two JWKS fetches caused by unknown key ids (a flood of tokens with
/// made-up `kid`s must not become a flood of requests to the identity provider).
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long one JWKS request may take before it counts as failed.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const CLOCK_SKEW_SECS: u64 = 5;
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

/// Where verification keys come from.
pub enum KeySource {
    /// One PEM public key (Clerk's "JWT public key", `CLERK_JWT_KEY`).
    Pem(Box<DecodingKey>),
    /// A JWKS document, fetched over HTTP(S).
    Jwks(JwksCache),
}

/// How often the key set is fetched again in the background, so that a key the identity
/// provider withdraws stops being trusted within `max` (when the provider is reachable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JwksRefresh {
    /// When the response has no `Cache-Control: max-age`.
    pub default: Duration,
    /// The shortest interval, whatever `max-age` says (and the retry delay after a failure).
    pub min: Duration,
    /// The longest interval, whatever `max-age` says.
    pub max: Duration,
}

impl Default for JwksRefresh {
    fn default() -> Self {
        Self {
            default: Duration::from_secs(5 * 60),
            min: Duration::from_secs(60),
            max: Duration::from_secs(60 * 60),
        }
    }
}

impl JwksRefresh {
    /// The wait before the next refresh, given the last response's `max-age`.
    pub fn interval(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default)
            .clamp(self.min, self.max.max(self.min))
    }
}

/// `max-age` of a `Cache-Control` value (`no-store`/`no-cache` mean "as often as allowed").
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        let (name, value) = directive.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| value.trim().trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// The keys of one successful fetch. Replaced whole, never edited in place.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    /// The response's `Cache-Control: max-age`, if it had one.
    max_age: Option<Duration>,
}

/// JWKS keys for verification. Readers take a short read lock to clone an `Arc` of the current
/// key set and never wait for the network: a fetch builds a new set and swaps it in after the
/// response arrived. Fetches are single-flight (one at a time, behind `fetching`).
pub struct JwksCache {
    shared: Arc<JwksShared>,
}

struct JwksShared {
    url: String,
    http: reqwest::Client,
    refresh: JwksRefresh,
    current: RwLock<Arc<KeySet>>,
    /// Held for the whole of a fetch; only fetchers (and unknown kids waiting for one) take it.
    fetching: tokio::sync::Mutex<()>,
    /// When an unknown `kid` last caused a refetch (the start-up and periodic fetches do not
    /// count). Held only to read or set the instant, never across an await.
    refetched_at: std::sync::Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(url: String) -> Self {
        Self::with_refresh(url, JwksRefresh::default())
    }

    /// A cache whose background refresh (see [`Self::refresh_periodically`]) uses `refresh`.
    pub fn with_refresh(url: String, refresh: JwksRefresh) -> Self {
        let http = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            shared: Arc::new(JwksShared {
                url,
                http,
                refresh,
                current: RwLock::new(Arc::new(KeySet::default())),
                fetching: tokio::sync::Mutex::new(()),
                refetched_at: std::sync::Mutex::new(None),
            }),
        }
    }

    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// Fetch the key set now (the start-up check). Returns how many keys it holds.
    pub async fn refresh(&self) -> Result<usize, OidcError> {
        self.shared.fetch().await
    }

    /// Fetch the key set again in the background, every `max-age` of the last response clamped
    /// to the [`JwksRefresh`] bounds, so removed keys stop being trusted. A failed fetch keeps
    /// the last good keys (an IdP outage must not sign everyone out) and is retried after
    /// `min`. The task ends once this cache is dropped.
    pub fn refresh_periodically(&self) {
        let shared: Weak<JwksShared> = Arc::downgrade(&self.shared);
        let refresh = self.shared.refresh;
        let mut wait = refresh.interval(self.shared.snapshot().max_age);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(wait).await;
                let Some(cache) = shared.upgrade() else {
                    return;
                };
                wait = match cache.fetch().await {
                    Ok(_) => refresh.interval(cache.snapshot().max_age),
                    Err(error) => {
                        tracing::warn!(%error, "periodic JWKS refresh failed; keeping the last keys");
                        refresh.min
                    }
                };
            }
        });
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let shared = &self.shared;
        if let Some(key) = shared.cached(kid) {
            return Some(key);
        }
        if shared.claim_refetch() {
            if let Err(error) = shared.fetch().await {
                tracing::warn!(%error, "JWKS refetch failed");
            }
        } else if shared.fetching.try_lock().is_err() {
            // A fetch is under way (perhaps for this very rotation): its result decides.
            drop(shared.fetching.lock().await);
        }
        shared.cached(kid)
    }
}

impl JwksShared {
    fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.snapshot().keys.get(kid).cloned()
    }

    /// Whether this unknown kid may cause a refetch now (at most one per interval).
    fn claim_refetch(&self) -> bool {
        let mut refetched_at = self
            .refetched_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if refetched_at.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            return false;
        }
        *refetched_at = Some(Instant::now());
        true
    }

    /// Fetch and swap in the key set; one fetch at a time. Readers keep the old set meanwhile.
    async fn fetch(&self) -> Result<usize, OidcError> {
        let _single_flight = self.fetching.lock().await;
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|response| response.error_for_status())
            .map_err(|error| OidcError::JwksUnreachable(error.without_url()))?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age);
        let set: JwkSet = response.json().await.map_err(|_| OidcError::JwksInvalid)?;
        let keys: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        if keys.is_empty() {
            return Err(OidcError::JwksEmpty);
        }
        let count = keys.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(KeySet { keys, max_age });
        Ok(count)
    }
}

/// Why the identity provider's keys could not be had (at start-up, or on a refresh, which then
/// keeps the last good keys). Each message says what to check.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot fetch the JWKS: {0}")]
    JwksUnreachable(#[source] reqwest::Error),
    #[error("the JWKS is not a valid key set")]
    JwksInvalid,
    #[error("the JWKS has no usable keys with a key id")]
    JwksEmpty,
    #[error(
        "cannot read the identity provider's discovery document {url}: {source}; check \
         HUB_OIDC_ISSUER, or set HUB_JWKS_URL (or CLERK_JWT_KEY) to skip discovery"
    )]
    DiscoveryUnreachable { url: String, source: reqwest::Error },
    #[error("{url} is not an OpenID Provider configuration (it needs `issuer` and `jwks_uri`)")]
    DiscoveryInvalid { url: String },
    #[error(
        "the discovery document {url} names the issuer {named:?}, not HUB_OIDC_ISSUER={issuer:?}: \
         set HUB_OIDC_ISSUER to exactly the `iss` of your access tokens"
    )]
    IssuerMismatch {
        url: String,
        named: String,
        issuer: String,
    },
    #[error("the discovery document {url} names a JWKS that is not https:// ({jwks})")]
    JwksNotHttps { url: String, jwks: String },
}

/// OpenID Connect Discovery: the key set URL (`jwks_uri`) of the provider at `issuer`, read from
/// `{issuer}/.well-known/openid-configuration`. The document must name exactly this issuer
/// (OpenID Connect Discovery 1.0 §4.3): anything else would be trusting another provider's keys.
pub async fn discover_jwks_url(issuer: &str) -> Result<String, OidcError> {
    #[derive(Deserialize)]
    struct ProviderMetadata {
        issuer: String,
        jwks_uri: String,
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let http = reqwest::Client::builder()
        .timeout(JWKS_FETCH_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    let response = http
        .get(&url)
        .send()
        .await
        .and_then(|response| response.error_for_status())
        .map_err(|error| OidcError::DiscoveryUnreachable {
            url: url.clone(),
            source: error.without_url(),
        })?;
    let metadata: ProviderMetadata = response
        .json()
        .await
        .map_err(|_| OidcError::DiscoveryInvalid { url: url.clone() })?;
    if metadata.issuer != issuer {
        return Err(OidcError::IssuerMismatch {
            url,
            named: metadata.issuer,
            issuer: issuer.to_owned(),
        });
    }
    let jwks = metadata.jwks_uri;
    if !(jwks.starts_with("https://") || crate::config::is_loopback_http(&jwks)) {
        return Err(OidcError::JwksNotHttps { url, jwks });
    }
    Ok(jwks)
}

/// What a deployment pins about its identity provider.
pub struct OidcSettings {
    pub issuer: String,
    /// Allowed `azp` values; empty means no `azp` is acceptable when one is present.
    pub authorized_parties: Vec<String>,
    /// Refuse tokens that do not name an allowed client (production, where
    /// `authorized_parties` is never empty): otherwise a token the same IdP issued to another
    /// client, without `azp`, would pass. The client is `azp`, else RFC 9068's `client_id`,
    /// else Okta's `cid`, else Entra v1's `appid`. When false, only an `azp` that is present is
    /// checked.
    pub require_azp: bool,
    /// For IdPs other than Clerk: the claim holding the firm id (`tid`, `tenant.id`).
    pub firm_claim: Option<ClaimPath>,
    /// Who is a firm admin (default: Clerk's organization role).
    pub admin: AdminRule,
    /// The firm-role values (read where `admin` reads) that make a conflicts/risk officer.
    pub risk_roles: Vec<String>,
    /// Accepted audiences (`aud` must name one of them); empty: `aud` is not checked.
    pub audiences: Vec<String>,
}

pub struct OidcVerifier {
    settings: OidcSettings,
    keys: KeySource,
}

/// A claim that must be a string when present (anything else makes the token invalid).
fn optional_text<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<&'a str>, AuthError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or(AuthError::Invalid),
    }
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings, keys: KeySource) -> Self {
        Self { settings, keys }
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    pub fn jwks(&self) -> Option<&JwksCache> {
        match &self.keys {
            KeySource::Jwks(cache) => Some(cache),
            KeySource::Pem(_) => None,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(AuthError::Invalid);
        }
        let key = match &self.keys {
            KeySource::Pem(key) => (**key).clone(),
            KeySource::Jwks(cache) => {
                let kid = header.kid.as_deref().ok_or(AuthError::Invalid)?;
                cache.key(kid).await.ok_or(AuthError::UnknownKey)?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = ALGORITHMS.to_vec();
        validation.set_issuer(&[self.settings.issuer.as_str()]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_SKEW_SECS;
        if self.settings.audiences.is_empty() {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        } else {
            validation.set_audience(&self.settings.audiences);
            // jsonwebtoken checks `aud` only when a token has one: a configured audience must
            // not be dodged by leaving the claim out.
            validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        }
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            _ => AuthError::Invalid,
        })?
        .claims;
        let user_id = optional_text(&claims, "sub")?
            .filter(|sub| !sub.is_empty())
            .ok_or(AuthError::Invalid)?;
        let expires_at = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(AuthError::Invalid)?;
        if optional_text(&claims, "sts")? == Some("pending") {
            return Err(AuthError::PendingSession);
        }
        let party = match optional_text(&claims, "azp")? {
            Some(azp) => Some(azp),
            None if self.settings.require_azp => Some(
                ["client_id", "cid", "appid"]
                    .into_iter()
                    .find_map(|claim| optional_text(&claims, claim).transpose())
                    .transpose()?
                    .ok_or(AuthError::UnauthorizedParty)?,
            ),
            None => None,
        };
        if party.is_some_and(|party| {
            !self
                .settings
                .authorized_parties
                .iter()
                .any(|allowed| allowed == party)
        }) {
            return Err(AuthError::UnauthorizedParty);
        }
        let firm_id = crate::claims::firm(&claims, self.settings.firm_claim.as_ref())
            .ok_or(AuthError::NoFirm)?;
        Ok(Principal {
            user_id: user_id.to_owned(),
            firm_id,
            expires_at,
            firm_admin: self.settings.admin.is_admin(&claims),
            risk_officer: self
                .settings
                .admin
                .names_any(&claims, &self.settings.risk_roles),
            profile: Profile::from_claims(&claims),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300, must-revalidate"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("Max-Age = \"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn the_refresh_interval_is_clamped_and_defaults_when_max_age_is_absent() {
        let refresh = JwksRefresh::default();
        assert_eq!(refresh.interval(None), Duration::from_secs(300));
        assert_eq!(
            refresh.interval(Some(Duration::ZERO)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh.interval(Some(Duration::from_secs(86_400))),
            Duration::from_secs(3600)
        );
        assert_eq!(
            refresh.interval(Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
    }
}
