//! The firm's server seen from the laptop beyond the sync socket: its REST API (`FirmServer`:
//! my matters and their legal holds, members, the audit log, copilot availability, consent, the copilot's streamed chat) and its replies as types.

mod replies;
mod rest;

pub use replies::{
    AuditEntry, AuditFilter, CopilotAvailability, CopilotQuota, FirmMatter, Me, Member,
};
pub use rest::{CopilotEvent, CopilotRequest, FirmServer, http_base};
