//! Who is signed in, read from the OpenID Connect ID token of a token response.
//!
//! The ID token is read, not verified: it comes straight from the token endpoint over the
//! connection that discovery checked (HTTPS, or loopback), which OpenID Connect Core §3.1.3.7
//! accepts in place of the signature check. Its issuer and audience are still checked, so a
//! token meant for another client or issuer is refused. Nothing is authorized on what it says:
//! it only names the lawyer on screen; the sync server verifies the access token itself.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::LocalError;

/// The signed-in user as the identity provider names them: kept next to the refresh token so
/// the app can say who is signed in before (or without) reaching the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    /// The provider's stable id of the user (`sub`).
    pub subject: String,
    /// The display name (`name`, else given and family name), when the provider sends one.
    pub name: Option<String>,
    /// The e-mail address (`email`, else an e-mail-shaped `preferred_username`, as Entra ID
    /// sends), when the provider sends one.
    pub email: Option<String>,
}

/// The claims of an ID token that sign-in reads.
#[derive(Deserialize)]
struct IdTokenClaims {
    iss: String,
    aud: Audience,
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Self::One(audience) => audience == client_id,
            Self::Many(audiences) => audiences.iter().any(|audience| audience == client_id),
        }
    }
}

/// The user an ID token names, after checking it was issued by `issuer` for `client_id`.
pub(crate) fn user_of_id_token(
    id_token: &str,
    issuer: &str,
    client_id: &str,
) -> Result<SignedInUser, LocalError> {
    let refused = |why: &str| LocalError::SignInExchange(format!("unusable ID token: {why}"));
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| refused("not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| refused("not base64url"))?;
    let claims: IdTokenClaims =
        serde_json::from_slice(&bytes).map_err(|_| refused("claims missing or malformed"))?;
    if claims.iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(refused("issued by another provider"));
    }
    if !claims.aud.contains(client_id) {
        return Err(refused("issued for another app"));
    }
    let non_empty = |value: Option<String>| {
        value
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let name = non_empty(claims.name).or_else(|| {
        let full = [claims.given_name, claims.family_name]
            .into_iter()
            .flatten()
            .map(|part| part.trim().to_owned())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        non_empty(Some(full))
    });
    let email = non_empty(claims.email)
        .or_else(|| non_empty(claims.preferred_username).filter(|name| name.contains('@')));
    Ok(SignedInUser {
        subject: claims.sub,
        name,
        email,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";

    fn token(claims: serde_json::Value) -> String {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        format!(
            "{}.{}.signature",
            encode(br#"{"alg":"RS256"}"#),
            encode(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn reads_name_email_and_subject() {
        let id_token = token(serde_json::json!({
            "iss": "https://id.example/", "aud": "desktop", "sub": "user_1",
            "name": "Ada Lovelace", "email": "ada@firm.example",
        }));
        let user = user_of_id_token(&id_token, ISSUER, "desktop").unwrap();
        assert_eq!(
            user,
            SignedInUser {
                subject: "user_1".into(),
                name: Some("Ada Lovelace".into()),
                email: Some("ada@firm.example".into()),
            }
        );
    }

    #[test]
    fn falls_back_to_given_and_family_name_and_an_email_shaped_username() {
        let id_token = token(serde_json::json!({
            "iss": ISSUER, "aud": ["other", "desktop"], "sub": "oid-1",
            "given_name": "Ada", "family_name": "Lovelace", "preferred_username": "ada@firm.example",
        }));
        let user = user_of_id_token(&id_token, ISSUER, "desktop").unwrap();
        assert_eq!(user.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(user.email.as_deref(), Some("ada@firm.example"));

        let bare = token(serde_json::json!({
            "iss": ISSUER, "aud": "desktop", "sub": "u", "name": " ", "preferred_username": "ada",
        }));
        let user = user_of_id_token(&bare, ISSUER, "desktop").unwrap();
        assert_eq!((user.name, user.email), (None, None));
    }

    #[test]
    fn refuses_tokens_of_another_issuer_or_app_and_garbage() {
        let other_issuer =
            token(serde_json::json!({"iss": "https://evil.example", "aud": "desktop", "sub": "u"}));
        let other_app =
            token(serde_json::json!({"iss": ISSUER, "aud": ["someone-else"], "sub": "u"}));
        for bad in [
            other_issuer.as_str(),
            other_app.as_str(),
            "not-a-jwt",
            "a.%%%.c",
            "a.e30.c",
        ] {
            let error = user_of_id_token(bad, ISSUER, "desktop").unwrap_err();
            assert_eq!(error.code(), "signin_exchange", "{bad}");
        }
    }
}
