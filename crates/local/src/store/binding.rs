//! Which account a store belongs to (`store_account`), and the matters made before it belonged
//! to any (`local_only_matters`). See `identity::account` for what an account is.

use protocol::{CaseId, DocName};
use rusqlite::OptionalExtension as _;

use crate::identity::Account;
use crate::{LocalError, Store};

/// Where a store stands with the account that wants to sync it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The store belongs to this account already.
    Same,
    /// The store belonged to nobody and now belongs to this account; `local_only` matters made
    /// before stay on this computer until attached (`Store::attach_local_matters`).
    NewlyBound { local_only: usize },
}

impl Store {
    /// The account this store belongs to, if it ever synced.
    pub fn account(&self) -> Result<Option<Account>, LocalError> {
        let guard = self.lock()?;
        read_account(&guard.connection)
    }

    /// Bind the store to `account` if it belongs to nobody yet, or check that it belongs to it.
    /// Called when the server has accepted `account`'s token, never before: a refused token or
    /// a mistyped server address takes nothing. `Err(AccountMismatch)` when it belongs to
    /// someone else. The matters to keep on this computer were marked when the sign-in began
    /// (`mark_local_only`); `NewlyBound` says how many there are.
    pub fn bind_account(&self, account: &Account) -> Result<Binding, LocalError> {
        let mut guard = self.lock()?;
        let transaction = guard.connection.transaction()?;
        if let Some(bound) = read_account(&transaction)? {
            return if &bound == account {
                Ok(Binding::Same)
            } else {
                Err(LocalError::AccountMismatch {
                    bound: Box::new(bound),
                    signed_in: Box::new(account.clone()),
                })
            };
        }
        transaction.execute(
            "INSERT INTO store_account (id, server, firm, user, bound_at)
             VALUES (1, ?1, ?2, ?3, unixepoch())",
            (&account.server, &account.firm, &account.user),
        )?;
        let local_only: i64 =
            transaction.query_row("SELECT count(*) FROM local_only_matters", [], |row| {
                row.get(0)
            })?;
        let local_only = usize::try_from(local_only).unwrap_or(0);
        transaction.commit()?;
        tracing::info!(local_only, "local store bound to its account");
        Ok(Binding::NewlyBound { local_only })
    }

    /// A sign-in begins on this store: if it belongs to nobody yet, every matter it holds that
    /// no server ever granted stays on this computer ("this computer only") until the lawyer
    /// attaches it. Matters made after this call sync with the account that signs in. Returns
    /// how many were newly marked; nothing on a bound store.
    pub fn mark_local_only(&self) -> Result<usize, LocalError> {
        let mut guard = self.lock()?;
        let transaction = guard.connection.transaction()?;
        if read_account(&transaction)?.is_some() {
            return Ok(0);
        }
        let mut cases = std::collections::BTreeSet::new();
        {
            let mut statement = transaction.prepare("SELECT name FROM docs")?;
            let names = statement.query_map([], |row| row.get::<_, String>(0))?;
            for name in names {
                cases.insert(DocName::parse(&name?)?.case_id());
            }
        }
        let mut marked = 0;
        for case_id in &cases {
            marked += transaction.execute(
                "INSERT OR IGNORE INTO local_only_matters (case_id, since)
                 SELECT ?1, unixepoch()
                 WHERE NOT EXISTS (SELECT 1 FROM matter_grants WHERE case_id = ?1)",
                [case_id.as_str()],
            )?;
        }
        transaction.commit()?;
        Ok(marked)
    }

    /// Matters made on this computer before it was bound to an account and not attached yet.
    pub fn local_only_matters(&self) -> Result<Vec<String>, LocalError> {
        let guard = self.lock()?;
        let mut statement = guard
            .connection
            .prepare_cached("SELECT case_id FROM local_only_matters ORDER BY case_id")?;
        let cases = statement.query_map([], |row| row.get::<_, String>(0))?;
        Ok(cases.collect::<Result<_, _>>()?)
    }

    /// Whether `case_id` is kept on this computer only (never synced).
    pub fn is_local_only(&self, case_id: &CaseId) -> Result<bool, LocalError> {
        let guard = self.lock()?;
        Ok(guard
            .connection
            .prepare_cached("SELECT 1 FROM local_only_matters WHERE case_id = ?1")?
            .exists([case_id.as_str()])?)
    }

    /// The lawyer chose to upload the matters made on this computer to the bound account: they
    /// join the sync set (their outbox entries are sent on the next flush). Returns how many.
    pub fn attach_local_matters(&self) -> Result<usize, LocalError> {
        let guard = self.lock()?;
        if read_account(&guard.connection)?.is_none() {
            return Err(LocalError::InvalidInput(
                "sign in first: matters are attached to the account this computer syncs with"
                    .into(),
            ));
        }
        Ok(guard
            .connection
            .execute("DELETE FROM local_only_matters", [])?)
    }
}

fn read_account(connection: &rusqlite::Connection) -> Result<Option<Account>, LocalError> {
    Ok(connection
        .query_row(
            "SELECT server, firm, user FROM store_account WHERE id = 1",
            [],
            |row| {
                Ok(Account {
                    server: row.get(0)?,
                    firm: row.get(1)?,
                    user: row.get(2)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(user: &str, firm: &str) -> Account {
        Account {
            server: "hub.example.com:443/api/v1/sync".into(),
            firm: firm.into(),
            user: user.into(),
        }
    }

    #[test]
    fn a_store_belongs_to_its_first_account_and_keeps_earlier_matters_local() {
        use yrs::{Text, WriteTxn};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), &crate::FixedKey("k".into())).unwrap();
        let case = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
        let early = DocName::case(&CaseId::parse(case).unwrap());
        let write = |doc: &DocName| {
            store
                .edit(doc, |_, txn| txn.get_or_insert_text("body").push(txn, "x"))
                .unwrap()
        };
        write(&early);
        assert_eq!(store.account().unwrap(), None);
        assert!(
            store.attach_local_matters().is_err(),
            "nothing to attach to yet"
        );

        let ada = account("ada", "firm-a");
        assert_eq!(store.mark_local_only().unwrap(), 1);
        assert_eq!(store.mark_local_only().unwrap(), 0, "marked once");
        assert_eq!(
            store.bind_account(&ada).unwrap(),
            Binding::NewlyBound { local_only: 1 }
        );
        assert_eq!(store.bind_account(&ada).unwrap(), Binding::Same);
        assert_eq!(store.account().unwrap(), Some(ada.clone()));
        assert_eq!(store.local_only_matters().unwrap(), vec![case.to_owned()]);
        assert!(store.is_local_only(&early.case_id()).unwrap());
        // A matter made after the binding syncs.
        let later = DocName::case(&CaseId::parse("1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b").unwrap());
        write(&later);
        assert!(!store.is_local_only(&later.case_id()).unwrap());
        assert_eq!(
            store.mark_local_only().unwrap(),
            0,
            "a bound store marks nothing"
        );
        assert!(!store.is_local_only(&later.case_id()).unwrap());

        for other in [account("mallory", "firm-b"), account("ada", "firm-b")] {
            let error = store.bind_account(&other).unwrap_err();
            assert_eq!(error.code(), "account_mismatch");
        }
        let moved = Account {
            server: "elsewhere.example.com:443/api/v1/sync".into(),
            ..ada.clone()
        };
        assert_eq!(
            store.bind_account(&moved).unwrap_err().code(),
            "account_mismatch"
        );
        assert_eq!(
            store.account().unwrap(),
            Some(ada),
            "the binding never changes"
        );

        assert_eq!(store.attach_local_matters().unwrap(), 1);
        assert!(store.local_only_matters().unwrap().is_empty());
        assert!(!store.is_local_only(&early.case_id()).unwrap());
        assert_eq!(
            store.pending_count().unwrap(),
            2,
            "the outbox was kept throughout"
        );
    }
}
