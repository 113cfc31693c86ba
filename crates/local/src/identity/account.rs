//! The account a local store belongs to: (server, firm, user). A store is bound to the first
//! account it syncs with (`Store::bind_account`), and the sync client refuses to connect for any
//! other, so one firm's matters can never be uploaded into another firm (or another server)
//! because a setting or a sign-in changed.
//!
//! The firm and user are read from the claims of the token the client is about to send. The
//! laptop does not verify the token's signature and does not need to: the server does, and it
//! acts as exactly the user and firm those claims name. If the claims were forged, the server
//! refuses the token and nothing is sent; if they are genuine, they are who the data would be
//! uploaded as, which is what has to match.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use protocol::DocName;
use rusqlite::OptionalExtension as _;
use serde::Deserialize;

use crate::{LocalError, Store, TokenSource};

/// (normalized server address, firm id, user id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// `host:port/path` of the sync endpoint, lower-case host, default ports made explicit,
    /// scheme left out (`ws://` and `wss://` to the same place are the same server).
    pub server: String,
    pub firm: String,
    pub user: String,
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {} on {}", self.user, self.firm, self.server)
    }
}

/// The claims of a sync token that say who it is for, as the server reads them (`o.id` of a
/// Clerk v2 session token, else `org_id`).
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    o: Option<Organization>,
    org_id: Option<String>,
    /// Microsoft Entra ID's tenant (one tenant per firm).
    tid: Option<String>,
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Organization {
    id: Option<String>,
}

impl Account {
    /// The account `token` signs into on the server at `url`.
    pub fn of_token(url: &str, token: &str) -> Result<Self, LocalError> {
        let unknown = |why: &str| LocalError::AccountUnknown(why.to_owned());
        let payload = token
            .split('.')
            .nth(1)
            .ok_or_else(|| unknown("the sign-in token is not a JWT"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| unknown("the sign-in token's claims are not base64url"))?;
        let claims: Claims = serde_json::from_slice(&bytes)
            .map_err(|_| unknown("the sign-in token's claims are not JSON"))?;
        let user = claims
            .sub
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| unknown("the sign-in token names no user"))?;
        // Clerk's organization (v2, then v1), Entra's tenant; for a provider whose firm claim
        // is configured on the server only (`HUB_FIRM_CLAIM`, e.g. Okta), the issuer: such a
        // provider serves one firm, so the issuer names it as well as any claim would.
        let firm = claims
            .o
            .and_then(|organization| organization.id)
            .filter(|id| !id.is_empty())
            .or(claims.org_id.filter(|id| !id.is_empty()))
            .or(claims.tid.filter(|id| !id.is_empty()))
            .or(claims.iss.filter(|iss| !iss.is_empty()))
            .ok_or_else(|| unknown("the sign-in token names no firm"))?;
        Ok(Self {
            server: normalize_server(url)?,
            firm,
            user,
        })
    }
}

/// `wss://Hub.Example.com/api/v1/sync/` → `hub.example.com:443/api/v1/sync`.
pub fn normalize_server(url: &str) -> Result<String, LocalError> {
    let parsed = oauth2::url::Url::parse(url.trim())
        .map_err(|error| LocalError::AccountUnknown(format!("the server address: {error}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| LocalError::AccountUnknown("the server address has no host".into()))?
        .to_ascii_lowercase();
    let port = parsed.port_or_known_default().unwrap_or(0);
    let path = parsed.path().trim_end_matches('/');
    Ok(format!("{host}:{port}{path}"))
}

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
                cases.insert(DocName::parse(&name?)?.case_id().to_owned());
            }
        }
        let mut marked = 0;
        for case_id in &cases {
            marked += transaction.execute(
                "INSERT OR IGNORE INTO local_only_matters (case_id, since)
                 SELECT ?1, unixepoch()
                 WHERE NOT EXISTS (SELECT 1 FROM matter_grants WHERE case_id = ?1)",
                [case_id],
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
    pub fn is_local_only(&self, case_id: &str) -> Result<bool, LocalError> {
        let guard = self.lock()?;
        Ok(guard
            .connection
            .prepare_cached("SELECT 1 FROM local_only_matters WHERE case_id = ?1")?
            .exists([case_id])?)
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

/// The client's token source, held to the store's account: a token for any other account is
/// never handed to the session (it keeps the last good one) and the client ends the
/// connection, to find the mismatch on the next connect.
pub(crate) struct BoundTokens {
    pub(crate) inner: Arc<dyn TokenSource>,
    pub(crate) url: String,
    pub(crate) account: Account,
    pub(crate) changed: AtomicBool,
}

impl BoundTokens {
    pub(crate) fn account_changed(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }
}

impl TokenSource for BoundTokens {
    fn token(&self) -> Result<String, LocalError> {
        let token = self.inner.token()?;
        match Account::of_token(&self.url, &token) {
            Ok(account) if account == self.account => Ok(token),
            Ok(account) => {
                self.changed.store(true, Ordering::Relaxed);
                Err(LocalError::AccountMismatch {
                    bound: Box::new(self.account.clone()),
                    signed_in: Box::new(account),
                })
            }
            Err(error) => {
                self.changed.store(true, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.inner.changes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> String {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        format!(
            "{}.{}.signature",
            encode(br#"{"alg":"HS256"}"#),
            encode(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn the_account_is_the_tokens_user_and_firm_on_the_normalized_server() {
        let account = Account::of_token(
            "wss://Hub.Example.com/api/v1/sync/",
            &token(serde_json::json!({"sub": "ada", "org_id": "firm-a"})),
        )
        .unwrap();
        assert_eq!(
            account,
            Account {
                server: "hub.example.com:443/api/v1/sync".into(),
                firm: "firm-a".into(),
                user: "ada".into(),
            }
        );
        let clerk_v2 = Account::of_token(
            "ws://127.0.0.1:8080/api/v1/sync",
            &token(serde_json::json!({"sub": "ada", "o": {"id": "org_1"}, "org_id": "x"})),
        )
        .unwrap();
        assert_eq!(clerk_v2.firm, "org_1");
        assert_eq!(clerk_v2.server, "127.0.0.1:8080/api/v1/sync");
        assert_eq!(
            normalize_server("ws://hub.example.com:80/api/v1/sync").unwrap(),
            normalize_server("ws://HUB.example.com/api/v1/sync").unwrap()
        );
    }

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
        let early = DocName::case(case).unwrap();
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
        assert!(store.is_local_only(case).unwrap());
        // A matter made after the binding syncs.
        let later = DocName::case("1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b").unwrap();
        write(&later);
        assert!(!store.is_local_only(later.case_id()).unwrap());
        assert_eq!(
            store.mark_local_only().unwrap(),
            0,
            "a bound store marks nothing"
        );
        assert!(!store.is_local_only(later.case_id()).unwrap());

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
        assert!(!store.is_local_only(case).unwrap());
        assert_eq!(
            store.pending_count().unwrap(),
            2,
            "the outbox was kept throughout"
        );
    }

    #[test]
    fn tokens_without_a_user_or_firm_name_no_account() {
        for claims in [
            serde_json::json!({"org_id": "firm-a"}),
            serde_json::json!({"sub": "ada"}),
            serde_json::json!({"sub": "ada", "org_id": ""}),
            serde_json::json!({"sub": "ada", "iss": ""}),
        ] {
            let error = Account::of_token("ws://h/api/v1/sync", &token(claims)).unwrap_err();
            assert_eq!(error.code(), "account_unknown");
        }
        assert!(Account::of_token("ws://h/api/v1/sync", "opaque").is_err());
    }

    #[test]
    fn providers_without_an_organization_claim_name_the_firm_by_tenant_or_issuer() {
        let entra = Account::of_token(
            "wss://hub.firm.example/api/v1/sync",
            &token(serde_json::json!({
                "sub": "ada", "tid": "tenant-1",
                "iss": "https://login.microsoftonline.com/tenant-1/v2.0"
            })),
        )
        .unwrap();
        assert_eq!(entra.firm, "tenant-1");
        let okta = Account::of_token(
            "wss://hub.firm.example/api/v1/sync",
            &token(serde_json::json!({
                "sub": "ada", "firm": "acme", "iss": "https://acme.okta.com/oauth2/default"
            })),
        )
        .unwrap();
        assert_eq!(okta.firm, "https://acme.okta.com/oauth2/default");
    }
}
