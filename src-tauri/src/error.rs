//! What a command returns on failure: `{code, message}`. The UI matches on `code` and shows
//! `message`, which is written for a lawyer, never a stack trace or a secret.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<local::LocalError> for CommandError {
    fn from(error: local::LocalError) -> Self {
        use local::LocalError as E;
        let message = match &error {
            E::Database(_) | E::Poisoned => {
                // The detail goes to the log; the lawyer gets what to do.
                tracing::error!(code = error.code(), %error, "local database error");
                "Lawyers Hub could not read or write its data on this computer. Your earlier \
                 work is safe; please try again, and restart the app if it keeps happening."
                    .to_owned()
            }
            // Nothing was written; the editor keeps the change and retries once there is room.
            E::DiskFull => "This computer's disk is full. Free some space (empty the bin, move \
                            large files elsewhere) and your work is saved."
                .to_owned(),
            E::WrongKey => "This computer's key does not open the Lawyers Hub data. If you \
                            restored the data from elsewhere, import it through Settings."
                .to_owned(),
            // The server's own code (consent_required, rate_limited, ...) is what the UI needs.
            E::CopilotRefused { code, message } => return Self::new(code, message.clone()),
            E::KeyUnavailable(_) => "The system keychain is locked or missing, so Lawyers Hub \
                                     cannot open its encrypted data. Unlock your keychain and \
                                     restart the app."
                .to_owned(),
            _ => error.to_string(),
        };
        Self::new(error.code(), message)
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
