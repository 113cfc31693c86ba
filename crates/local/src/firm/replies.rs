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
    /// `owner`, `editor` or `viewer`.
    pub role: String,
    pub added_by: String,
    /// RFC 3339, as the server wrote it.
    pub added_at: String,
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
    fn members_from_a_server_without_the_directory_have_no_name() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "user_id": "ada", "role": "owner", "added_by": "ada", "added_at": "2026-11-29T10:00:00Z"
        }))
        .unwrap();
        assert_eq!((member.name, member.email), (None, None));
    }
}
