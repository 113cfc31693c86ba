//! One store file per account. A data directory holds the default store (`lawyers-hub.db`),
//! which belongs to the first account that ever synced it (and holds the matters made before
//! any sign-in), and one store per further account under `accounts/`, named by a digest of
//! (server, firm, user). Signing in as another user or firm, or pointing the app at another
//! server, switches to that account's own file: its matters, outbox and catch-up cursor. Two
//! accounts' data never share a file, so nothing of one can be sent as the other.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::identity::Account;

/// Where the store files of one data directory are.
#[derive(Debug, Clone)]
pub struct StoreFiles {
    data_dir: PathBuf,
}

impl StoreFiles {
    /// The default store's file name in the data directory.
    pub const DEFAULT: &'static str = "lawyers-hub.db";

    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// The store used before any sign-in, and by the first account.
    pub fn default_path(&self) -> PathBuf {
        self.data_dir.join(Self::DEFAULT)
    }

    /// `account`'s own store, when the default one belongs to someone else.
    pub fn account_path(&self, account: &Account) -> PathBuf {
        let mut digest = Sha256::new();
        for part in [&account.server, &account.firm, &account.user] {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") never name the same file.
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let name = hex::encode(&digest.finalize()[..16]);
        self.data_dir.join("accounts").join(format!("{name}.db"))
    }

    /// The file that holds `wanted`'s data: its own file if it has one, else the default file
    /// when that belongs to `wanted` or to nobody yet (the first account takes it), else a new
    /// file of its own. `default_owner` is the account the default store is bound to.
    pub fn path_for(&self, default_owner: Option<&Account>, wanted: &Account) -> PathBuf {
        let own = self.account_path(wanted);
        if own.exists() {
            return own;
        }
        match default_owner {
            None => self.default_path(),
            Some(owner) if owner == wanted => self.default_path(),
            Some(_) => own,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(server: &str, firm: &str, user: &str) -> Account {
        Account {
            server: server.into(),
            firm: firm.into(),
            user: user.into(),
        }
    }

    #[test]
    fn each_account_after_the_first_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = StoreFiles::new(dir.path());
        let ada = account("hub:443/api/v1/sync", "firm-a", "ada");
        let bob = account("hub:443/api/v1/sync", "firm-b", "ada");
        // Nobody owns the default store yet: the first account takes it.
        assert_eq!(files.path_for(None, &ada), files.default_path());
        assert_eq!(files.path_for(Some(&ada), &ada), files.default_path());
        // Same user, another firm: another file.
        let other = files.path_for(Some(&ada), &bob);
        assert_ne!(other, files.default_path());
        assert!(other.starts_with(dir.path().join("accounts")));
        // Another server, same firm and user: another file again.
        let moved = account("other:443/api/v1/sync", "firm-a", "ada");
        assert_ne!(files.path_for(Some(&ada), &moved), other);
        // Parts cannot be shifted into each other.
        assert_ne!(
            files.account_path(&account("s", "ab", "c")),
            files.account_path(&account("s", "a", "bc"))
        );
        // Once an account's own file exists, it is used whoever owns the default.
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, b"").unwrap();
        assert_eq!(files.path_for(None, &bob), other);
        assert_eq!(files.path_for(Some(&ada), &bob), other);
    }
}
