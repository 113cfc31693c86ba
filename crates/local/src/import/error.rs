//! Why a file was refused. Every message is written for the lawyer who picked the file: what is
//! wrong and what to do; `code()` is stable for the UI.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImportError {
    #[error("The file is empty. Choose the Word document (.docx) again, or save it again in Word.")]
    Empty,
    #[error(
        "This is a PDF, not a Word document. Import the Word (.docx) version of it, or open the \
         PDF in Word and save it as a Word Document (.docx)."
    )]
    Pdf,
    #[error(
        "This is an older Word file (.doc). Open it in Word, choose File → Save As → Word \
         Document (.docx), and import the saved copy."
    )]
    LegacyWord,
    #[error(
        "This is an RTF file, not a Word document. Open it in Word, save it as a Word Document \
         (.docx), and import the saved copy."
    )]
    Rtf,
    #[error(
        "This is an OpenDocument text file (.odt). Open it in LibreOffice or Word, save it as a \
         Word Document (.docx), and import the saved copy."
    )]
    OpenDocument,
    #[error("This file is not a Word document (.docx). Choose a .docx file saved by Word.")]
    NotWord,
    #[error(
        "This Word file is password-protected. Remove the password in Word (File → Info → \
         Protect Document), save it, and import it again."
    )]
    PasswordProtected,
    /// The zip or one of its XML parts cannot be read; `detail` says which part and why.
    #[error(
        "This Word file is damaged and cannot be read ({detail}). Open it in Word, save it \
         again, and import the saved copy."
    )]
    Corrupt { detail: String },
    #[error(
        "This file is {size_mb} MB; Lawyers Hub imports Word files up to {limit_mb} MB. Save \
         it without embedded pictures or videos (or split it), and import it again."
    )]
    FileTooLarge { size_mb: u64, limit_mb: u64 },
    /// More than `ImportLimits::max_expanded_bytes` once decompressed, or more zip entries than
    /// a Word file has: a "zip bomb" or a damaged file.
    #[error(
        "This Word file expands to more than {limit_mb} MB of content when opened, which is \
         more than any contract needs; it may be damaged or deliberately malformed. Open it in \
         Word, save it again, and import the saved copy."
    )]
    ExpandsTooMuch { limit_mb: u64 },
    #[error(
        "This Word file holds {entries} internal parts, far more than a Word document has \
         (the limit is {limit}); it may be damaged or deliberately malformed."
    )]
    TooManyParts { entries: u64, limit: u64 },
    #[error(
        "This Word file nests its content more than {limit} levels deep, which Word itself \
         does not write; it may be damaged or deliberately malformed."
    )]
    TooDeep { limit: usize },
    /// Refused rather than cut short: a contract missing its last pages must never look complete.
    #[error(
        "This document has more than {limit} paragraphs, more than Lawyers Hub imports into one \
         draft. Split it into several Word files and import each one."
    )]
    TooManyParagraphs { limit: usize },
    #[error(
        "This document holds more separate pieces of text than Lawyers Hub imports into one \
         draft (more than {limit}). Split it into several Word files and import each one."
    )]
    TooMuchContent { limit: usize },
}

impl ImportError {
    /// A stable machine-readable code for the UI, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "import_empty",
            Self::Pdf => "import_pdf",
            Self::LegacyWord => "import_legacy_doc",
            Self::Rtf => "import_rtf",
            Self::OpenDocument => "import_odt",
            Self::NotWord => "import_not_docx",
            Self::PasswordProtected => "import_password_protected",
            Self::Corrupt { .. } => "import_corrupt",
            Self::FileTooLarge { .. } => "import_file_too_large",
            Self::ExpandsTooMuch { .. } => "import_expands_too_much",
            Self::TooManyParts { .. } => "import_too_many_parts",
            Self::TooDeep { .. } => "import_too_deep",
            Self::TooManyParagraphs { .. } => "import_too_many_paragraphs",
            Self::TooMuchContent { .. } => "import_too_much_content",
        }
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Self::Corrupt {
            detail: detail.into(),
        }
    }
}
