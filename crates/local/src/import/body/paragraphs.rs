//! A paragraph's end: its heading level or list (style, outline level, numbering), cut at Word's
//! page breaks, counted against the limit and put into the current container.

use super::{BodyParser, QUOTE_BYTES};
use crate::import::error::ImportError;
use crate::import::model::{Block, Inline};
use crate::import::parts::outline_heading;

#[derive(Default)]
pub(super) struct ParagraphState {
    pub(super) style: Option<String>,
    pub(super) num_id: Option<String>,
    pub(super) level: Option<u8>,
    pub(super) outline: Option<u8>,
    pub(super) break_before: bool,
    /// The paragraph's content, cut where Word has a page break.
    pub(super) pieces: Vec<Vec<Inline>>,
}

impl ParagraphState {
    pub(super) fn push(&mut self, inline: Inline) {
        if self.pieces.is_empty() {
            self.pieces.push(Vec::new());
        }
        let Some(piece) = self.pieces.last_mut() else {
            return;
        };
        if let (Inline::Text(text, marks), Some(Inline::Text(previous, previous_marks))) =
            (&inline, piece.last_mut())
            && marks == previous_marks
        {
            previous.push_str(text);
            return;
        }
        piece.push(inline);
    }
}

impl BodyParser<'_> {
    pub(super) fn finish_paragraph(&mut self) -> Result<(), ImportError> {
        let Some(paragraph) = self.paragraph.take() else {
            return Ok(());
        };
        for quote in self.active_quotes.values_mut() {
            if !quote.is_empty() && quote.len() < QUOTE_BYTES {
                quote.push('\n');
            }
        }
        let style = paragraph.style.as_deref();
        let heading = match paragraph.outline {
            Some(outline) => outline_heading(outline),
            None => style.and_then(|style| self.styles.heading_level(style)),
        };
        let list = if heading.is_some() {
            None
        } else {
            let numbered = match (&paragraph.num_id, style) {
                (Some(num_id), _) => Some((num_id.clone(), paragraph.level.unwrap_or(0))),
                (None, Some(style)) => self
                    .styles
                    .numbering(style)
                    .map(|(num_id, level)| (num_id, paragraph.level.unwrap_or(level))),
                (None, None) => None,
            };
            numbered.and_then(|(num_id, level)| {
                let level = level.min(8);
                self.numbering
                    .level(&num_id, level)
                    .map(|list| (num_id, level, list))
            })
        };
        if paragraph.break_before {
            self.report.page_breaks += 1;
            self.push_paragraph_block(Block::PageBreak)?;
        }
        let pieces = if paragraph.pieces.is_empty() {
            vec![Vec::new()]
        } else {
            paragraph.pieces
        };
        let several = pieces.len() > 1;
        for (index, inlines) in pieces.into_iter().enumerate() {
            if index > 0 {
                self.report.page_breaks += 1;
                self.push_paragraph_block(Block::PageBreak)?;
            }
            if several && inlines.is_empty() {
                continue;
            }
            self.blocks += 1;
            if self.blocks > self.limits.max_blocks {
                return Err(ImportError::TooManyParagraphs {
                    limit: self.limits.max_blocks,
                });
            }
            if let (0, Some((num_id, level, list))) = (index, &list) {
                self.report.list_items += 1;
                let counters = self.counters.entry(num_id.clone()).or_insert([0; 9]);
                let at = usize::from(*level);
                let start = list.start.saturating_add(counters[at]);
                counters[at] = counters[at].saturating_add(1);
                for deeper in counters.iter_mut().skip(at + 1) {
                    *deeper = 0;
                }
                if let Some(container) = self.containers.last_mut() {
                    container.push_item(
                        num_id,
                        *level,
                        list.kind,
                        start,
                        Block::Paragraph {
                            heading: None,
                            inlines,
                        },
                    );
                }
                continue;
            }
            if heading.is_some() {
                self.report.headings += 1;
                if self.first_heading.is_none() {
                    let text = plain_text(&inlines);
                    if !text.trim().is_empty() {
                        self.first_heading = Some(text.trim().to_owned());
                    }
                }
            } else {
                self.report.paragraphs += 1;
            }
            if let Some(container) = self.containers.last_mut() {
                container.push_block(Block::Paragraph { heading, inlines });
            }
        }
        Ok(())
    }

    pub(super) fn push_paragraph_block(&mut self, block: Block) -> Result<(), ImportError> {
        if let Some(container) = self.containers.last_mut() {
            container.push_block(block);
        }
        Ok(())
    }
}

fn plain_text(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .filter_map(|inline| match inline {
            Inline::Text(text, marks) if marks.deletion.is_none() => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
