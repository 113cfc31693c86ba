//! The catch-up extension. It rides on Hocuspocus `Stateless` frames addressed to the reserved
//! channel [`HUB_CHANNEL`], authenticated like any document. Payloads are JSON.
//!
//! Client: `{"type":"changes","since":C}`. Server: `{"type":"changes","cursor":C2,"docs":[..],
//! "more":false}` listing the documents of the caller's firm whose last change is after cursor
//! `C`, oldest change first. With `more: true` the client asks again from `cursor`. While the
//! connection stays authenticated on the channel, the server also pushes
//! `{"type":"changed","cursor":C3,"docs":[..]}` as documents change, so a client with thousands
//! of documents only ever syncs the ones that changed.

use serde::{Deserialize, Serialize};

use crate::ProtocolError;

/// The reserved routing key of the catch-up channel.
pub const HUB_CHANNEL: &str = "$hub";

/// Most documents in one `changes` reply.
pub const MAX_CHANGES_PER_REPLY: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesRequest {
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesReply {
    pub cursor: i64,
    pub docs: Vec<String>,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubMessage {
    /// Client asks what changed since a cursor; the server answers with the same tag.
    Changes(ChangesField),
    /// Server pushes live changes.
    Changed { cursor: i64, docs: Vec<String> },
    /// Server reports a refused hub request.
    Error { code: String, message: String },
}

/// `changes` is both the request (with `since`) and the reply (with `cursor`, `docs`, `more`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChangesField {
    Reply(ChangesReply),
    Request(ChangesRequest),
}

impl HubMessage {
    pub fn request(since: i64) -> Self {
        HubMessage::Changes(ChangesField::Request(ChangesRequest { since }))
    }

    pub fn reply(cursor: i64, docs: Vec<String>, more: bool) -> Self {
        HubMessage::Changes(ChangesField::Reply(ChangesReply { cursor, docs, more }))
    }

    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        serde_json::from_str(text)
            .map_err(|error| ProtocolError::InvalidHubMessage(error.to_string()))
    }

    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_are_as_documented() {
        assert_eq!(
            HubMessage::request(5).to_json(),
            r#"{"type":"changes","since":5}"#
        );
        assert_eq!(
            HubMessage::reply(9, vec!["cases/x".into()], false).to_json(),
            r#"{"type":"changes","cursor":9,"docs":["cases/x"],"more":false}"#
        );
        assert_eq!(
            HubMessage::parse(r#"{"type":"changes","since":5}"#).unwrap(),
            HubMessage::request(5)
        );
        assert_eq!(
            HubMessage::parse(r#"{"type":"changed","cursor":3,"docs":[]}"#).unwrap(),
            HubMessage::Changed {
                cursor: 3,
                docs: vec![]
            }
        );
        assert!(HubMessage::parse("{").is_err());
    }
}
