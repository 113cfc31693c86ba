//! Document names: `cases/{uuid}` for a matter record, `cases/{uuid}/drafts/{uuid}` for a draft.
//! The case id in the name is what access control is keyed on. A matter's id alone is a
//! [`CaseId`], parsed once where it enters (a command, a handler) and passed typed from there.

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

/// A matter's id: a lowercase UUID (`8-4-4-4-12` hex digits), as in `cases/{uuid}`. Parsed once
/// at the edge; `Copy` (36 bytes inline), so passing it around never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId([u8; 36]);

impl CaseId {
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        if !is_uuid(text) {
            return Err(ProtocolError::InvalidDocName(
                "case id must be a lowercase UUID",
            ));
        }
        let mut bytes = [0; 36];
        bytes.copy_from_slice(text.as_bytes());
        Ok(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        // `parse` admits only ASCII hex digits and dashes, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::str::FromStr for CaseId {
    type Err = ProtocolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaseId({})", self.as_str())
    }
}

impl AsRef<str> for CaseId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for CaseId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CaseId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CaseId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<CaseId> for String {
    fn eq(&self, other: &CaseId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<CaseId> for &str {
    fn eq(&self, other: &CaseId) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for CaseId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CaseId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
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

    /// The matter record of `case_id` (always valid: the id was parsed).
    pub fn case(case_id: &CaseId) -> Self {
        Self {
            name: format!("cases/{case_id}"),
            kind: DocKind::Case,
        }
    }

    /// A draft of `case_id`; `draft_id` must be a lowercase UUID.
    pub fn draft(case_id: &CaseId, draft_id: &str) -> Result<Self, ProtocolError> {
        Self::parse(&format!("cases/{case_id}/drafts/{draft_id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The matter this document belongs to.
    pub fn case_id(&self) -> CaseId {
        let mut bytes = [0; 36];
        // `parse` checked that bytes 6..42 are the case's UUID.
        bytes.copy_from_slice(&self.name.as_bytes()[6..42]);
        CaseId(bytes)
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
        assert_eq!((case.kind(), case.case_id().as_str()), (DocKind::Case, A));
        let draft = DocName::parse(&format!("cases/{A}/drafts/{B}")).unwrap();
        assert_eq!(
            (draft.kind(), draft.case_id().as_str()),
            (DocKind::Draft, A)
        );
        assert_eq!(DocName::case(&draft.case_id()), case);
        assert_eq!(
            DocName::draft(&CaseId::parse(A).unwrap(), B).unwrap(),
            draft
        );
    }

    #[test]
    fn case_ids_are_lowercase_uuids() {
        let id = CaseId::parse(A).unwrap();
        assert_eq!((id.as_str(), id.to_string()), (A, A.to_owned()));
        for bad in ["", "nope", &A.to_uppercase(), &format!("{A}0"), &A[1..]] {
            assert!(CaseId::parse(bad).is_err(), "{bad} should be refused");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<CaseId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<CaseId>("\"x\"").is_err());
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
