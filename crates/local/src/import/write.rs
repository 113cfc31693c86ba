//! The block model into the draft, in y-prosemirror's encoding (docs/DRAFT_FORMAT.md): a block is
//! a `Y.XmlElement` named after its node, its text a `Y.XmlText` whose formatting attributes are
//! the marks; inline atoms (hard breaks, footnotes, placeholders) are elements between texts.
//! Comment anchors are `StickyIndex`es into those texts, made once all text is in.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::types::Attrs;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, ArrayPrelim, Assoc, In, IndexedSequence, Map, MapPrelim, Number, Text, TransactionMut,
    WriteTxn, Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlTextPrelim, XmlTextRef,
};

use super::ImportReport;
use super::model::{Block, Cell, Comment, Inline, ListKind, Marks};
use crate::store::draft::DRAFT_FRAGMENT;

/// The root map of comment threads.
pub(crate) const COMMENTS: &str = "comments";

type Position = (XmlTextRef, u32);

#[derive(Default)]
struct Anchors {
    from: Option<Position>,
    to: Option<Position>,
}

struct Writer {
    anchors: HashMap<String, Anchors>,
    first_text: Option<XmlTextRef>,
}

pub(crate) fn write(
    txn: &mut TransactionMut,
    body: &[Block],
    comments: &[Comment],
    report: &mut ImportReport,
) {
    let fragment = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
    let mut writer = Writer {
        anchors: HashMap::new(),
        first_text: None,
    };
    for block in body {
        writer.block(txn, &fragment, block);
    }
    writer.comments(txn, comments, report);
}

fn number(value: u32) -> Any {
    Any::Number(Number::Int(i64::from(value)))
}

fn empty_attrs() -> Any {
    Any::Map(Arc::new(HashMap::new()))
}

fn mark_attributes(marks: &Marks) -> Attrs {
    let mut attributes = Attrs::new();
    let mut flag = |on: bool, name: &str| {
        if on {
            attributes.insert(Arc::from(name), empty_attrs());
        }
    };
    flag(marks.bold, "bold");
    flag(marks.italic, "italic");
    flag(marks.underline, "underline");
    flag(marks.strike, "strike");
    let mut with = |name: &str, key: &str, value: &Option<std::rc::Rc<str>>| {
        if let Some(value) = value {
            let map = HashMap::from([(key.to_owned(), Any::String(Arc::from(&**value)))]);
            attributes.insert(Arc::from(name), Any::Map(Arc::new(map)));
        }
    };
    with("link", "href", &marks.link);
    with("insertion", "id", &marks.insertion);
    with("deletion", "id", &marks.deletion);
    attributes
}

impl Writer {
    fn block<P: XmlFragment>(&mut self, txn: &mut TransactionMut, parent: &P, block: &Block) {
        match block {
            Block::Paragraph { heading, inlines } => {
                let element = match heading {
                    Some(level) => {
                        let element = parent.push_back(txn, XmlElementPrelim::empty("heading"));
                        element.insert_attribute(txn, "level", number(u32::from(*level)));
                        element
                    }
                    None => parent.push_back(txn, XmlElementPrelim::empty("paragraph")),
                };
                self.inlines(txn, &element, inlines);
            }
            Block::List { kind, start, items } => {
                let name = match kind {
                    ListKind::Bullet => "bulletList",
                    ListKind::Ordered => "orderedList",
                    ListKind::Clause => "clauseList",
                };
                let list = parent.push_back(txn, XmlElementPrelim::empty(name));
                if *kind == ListKind::Ordered {
                    list.insert_attribute(txn, "start", number(*start));
                }
                for item in items {
                    let element = list.push_back(txn, XmlElementPrelim::empty("listItem"));
                    for inner in item {
                        self.block(txn, &element, inner);
                    }
                }
            }
            Block::Table(rows) => {
                let table = parent.push_back(txn, XmlElementPrelim::empty("table"));
                for row in rows {
                    let element = table.push_back(txn, XmlElementPrelim::empty("tableRow"));
                    for cell in &row.cells {
                        self.cell(txn, &element, cell, row.header);
                    }
                }
            }
            Block::PageBreak => {
                parent.push_back(txn, XmlElementPrelim::empty("pageBreak"));
            }
        }
    }

    fn cell(&mut self, txn: &mut TransactionMut, row: &XmlElementRef, cell: &Cell, header: bool) {
        let name = if header { "tableHeader" } else { "tableCell" };
        let element = row.push_back(txn, XmlElementPrelim::empty(name));
        element.insert_attribute(txn, "colspan", number(cell.colspan));
        element.insert_attribute(txn, "rowspan", number(cell.rowspan));
        if let Some(widths) = &cell.colwidth {
            let widths: Vec<Any> = widths.iter().map(|width| number(*width)).collect();
            element.insert_attribute(txn, "colwidth", Any::Array(Arc::from(widths)));
        }
        for block in &cell.blocks {
            self.block(txn, &element, block);
        }
    }

    fn inlines(&mut self, txn: &mut TransactionMut, element: &XmlElementRef, inlines: &[Inline]) {
        let mut text: Option<XmlTextRef> = None;
        for inline in inlines {
            match inline {
                Inline::Text(content, marks) => {
                    let target = self.text(txn, element, &mut text);
                    let at = target.len(txn);
                    target.insert_with_attributes(txn, at, content, mark_attributes(marks));
                }
                Inline::CommentStart(id) | Inline::CommentEnd(id) => {
                    let target = self.text(txn, element, &mut text);
                    let position = (target.clone(), target.len(txn));
                    let anchors = self.anchors.entry(id.clone()).or_default();
                    match inline {
                        Inline::CommentStart(_) => anchors.from = Some(position),
                        _ => anchors.to = Some(position),
                    }
                }
                Inline::HardBreak => {
                    element.push_back(txn, XmlElementPrelim::empty("hardBreak"));
                    text = None;
                }
                Inline::Footnote(content) => {
                    let atom = element.push_back(txn, XmlElementPrelim::empty("footnote"));
                    atom.insert_attribute(txn, "text", content.as_str());
                    text = None;
                }
                Inline::Placeholder { kind, label } => {
                    let atom = element.push_back(txn, XmlElementPrelim::empty("placeholder"));
                    atom.insert_attribute(txn, "kind", *kind);
                    atom.insert_attribute(txn, "label", label.as_str());
                    text = None;
                }
            }
        }
    }

    /// The text run being written in `element`, started when needed.
    fn text(
        &mut self,
        txn: &mut TransactionMut,
        element: &XmlElementRef,
        current: &mut Option<XmlTextRef>,
    ) -> XmlTextRef {
        if let Some(text) = current {
            return text.clone();
        }
        let text = element.push_back(txn, XmlTextPrelim::new(""));
        if self.first_text.is_none() {
            self.first_text = Some(text.clone());
        }
        *current = Some(text.clone());
        text
    }

    fn comments(
        &mut self,
        txn: &mut TransactionMut,
        comments: &[Comment],
        report: &mut ImportReport,
    ) {
        if comments.is_empty() {
            return;
        }
        let map = txn.get_or_insert_map(COMMENTS);
        let mut unanchored = 0;
        for comment in comments {
            let anchors = self.anchors.remove(&comment.word_id).unwrap_or_default();
            let (from, to) = match (anchors.from, anchors.to) {
                (Some(from), Some(to)) => (from, to),
                (Some(from), None) => (from.clone(), from),
                (None, Some(to)) => (to.clone(), to),
                (None, None) => {
                    // Word lost the comment's place; keep the comment at the start.
                    let Some(first) = self.first_text.clone() else {
                        report.warnings.push(format!(
                            "A comment by {} could not be placed (the document has no text) \
                             and was left out: \"{}\"",
                            comment.author, comment.body
                        ));
                        report.comments.threads = report.comments.threads.saturating_sub(1);
                        report.comments.replies = report
                            .comments
                            .replies
                            .saturating_sub(comment.replies.len());
                        continue;
                    };
                    unanchored += 1;
                    ((first.clone(), 0), (first, 0))
                }
            };
            let Some(from) = sticky(txn, &from, Assoc::After) else {
                continue;
            };
            let Some(to) = sticky(txn, &to, Assoc::Before) else {
                continue;
            };
            let replies: Vec<In> = comment
                .replies
                .iter()
                .map(|reply| {
                    In::Map(MapPrelim::from_iter([
                        ("id", In::Any(Any::from(new_id()))),
                        ("author", In::Any(Any::from(reply.author.as_str()))),
                        ("authorId", In::Any(Any::from(""))),
                        (
                            "created",
                            In::Any(Any::Number(Number::Float(reply.created as f64))),
                        ),
                        ("body", In::Any(Any::from(reply.body.as_str()))),
                    ]))
                })
                .collect();
            let thread = MapPrelim::from_iter([
                ("from", In::Any(Any::Buffer(Arc::from(from)))),
                ("to", In::Any(Any::Buffer(Arc::from(to)))),
                ("quote", In::Any(Any::from(comment.quote.as_str()))),
                ("author", In::Any(Any::from(comment.author.as_str()))),
                ("authorId", In::Any(Any::from(""))),
                (
                    "created",
                    In::Any(Any::Number(Number::Float(comment.created as f64))),
                ),
                ("body", In::Any(Any::from(comment.body.as_str()))),
                ("resolved", In::Any(Any::Bool(comment.resolved))),
                ("replies", In::Array(ArrayPrelim::from(replies))),
            ]);
            map.insert(txn, new_id(), thread);
        }
        if unanchored > 0 {
            report.warnings.push(format!(
                "{unanchored} comments had lost their place in the Word file and were attached \
                 to the start of the draft."
            ));
        }
    }
}

/// `Y.encodeRelativePosition` of a position in a text. At the very end of a text there is no
/// character to stick to on the right, so the position sticks to the one on its left instead.
fn sticky(txn: &TransactionMut, (text, index): &Position, assoc: Assoc) -> Option<Vec<u8>> {
    text.sticky_index(txn, *index, assoc)
        .or_else(|| text.sticky_index(txn, *index, Assoc::Before))
        .map(|index| index.encode_v1())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
