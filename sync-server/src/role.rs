//! A member's role on a matter and where a user stands on it (role and ethical wall): the
//! types every layer shares, with no I/O.

use protocol::DocKind;
use serde::Serialize;

/// A member's role on a case, from least to most. A commenter reads everything and may write
/// only a draft's comments (checked per update against the document, `connection.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer = 1,
    Commenter = 2,
    Editor = 3,
    Owner = 4,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "commenter" => Some(Role::Commenter),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Commenter => "commenter",
            Role::Viewer => "viewer",
        }
    }

    /// Writes anything to the matter's documents.
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    /// Writes a draft's comments (and, from editor up, everything else).
    pub fn can_comment(self) -> bool {
        self >= Role::Commenter
    }

    /// What this role may write to a document of `kind`: a commenter writes a draft's
    /// comments and nothing of the matter record.
    pub fn writes(self, kind: DocKind) -> Writes {
        match (self, kind) {
            (Role::Owner | Role::Editor, _) => Writes::Everything,
            (Role::Commenter, DocKind::Draft) => Writes::Comments,
            (Role::Commenter, DocKind::Case) | (Role::Viewer, _) => Writes::Nothing,
        }
    }

    /// The live-access encoding shared with open connections (0 = no access).
    pub fn code(access: Option<Role>) -> u8 {
        access.map_or(0, |role| role as u8)
    }

    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            4 => Some(Role::Owner),
            3 => Some(Role::Editor),
            2 => Some(Role::Commenter),
            1 => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// What a member may write to one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    Nothing,
    /// Only items under the draft's root `comments` map ([`COMMENTS_ROOT`]).
    Comments,
    Everything,
}

/// The root type of a draft that holds its comment threads (docs/DRAFT_FORMAT.md).
pub const COMMENTS_ROOT: &str = "comments";

impl Writes {
    /// The scope announced in `Authenticated`: the laptop sends its changes unless it is
    /// `readonly` (an older laptop reads `comment` as read-write; the server checks anyway).
    pub fn scope(self) -> &'static str {
        match self {
            Writes::Nothing => "readonly",
            Writes::Comments => "comment",
            Writes::Everything => "read-write",
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
