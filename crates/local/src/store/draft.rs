//! Drafts: a Y.XmlFragment named `default` in the TipTap/ProseMirror schema (what
//! `@tiptap/extension-collaboration` writes through y-prosemirror) plus a Y.Map `meta` holding the
//! title and a deleted flag. This module reads a draft into a flat list of [`Block`]s, the one
//! model that both the full-text index and the .docx export use.

use std::sync::Arc;

use yrs::types::text::YChange;
use yrs::{Any, Map, Number, Out, ReadTxn, Text, Xml, XmlFragment, XmlOut};

/// The root fragment TipTap's Collaboration extension binds to.
pub const DRAFT_FRAGMENT: &str = "default";
/// The root map with the draft's `title` (string) and `deleted` (bool).
pub const DRAFT_META: &str = "meta";

/// How a block is laid out: the TipTap node it came from, with list nesting flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStyle {
    Paragraph,
    /// `heading` with its `level` (1–6).
    Heading(u8),
    /// An item of a `bulletList`, at nesting `level` (0 = outermost).
    Bullet {
        level: u8,
    },
    /// An item of an `orderedList`; `list` numbers the lists so each restarts at 1.
    Numbered {
        level: u8,
        list: u32,
    },
    /// An item of a `clauseList`: legal clause numbering (1., 1.1., 1.1.1.) that runs on through
    /// the whole draft.
    Clause {
        level: u8,
    },
    /// A paragraph inside a `blockquote`.
    Quote,
}

/// A run of text with one set of marks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
}

/// One paragraph-level block of a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub style: BlockStyle,
    pub runs: Vec<Run>,
}

impl Block {
    pub fn text(&self) -> String {
        self.runs.iter().map(|run| run.text.as_str()).collect()
    }
}

/// The draft's title from `meta` ("" when unset).
pub fn title<T: ReadTxn>(txn: &T) -> String {
    txn.get_map(DRAFT_META)
        .and_then(|meta| meta.get(txn, "title"))
        .and_then(|value| match value {
            Out::Any(Any::String(title)) => Some(title.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Whether the draft was deleted (a tombstone flag: CRDT documents are never removed).
pub fn is_deleted<T: ReadTxn>(txn: &T) -> bool {
    txn.get_map(DRAFT_META)
        .and_then(|meta| meta.get(txn, "deleted"))
        .is_some_and(|value| matches!(value, Out::Any(Any::Bool(true))))
}

/// The draft body as blocks, in document order.
pub fn blocks<T: ReadTxn>(txn: &T) -> Vec<Block> {
    let mut walker = Walker {
        blocks: Vec::new(),
        next_list: 0,
    };
    if let Some(fragment) = txn.get_xml_fragment(DRAFT_FRAGMENT) {
        for child in fragment.children(txn) {
            walker.node(txn, &child, Context::Body);
        }
    }
    walker.blocks
}

/// The draft body as plain text, one block per line (for search and word counts).
pub fn plain_text<T: ReadTxn>(txn: &T) -> String {
    let mut text = String::new();
    for block in blocks(txn) {
        for run in &block.runs {
            text.push_str(&run.text);
        }
        text.push('\n');
    }
    text
}

#[derive(Clone, Copy)]
enum Context {
    Body,
    Quote,
    List(ListKind, u8),
}

#[derive(Clone, Copy)]
enum ListKind {
    Bullet,
    Numbered(u32),
    Clause,
}

struct Walker {
    blocks: Vec<Block>,
    next_list: u32,
}

impl Walker {
    fn node<T: ReadTxn>(&mut self, txn: &T, node: &XmlOut, context: Context) {
        let XmlOut::Element(element) = node else {
            // Bare text at block level does not occur in the TipTap schema; keep it anyway.
            if let XmlOut::Text(text) = node {
                let runs = runs(txn, text);
                self.push(style_for(context), runs);
            }
            return;
        };
        let tag: &str = element.tag();
        match tag {
            "paragraph" | "codeBlock" => {
                let runs = element_runs(txn, element);
                self.push(style_for(context), runs);
            }
            "heading" => {
                let level = element
                    .get_attribute(txn, "level")
                    .and_then(|value| number(&value))
                    .unwrap_or(1)
                    .clamp(1, 6);
                let runs = element_runs(txn, element);
                self.push(BlockStyle::Heading(level), runs);
            }
            "blockquote" => self.children(txn, element, Context::Quote),
            "bulletList" | "orderedList" | "clauseList" => {
                let level = match context {
                    Context::List(_, level) => level.saturating_add(1),
                    _ => 0,
                };
                let kind = match tag {
                    "bulletList" => ListKind::Bullet,
                    "clauseList" => ListKind::Clause,
                    _ => match context {
                        // A nested ordered list continues its parent's numbering definition.
                        Context::List(ListKind::Numbered(list), _) => ListKind::Numbered(list),
                        _ => {
                            self.next_list += 1;
                            ListKind::Numbered(self.next_list)
                        }
                    },
                };
                // The list's items carry the level; a nested list sits one level deeper.
                let item_context = Context::List(kind, level);
                for child in element.children(txn) {
                    self.node(txn, &child, item_context);
                }
            }
            "listItem" => {
                // The first paragraph of an item is the numbered/bulleted line; further blocks
                // (nested lists, more paragraphs) follow it.
                let mut first = true;
                for child in element.children(txn) {
                    match (&child, first) {
                        (XmlOut::Element(inner), true) if &**inner.tag() == "paragraph" => {
                            let runs = element_runs(txn, inner);
                            self.push(style_for(context), runs);
                            first = false;
                        }
                        _ => self.node(txn, &child, context),
                    }
                }
            }
            "horizontalRule" | "hardBreak" => {}
            _ => self.children(txn, element, context),
        }
    }

    fn children<T: ReadTxn>(&mut self, txn: &T, element: &yrs::XmlElementRef, context: Context) {
        for child in element.children(txn) {
            self.node(txn, &child, context);
        }
    }

    fn push(&mut self, style: BlockStyle, runs: Vec<Run>) {
        self.blocks.push(Block { style, runs });
    }
}

fn style_for(context: Context) -> BlockStyle {
    match context {
        Context::Body => BlockStyle::Paragraph,
        Context::Quote => BlockStyle::Quote,
        Context::List(ListKind::Bullet, level) => BlockStyle::Bullet { level },
        Context::List(ListKind::Numbered(list), level) => BlockStyle::Numbered { level, list },
        Context::List(ListKind::Clause, level) => BlockStyle::Clause { level },
    }
}

fn number(value: &Out) -> Option<u8> {
    match value {
        Out::Any(Any::Number(Number::Int(number))) => u8::try_from(*number).ok(),
        Out::Any(Any::Number(Number::Float(number))) => Some(*number as u8),
        Out::Any(Any::String(text)) => text.parse().ok(),
        _ => None,
    }
}

/// The inline runs of a textblock element (its XmlText children; hard breaks become newlines).
fn element_runs<T: ReadTxn>(txn: &T, element: &yrs::XmlElementRef) -> Vec<Run> {
    let mut all = Vec::new();
    for child in element.children(txn) {
        match child {
            XmlOut::Text(text) => all.extend(runs(txn, &text)),
            XmlOut::Element(inline) if &**inline.tag() == "hardBreak" => all.push(Run {
                text: "\n".into(),
                ..Run::default()
            }),
            _ => {}
        }
    }
    all
}

fn runs<T: ReadTxn>(txn: &T, text: &yrs::XmlTextRef) -> Vec<Run> {
    text.diff(txn, YChange::identity)
        .into_iter()
        .filter_map(|chunk| {
            let Out::Any(Any::String(content)) = chunk.insert else {
                return None;
            };
            let marked = |name: &str| {
                chunk
                    .attributes
                    .as_ref()
                    .and_then(|attributes| attributes.get(&Arc::<str>::from(name)))
                    .is_some_and(|value| !matches!(value, Any::Null | Any::Undefined))
            };
            Some(Run {
                text: content.to_string(),
                bold: marked("bold"),
                italic: marked("italic"),
                underline: marked("underline"),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use yrs::{Doc, Transact, WriteTxn, XmlElementPrelim, XmlTextPrelim};

    /// Build a small TipTap-shaped draft the way y-prosemirror lays it out.
    pub(crate) fn sample_draft(doc: &Doc) {
        let mut txn = doc.transact_mut();
        let fragment = txn.get_or_insert_xml_fragment(DRAFT_FRAGMENT);
        let heading = fragment.push_back(&mut txn, XmlElementPrelim::empty("heading"));
        heading.insert_attribute(&mut txn, "level", Any::Number(Number::Float(2.0)));
        heading.push_back(&mut txn, XmlTextPrelim::new("Indemnity"));
        let paragraph = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        let text = paragraph.push_back(
            &mut txn,
            XmlTextPrelim::new("The Supplier shall  the Client."),
        );
        let bold: yrs::types::Attrs = [(Arc::<str>::from("bold"), Any::Map(Default::default()))]
            .into_iter()
            .collect();
        text.insert_with_attributes(&mut txn, 19, "indemnify", bold);
        let clauses = fragment.push_back(&mut txn, XmlElementPrelim::empty("clauseList"));
        for clause in ["Definitions", "Term"] {
            let item = clauses.push_back(&mut txn, XmlElementPrelim::empty("listItem"));
            let line = item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            line.push_back(&mut txn, XmlTextPrelim::new(clause));
        }
        let meta = txn.get_or_insert_map(DRAFT_META);
        meta.insert(&mut txn, "title", "Supply agreement");
    }

    #[test]
    fn reads_blocks_marks_and_lists() {
        let doc = Doc::new();
        sample_draft(&doc);
        let txn = doc.transact();
        let blocks = blocks(&txn);
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[0].style, BlockStyle::Heading(2));
        assert_eq!(blocks[0].text(), "Indemnity");
        assert_eq!(blocks[1].text(), "The Supplier shall indemnify the Client.");
        let bold: Vec<_> = blocks[1].runs.iter().filter(|run| run.bold).collect();
        assert_eq!(bold.len(), 1);
        assert_eq!(bold[0].text, "indemnify");
        assert_eq!(blocks[2].style, BlockStyle::Clause { level: 0 });
        assert_eq!(blocks[3].text(), "Term");
        assert_eq!(title(&txn), "Supply agreement");
        assert!(!is_deleted(&txn));
        assert!(plain_text(&txn).contains("indemnify the Client.\nDefinitions\n"));
    }
}
