//! The account a local store belongs to: (server, firm, user). A store is bound to the first
//! account it syncs with (`Store::bind_account`), and the sync client refuses to connect for any
//! other, so one firm's matters can never be uploaded into another firm (or another server)
//! because a setting or a sign-in changed.
//!
//! The firm and user are read from the claims of the token the client is about to send. The
//! laptop does not verify the token's signature and does not need to: the server does, and it
//! acts as exactly the user and firm those claims name. If the claims were forged, the server
//! refuses the token and nothing is sent; if they are genuine, they are who the data would be
//! uploaded as, which is what has to match.

use base64::Engine as _;
use serde::Deserialize;

use crate::LocalError;

/// (normalized server address, firm id, user id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// `host:port/path` of the sync endpoint, lower-case host, default ports made explicit,
    /// scheme left out (`ws://` and `wss://` to the same place are the same server).
    pub server: String,
    pub firm: String,
    pub user: String,
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {} on {}", self.user, self.firm, self.server)
    }
}

/// The claims of a sync token that say who it is for, as the server reads them (`o.id` of a
/// Clerk v2 session token, else `org_id`).
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    o: Option<Organization>,
    org_id: Option<String>,
    /// Microsoft Entra ID's tenant (one tenant per firm).
    tid: Option<String>,
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Organization {
    id: Option<String>,
}

impl Account {
    /// The account `token` signs into on the server at `url`.
    pub fn of_token(url: &str, token: &str) -> Result<Self, LocalError> {
        let unknown = |why: &str| LocalError::AccountUnknown(why.to_owned());
        let payload = token
            .split('.')
            .nth(1)
            .ok_or_else(|| unknown("the sign-in token is not a JWT"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| unknown("the sign-in token's claims are not base64url"))?;
        let claims: Claims = serde_json::from_slice(&bytes)
            .map_err(|_| unknown("the sign-in token's claims are not JSON"))?;
        let user = claims
            .sub
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| unknown("the sign-in token names no user"))?;
        // Clerk's organization (v2, then v1), Entra's tenant; for a provider whose firm claim
        // is configured on the server only (`HUB_FIRM_CLAIM`, e.g. Okta), the issuer: such a
        // provider serves one firm, so the issuer names it as well as any claim would.
        let firm = claims
            .o
            .and_then(|organization| organization.id)
            .filter(|id| !id.is_empty())
            .or(claims.org_id.filter(|id| !id.is_empty()))
            .or(claims.tid.filter(|id| !id.is_empty()))
            .or(claims.iss.filter(|iss| !iss.is_empty()))
            .ok_or_else(|| unknown("the sign-in token names no firm"))?;
        Ok(Self {
            server: normalize_server(url)?,
            firm,
            user,
        })
    }
}

/// `wss://Hub.Example.com/api/v1/sync/` → `hub.example.com:443/api/v1/sync`.
pub fn normalize_server(url: &str) -> Result<String, LocalError> {
    let parsed = oauth2::url::Url::parse(url.trim())
        .map_err(|error| LocalError::AccountUnknown(format!("the server address: {error}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| LocalError::AccountUnknown("the server address has no host".into()))?
        .to_ascii_lowercase();
    let port = parsed.port_or_known_default().unwrap_or(0);
    let path = parsed.path().trim_end_matches('/');
    Ok(format!("{host}:{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> String {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        format!(
            "{}.{}.signature",
            encode(br#"{"alg":"HS256"}"#),
            encode(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn the_account_is_the_tokens_user_and_firm_on_the_normalized_server() {
        let account = Account::of_token(
            "wss://Hub.Example.com/api/v1/sync/",
            &token(serde_json::json!({"sub": "ada", "org_id": "firm-a"})),
        )
        .unwrap();
        assert_eq!(
            account,
            Account {
                server: "hub.example.com:443/api/v1/sync".into(),
                firm: "firm-a".into(),
                user: "ada".into(),
            }
        );
        let clerk_v2 = Account::of_token(
            "ws://127.0.0.1:8080/api/v1/sync",
            &token(serde_json::json!({"sub": "ada", "o": {"id": "org_1"}, "org_id": "x"})),
        )
        .unwrap();
        assert_eq!(clerk_v2.firm, "org_1");
        assert_eq!(clerk_v2.server, "127.0.0.1:8080/api/v1/sync");
        assert_eq!(
            normalize_server("ws://hub.example.com:80/api/v1/sync").unwrap(),
            normalize_server("ws://HUB.example.com/api/v1/sync").unwrap()
        );
    }

    #[test]
    fn tokens_without_a_user_or_firm_name_no_account() {
        for claims in [
            serde_json::json!({"org_id": "firm-a"}),
            serde_json::json!({"sub": "ada"}),
            serde_json::json!({"sub": "ada", "org_id": ""}),
            serde_json::json!({"sub": "ada", "iss": ""}),
        ] {
            let error = Account::of_token("ws://h/api/v1/sync", &token(claims)).unwrap_err();
            assert_eq!(error.code(), "account_unknown");
        }
        assert!(Account::of_token("ws://h/api/v1/sync", "opaque").is_err());
    }

    #[test]
    fn providers_without_an_organization_claim_name_the_firm_by_tenant_or_issuer() {
        let entra = Account::of_token(
            "wss://hub.firm.example/api/v1/sync",
            &token(serde_json::json!({
                "sub": "ada", "tid": "tenant-1",
                "iss": "https://login.microsoftonline.com/tenant-1/v2.0"
            })),
        )
        .unwrap();
        assert_eq!(entra.firm, "tenant-1");
        let okta = Account::of_token(
            "wss://hub.firm.example/api/v1/sync",
            &token(serde_json::json!({
                "sub": "ada", "firm": "acme", "iss": "https://acme.okta.com/oauth2/default"
            })),
        )
        .unwrap();
        assert_eq!(okta.firm, "https://acme.okta.com/oauth2/default");
    }
}
