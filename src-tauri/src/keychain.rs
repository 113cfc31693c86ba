//! The SQLCipher key of the local database lives in the OS keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux). It is made on first run: 32 random bytes in
//! SQLCipher's raw-key form, one entry per data directory.

use local::{KeyProvider, LocalError};
use rand::RngCore;

const SERVICE: &str = "app.lawyershub.desktop.database";

pub struct KeychainKey {
    /// The keychain entry's account: the absolute data directory, so two profiles on one
    /// machine (or two test instances) never share a key.
    account: String,
}

impl KeychainKey {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            account: data_dir.to_string_lossy().into_owned(),
        }
    }
}

fn unavailable(error: keyring::Error) -> LocalError {
    LocalError::KeyUnavailable(error.to_string())
}

impl KeyProvider for KeychainKey {
    fn database_key(&self) -> Result<String, LocalError> {
        let entry = keyring::Entry::new(SERVICE, &self.account).map_err(unavailable)?;
        match entry.get_password() {
            Ok(key) => Ok(key),
            Err(keyring::Error::NoEntry) => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                // SQLCipher's raw-key form `x'<64 hex>'`: the key is already 256 random bits,
                // so SQLCipher skips its passphrase KDF (PBKDF2, 256,000 rounds) on every start.
                let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
                let key = format!("x'{hex}'");
                entry.set_password(&key).map_err(unavailable)?;
                // Read it back: a keychain that accepts writes but loses them would otherwise
                // lock the lawyer out of the database on the next start.
                match entry.get_password() {
                    Ok(stored) if stored == key => Ok(key),
                    Ok(_) => Err(LocalError::KeyUnavailable(
                        "the keychain returned a different key than was stored".into(),
                    )),
                    Err(error) => Err(unavailable(error)),
                }
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}
