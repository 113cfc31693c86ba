//! y-protocols awareness updates: `varUint(n) · n × (varUint(clientId) · varUint(clock) ·
//! varString(JSON state))`, where the state `null` means the client left.

use crate::lib0::{Reader, Writer};
use crate::{MAX_AWARENESS_CLIENTS, ProtocolError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry {
    pub client_id: u64,
    pub clock: u64,
    /// The JSON text of the state, kept as sent; `"null"` when the client went away.
    pub state: String,
}

impl AwarenessEntry {
    pub fn is_removal(&self) -> bool {
        self.state == "null"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwarenessUpdate {
    pub entries: Vec<AwarenessEntry>,
}

impl AwarenessUpdate {
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(bytes);
        let count = reader.read_var_uint("awareness client count")?;
        // Each entry takes at least three bytes.
        if count > (reader.remaining() / 3) as u64 {
            return Err(ProtocolError::Truncated {
                what: "awareness update",
            });
        }
        if count > MAX_AWARENESS_CLIENTS as u64 {
            return Err(ProtocolError::LimitExceeded {
                what: "awareness clients",
                limit: MAX_AWARENESS_CLIENTS,
            });
        }
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let client_id = reader.read_var_uint("awareness client id")?;
            let clock = reader.read_var_uint("awareness clock")?;
            let state = reader.read_var_str("awareness state")?.to_owned();
            entries.push(AwarenessEntry {
                client_id,
                clock,
                state,
            });
        }
        reader.expect_end()?;
        Ok(Self { entries })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.write_var_uint(self.entries.len() as u64);
        for entry in &self.entries {
            writer.write_var_uint(entry.client_id);
            writer.write_var_uint(entry.clock);
            writer.write_var_str(&entry.state);
        }
        writer.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_knows_removals() {
        let update = AwarenessUpdate {
            entries: vec![
                AwarenessEntry {
                    client_id: 7,
                    clock: 3,
                    state: r#"{"user":{"name":"Ada"}}"#.into(),
                },
                AwarenessEntry {
                    client_id: 9,
                    clock: 1,
                    state: "null".into(),
                },
            ],
        };
        let decoded = AwarenessUpdate::decode(&update.encode()).unwrap();
        assert_eq!(decoded, update);
        assert!(decoded.entries[1].is_removal());
    }
}
