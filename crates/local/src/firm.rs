//! The firm's server seen from the laptop beyond the sync socket: its REST API (`FirmServer`:
//! my matters and their legal holds, members, sharing a matter, the firm directory, ethical
//! walls, the audit log, the copilot's availability, consent, policy and usage, and its streamed
//! chat) and its replies as types.

mod replies;
mod rest;

pub use replies::{
    AuditEntry, AuditFilter, ConflictCheck, ConflictContact, ConflictHit, ConflictQuery,
    CopilotAvailability, CopilotPolicy, CopilotQuota, FirmMatter, FirmRoles, FirmScreen, MatterRef,
    MatterRole, Member, Person, UsageGroup, UsageReport,
};
pub use rest::{CopilotEvent, CopilotRequest, FirmServer, http_base};

/// The lawyer's role in a matter, from the server's answer to `members` (the editor's `my_role`):
/// their own row's role; `viewer` when the list leaves them out (the server shows a matter's
/// members only to people on it); `owner` when the server does not know the matter yet (made on
/// this computer, not synced: it is the lawyer's own). `None` when the server could not answer
/// (offline, down): the caller falls back to what it said last. Whatever the window shows, the
/// server refuses a write the role does not allow.
pub fn role_from_members(
    answer: Result<Vec<Member>, crate::LocalError>,
    user_id: &str,
) -> Option<String> {
    match answer {
        Ok(members) => Some(
            members
                .into_iter()
                .find(|member| member.user_id == user_id)
                .map_or_else(|| "viewer".to_owned(), |member| member.role),
        ),
        Err(crate::LocalError::CopilotRefused { code, .. }) if code == "not_found" => {
            Some("owner".to_owned())
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::LocalError;

    fn member(user_id: &str, role: &str) -> Member {
        serde_json::from_value(serde_json::json!({
            "user_id": user_id, "role": role, "added_by": "ada", "added_at": "2026-12-06T10:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn my_role_is_my_row_a_viewer_when_left_out_and_the_owner_of_an_unknown_matter() {
        let members = || Ok(vec![member("ada", "owner"), member("ben", "commenter")]);
        assert_eq!(
            role_from_members(members(), "ben").as_deref(),
            Some("commenter")
        );
        assert_eq!(
            role_from_members(members(), "ada").as_deref(),
            Some("owner")
        );
        assert_eq!(
            role_from_members(members(), "zed").as_deref(),
            Some("viewer")
        );
        let unknown = LocalError::CopilotRefused {
            code: "not_found".into(),
            message: "document not found".into(),
        };
        assert_eq!(
            role_from_members(Err(unknown), "ada").as_deref(),
            Some("owner")
        );
        let refused = LocalError::CopilotRefused {
            code: "forbidden".into(),
            message: "no".into(),
        };
        assert_eq!(role_from_members(Err(refused), "ada"), None);
        assert_eq!(role_from_members(Err(LocalError::DiskFull), "ada"), None);
    }
}
