//! A passphrase-protected place for the app's secrets (database keys, the refresh token) on a
//! computer whose OS keychain cannot be used: a Linux desktop without a Secret Service, a
//! locked or refusing keychain. One file in the data directory, `keys.lhv`:
//!
//! `"LHUBVLT1"` · Argon2id memory KiB (u32 LE) · iterations (u32) · lanes (u32) · salt (16) ·
//! nonce (24) · XChaCha20-Poly1305 ciphertext of a JSON object `{slot: secret}`, authenticated
//! together with the header. Every write uses a fresh nonce and replaces the file atomically
//! (written beside it, fsynced, renamed), readable by the owner only.
//!
//! The passphrase itself is never stored; the derived key stays in this process's memory while
//! the app runs. A wrong passphrase and a damaged file both fail authentication.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::LocalError;
use crate::identity::{SignedInUser, TokenStore};
use crate::store::KeySlot;

const MAGIC: &[u8; 8] = b"LHUBVLT1";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + 12 + SALT_LEN + NONCE_LEN;
/// Argon2id with 64 MiB and 3 passes: about half a second here, once per start.
pub const MEMORY_KIB: u32 = 64 * 1024;
pub const ITERATIONS: u32 = 3;
const LANES: u32 = 1;
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 16;
/// A passphrase guards every matter on the laptop: longer than an export's minimum.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
/// The vault's file name in the data directory.
pub const FILE_NAME: &str = "keys.lhv";

/// Why a vault could not be opened or made, in words a lawyer can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    WeakPassphrase,
    #[error("that passphrase does not open this computer's Lawyers Hub data; try again")]
    WrongPassphrase,
    #[error("a passphrase is already set for this computer's Lawyers Hub data; enter it instead")]
    AlreadyExists,
    #[error("no passphrase has been set for this computer's Lawyers Hub data yet")]
    Missing,
    #[error("{path} is not a Lawyers Hub key file, or it is damaged")]
    Damaged { path: PathBuf },
    #[error("cannot read or write {path}: {message}")]
    Io { path: PathBuf, message: String },
}

impl VaultError {
    /// A stable code for the UI (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::WeakPassphrase => "weak_passphrase",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::AlreadyExists => "vault_exists",
            Self::Missing => "vault_missing",
            Self::Damaged { .. } => "vault_damaged",
            Self::Io { .. } => "io",
        }
    }
}

struct Cost {
    memory: u32,
    iterations: u32,
}

struct Sealed {
    key: [u8; 32],
    salt: [u8; SALT_LEN],
    cost: Cost,
}

/// The unlocked vault; clones share it.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    sealed: Sealed,
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(<redacted>)")
    }
}

fn io(path: &Path, error: impl std::fmt::Display) -> VaultError {
    VaultError::Io {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

fn derive(passphrase: &str, salt: &[u8], cost: &Cost, path: &Path) -> Result<[u8; 32], VaultError> {
    let damaged = || VaultError::Damaged {
        path: path.to_owned(),
    };
    let params =
        Params::new(cost.memory, cost.iterations, LANES, Some(32)).map_err(|_| damaged())?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|_| damaged())?;
    Ok(key)
}

impl Vault {
    /// The vault's path in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// Makes an empty vault at `path` with `passphrase`; refuses when one exists.
    pub fn create(path: &Path, passphrase: &str) -> Result<Vault, VaultError> {
        Self::create_with_cost(path, passphrase, MEMORY_KIB, ITERATIONS)
    }

    /// `create` with a cheaper key derivation (tests).
    pub fn create_with_cost(
        path: &Path,
        passphrase: &str,
        memory: u32,
        iterations: u32,
    ) -> Result<Vault, VaultError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(VaultError::WeakPassphrase);
        }
        if path.exists() {
            return Err(VaultError::AlreadyExists);
        }
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let cost = Cost { memory, iterations };
        let key = derive(passphrase, &salt, &cost, path)?;
        let vault = Vault {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_owned(),
                sealed: Sealed { key, salt, cost },
                secrets: BTreeMap::new(),
            })),
        };
        vault.write()?;
        Ok(vault)
    }

    /// Opens the vault at `path` with `passphrase`.
    pub fn unlock(path: &Path, passphrase: &str) -> Result<Vault, VaultError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::Missing);
            }
            Err(error) => return Err(io(path, error)),
        };
        let damaged = || VaultError::Damaged {
            path: path.to_owned(),
        };
        if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(damaged());
        }
        let word = |at: usize| {
            let mut four = [0u8; 4];
            four.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(four)
        };
        let cost = Cost {
            memory: word(8),
            iterations: word(12),
        };
        if word(16) != LANES
            || cost.memory > MAX_MEMORY_KIB
            || cost.iterations == 0
            || cost.iterations > MAX_ITERATIONS
        {
            return Err(damaged());
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[20..20 + SALT_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[20 + SALT_LEN..HEADER_LEN]);
        let key = derive(passphrase, &salt, &cost, path)?;
        let plain = XChaCha20Poly1305::new((&key).into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &bytes[..HEADER_LEN],
                },
            )
            .map_err(|_| VaultError::WrongPassphrase)?;
        let secrets: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| damaged())?;
        Ok(Vault {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_owned(),
                sealed: Sealed { key, salt, cost },
                secrets,
            })),
        })
    }

    fn write(&self) -> Result<(), VaultError> {
        let inner = self.inner.lock().map_err(|_| VaultError::Io {
            path: PathBuf::new(),
            message: "the key file's lock was poisoned".into(),
        })?;
        inner.write()
    }

    /// A key slot for the database at `database` (see `StoredKey`).
    pub fn key_slot(&self, database: &Path) -> VaultSlot {
        VaultSlot {
            vault: self.clone(),
            name: format!("database:{}", database.display()),
        }
    }

    /// A token store for sign-ins with the identity provider `issuer`.
    pub fn token_store(&self, issuer: &str) -> VaultTokenStore {
        VaultTokenStore {
            vault: self.clone(),
            name: format!("refresh:{issuer}"),
        }
    }

    fn get(&self, name: &str) -> Result<Option<String>, LocalError> {
        Ok(self.inner.lock()?.secrets.get(name).cloned())
    }

    fn put(&self, name: &str, secret: Option<&str>) -> Result<(), LocalError> {
        let mut inner = self.inner.lock()?;
        let before = inner.secrets.clone();
        match secret {
            Some(secret) => inner.secrets.insert(name.to_owned(), secret.to_owned()),
            None => inner.secrets.remove(name),
        };
        if let Err(error) = inner.write() {
            // Not written: memory must not claim what the file lacks.
            inner.secrets = before;
            return Err(LocalError::KeyUnavailable(error.to_string()));
        }
        Ok(())
    }
}

impl Inner {
    fn write(&self) -> Result<(), VaultError> {
        let plain = serde_json::to_vec(&self.secrets).map_err(|error| io(&self.path, error))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&self.sealed.cost.memory.to_le_bytes());
        header.extend_from_slice(&self.sealed.cost.iterations.to_le_bytes());
        header.extend_from_slice(&LANES.to_le_bytes());
        header.extend_from_slice(&self.sealed.salt);
        header.extend_from_slice(&nonce);
        let sealed = XChaCha20Poly1305::new((&self.sealed.key).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .map_err(|_| io(&self.path, "encryption failed"))?;
        let temporary = self.path.with_extension("lhv.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&temporary)
            .map_err(|error| io(&temporary, error))?;
        file.write_all(&header)
            .and_then(|()| file.write_all(&sealed))
            .and_then(|()| file.sync_all())
            .map_err(|error| io(&temporary, error))?;
        std::fs::rename(&temporary, &self.path).map_err(|error| io(&self.path, error))?;
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = std::fs::File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// A database key kept in the vault.
pub struct VaultSlot {
    vault: Vault,
    name: String,
}

impl KeySlot for VaultSlot {
    fn get(&self) -> Result<Option<String>, LocalError> {
        self.vault.get(&self.name)
    }

    fn set(&self, key: &str) -> Result<(), LocalError> {
        self.vault.put(&self.name, Some(key))
    }
}

/// The refresh token (and who it signs in) kept in the vault.
pub struct VaultTokenStore {
    vault: Vault,
    name: String,
}

impl std::fmt::Debug for VaultTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultTokenStore(<redacted>)")
    }
}

impl TokenStore for VaultTokenStore {
    fn load(&self) -> Result<Option<String>, LocalError> {
        self.vault.get(&self.name)
    }

    fn save(&self, refresh_token: &str) -> Result<(), LocalError> {
        self.vault.put(&self.name, Some(refresh_token))
    }

    fn load_user(&self) -> Result<Option<SignedInUser>, LocalError> {
        match self.vault.get(&format!("{}#user", self.name))? {
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|error| LocalError::TokenUnavailable(error.to_string())),
            None => Ok(None),
        }
    }

    fn save_user(&self, user: &SignedInUser) -> Result<(), LocalError> {
        let json = serde_json::to_string(user)
            .map_err(|error| LocalError::TokenUnavailable(error.to_string()))?;
        self.vault.put(&format!("{}#user", self.name), Some(&json))
    }

    fn clear(&self) -> Result<(), LocalError> {
        self.vault.put(&self.name, None)?;
        self.vault.put(&format!("{}#user", self.name), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{KeyProvider, StoredKey};

    const CHEAP: (u32, u32) = (256, 1);

    #[test]
    fn a_key_kept_with_a_passphrase_opens_only_with_that_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(
            Vault::create_with_cost(&path, "short", CHEAP.0, CHEAP.1).unwrap_err(),
            VaultError::WeakPassphrase
        );
        let vault =
            Vault::create_with_cost(&path, "correct horse battery", CHEAP.0, CHEAP.1).unwrap();
        let database = dir.path().join("lawyers-hub.db");
        let key = StoredKey::new(vault.key_slot(&database), &database)
            .database_key()
            .unwrap();
        // The passphrase and key are not in the file in the clear.
        let bytes = std::fs::read(&path).unwrap();
        for secret in [key.as_bytes(), b"correct horse battery".as_slice()] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        }
        assert_eq!(
            Vault::unlock(&path, "correct horse batterY").unwrap_err(),
            VaultError::WrongPassphrase
        );
        let again = Vault::unlock(&path, "correct horse battery").unwrap();
        assert_eq!(again.key_slot(&database).get().unwrap(), Some(key));
        assert_eq!(
            Vault::create_with_cost(&path, "another passphrase", CHEAP.0, CHEAP.1).unwrap_err(),
            VaultError::AlreadyExists
        );
        assert_eq!(
            Vault::unlock(&dir.path().join("none.lhv"), "correct horse battery").unwrap_err(),
            VaultError::Missing
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
    }

    #[test]
    fn refresh_tokens_survive_a_restart_and_sign_out_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let vault = Vault::create_with_cost(&path, "a long passphrase", CHEAP.0, CHEAP.1).unwrap();
        let tokens = vault.token_store("https://id.firm.example");
        tokens.save("refresh-1").unwrap();
        let user = SignedInUser {
            subject: "user_1".into(),
            name: Some("Ada".into()),
            email: None,
        };
        tokens.save_user(&user).unwrap();
        let reopened = Vault::unlock(&path, "a long passphrase").unwrap();
        let tokens = reopened.token_store("https://id.firm.example");
        assert_eq!(tokens.load().unwrap().as_deref(), Some("refresh-1"));
        assert_eq!(tokens.load_user().unwrap(), Some(user));
        assert_eq!(
            reopened
                .token_store("https://other.example")
                .load()
                .unwrap(),
            None
        );
        tokens.clear().unwrap();
        let reopened = Vault::unlock(&path, "a long passphrase").unwrap();
        assert_eq!(
            reopened
                .token_store("https://id.firm.example")
                .load()
                .unwrap(),
            None
        );
    }

    #[test]
    fn damaged_or_hostile_files_are_refused_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let vault = Vault::create_with_cost(&path, "a long passphrase", CHEAP.0, CHEAP.1).unwrap();
        vault.key_slot(Path::new("/x.db")).set("x'00'").unwrap();
        let good = std::fs::read(&path).unwrap();
        // A flipped ciphertext byte fails authentication.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert_eq!(
            Vault::unlock(&path, "a long passphrase").unwrap_err(),
            VaultError::WrongPassphrase
        );
        // A header asking for 4 TiB of memory is refused before any derivation.
        let mut greedy = good.clone();
        greedy[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &greedy).unwrap();
        assert!(matches!(
            Vault::unlock(&path, "a long passphrase").unwrap_err(),
            VaultError::Damaged { .. }
        ));
        std::fs::write(&path, b"LHUB").unwrap();
        assert!(matches!(
            Vault::unlock(&path, "a long passphrase").unwrap_err(),
            VaultError::Damaged { .. }
        ));
    }
}
