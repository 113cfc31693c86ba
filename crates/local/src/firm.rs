//! The firm's server seen from the laptop beyond the sync socket: where it is (`address`, parsed
//! from the settings) and its REST API (`FirmServer`: members, copilot availability, consent, the
//! copilot's streamed chat).

pub mod address;
mod replies;
mod rest;

pub use replies::{CopilotAvailability, CopilotQuota, Member};
pub use rest::{CopilotEvent, CopilotRequest, FirmServer, http_base};
