//! What leaves the laptop as a file: a draft as Word (`docx`, with its suggestions as tracked
//! changes and its comments) or PDF (`pdf`, fonts embedded), a Word redline between two versions
//! of a draft (`redline`), deadlines as an iCalendar file (`ics`), and the passphrase-encrypted archive of the whole store
//! (`export_archive` / `import_archive`).

mod archive;
pub mod docx;
pub mod ics;
pub mod pdf;
pub mod redline;

pub use archive::{ArchiveError, ArchiveSummary, export_archive, import_archive};
