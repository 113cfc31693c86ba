//! The document between parsing and writing: the draft's block structure, with comment anchors
//! as markers in the text flow.

use std::rc::Rc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    pub link: Option<Rc<str>>,
    /// A suggestion id (`s:<ms>:w<id>:<author>`).
    pub insertion: Option<Rc<str>>,
    pub deletion: Option<Rc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    Text(String, Marks),
    HardBreak,
    Footnote(String),
    Placeholder {
        kind: &'static str,
        label: String,
    },
    /// Word's `w:id` of a comment whose range starts / ends here.
    CommentStart(String),
    CommentEnd(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Bullet,
    Ordered,
    Clause,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Paragraph {
        heading: Option<u8>,
        inlines: Vec<Inline>,
    },
    List {
        kind: ListKind,
        start: u32,
        /// Each item: its line (a paragraph), then any nested lists.
        items: Vec<Vec<Block>>,
    },
    Table(Vec<Row>),
    PageBreak,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub header: bool,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub blocks: Vec<Block>,
    pub colspan: u32,
    pub rowspan: u32,
    /// Pixel widths of the grid columns it spans, when the table has a grid.
    pub colwidth: Option<Vec<u32>>,
}

/// A comment thread: Word's opening comment and its replies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    /// Word's `w:id` of the opening comment: the anchors' markers carry it.
    pub word_id: String,
    pub author: String,
    pub created: i64,
    pub body: String,
    pub quote: String,
    pub resolved: bool,
    pub replies: Vec<Reply>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub author: String,
    pub created: i64,
    pub body: String,
}
