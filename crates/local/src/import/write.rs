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
    WriteTxn, Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlOut, XmlTextPrelim, XmlTextRef,
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
    };
    // Siblings are inserted last to first, each at the same index: yrs finds an index by walking
    // from the first child, so appending n blocks one by one would cost n²/2 steps (seconds for
    // 100,000 paragraphs); inserting before the previous one finds its place at once.
    let at = fragment.len(txn);
    for block in body.iter().rev() {
        writer.block(txn, &fragment, at, block);
    }
    let first_text = first_text(txn, &fragment);
    writer.comments(txn, comments, first_text, report);
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
    /// Write `block` as the child `at` of `parent` (see `write` for why blocks go in backwards).
    fn block<P: XmlFragment>(
        &mut self,
        txn: &mut TransactionMut,
        parent: &P,
        at: u32,
        block: &Block,
    ) {
        match block {
            Block::Paragraph { heading, inlines } => {
                let element = match heading {
                    Some(level) => {
                        let element = parent.insert(txn, at, XmlElementPrelim::empty("heading"));
                        element.insert_attribute(txn, "level", number(u32::from(*level)));
                        element
                    }
                    None => parent.insert(txn, at, XmlElementPrelim::empty("paragraph")),
                };
                self.inlines(txn, &element, inlines);
            }
            Block::List { kind, start, items } => {
                let name = match kind {
                    ListKind::Bullet => "bulletList",
                    ListKind::Ordered => "orderedList",
                    ListKind::Clause => "clauseList",
                };
                let list = parent.insert(txn, at, XmlElementPrelim::empty(name));
                if *kind == ListKind::Ordered {
                    list.insert_attribute(txn, "start", number(*start));
                }
                for item in items.iter().rev() {
                    let element = list.insert(txn, 0, XmlElementPrelim::empty("listItem"));
                    for inner in item.iter().rev() {
                        self.block(txn, &element, 0, inner);
                    }
                }
            }
            Block::Table(rows) => {
                let table = parent.insert(txn, at, XmlElementPrelim::empty("table"));
                for row in rows.iter().rev() {
                    let element = table.insert(txn, 0, XmlElementPrelim::empty("tableRow"));
                    for cell in row.cells.iter().rev() {
                        self.cell(txn, &element, cell, row.header);
                    }
                }
            }
            Block::PageBreak => {
                parent.insert(txn, at, XmlElementPrelim::empty("pageBreak"));
            }
        }
    }

    fn cell(&mut self, txn: &mut TransactionMut, row: &XmlElementRef, cell: &Cell, header: bool) {
        let name = if header { "tableHeader" } else { "tableCell" };
        let element = row.insert(txn, 0, XmlElementPrelim::empty(name));
        element.insert_attribute(txn, "colspan", number(cell.colspan));
        element.insert_attribute(txn, "rowspan", number(cell.rowspan));
        if let Some(widths) = &cell.colwidth {
            let widths: Vec<Any> = widths.iter().map(|width| number(*width)).collect();
            element.insert_attribute(txn, "colwidth", Any::Array(Arc::from(widths)));
        }
        for block in cell.blocks.iter().rev() {
            self.block(txn, &element, 0, block);
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
        *current = Some(text.clone());
        text
    }

    fn comments(
        &mut self,
        txn: &mut TransactionMut,
        comments: &[Comment],
        first_text: Option<XmlTextRef>,
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
                    let Some(first) = first_text.clone() else {
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

/// The draft's first text, in document order: where a comment that lost its place goes.
fn first_text<F: XmlFragment>(txn: &TransactionMut, node: &F) -> Option<XmlTextRef> {
    for child in node.children(txn) {
        match child {
            XmlOut::Text(text) => return Some(text),
            XmlOut::Element(element) => {
                if let Some(text) = first_text(txn, &element) {
                    return Some(text);
                }
            }
            XmlOut::Fragment(_) => {}
        }
    }
    None
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
