//! Where the database key comes from: the desktop app keeps it in the OS keychain (`StoredKey`
//! over a `KeySlot`); tests use the fixed and in-memory versions here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::RngCore;

use crate::LocalError;

/// Supplies the SQLCipher key of the local database.
pub trait KeyProvider: Send + Sync {
    fn database_key(&self) -> Result<String, LocalError>;
}

/// A key known in advance (tests, CLI tools).
pub struct FixedKey(pub String);

impl KeyProvider for FixedKey {
    fn database_key(&self) -> Result<String, LocalError> {
        Ok(self.0.clone())
    }
}

impl std::fmt::Debug for FixedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedKey(<redacted>)")
    }
}

/// Where a database key is kept between runs: the OS keychain in the app, memory in tests.
pub trait KeySlot: Send + Sync {
    /// The stored key; `None` when the slot holds none.
    fn get(&self) -> Result<Option<String>, LocalError>;
    fn set(&self, key: &str) -> Result<(), LocalError>;
}

/// The key of the database file at `database`, kept in `slot` and made on first run only (never
/// while the file exists): 32 random bytes in SQLCipher's raw-key form `x'<64 hex>'` (already 256
/// random bits, so SQLCipher skips its passphrase KDF on every start).
pub struct StoredKey<S> {
    slot: S,
    database: PathBuf,
}

impl<S: KeySlot> StoredKey<S> {
    pub fn new(slot: S, database: &Path) -> Self {
        Self {
            slot,
            database: database.to_owned(),
        }
    }
}

impl<S: KeySlot> KeyProvider for StoredKey<S> {
    fn database_key(&self) -> Result<String, LocalError> {
        if let Some(key) = self.slot.get()? {
            return Ok(key);
        }
        // A lost keychain entry (a profile restored without it, a keychain reset) must not be
        // "fixed" with a new key: that key cannot open the file, and storing it would bury the
        // way back. The lawyer restores the entry or moves the file aside.
        if holds_data(&self.database) || holds_data(&side_file(&self.database, "-wal")) {
            return Err(LocalError::KeyMissing {
                database: self.database.clone(),
            });
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        let key = format!("x'{hex}'");
        self.slot.set(&key)?;
        // Read it back: a keychain that accepts writes but loses them would otherwise lock the
        // lawyer out of the database on the next start.
        match self.slot.get()? {
            Some(stored) if stored == key => Ok(key),
            _ => Err(LocalError::KeyUnavailable(
                "the keychain did not keep the key that was stored".into(),
            )),
        }
    }
}

/// Whether a file exists with content; when that cannot be told, assume it does.
fn holds_data(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(metadata) => metadata.len() > 0,
        Err(error) => error.kind() != std::io::ErrorKind::NotFound,
    }
}

/// SQLite's companion file of `database` (`-wal`, `-shm`).
fn side_file(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl<S> std::fmt::Debug for StoredKey<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredKey({})", self.database.display())
    }
}

/// A key slot in memory (tests, tools).
#[derive(Default)]
pub struct MemoryKeySlot(Mutex<Option<String>>);

impl MemoryKeySlot {
    /// Empty the slot, as when the keychain entry was deleted or not restored.
    pub fn forget(&self) -> Result<(), LocalError> {
        *self.0.lock()? = None;
        Ok(())
    }
}

impl KeySlot for MemoryKeySlot {
    fn get(&self) -> Result<Option<String>, LocalError> {
        Ok(self.0.lock()?.clone())
    }

    fn set(&self, key: &str) -> Result<(), LocalError> {
        *self.0.lock()? = Some(key.to_owned());
        Ok(())
    }
}

impl<S: KeySlot> KeySlot for &S {
    fn get(&self) -> Result<Option<String>, LocalError> {
        (**self).get()
    }

    fn set(&self, key: &str) -> Result<(), LocalError> {
        (**self).set(key)
    }
}
