//! A member's role on a matter and where a user stands on it (role and ethical wall): the
//! types every layer shares, with no I/O.

use serde::Serialize;

/// A member's role on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer = 1,
    Editor = 2,
    Owner = 3,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    /// The live-access encoding shared with open connections (0 = no access).
    pub fn code(access: Option<Role>) -> u8 {
        access.map_or(0, |role| role as u8)
    }

    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            3 => Some(Role::Owner),
            2 => Some(Role::Editor),
            1 => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// Where a user stands on a case: their membership role and whether a wall bars them. A screened
/// user has no access whatever their role or firm role (administrators included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Option<Role>,
    pub screened: bool,
}

impl Standing {
    /// The access this standing gives on the matter's documents.
    pub fn access(self) -> Option<Role> {
        if self.screened { None } else { self.role }
    }
}
