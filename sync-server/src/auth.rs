//! Who is asking. One small interface: a token in, a [`Principal`] out. Development HS256
//! tokens live here; Clerk/OIDC verification plugs in beside them.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use crate::claims::Profile;
use crate::config::ServeSettings;
/// Why a token was refused: a typed source of the domain error (defined beside it).
pub use crate::error::AuthError;

pub const DEV_ISSUER: &str = "lawyers-hub-dev";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub firm_id: String,
    /// Seconds since the epoch after which the token must not be used.
    pub expires_at: i64,
    /// Whether the identity provider makes the caller a firm administrator (Clerk's
    /// organization role, or `HUB_ADMIN_CLAIM` / `HUB_ADMIN_VALUE`).
    pub firm_admin: bool,
    /// Whether the caller holds the firm's conflicts role (`HUB_CONFLICTS_VALUE` in the admin
    /// role's claim; Clerk's organization role `conflicts`): they see every conflicts-check hit
    /// in full, except on matters they are screened from.
    pub conflicts_officer: bool,
    /// Name and email as the token states them, for the firm directory.
    pub profile: Profile,
}

impl Principal {
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct DevClaims {
    sub: String,
    org_id: String,
    iss: String,
    iat: i64,
    exp: i64,
    /// The firm role (Clerk v1 `org_role`), e.g. `admin`; absent for ordinary members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

/// What a development token says about its holder.
#[derive(Debug, Clone, Default)]
pub struct DevToken<'a> {
    pub user: &'a str,
    pub firm: &'a str,
    /// The firm role: `admin` makes a firm administrator, `conflicts` the conflicts role.
    pub role: Option<&'a str>,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    /// Lifetime in seconds.
    pub ttl_secs: i64,
}

/// Verifies tokens: Clerk/OIDC in production; development HS256 tokens only where allowed.
/// Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    oidc: Option<std::sync::Arc<crate::oidc::OidcVerifier>>,
    dev: Option<DevAuth>,
}

impl Verifier {
    pub fn new(oidc: Option<crate::oidc::OidcVerifier>, dev: Option<DevAuth>) -> Self {
        Self {
            oidc: oidc.map(std::sync::Arc::new),
            dev,
        }
    }

    pub fn oidc(&self) -> Option<&crate::oidc::OidcVerifier> {
        self.oidc.as_deref()
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let algorithm = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid)?
            .alg;
        match (&self.dev, &self.oidc) {
            // Development tokens are HS256; OIDC tokens never are (HS* is refused there).
            (Some(dev), _) if algorithm == Algorithm::HS256 => dev.verify(token),
            (_, Some(oidc)) => oidc.verify(token).await,
            _ => Err(AuthError::Invalid),
        }
    }
}

#[derive(Clone)]
pub struct DevAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    conflicts_roles: Vec<String>,
}

impl DevAuth {
    pub fn new(secret: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            conflicts_roles: crate::claims::conflicts_roles(&[]),
        }
    }

    /// Development tokens whose firm role is one of `roles` hold the conflicts/risk role
    /// (`HUB_CONFLICTS_VALUE`, as for a real identity provider).
    pub fn with_conflicts_roles(mut self, roles: Vec<String>) -> Self {
        self.conflicts_roles = roles;
        self
    }

    pub fn mint(&self, user: &str, firm: &str, ttl_secs: i64) -> Result<String, AuthError> {
        self.mint_with_role(user, firm, None, ttl_secs)
    }

    /// A development token carrying a firm role (`admin` makes a firm administrator).
    pub fn mint_with_role(
        &self,
        user: &str,
        firm: &str,
        role: Option<&str>,
        ttl_secs: i64,
    ) -> Result<String, AuthError> {
        self.mint_token(&DevToken {
            user,
            firm,
            role,
            ttl_secs,
            ..DevToken::default()
        })
    }

    /// A development token with everything it can carry (role, name, email).
    pub fn mint_token(&self, token: &DevToken<'_>) -> Result<String, AuthError> {
        let now = chrono::Utc::now().timestamp();
        let claims = DevClaims {
            sub: token.user.to_owned(),
            org_id: token.firm.to_owned(),
            iss: DEV_ISSUER.to_owned(),
            iat: now,
            exp: now + token.ttl_secs,
            org_role: token.role.map(str::to_owned),
            name: token.name.map(str::to_owned),
            email: token.email.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::Invalid)
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[DEV_ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<DevClaims>(token, &self.decoding, &validation).map_err(
            |error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            },
        )?;
        let claims = data.claims;
        if claims.org_id.is_empty() {
            return Err(AuthError::NoFirm);
        }
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid);
        }
        // The same cleaning as for a real identity provider's claims.
        let mut profile_claims = serde_json::Map::new();
        for (claim, value) in [("name", claims.name), ("email", claims.email)] {
            if let Some(value) = value {
                profile_claims.insert(claim.into(), value.into());
            }
        }
        Ok(Principal {
            user_id: claims.sub,
            firm_id: claims.org_id,
            expires_at: claims.exp,
            firm_admin: matches!(claims.org_role.as_deref(), Some("admin" | "org:admin")),
            conflicts_officer: claims
                .org_role
                .as_deref()
                .is_some_and(|role| self.conflicts_roles.iter().any(|held| held == role)),
            profile: Profile::from_claims(&profile_claims),
        })
    }
}

/// The token verifier the settings ask for. A JWKS is fetched once here (after discovering its
/// URL when none is configured) so that a wrong issuer or URL stops the start, not the first
/// sign-in.
pub async fn build_verifier(settings: &ServeSettings) -> anyhow::Result<Verifier> {
    use crate::config::{Environment, KeyLocation};
    use crate::oidc::{JwksCache, KeySource, OidcSettings, OidcVerifier, discover_jwks_url};
    let identity = &settings.identity;
    let oidc = match &identity.issuer {
        None => None,
        Some(issuer) => {
            let keys = match identity.key_location() {
                KeyLocation::Pem(pem) => KeySource::Pem(Box::new(
                    jsonwebtoken::DecodingKey::from_rsa_pem(pem.replace("\\n", "\n").as_bytes())
                        .map_err(|_| {
                            anyhow::anyhow!("CLERK_JWT_KEY is not an RSA public key in PEM format")
                        })?,
                )),
                location => {
                    let url = match location {
                        KeyLocation::JwksUrl(url) => url.to_owned(),
                        _ => discover_jwks_url(issuer).await?,
                    };
                    let cache = JwksCache::new(url);
                    cache
                        .refresh()
                        .await
                        .map_err(|error| anyhow::anyhow!("{error} ({})", cache.url()))?;
                    // Withdrawn keys stop being trusted within the refresh interval.
                    cache.refresh_periodically();
                    KeySource::Jwks(cache)
                }
            };
            Some(OidcVerifier::new(
                OidcSettings {
                    issuer: issuer.clone(),
                    authorized_parties: identity.authorized_parties.clone(),
                    require_azp: settings.environment == Environment::Production,
                    firm_claim: identity.firm_claim_path()?,
                    admin: identity.admin_rule()?,
                    conflicts_roles: crate::claims::conflicts_roles(&identity.conflicts_values),
                    audiences: identity.accepted_audiences(),
                },
                keys,
            ))
        }
    };
    let dev = settings.dev_auth.then(|| {
        DevAuth::new(&settings.dev_secret.value)
            .with_conflicts_roles(crate::claims::conflicts_roles(&identity.conflicts_values))
    });
    Ok(Verifier::new(oidc, dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_others_do_not() {
        let auth = DevAuth::new("0123456789abcdef-test");
        let token = auth.mint("ada", "firm-1", 60).unwrap();
        let principal = auth.verify(&token).unwrap();
        assert_eq!(
            (principal.user_id.as_str(), principal.firm_id.as_str()),
            ("ada", "firm-1")
        );
        let other = DevAuth::new("another-secret-of-enough-length");
        assert_eq!(other.verify(&token), Err(AuthError::Invalid));
        assert_eq!(auth.verify("garbage"), Err(AuthError::Invalid));
        let expired = auth.mint("ada", "firm-1", -60).unwrap();
        assert_eq!(auth.verify(&expired), Err(AuthError::Expired));
    }
}
