//! The firm's server seen from the laptop beyond the sync socket: its REST API (`FirmServer`:
//! members, copilot availability, consent, the copilot's streamed chat) and its replies as types.

mod replies;
mod rest;

pub use replies::{CopilotAvailability, CopilotQuota, Member};
pub use rest::{CopilotEvent, CopilotRequest, FirmServer, http_base};
