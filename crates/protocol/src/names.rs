//! Document names: `cases/{uuid}` for a matter record, `cases/{uuid}/drafts/{uuid}` for a draft.
//! The case id in the name is what access control is keyed on.

use crate::ProtocolError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Case,
    Draft,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Case => "case",
            DocKind::Draft => "draft",
        }
    }
}

/// A parsed, validated document name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocName {
    name: String,
    kind: DocKind,
}

fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(byte),
        })
}

impl DocName {
    /// Parse a document name (any `\0sessionId` suffix must already be stripped).
    pub fn parse(name: &str) -> Result<Self, ProtocolError> {
        let mut parts = name.split('/');
        let (Some("cases"), Some(case)) = (parts.next(), parts.next()) else {
            return Err(ProtocolError::InvalidDocName(
                "expected cases/{uuid} or cases/{uuid}/drafts/{uuid}",
            ));
        };
        if !is_uuid(case) {
            return Err(ProtocolError::InvalidDocName(
                "case id must be a lowercase UUID",
            ));
        }
        let kind = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => DocKind::Case,
            (Some("drafts"), Some(draft), None) if is_uuid(draft) => DocKind::Draft,
            _ => {
                return Err(ProtocolError::InvalidDocName(
                    "expected cases/{uuid} or cases/{uuid}/drafts/{uuid}",
                ));
            }
        };
        Ok(Self {
            name: name.to_owned(),
            kind,
        })
    }

    pub fn case(case_id: &str) -> Result<Self, ProtocolError> {
        Self::parse(&format!("cases/{case_id}"))
    }

    pub fn draft(case_id: &str, draft_id: &str) -> Result<Self, ProtocolError> {
        Self::parse(&format!("cases/{case_id}/drafts/{draft_id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The case UUID this document belongs to.
    pub fn case_id(&self) -> &str {
        &self.name[6..42]
    }
}

impl std::fmt::Display for DocName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
    const B: &str = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

    #[test]
    fn parses_cases_and_drafts() {
        let case = DocName::parse(&format!("cases/{A}")).unwrap();
        assert_eq!((case.kind(), case.case_id()), (DocKind::Case, A));
        let draft = DocName::parse(&format!("cases/{A}/drafts/{B}")).unwrap();
        assert_eq!((draft.kind(), draft.case_id()), (DocKind::Draft, A));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "cases/",
            "cases/nope",
            &format!("cases/{A}/"),
            &format!("cases/{A}/drafts"),
            &format!("cases/{A}/drafts/{B}/x"),
            &format!("cases/{}", A.to_uppercase()),
            &format!("matters/{A}"),
        ] {
            assert!(DocName::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
