//! Verification of Clerk / OIDC access tokens: RS256/384/512 only, keys from a PEM
//! (`CLERK_JWT_KEY`, no network) or a JWKS URL (refreshed in the background every
//! `Cache-Control: max-age`, clamped to [`JwksRefresh`]'s bounds, and refetched on an unknown
//! `kid` at most once per [`JWKS_REFETCH_INTERVAL`]), `iss` pinned, `exp` and `sub` required,
//! `nbf` checked, 5 s of clock skew, `azp` checked against an allowlist (required in
//! production), Clerk's `sts: "pending"` refused, and the firm taken from `o.id` (Clerk session
//! token v2), `org_id` (v1) or a configured claim.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::{AuthError, Principal};

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
    pub async fn refresh(&self) -> Result<usize, String> {
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
    async fn fetch(&self) -> Result<usize, String> {
        let _single_flight = self.fetching.lock().await;
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|response| response.error_for_status())
            .map_err(|error| format!("cannot fetch the JWKS: {}", error.without_url()))?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age);
        let set: JwkSet = response
            .json()
            .await
            .map_err(|_| "the JWKS is not a valid key set".to_owned())?;
        let keys: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        if keys.is_empty() {
            return Err("the JWKS has no usable keys with a key id".into());
        }
        let count = keys.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(KeySet { keys, max_age });
        Ok(count)
    }
}

/// What a deployment pins about its identity provider.
pub struct OidcSettings {
    pub issuer: String,
    /// Allowed `azp` values; empty means no `azp` is acceptable when one is present.
    pub authorized_parties: Vec<String>,
    /// Refuse tokens that do not name an allowed client (production, where
    /// `authorized_parties` is never empty): otherwise a token the same IdP issued to another
    /// client, without `azp`, would pass. The client is `azp`, else RFC 9068's `client_id`,
    /// else Okta's `cid`. When false, only an `azp` that is present is checked.
    pub require_azp: bool,
    /// For IdPs other than Clerk: the claim holding the firm id (dotted path, e.g. `tenant.id`).
    pub firm_claim: Option<String>,
    /// Optional audience to require.
    pub audience: Option<String>,
}

pub struct OidcVerifier {
    settings: OidcSettings,
    keys: KeySource,
}

#[derive(Deserialize)]
struct ClerkOrganization {
    id: Option<String>,
    rol: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    azp: Option<String>,
    /// The client in RFC 9068 JWT access tokens, and Okta's name for it: stand-ins for a
    /// missing `azp` where `azp` is required.
    client_id: Option<String>,
    cid: Option<String>,
    sts: Option<String>,
    /// Clerk session token v2.
    o: Option<ClerkOrganization>,
    /// Clerk session token v1.
    org_id: Option<String>,
    org_role: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

fn claim_path<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Option<&'a str> {
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    value.as_str()
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
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_SKEW_SECS;
        match &self.settings.audience {
            Some(audience) => validation.set_audience(&[audience.as_str()]),
            None => validation.validate_aud = false,
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                _ => AuthError::Invalid,
            })?
            .claims;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid);
        }
        if claims.sts.as_deref() == Some("pending") {
            return Err(AuthError::PendingSession);
        }
        let party = match (&claims.azp, self.settings.require_azp) {
            (Some(azp), _) => Some(azp),
            (None, true) => Some(
                claims
                    .client_id
                    .as_ref()
                    .or(claims.cid.as_ref())
                    .ok_or(AuthError::UnauthorizedParty)?,
            ),
            (None, false) => None,
        };
        if party.is_some_and(|party| !self.settings.authorized_parties.contains(party)) {
            return Err(AuthError::UnauthorizedParty);
        }
        let (firm, role) = match &self.settings.firm_claim {
            Some(path) => (claim_path(&claims.rest, path).map(str::to_owned), None),
            None => match (&claims.o, &claims.org_id) {
                (Some(organization), _) if organization.id.is_some() => {
                    (organization.id.clone(), organization.rol.clone())
                }
                (_, Some(org_id)) => (Some(org_id.clone()), claims.org_role.clone()),
                _ => (None, None),
            },
        };
        let firm_id = firm
            .filter(|firm| !firm.is_empty())
            .ok_or(AuthError::NoFirm)?;
        Ok(Principal {
            user_id: claims.sub,
            firm_id,
            expires_at: claims.exp,
            role,
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
