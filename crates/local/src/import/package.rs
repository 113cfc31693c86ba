//! The .docx container: tell what kind of file the bytes are, then read the XML parts the import
//! needs from the zip, counting the bytes actually inflated against one budget (the sizes in the
//! zip's headers are the attacker's to choose, so they only serve to refuse early).

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use super::ImportLimits;
use super::error::ImportError;

const MB: u64 = 1024 * 1024;

/// The zip of a .docx, with what is left of the expansion budget.
pub(crate) struct Package<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    remaining: u64,
    limit_mb: u64,
}

impl<'a> Package<'a> {
    /// Refuse what is not a .docx with the reason a lawyer can act on; open the zip otherwise.
    pub(crate) fn open(bytes: &'a [u8], limits: &ImportLimits) -> Result<Self, ImportError> {
        sniff(bytes, limits)?;
        check_entry_count(bytes, limits)?;
        let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|error| match error {
            ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => {
                ImportError::PasswordProtected
            }
            other => ImportError::corrupt(format!("the zip archive is unreadable: {other}")),
        })?;
        let entries = archive.len() as u64;
        if entries > limits.max_zip_entries {
            return Err(ImportError::TooManyParts {
                entries,
                limit: limits.max_zip_entries,
            });
        }
        let mut package = Package {
            archive,
            remaining: limits.max_expanded_bytes,
            limit_mb: limits.max_expanded_bytes.div_ceil(MB),
        };
        if package
            .archive
            .index_for_name("word/document.xml")
            .is_none()
            && package.archive.index_for_name("_rels/.rels").is_none()
        {
            if let Some(mimetype) = package.read("mimetype")?
                && mimetype.starts_with(b"application/vnd.oasis.opendocument")
            {
                return Err(ImportError::OpenDocument);
            }
            return Err(ImportError::NotWord);
        }
        Ok(package)
    }

    /// One part, inflated in full; `None` when the zip has no such entry. Every byte read counts
    /// against the budget, whatever the header said.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
        let mut file = match self.archive.by_name(name) {
            Ok(file) => file,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED)) => {
                return Err(ImportError::PasswordProtected);
            }
            Err(error) => return Err(ImportError::corrupt(format!("{name}: {error}"))),
        };
        let too_much = ImportError::ExpandsTooMuch {
            limit_mb: self.limit_mb,
        };
        if file.size() > self.remaining {
            return Err(too_much);
        }
        // The header's size is a hint for the allocation only, capped by the budget.
        let mut content = Vec::with_capacity(file.size().min(self.remaining).min(64 * MB) as usize);
        (&mut file)
            .take(self.remaining + 1)
            .read_to_end(&mut content)
            .map_err(|error| ImportError::corrupt(format!("{name}: {error}")))?;
        let read = content.len() as u64;
        if read > self.remaining {
            return Err(too_much);
        }
        self.remaining -= read;
        Ok(Some(content))
    }
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn sniff(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(ImportError::FileTooLarge {
            size_mb: size.div_ceil(MB),
            limit_mb: limits.max_file_bytes / MB,
        });
    }
    // A file of nothing but zeros or blanks: a download or copy that never completed.
    if bytes
        .iter()
        .all(|byte| byte.is_ascii_whitespace() || *byte == 0)
    {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(());
    }
    let head = &bytes[..bytes.len().min(1024)];
    if contains(head, b"%PDF-") {
        return Err(ImportError::Pdf);
    }
    if bytes.starts_with(&CFB_MAGIC) {
        // Word saves a password-protected .docx as an OLE compound file holding the encrypted
        // package; the stream names sit in the directory in UTF-16.
        if contains(bytes, &utf16("EncryptedPackage")) || contains(bytes, &utf16("EncryptionInfo"))
        {
            return Err(ImportError::PasswordProtected);
        }
        if contains(bytes, &utf16("WordDocument")) {
            return Err(ImportError::LegacyWord);
        }
        return Err(ImportError::NotWord);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Err(ImportError::Rtf);
    }
    Err(ImportError::NotWord)
}

/// The total entry count from the end-of-central-directory record, read before the zip crate
/// builds its index of every entry (a forged directory of millions of entries would cost memory).
fn check_entry_count(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let Some(at) = bytes[search_from..]
        .windows(4)
        .rposition(|window| window == EOCD)
        .map(|position| search_from + position)
    else {
        return Err(ImportError::corrupt(
            "the zip archive has no central directory",
        ));
    };
    let Some(count) = bytes.get(at + 10..at + 12) else {
        return Err(ImportError::corrupt("the zip archive is cut short"));
    };
    let entries = u64::from(u16::from_le_bytes([count[0], count[1]]));
    // 0xFFFF means a ZIP64 count; the zip crate's own index is then checked after opening.
    if entries != 0xFFFF && entries > limits.max_zip_entries {
        return Err(ImportError::TooManyParts {
            entries,
            limit: limits.max_zip_entries,
        });
    }
    Ok(())
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_file_kinds_apart() {
        let limits = ImportLimits::default();
        assert_eq!(sniff(b"", &limits), Err(ImportError::Empty));
        assert_eq!(sniff(b"%PDF-1.7\n...", &limits), Err(ImportError::Pdf));
        assert_eq!(sniff(b"{\\rtf1\\ansi", &limits), Err(ImportError::Rtf));
        assert_eq!(sniff(b"hello world", &limits), Err(ImportError::NotWord));
        let mut cfb = CFB_MAGIC.to_vec();
        cfb.extend(utf16("WordDocument"));
        assert_eq!(sniff(&cfb, &limits), Err(ImportError::LegacyWord));
        cfb.extend(utf16("EncryptedPackage"));
        assert_eq!(sniff(&cfb, &limits), Err(ImportError::PasswordProtected));
        let small = ImportLimits {
            max_file_bytes: 4,
            ..ImportLimits::default()
        };
        assert!(matches!(
            sniff(b"PK\x03\x04 and more", &small),
            Err(ImportError::FileTooLarge { .. })
        ));
    }
}
