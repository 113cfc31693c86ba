//! What leaves the laptop as a file: a draft as Word (`docx`) or PDF (`pdf`, fonts embedded), and
//! the passphrase-encrypted archive of the whole store (`export_archive` / `import_archive`).

mod archive;
pub mod docx;
pub mod pdf;

pub use archive::{ArchiveError, ArchiveSummary, export_archive, import_archive};
