//! "Export my local data": every document this laptop holds (matters and drafts, including
//! edits the server has not acknowledged yet) in one passphrase-encrypted file, and its import.
//!
//! File format (all integers little-endian):
//! `"LHUBARC1"` · Argon2id memory KiB (u32) · iterations (u32) · lanes (u32) · salt (16 bytes) ·
//! nonce (24 bytes) · XChaCha20-Poly1305 ciphertext, authenticated together with the header.
//! The plaintext is `u32 manifest length · manifest JSON · each document's full state (v1)`.
//! A wrong passphrase and a damaged file are told apart from nothing: both fail authentication.
//!
//! Import merges (CRDTs): it never overwrites what the laptop has, and the imported state goes
//! through the outbox like a local edit, so anything the server lacks reaches it on next sync.

use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{DocName, Store};

const MAGIC: &[u8; 8] = b"LHUBARC1";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + 12 + SALT_LEN + NONCE_LEN;
/// Argon2id at OWASP's recommended minimum (19 MiB, 2 passes): slow for a guesser, fast enough
/// for a person.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
/// Refuse parameters a crafted file could use to exhaust memory or time.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 16;
pub const MIN_PASSPHRASE_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    WeakPassphrase,
    #[error("this is not a Lawyers Hub export")]
    NotAnArchive,
    #[error("wrong passphrase, or the file is damaged")]
    WrongPassphraseOrDamaged,
    #[error("the export is damaged: {0}")]
    Damaged(String),
    #[error("cannot read or write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::LocalError),
}

impl ArchiveError {
    /// A stable code for the UI (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::WeakPassphrase => "weak_passphrase",
            Self::NotAnArchive => "not_an_archive",
            Self::WrongPassphraseOrDamaged => "wrong_passphrase",
            Self::Damaged(_) => "archive_damaged",
            Self::Io(_) => "io",
            Self::Store(_) => "store",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// Seconds since the Unix epoch.
    created_at: u64,
    documents: Vec<ManifestEntry>,
}

#[derive(Serialize, Deserialize)]
struct ManifestEntry {
    name: String,
    bytes: usize,
}

/// What an export wrote or an import merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSummary {
    pub documents: usize,
    pub bytes: u64,
}

fn derive_key(
    passphrase: &str,
    salt: &[u8],
    memory: u32,
    iterations: u32,
    lanes: u32,
) -> Result<[u8; 32], ArchiveError> {
    let params = Params::new(memory, iterations, lanes, Some(32))
        .map_err(|error| ArchiveError::Damaged(format!("key parameters: {error}")))?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|error| ArchiveError::Damaged(format!("key derivation: {error}")))?;
    Ok(key)
}

/// Write every document in `store` to `path`, encrypted with `passphrase`. The file appears
/// complete or not at all (written beside it, then renamed), readable by the owner only.
pub fn export_archive(
    store: &Store,
    path: &Path,
    passphrase: &str,
) -> Result<ArchiveSummary, ArchiveError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(ArchiveError::WeakPassphrase);
    }
    let empty = yrs::StateVector::default();
    let empty = yrs::updates::encoder::Encode::encode_v1(&empty);
    let mut states = Vec::new();
    let mut entries = Vec::new();
    // A matter the firm removed from this laptop is never exported (its documents are gone;
    // this holds even if one came back without the firm letting the lawyer in again).
    let removed = store.removed_case_ids()?;
    for name in store.documents()? {
        if removed.contains(name.case_id().as_str()) {
            continue;
        }
        let state = store.diff_since(&name, &empty)?;
        entries.push(ManifestEntry {
            name: name.as_str().to_owned(),
            bytes: state.len(),
        });
        states.push(state);
    }
    let manifest = Manifest {
        format: 1,
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0),
        documents: entries,
    };
    let manifest = serde_json::to_vec(&manifest)
        .map_err(|error| ArchiveError::Damaged(format!("manifest: {error}")))?;
    let mut plaintext =
        Vec::with_capacity(4 + manifest.len() + states.iter().map(Vec::len).sum::<usize>());
    plaintext.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
    plaintext.extend_from_slice(&manifest);
    for state in &states {
        plaintext.extend_from_slice(state);
    }

    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut nonce);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&MEMORY_KIB.to_le_bytes());
    header.extend_from_slice(&ITERATIONS.to_le_bytes());
    header.extend_from_slice(&LANES.to_le_bytes());
    header.extend_from_slice(&salt);
    header.extend_from_slice(&nonce);
    let key = derive_key(passphrase, &salt, MEMORY_KIB, ITERATIONS, LANES)?;
    let ciphertext = XChaCha20Poly1305::new((&key).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: &header,
            },
        )
        .map_err(|_| ArchiveError::Damaged("encryption failed".into()))?;

    let partial = path.with_extension("partial");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial)?;
        file.write_all(&header)?;
        file.write_all(&ciphertext)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)?;
    Ok(ArchiveSummary {
        documents: states.len(),
        bytes: (header.len() + ciphertext.len()) as u64,
    })
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Decrypt `path` and merge every document into `store`. Nothing is written unless the whole
/// file decrypts and every document in it decodes.
pub fn import_archive(
    store: &Store,
    path: &Path,
    passphrase: &str,
) -> Result<ArchiveSummary, ArchiveError> {
    let file = std::fs::read(path)?;
    if file.len() < HEADER_LEN || &file[..MAGIC.len()] != MAGIC {
        return Err(ArchiveError::NotAnArchive);
    }
    let (header, ciphertext) = file.split_at(HEADER_LEN);
    let memory = read_u32(header, 8);
    let iterations = read_u32(header, 12);
    let lanes = read_u32(header, 16);
    if memory > MAX_MEMORY_KIB || iterations > MAX_ITERATIONS || lanes == 0 || lanes > 16 {
        return Err(ArchiveError::Damaged("unsupported key parameters".into()));
    }
    let salt = &header[20..20 + SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&header[20 + SALT_LEN..HEADER_LEN]);
    let key = derive_key(passphrase, salt, memory, iterations, lanes)?;
    let plaintext = XChaCha20Poly1305::new((&key).into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: header,
            },
        )
        .map_err(|_| ArchiveError::WrongPassphraseOrDamaged)?;

    if plaintext.len() < 4 {
        return Err(ArchiveError::Damaged("no manifest".into()));
    }
    let manifest_len = read_u32(&plaintext, 0) as usize;
    let manifest_end = 4usize
        .checked_add(manifest_len)
        .filter(|end| *end <= plaintext.len())
        .ok_or_else(|| ArchiveError::Damaged("manifest length".into()))?;
    let manifest: Manifest = serde_json::from_slice(&plaintext[4..manifest_end])
        .map_err(|error| ArchiveError::Damaged(format!("manifest: {error}")))?;
    if manifest.format != 1 {
        return Err(ArchiveError::Damaged(format!(
            "format {} is newer than this app",
            manifest.format
        )));
    }
    // Check everything before writing anything.
    let mut documents = Vec::with_capacity(manifest.documents.len());
    let mut at = manifest_end;
    for entry in &manifest.documents {
        let end = at
            .checked_add(entry.bytes)
            .filter(|end| *end <= plaintext.len())
            .ok_or_else(|| ArchiveError::Damaged(format!("{} is cut short", entry.name)))?;
        let name = DocName::parse(&entry.name)
            .map_err(|error| ArchiveError::Damaged(format!("{}: {error}", entry.name)))?;
        let state = &plaintext[at..end];
        protocol::validate_server_update(state)
            .map_err(|error| ArchiveError::Damaged(format!("{}: {error}", entry.name)))?;
        documents.push((name, state));
        at = end;
    }
    if at != plaintext.len() {
        return Err(ArchiveError::Damaged("trailing bytes".into()));
    }
    // An export made before a wall must not bring the walled matter back onto this laptop.
    let removed = store.removed_case_ids()?;
    documents.retain(|(name, _)| !removed.contains(name.case_id().as_str()));
    for (name, state) in &documents {
        store.apply_local_update(name, state)?;
    }
    Ok(ArchiveSummary {
        documents: documents.len(),
        bytes: file.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::FixedKey;
    use yrs::{Text, WriteTxn};

    fn store(dir: &Path, name: &str) -> Store {
        Store::open(&dir.join(name), &FixedKey(format!("key-{name}"))).unwrap()
    }

    fn write(store: &Store, doc: &DocName, text: &str) {
        store
            .edit(doc, |_, txn| {
                let body = txn.get_or_insert_text("body");
                let end = body.len(txn);
                body.insert(txn, end, text);
            })
            .unwrap();
    }

    fn names() -> (DocName, DocName) {
        let case = protocol::CaseId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        (
            DocName::case(&case),
            DocName::draft(&case, &uuid::Uuid::new_v4().to_string()).unwrap(),
        )
    }

    const PASSPHRASE: &str = "correct horse battery staple";

    #[test]
    fn export_then_import_on_a_new_laptop_restores_every_document_and_queues_it_for_sync() {
        let dir = tempfile::tempdir().unwrap();
        let old = store(dir.path(), "old.db");
        let (matter, draft) = names();
        write(&old, &matter, "Smith v Jones");
        write(&old, &draft, "Clause 1. The Supplier shall deliver.");
        let path = dir.path().join("export.lhub");
        let exported = export_archive(&old, &path, PASSPHRASE).unwrap();
        assert_eq!(exported.documents, 2);
        assert_eq!(exported.bytes, std::fs::metadata(&path).unwrap().len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The file holds no readable text.
        let bytes = std::fs::read(&path).unwrap();
        for needle in [&b"Supplier"[..], b"Smith", draft.as_str().as_bytes()] {
            assert!(!bytes.windows(needle.len()).any(|window| window == needle));
        }

        let new = store(dir.path(), "new.db");
        let imported = import_archive(&new, &path, PASSPHRASE).unwrap();
        assert_eq!(imported.documents, 2);
        assert_eq!(
            new.text(&draft, "body").unwrap(),
            "Clause 1. The Supplier shall deliver."
        );
        assert_eq!(new.text(&matter, "body").unwrap(), "Smith v Jones");
        assert_eq!(
            new.pending_count().unwrap(),
            2,
            "imported state goes out on next sync"
        );
    }

    #[test]
    fn import_merges_with_edits_the_laptop_already_has() {
        let dir = tempfile::tempdir().unwrap();
        let laptop = store(dir.path(), "laptop.db");
        let (_, draft) = names();
        write(&laptop, &draft, "Exported. ");
        let path = dir.path().join("export.lhub");
        export_archive(&laptop, &path, PASSPHRASE).unwrap();
        write(&laptop, &draft, "Written after the export. ");
        import_archive(&laptop, &path, PASSPHRASE).unwrap();
        // Importing the same history twice changes nothing; later edits stay.
        assert_eq!(
            laptop.text(&draft, "body").unwrap(),
            "Exported. Written after the export. "
        );
    }

    #[test]
    fn wrong_passphrase_damage_truncation_and_foreign_files_are_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let old = store(dir.path(), "old.db");
        let (_, draft) = names();
        write(&old, &draft, "Privileged.");
        let path = dir.path().join("export.lhub");
        assert!(matches!(
            export_archive(&old, &path, "short"),
            Err(ArchiveError::WeakPassphrase)
        ));
        export_archive(&old, &path, PASSPHRASE).unwrap();
        let new = store(dir.path(), "new.db");

        let wrong = import_archive(&new, &path, "not the passphrase").unwrap_err();
        assert_eq!(wrong.code(), "wrong_passphrase");
        assert_eq!(
            wrong.to_string(),
            "wrong passphrase, or the file is damaged"
        );

        let original = std::fs::read(&path).unwrap();
        let damaged_path = dir.path().join("damaged.lhub");
        for index in [0, 9, 30, HEADER_LEN + 3, original.len() - 1] {
            let mut damaged = original.clone();
            damaged[index] ^= 0x01;
            std::fs::write(&damaged_path, &damaged).unwrap();
            let error = import_archive(&new, &damaged_path, PASSPHRASE).unwrap_err();
            assert!(
                matches!(
                    error,
                    ArchiveError::WrongPassphraseOrDamaged
                        | ArchiveError::NotAnArchive
                        | ArchiveError::Damaged(_)
                ),
                "byte {index}: {error}"
            );
        }
        for length in [0, 7, HEADER_LEN, original.len() - 10] {
            std::fs::write(&damaged_path, &original[..length]).unwrap();
            assert!(import_archive(&new, &damaged_path, PASSPHRASE).is_err());
        }
        std::fs::write(&damaged_path, b"PK\x03\x04 a zip file, not an export").unwrap();
        assert_eq!(
            import_archive(&new, &damaged_path, PASSPHRASE)
                .unwrap_err()
                .code(),
            "not_an_archive"
        );
        assert!(new.documents().unwrap().is_empty(), "nothing was written");
        assert_eq!(new.pending_count().unwrap(), 0);
    }
}
