//! The replies of the firm's REST API that the laptop reads, as typed structs. They are parsed
//! once here, where the bytes arrive, and handed on (to the window, as the same JSON) typed. The
//! field names and shapes are the server's (`sync-server`: `rest::Member`,
//! `copilot::Availability`); they are a wire format and are not renamed.

use serde::{Deserialize, Serialize};

/// One member of a matter: `GET /api/v1/cases/{case}/members` answers a list of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    /// From the firm directory: null until the person has signed in with a token that names
    /// them (and absent from servers older than the directory).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// `owner`, `editor`, `commenter` or `viewer` (kept as text: a newer server's role shows
    /// rather than failing the list; [`MatterRole`] is what the app sends).
    pub role: String,
    pub added_by: String,
    /// RFC 3339, as the server wrote it.
    pub added_at: String,
}

/// A role on a matter, as the app asks for it (`PUT …/members/{user}`). A commenter reads and
/// comments on drafts; the server refuses anything else it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatterRole {
    Owner,
    Editor,
    Commenter,
    Viewer,
}

impl MatterRole {
    /// Parse the window's text once, at the command's edge.
    pub fn parse(text: &str) -> Option<MatterRole> {
        match text {
            "owner" => Some(MatterRole::Owner),
            "editor" => Some(MatterRole::Editor),
            "commenter" => Some(MatterRole::Commenter),
            "viewer" => Some(MatterRole::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MatterRole::Owner => "owner",
            MatterRole::Editor => "editor",
            MatterRole::Commenter => "commenter",
            MatterRole::Viewer => "viewer",
        }
    }
}

/// A person of the firm: `GET /api/v1/directory` answers a list of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /api/v1/me`: who the lawyer is to the firm (which admin screens the app shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmRoles {
    pub user_id: String,
    pub firm_id: String,
    pub firm_admin: bool,
    /// The conflicts/risk role (`HUB_CONFLICTS_VALUE` on the server): manages ethical walls and sees conflicts checks in full.
    #[serde(default)]
    pub conflicts_officer: bool,
}

/// An ethical wall anywhere in the firm: `GET /api/v1/screens` answers a list of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmScreen {
    pub case_id: String,
    #[serde(default)]
    pub case_title: Option<String>,
    pub user_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub reason: String,
    pub added_by: String,
    #[serde(default)]
    pub added_by_name: Option<String>,
    pub added_at: String,
}

/// A matter of the firm (the walls screen's picker): `GET /api/v1/matters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterRef {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// `GET`/`PUT /api/v1/copilot/policy`: the firm's copilot switch and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopilotPolicy {
    pub enabled: bool,
    pub store_content: bool,
    pub monthly_token_quota: Option<i64>,
    pub effective_monthly_tokens: i64,
    /// Whether the server has a model endpoint configured.
    pub configured: bool,
    pub model: String,
}

/// Calls and tokens of one group of a usage report (a person, a matter or a month).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageGroup {
    /// The person (`by_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The matter (`by_case`) and its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `YYYY-MM` (`by_month`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// `GET /api/v1/copilot/usage`, without the list of calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    pub since: String,
    pub until: String,
    pub by_user: Vec<UsageGroup>,
    #[serde(default)]
    pub by_case: Vec<UsageGroup>,
    #[serde(default)]
    pub by_month: Vec<UsageGroup>,
}

/// `GET /api/v1/cases/{case}/copilot`: whether the copilot may be used on a matter, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopilotAvailability {
    pub available: bool,
    /// Null when available; else `copilot_not_configured`, `copilot_disabled`,
    /// `consent_required` or `quota_exceeded`.
    pub reason_code: Option<String>,
    /// A sentence for the lawyer.
    pub message: String,
    pub consented: bool,
    pub model: String,
    /// The actions the server offers (`summarize`, `redraft`, `draft_clause`, `review_risks`).
    pub actions: Vec<String>,
    pub quota: CopilotQuota,
}

/// The user's monthly copilot allowance and what they have used of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopilotQuota {
    pub used_tokens: i64,
    pub monthly_tokens: i64,
}

/// One of my matters: `GET /api/v1/cases` answers a list of these, with each matter's legal
/// hold (absent from servers older than holds: not held).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmMatter {
    pub id: protocol::CaseId,
    /// `owner`, `editor` or `viewer`.
    pub role: String,
    #[serde(default)]
    pub title: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub legal_hold: bool,
    #[serde(default)]
    pub hold_reason: Option<String>,
    #[serde(default)]
    pub hold_by: Option<String>,
    #[serde(default)]
    pub hold_at: Option<String>,
}

impl FirmMatter {
    /// The matter's hold as the store records it, if held.
    pub fn hold(&self) -> Option<crate::store::LegalHold> {
        self.legal_hold.then(|| crate::store::LegalHold {
            case_id: self.id,
            reason: self.hold_reason.clone().unwrap_or_default(),
            placed_by: self.hold_by.clone().unwrap_or_default(),
            placed_at: self.hold_at.clone().unwrap_or_default(),
        })
    }
}

/// One entry of the firm's audit log (`GET /api/v1/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub case_id: Option<String>,
    pub case_title: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
    pub at: String,
}

/// The filters of the firm's audit log; empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub case: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// `YYYY-MM-DD`, included.
    #[serde(default)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`, included.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub before: Option<i64>,
}

impl AuditFilter {
    /// The query string (`?case=…&actor=…`), empty when nothing is filtered.
    pub fn query(&self) -> String {
        let mut query = oauth2::url::form_urlencoded::Serializer::new(String::new());
        let text = [
            ("case", &self.case),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ];
        for (name, value) in text {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        for (name, value) in [("limit", self.limit), ("before", self.before)] {
            if let Some(value) = value {
                query.append_pair(name, &value.to_string());
            }
        }
        let query = query.finish();
        if query.is_empty() {
            query
        } else {
            format!("?{query}")
        }
    }
}

/// What the new-matter form asks the server to check (`POST /api/v1/conflicts/check`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConflictQuery {
    pub client: String,
    pub adverse: Vec<String>,
    pub related: Vec<String>,
}

/// The server's answer to a conflicts check: every possible conflict, best match first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictCheck {
    /// Named in the new matter's document, so the server files the check with the matter.
    pub check_id: String,
    /// Hits in all (the list may stop short of them).
    pub total: usize,
    pub hits: Vec<ConflictHit>,
}

/// One possible conflict. On a matter the lawyer may read: which party matched which name, and
/// how; on any other matter: only that a possible conflict exists and whom to ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "visibility", rename_all = "snake_case")]
pub enum ConflictHit {
    Detail {
        case_id: String,
        #[serde(default)]
        title: Option<String>,
        /// The stored party, and its side on that matter (`client`, `adverse`, `related`).
        party: String,
        party_kind: String,
        /// The name on the form it matched, and its side on the new matter.
        searched: String,
        searched_kind: String,
        /// 0–1, higher is closer.
        score: f64,
        /// `same_name`, `spelling_differs` or `name_contained`.
        rule: String,
    },
    Restricted {
        possible_conflict: bool,
        ask: ConflictContact,
    },
}

/// Whom to ask about a possible conflict on a matter the lawyer may not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ConflictContact {
    ResponsibleLawyer {
        user_id: String,
        #[serde(default)]
        name: Option<String>,
    },
    ConflictsRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the window receives is what the server sent, field for field.
    #[test]
    fn replies_pass_through_unchanged() {
        let members = serde_json::json!([
            {"user_id": "ada", "name": "Ada Lovelace", "email": "ada@firm.example",
             "role": "owner", "added_by": "ada", "added_at": "2026-11-29T10:00:00.123456Z"},
            {"user_id": "bob", "name": null, "email": null,
             "role": "viewer", "added_by": "ada", "added_at": "2026-11-30T08:00:00Z"}
        ]);
        let parsed: Vec<Member> = serde_json::from_value(members.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), members);

        let availability = serde_json::json!({
            "available": false, "reason_code": "consent_required",
            "message": "The client has not consented.", "consented": false, "model": "m",
            "actions": ["summarize", "redraft", "draft_clause", "review_risks"],
            "quota": {"used_tokens": 10, "monthly_tokens": 1000}
        });
        let parsed: CopilotAvailability = serde_json::from_value(availability.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), availability);
    }

    #[test]
    fn matters_carry_their_hold_and_older_servers_hold_nothing() {
        let matters: Vec<FirmMatter> = serde_json::from_value(serde_json::json!([
            {"id": "0b7e4c1a-8f7e-4a57-9a55-4c6f3a1d2e10", "role": "owner", "title": "A",
             "created_at": "2026-12-01T10:00:00Z", "legal_hold": true,
             "hold_reason": "Litigation", "hold_by": "root", "hold_at": "2026-12-06T10:00:00Z"},
            {"id": "1b7e4c1a-8f7e-4a57-9a55-4c6f3a1d2e10", "role": "viewer", "title": null,
             "created_at": "2026-12-01T10:00:00Z"}
        ]))
        .unwrap();
        assert_eq!(matters[0].hold().unwrap().reason, "Litigation");
        assert_eq!(matters[1].hold(), None);
    }

    #[test]
    fn audit_filters_become_a_query_string() {
        let filter = AuditFilter {
            actor: Some("ada lovelace".into()),
            action: Some(" ".into()),
            from: Some("2026-12-01".into()),
            limit: Some(50),
            ..AuditFilter::default()
        };
        assert_eq!(
            filter.query(),
            "?actor=ada+lovelace&from=2026-12-01&limit=50"
        );
        assert_eq!(AuditFilter::default().query(), "");
    }

    #[test]
    fn roles_parse_and_print_as_the_server_spells_them() {
        for role in ["owner", "editor", "commenter", "viewer"] {
            let parsed = MatterRole::parse(role).unwrap();
            assert_eq!(parsed.as_str(), role);
            assert_eq!(serde_json::to_value(parsed).unwrap(), role);
        }
        assert_eq!(MatterRole::parse("admin"), None);
        let report: UsageReport = serde_json::from_value(serde_json::json!({
            "since": "2026-12-01T00:00:00Z", "until": "2026-12-06T00:00:00Z",
            "totals": {"calls": 1}, "calls": [],
            "by_user": [{"user_id": "ada", "calls": 1, "prompt_tokens": 2, "completion_tokens": 3}],
            "by_case": [{"case_id": "c", "title": null, "calls": 1, "prompt_tokens": 2, "completion_tokens": 3}],
            "by_month": [{"month": "2026-12", "calls": 1, "prompt_tokens": 2, "completion_tokens": 3}]
        }))
        .unwrap();
        assert_eq!(report.by_month[0].month.as_deref(), Some("2026-12"));
    }

    #[test]
    fn members_from_a_server_without_the_directory_have_no_name() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "user_id": "ada", "role": "owner", "added_by": "ada", "added_at": "2026-11-29T10:00:00Z"
        }))
        .unwrap();
        assert_eq!((member.name, member.email), (None, None));
    }

    #[test]
    fn conflict_hits_parse_both_visibilities() {
        let check: ConflictCheck = serde_json::from_value(serde_json::json!({
            "check_id": "7d1f0a52-3c4e-4a8b-9f10-2b3c4d5e6f70", "total": 2,
            "hits": [
                {"visibility": "detail", "case_id": "c1", "title": "Acme v Globex",
                 "party": "Acme, Inc.", "party_kind": "adverse", "searched": "ACME Corporation",
                 "searched_kind": "client", "score": 1.0, "rule": "same_name"},
                {"visibility": "restricted", "possible_conflict": true,
                 "ask": {"role": "responsible_lawyer", "user_id": "ada", "name": "Ada Lovelace"}},
                {"visibility": "restricted", "possible_conflict": true,
                 "ask": {"role": "conflicts_role"}}
            ]
        }))
        .unwrap();
        assert!(
            matches!(&check.hits[0], ConflictHit::Detail { party_kind, .. } if party_kind == "adverse")
        );
        assert_eq!(
            check.hits[1],
            ConflictHit::Restricted {
                possible_conflict: true,
                ask: ConflictContact::ResponsibleLawyer {
                    user_id: "ada".into(),
                    name: Some("Ada Lovelace".into())
                }
            }
        );
        assert!(matches!(
            &check.hits[2],
            ConflictHit::Restricted {
                ask: ConflictContact::ConflictsRole,
                ..
            }
        ));
    }
}
