//! Reading a verified token's claims the way a deployment configured them: where the firm is
//! (`HUB_FIRM_CLAIM`), who is a firm admin (`HUB_ADMIN_CLAIM` / `HUB_ADMIN_VALUE`, or Clerk's
//! organization role), and the person's name and email for the firm directory. Pure functions
//! over the decoded JSON: no I/O, parsed once at start-up.

use serde_json::{Map, Value};

/// A claim setting that cannot be used; the message names the variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("{setting} is empty: name a claim, e.g. `roles` or a dotted path like `o.rol`")]
    Empty { setting: &'static str },
    #[error("{setting}={text:?} contains a space: claim names and dotted paths have none")]
    Space { setting: &'static str, text: String },
    #[error(
        "{setting}={text:?} has an empty part: write a claim (`roles`) or a dotted path \
         without leading, trailing or double dots (`o.rol`)"
    )]
    EmptyPart { setting: &'static str, text: String },
    #[error(
        "HUB_ADMIN_VALUE is set ({values}) but HUB_ADMIN_CLAIM is not: name the claim that \
         carries it, e.g. HUB_ADMIN_CLAIM=roles (Entra app roles) or groups (Okta)"
    )]
    AdminValueWithoutClaim { values: String },
    #[error(
        "HUB_ADMIN_CLAIM={claim} needs HUB_ADMIN_VALUE: the value (or comma-separated \
         values) that makes a firm admin, e.g. HUB_ADMIN_VALUE=Hub.Admin"
    )]
    AdminClaimWithoutValue { claim: String },
}

/// A claim named by configuration: a top-level claim (`roles`, `https://hub.example/firm`) or a
/// dotted path into nested objects (`o.rol`, `tenant.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    /// As configured, for messages.
    text: String,
    segments: Vec<String>,
}

impl ClaimPath {
    /// `setting` names the variable in the error message (`HUB_FIRM_CLAIM`, `HUB_ADMIN_CLAIM`).
    pub fn parse(setting: &'static str, text: &str) -> Result<Self, ClaimsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ClaimsError::Empty { setting });
        }
        if text.chars().any(char::is_whitespace) {
            return Err(ClaimsError::Space {
                setting,
                text: text.to_owned(),
            });
        }
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(ClaimsError::EmptyPart {
                setting,
                text: text.to_owned(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The claim's value. A top-level claim whose name is the whole path wins (namespaced
    /// claims such as `https://hub.example/roles` contain dots); otherwise the path is walked.
    pub fn get<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        if let Some(value) = claims.get(&self.text) {
            return Some(value);
        }
        let (first, rest) = self.segments.split_first()?;
        rest.iter()
            .try_fold(claims.get(first)?, |value, segment| value.get(segment))
    }
}

/// Who the identity provider says is a firm administrator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AdminRule {
    /// Clerk: the organization role is `admin` or `org:admin` (`o.rol` in session tokens v2,
    /// `org_role` in v1).
    #[default]
    ClerkOrganizationRole,
    /// The claim is one of `values` (a string claim) or contains one of them (an array claim):
    /// Entra app roles (`roles`), Okta groups (`groups`), any custom claim.
    Claim {
        path: ClaimPath,
        values: Vec<String>,
    },
}

const CLERK_ADMIN_ROLES: [&str; 2] = ["admin", "org:admin"];

impl AdminRule {
    /// From `HUB_ADMIN_CLAIM` and `HUB_ADMIN_VALUE`: both or neither.
    pub fn from_settings(claim: Option<&str>, values: &[String]) -> Result<Self, ClaimsError> {
        let values: Vec<String> = values
            .iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect();
        match (claim, values.is_empty()) {
            (None, true) => Ok(Self::ClerkOrganizationRole),
            (None, false) => Err(ClaimsError::AdminValueWithoutClaim {
                values: values.join(","),
            }),
            (Some(claim), true) => Err(ClaimsError::AdminClaimWithoutValue {
                claim: claim.to_owned(),
            }),
            (Some(claim), false) => Ok(Self::Claim {
                path: ClaimPath::parse("HUB_ADMIN_CLAIM", claim)?,
                values,
            }),
        }
    }

    pub fn is_admin(&self, claims: &Map<String, Value>) -> bool {
        match self {
            Self::ClerkOrganizationRole => self.holds_any(claims, &CLERK_ADMIN_ROLES),
            Self::Claim { values, .. } => self.holds_any(claims, values),
        }
    }

    /// Whether the claim this rule reads (Clerk's organization role, or `HUB_ADMIN_CLAIM`)
    /// is, or contains, one of `wanted`: how other firm roles (the conflicts role,
    /// `HUB_CONFLICTS_VALUE`) are read from the same claim as the admin role.
    pub fn holds_any<S: AsRef<str>>(&self, claims: &Map<String, Value>, wanted: &[S]) -> bool {
        let matches = |value: &Value| {
            value
                .as_str()
                .is_some_and(|value| wanted.iter().any(|wanted| wanted.as_ref() == value))
        };
        match self {
            Self::ClerkOrganizationRole => {
                let organization = claims.get("o").filter(|o| o.get("id").is_some());
                let role = match organization {
                    Some(organization) => organization.get("rol"),
                    None => claims.get("org_role"),
                };
                role.is_some_and(matches)
            }
            Self::Claim { path, .. } => match path.get(claims) {
                Some(Value::Array(items)) => items.iter().any(matches),
                Some(value) => matches(value),
                None => false,
            },
        }
    }
}

/// The role values that make the firm's conflicts role (`HUB_CONFLICTS_VALUE`), read from the
/// admin role's claim: trimmed, without empties; Clerk's `org:` prefix is accepted for each.
/// Default `conflicts`.
pub fn conflicts_roles(values: &[String]) -> Vec<String> {
    let mut roles: Vec<String> = values
        .iter()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if roles.is_empty() {
        roles.push(DEFAULT_CONFLICTS_ROLE.to_owned());
    }
    let prefixed: Vec<String> = roles.iter().map(|role| format!("org:{role}")).collect();
    roles.extend(prefixed);
    roles
}

/// The conflicts role's value when `HUB_CONFLICTS_VALUE` is not set.
pub const DEFAULT_CONFLICTS_ROLE: &str = "conflicts";

/// The firm a token names: the configured claim, else Clerk's `o.id` (session token v2), else
/// `org_id` (v1 and Clerk OAuth access tokens). Only a non-empty string counts.
pub fn firm(claims: &Map<String, Value>, configured: Option<&ClaimPath>) -> Option<String> {
    let value = match configured {
        Some(path) => path.get(claims),
        None => claims
            .get("o")
            .and_then(|organization| organization.get("id"))
            .filter(|id| id.is_string())
            .or_else(|| claims.get("org_id")),
    };
    value
        .and_then(Value::as_str)
        .filter(|firm| !firm.is_empty())
        .map(str::to_owned)
}

/// Longest name or email kept in the directory (characters); a longer claim is cut.
pub const MAX_PROFILE_CHARS: usize = 256;

/// A person's name and email as their token states them, for the firm directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Profile {
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Profile {
    /// `name` (else `given_name` + `family_name`); `email`, else an email-shaped
    /// `preferred_username` (Entra v2, Okta) or `upn` (Entra v1).
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let text = |claim: &str| claims.get(claim).and_then(Value::as_str).and_then(clean);
        let name = text("name").or_else(|| {
            let parts: Vec<String> = ["given_name", "family_name"]
                .into_iter()
                .filter_map(text)
                .collect();
            clean(&parts.join(" "))
        });
        let email = text("email").or_else(|| {
            ["preferred_username", "upn"]
                .into_iter()
                .filter_map(text)
                .find(|candidate| candidate.contains('@'))
        });
        Self { name, email }
    }
}

/// Trimmed, without control characters, at most [`MAX_PROFILE_CHARS`]; `None` when empty.
fn clean(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_PROFILE_CHARS)
        .collect();
    let cleaned = cleaned.trim_end();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn paths_are_validated_and_walked() {
        let path = ClaimPath::parse("HUB_FIRM_CLAIM", "tenant.id").unwrap();
        let token = claims(json!({"tenant": {"id": "t-1"}, "https://x.test/firm": "f"}));
        assert_eq!(path.get(&token), Some(&json!("t-1")));
        let namespaced = ClaimPath::parse("HUB_FIRM_CLAIM", "https://x.test/firm").unwrap();
        assert_eq!(namespaced.get(&token), Some(&json!("f")));
        assert_eq!(
            ClaimPath::parse("X", "tenant.missing").unwrap().get(&token),
            None
        );
        for bad in ["", " ", "a..b", ".a", "a.", "a b"] {
            let error = ClaimPath::parse("HUB_ADMIN_CLAIM", bad)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("HUB_ADMIN_CLAIM"), "{error}");
        }
    }

    #[test]
    fn admin_rules_read_strings_arrays_and_clerk_roles() {
        let clerk = AdminRule::from_settings(None, &[]).unwrap();
        assert!(clerk.is_admin(&claims(json!({"o": {"id": "org", "rol": "admin"}}))));
        assert!(clerk.is_admin(&claims(json!({"org_id": "org", "org_role": "org:admin"}))));
        assert!(!clerk.is_admin(&claims(json!({"o": {"id": "org", "rol": "member"}}))));
        assert!(!clerk.is_admin(&claims(json!({"roles": ["admin"]}))));

        let entra = AdminRule::from_settings(Some("roles"), &["Hub.Admin".into()]).unwrap();
        assert!(entra.is_admin(&claims(json!({"roles": ["Hub.Reader", "Hub.Admin"]}))));
        assert!(!entra.is_admin(&claims(json!({"roles": ["Hub.Reader"]}))));
        assert!(!entra.is_admin(&claims(json!({"roles": "Hub.Administrator"}))));
        assert!(!entra.is_admin(&claims(json!({}))));
        // The conflicts/risk role is read from the same claim.
        assert!(entra.holds_any(&claims(json!({"roles": ["Hub.Risk"]})), &["Hub.Risk"]));
        assert!(clerk.holds_any(
            &claims(json!({"o": {"id": "org", "rol": "org:risk"}})),
            &["org:risk"]
        ));
        assert!(!clerk.holds_any(
            &claims(json!({"o": {"id": "org", "rol": "admin"}})),
            &["org:risk"]
        ));

        let nested =
            AdminRule::from_settings(Some("realm.role"), &["owner".into(), " admin ".into()])
                .unwrap();
        assert!(nested.is_admin(&claims(json!({"realm": {"role": "admin"}}))));
        assert!(!nested.is_admin(&claims(json!({"realm": {"role": ["user"]}}))));
        // A number or an object is never "the value".
        assert!(!nested.is_admin(&claims(json!({"realm": {"role": {"admin": true}}}))));
    }

    #[test]
    fn the_conflicts_role_is_read_from_the_admin_claim() {
        let roles = conflicts_roles(&[]);
        let clerk = AdminRule::from_settings(None, &[]).unwrap();
        assert!(clerk.holds_any(
            &claims(json!({"o": {"id": "org", "rol": "conflicts"}})),
            &roles
        ));
        assert!(clerk.holds_any(&claims(json!({"org_role": "org:conflicts"})), &roles));
        assert!(!clerk.holds_any(&claims(json!({"org_role": "admin"})), &roles));
        assert!(!clerk.is_admin(&claims(json!({"org_role": "conflicts"}))));

        let entra = AdminRule::from_settings(Some("roles"), &["Hub.Admin".into()]).unwrap();
        let roles = conflicts_roles(&[" Hub.Conflicts ".into()]);
        assert!(entra.holds_any(&claims(json!({"roles": ["Hub.Conflicts"]})), &roles));
        assert!(!entra.holds_any(&claims(json!({"roles": ["Hub.Admin"]})), &roles));
    }

    #[test]
    fn admin_settings_come_in_pairs() {
        let error = AdminRule::from_settings(Some("roles"), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("HUB_ADMIN_VALUE"), "{error}");
        let error = AdminRule::from_settings(None, &["Hub.Admin".into()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("HUB_ADMIN_CLAIM"), "{error}");
        let error = AdminRule::from_settings(Some("a..b"), &["x".into()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("empty part"), "{error}");
    }

    #[test]
    fn the_firm_is_the_configured_claim_or_clerks() {
        let token = claims(json!({"o": {"id": "org_v2"}, "org_id": "org_v1", "tid": "t"}));
        assert_eq!(firm(&token, None).as_deref(), Some("org_v2"));
        let v1 = claims(json!({"org_id": "org_v1"}));
        assert_eq!(firm(&v1, None).as_deref(), Some("org_v1"));
        let tid = ClaimPath::parse("HUB_FIRM_CLAIM", "tid").unwrap();
        assert_eq!(firm(&token, Some(&tid)).as_deref(), Some("t"));
        assert_eq!(firm(&claims(json!({"tid": ""})), Some(&tid)), None);
        assert_eq!(firm(&claims(json!({"tid": 7})), Some(&tid)), None);
    }

    #[test]
    fn profiles_fall_back_to_the_names_entra_and_okta_use() {
        let full = claims(json!({"name": " Ada Lovelace ", "email": "ada@acme.test"}));
        assert_eq!(
            Profile::from_claims(&full),
            Profile {
                name: Some("Ada Lovelace".into()),
                email: Some("ada@acme.test".into())
            }
        );
        let entra = claims(json!({"name": "Ben", "preferred_username": "ben@acme.test"}));
        assert_eq!(
            Profile::from_claims(&entra).email.as_deref(),
            Some("ben@acme.test")
        );
        let v1 = claims(
            json!({"given_name": "Carl", "family_name": "Jung", "upn": "carl@acme.test",
                               "preferred_username": "carl"}),
        );
        assert_eq!(
            Profile::from_claims(&v1),
            Profile {
                name: Some("Carl Jung".into()),
                email: Some("carl@acme.test".into())
            }
        );
        assert_eq!(
            Profile::from_claims(&claims(json!({"preferred_username": "dora"}))),
            Profile::default()
        );
        let hostile = claims(json!({"name": format!("{}\u{0007}", "x".repeat(1000))}));
        assert_eq!(
            Profile::from_claims(&hostile).name.map(|name| name.len()),
            Some(MAX_PROFILE_CHARS)
        );
    }
}
