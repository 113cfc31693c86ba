//! The firm's server seen from the laptop beyond the sync socket: its REST API (`FirmServer`:
//! my matters and their legal holds, members, sharing a matter, the firm directory, ethical
//! walls, the audit log, the copilot's availability, consent, policy and usage, and its streamed
//! chat) and its replies as types.

mod replies;
mod rest;

pub use replies::{
    AuditEntry, AuditFilter, CopilotAvailability, CopilotPolicy, CopilotQuota, FirmMatter,
    FirmRoles, FirmScreen, MatterRef, MatterRole, Member, Person, UsageGroup, UsageReport,
};
pub use rest::{CopilotEvent, CopilotRequest, FirmServer, http_base};
