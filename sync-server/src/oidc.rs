//! Verification of Clerk / OIDC access tokens: RS256/384/512 only, keys from a PEM
//! (`CLERK_JWT_KEY`, no network) or a JWKS URL (cached, refetched on an unknown `kid` at most
//! once per [`JWKS_REFETCH_INTERVAL`]), `iss` pinned, `exp` and `sub` required, `nbf` checked,
//! 5 s of clock skew, `azp` checked against an allowlist when present, Clerk's
//! `sts: "pending"` refused, and the firm taken from `o.id` (Clerk session token v2), `org_id`
//! (v1) or a configured claim.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::auth::{AuthError, Principal};

/// Least time between two JWKS fetches caused by unknown key ids (a flood of tokens with
/// made-up `kid`s must not become a flood of requests to the identity provider).
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const CLOCK_SKEW_SECS: u64 = 5;
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

/// Where verification keys come from.
pub enum KeySource {
    /// One PEM public key (Clerk's "JWT public key", `CLERK_JWT_KEY`).
    Pem(Box<DecodingKey>),
    /// A JWKS document, fetched over HTTP(S).
    Jwks(JwksCache),
}

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    state: Mutex<JwksState>,
}

struct JwksState {
    keys: HashMap<String, DecodingKey>,
    /// When an unknown `kid` last caused a refetch (the start-up fetch does not count).
    refetched_at: Option<Instant>,
}

impl JwksCache {
    pub fn new(url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            url,
            http,
            state: Mutex::new(JwksState {
                keys: HashMap::new(),
                refetched_at: None,
            }),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fetch the key set now (start-up check and refetches).
    pub async fn refresh(&self) -> Result<usize, String> {
        let mut state = self.state.lock().await;
        self.fetch_into(&mut state).await
    }

    async fn fetch_into(&self, state: &mut JwksState) -> Result<usize, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|response| response.error_for_status())
            .map_err(|error| format!("cannot fetch the JWKS: {}", error.without_url()))?
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
        state.keys = keys;
        Ok(state.keys.len())
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let mut state = self.state.lock().await;
        if let Some(key) = state.keys.get(kid) {
            return Some(key.clone());
        }
        let due = state
            .refetched_at
            .is_none_or(|at| at.elapsed() >= JWKS_REFETCH_INTERVAL);
        if !due {
            return None;
        }
        state.refetched_at = Some(Instant::now());
        if let Err(error) = self.fetch_into(&mut state).await {
            tracing::warn!(%error, "JWKS refetch failed");
            return None;
        }
        state.keys.get(kid).cloned()
    }
}

/// What a deployment pins about its identity provider.
pub struct OidcSettings {
    pub issuer: String,
    /// Allowed `azp` values; empty means no `azp` is acceptable when one is present.
    pub authorized_parties: Vec<String>,
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
        if let Some(azp) = &claims.azp
            && !self
                .settings
                .authorized_parties
                .iter()
                .any(|allowed| allowed == azp)
        {
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
