//! Legal holds on this laptop: the firm's server says which matters are held (its matter
//! listing, `GET /api/v1/cases`); the app records them here, and the store refuses to delete
//! anything of a held matter (a draft, a party, a deadline) with the hold's reason. The server
//! refuses the same deletions itself; this is so the lawyer hears it at once, offline too.

use protocol::CaseId;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::LocalError;

/// A matter's legal hold, as the firm's server listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    pub case_id: CaseId,
    pub reason: String,
    /// The firm admin who placed it.
    pub placed_by: String,
    /// RFC 3339, as the server wrote it.
    pub placed_at: String,
}

impl Store {
    /// Record the holds of the server's matter listing: it is the whole truth for this account's
    /// matters, so a hold no longer listed has been lifted.
    #[tracing::instrument(level = "debug", skip_all, fields(holds = holds.len()))]
    pub fn record_legal_holds(&self, holds: &[LegalHold]) -> Result<(), LocalError> {
        let mut guard = self.lock()?;
        let transaction = guard.connection.transaction()?;
        transaction.execute("DELETE FROM legal_holds", [])?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR REPLACE INTO legal_holds (case_id, reason, placed_by, placed_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for hold in holds {
                insert.execute(params![
                    hold.case_id.as_str(),
                    hold.reason,
                    hold.placed_by,
                    hold.placed_at
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// The matter's hold, if the server last said it is held.
    pub fn legal_hold(&self, case_id: &CaseId) -> Result<Option<LegalHold>, LocalError> {
        let guard = self.lock()?;
        Ok(guard
            .connection
            .query_row(
                "SELECT reason, placed_by, placed_at FROM legal_holds WHERE case_id = ?1",
                [case_id.as_str()],
                |row| {
                    Ok(LegalHold {
                        case_id: *case_id,
                        reason: row.get(0)?,
                        placed_by: row.get(1)?,
                        placed_at: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Refuse a deletion in a held matter ([`LocalError::LegalHold`], with the reason).
    pub(crate) fn refuse_deletion(&self, case_id: &CaseId) -> Result<(), LocalError> {
        match self.legal_hold(case_id)? {
            Some(hold) => Err(LocalError::LegalHold {
                reason: hold.reason,
            }),
            None => Ok(()),
        }
    }
}
