//! Export a draft to PDF from the yrs document, with no browser involved: the blocks
//! `draft::read` reads are laid out here (greedy line breaking, page breaks that keep a
//! heading with the text under it, list markers and legal clause numbers 1. / 1.1. computed as
//! the editor shows them, tables as a ruled grid with bold header cells) and written with
//! krilla, which embeds a subset of the font.
//!
//! Pending suggestions are shown as markup, as the editor shows them: insertions underlined in
//! blue, deletions struck through in red, with a one-line legend under the title when the draft
//! has any. Footnotes are numbered markers `[1]` with their texts listed under "Notes" at the
//! end; placeholders are their grey chip text. Comments are not in the PDF (Word export has
//! them).
//!
//! The font is Liberation Serif (SIL OFL 1.1, `crates/local/fonts/`), metric-compatible with
//! Times New Roman, built into the binary so the PDF looks the same on every laptop. It covers
//! Latin, Greek and Cyrillic; a draft with other characters is refused with a clear message
//! rather than exported with blank boxes (Word export keeps every character).

use std::collections::{BTreeSet, HashMap};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

use crate::LocalError;
use crate::store::draft::{Block, BlockStyle, Draft, Inline, Paragraph, Run, paragraphs};

mod table;

static REGULAR: &[u8] = include_bytes!("../../fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/LiberationSerif-Bold.ttf");
static ITALIC: &[u8] = include_bytes!("../../fonts/LiberationSerif-Italic.ttf");
static BOLD_ITALIC: &[u8] = include_bytes!("../../fonts/LiberationSerif-BoldItalic.ttf");

/// Paper sizes in points (1/72 inch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }

    /// "a4" or "letter" (any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "letter" => Some(Paper::Letter),
            _ => None,
        }
    }
}

const MARGIN: f32 = 72.0;
const BODY_SIZE: f32 = 12.0;
const LINE_HEIGHT: f32 = 1.3;
const HEADING_SIZES: [f32; 6] = [18.0, 16.0, 14.0, 13.0, 12.0, 12.0];
const LIST_INDENT: f32 = 36.0;
const MARKER_GAP: f32 = 6.0;
const FOOTER_SIZE: f32 = 9.0;
const CELL_PADDING: f32 = 4.0;

/// Text colours: body, suggested insertions and links, suggested deletions, placeholders.
type Rgb = (u8, u8, u8);
const BLACK: Rgb = (0, 0, 0);
const INSERTED: Rgb = (0x1F, 0x4E, 0xB4);
const DELETED: Rgb = (0xC0, 0x00, 0x00);
const GREY: Rgb = (0x70, 0x70, 0x70);

/// Index into the four faces: bit 0 bold, bit 1 italic.
type Face = usize;

fn face(bold: bool, italic: bool) -> Face {
    usize::from(bold) | (usize::from(italic) << 1)
}

struct Fonts {
    shapers: Vec<rustybuzz::Face<'static>>,
    pdf: Vec<Font>,
    /// Advance widths at 1 pt, by face, then text: drafts repeat their words.
    widths: [HashMap<String, f32>; 4],
}

impl Fonts {
    fn load() -> Result<Self, LocalError> {
        let broken = || {
            LocalError::Export(
                "Could not write the PDF: its built-in font could not be read.".into(),
            )
        };
        let mut shapers = Vec::new();
        let mut pdf = Vec::new();
        for bytes in [REGULAR, BOLD, ITALIC, BOLD_ITALIC] {
            shapers.push(rustybuzz::Face::from_slice(bytes, 0).ok_or_else(broken)?);
            pdf.push(Font::new(bytes.into(), 0).ok_or_else(broken)?);
        }
        Ok(Self {
            shapers,
            pdf,
            widths: Default::default(),
        })
    }

    /// The width of `text` in `face` at `size` points, as the PDF will draw it (shaped, kerned).
    fn width(&mut self, face: Face, text: &str, size: f32) -> f32 {
        if let Some(width) = self.widths[face].get(text) {
            return width * size;
        }
        let shaper = &self.shapers[face];
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let shaped = rustybuzz::shape(shaper, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        let width = units as f32 / shaper.units_per_em() as f32;
        self.widths[face].insert(text.to_owned(), width);
        width * size
    }

    /// Characters of `text` the font cannot draw (the four faces cover the same characters).
    fn missing(&self, text: &str, missing: &mut BTreeSet<char>) {
        for c in text.chars() {
            if !c.is_whitespace()
                && !c.is_control()
                && !invisible(c)
                && self.shapers[0].glyph_index(c).is_none()
            {
                missing.insert(c);
            }
        }
    }
}

/// Formatting characters with nothing to draw (zero-width spaces and joiners, direction marks,
/// soft hyphens, byte-order marks): text pasted from Word or the web carries them. Left out.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// What a page holds, in points from its top-left corner (`y` is a baseline).
enum Draw {
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        text: String,
        color: Rgb,
    },
    Rule {
        x: f32,
        y: f32,
        width: f32,
        thickness: f32,
        color: Rgb,
    },
}

/// A piece of one line: text in one face, placed at `x` (relative to the line's start).
#[derive(Clone)]
struct Span {
    x: f32,
    width: f32,
    face: Face,
    underline: bool,
    strike: bool,
    color: Rgb,
    text: String,
}

#[derive(Clone, Copy, PartialEq)]
struct Style {
    face: Face,
    underline: bool,
    strike: bool,
    color: Rgb,
}

/// How a run looks: its marks, and its suggestion as markup.
fn run_style(run: &Run, force_bold: bool, force_italic: bool) -> Style {
    let (color, underline, strike) = if run.deletion.is_some() {
        (DELETED, run.underline, true)
    } else if run.insertion.is_some() || run.link.is_some() {
        (INSERTED, true, run.strike)
    } else if matches!(run.inline, Inline::Placeholder { .. }) {
        (GREY, run.underline, run.strike)
    } else {
        (BLACK, run.underline, run.strike)
    };
    Style {
        face: face(run.bold || force_bold, run.italic || force_italic),
        underline,
        strike,
        color,
    }
}

/// A run of text between break opportunities, in one or more styles.
enum Atom {
    Word(Vec<(Style, String)>),
    Space(Style),
    Newline,
}

/// The paragraph as atoms; footnotes become numbered markers `[n]`, their texts go to `notes`.
fn atoms(
    paragraph: &Paragraph,
    force_bold: bool,
    force_italic: bool,
    notes: &mut Vec<String>,
) -> Vec<Atom> {
    let mut atoms = Vec::new();
    let mut word: Vec<(Style, String)> = Vec::new();
    let flush = |word: &mut Vec<(Style, String)>, atoms: &mut Vec<Atom>| {
        if !word.is_empty() {
            atoms.push(Atom::Word(std::mem::take(word)));
        }
    };
    for run in &paragraph.runs {
        let style = run_style(run, force_bold, force_italic);
        let marker;
        let text = match &run.inline {
            Inline::Footnote { text } => {
                notes.push(text.clone());
                marker = format!("[{}]", notes.len());
                &marker
            }
            _ => &run.text,
        };
        for c in text.chars() {
            match c {
                c if invisible(c) => {}
                '\n' | '\u{2028}' | '\u{2029}' => {
                    flush(&mut word, &mut atoms);
                    atoms.push(Atom::Newline);
                }
                // A no-break space is no break: it joins the words either side of it.
                c if c.is_whitespace() && c != '\u{00A0}' => {
                    flush(&mut word, &mut atoms);
                    atoms.push(Atom::Space(style));
                }
                c => match word.last_mut() {
                    Some((last, text)) if *last == style => text.push(c),
                    _ => word.push((style, c.to_string())),
                },
            }
        }
    }
    flush(&mut word, &mut atoms);
    atoms
}

/// Greedy line breaking of one block into lines no wider than `max`.
fn break_lines(fonts: &mut Fonts, atoms: &[Atom], size: f32, max: f32) -> Vec<Vec<Span>> {
    let mut lines: Vec<Vec<Span>> = vec![Vec::new()];
    let mut x = 0.0_f32;
    let mut pending_space: Option<Style> = None;
    let place = |line: &mut Vec<Span>, x: &mut f32, style: Style, text: &str, width: f32| {
        match line.last_mut() {
            Some(last)
                if last.face == style.face
                    && last.underline == style.underline
                    && last.strike == style.strike
                    && last.color == style.color
                    && (last.x + last.width - *x).abs() < 0.01 =>
            {
                last.text.push_str(text);
                last.width += width;
            }
            _ => line.push(Span {
                x: *x,
                width,
                face: style.face,
                underline: style.underline,
                strike: style.strike,
                color: style.color,
                text: text.to_owned(),
            }),
        }
        *x += width;
    };
    for atom in atoms {
        match atom {
            Atom::Newline => {
                lines.push(Vec::new());
                x = 0.0;
                pending_space = None;
            }
            Atom::Space(style) => {
                if !lines.last().is_some_and(Vec::is_empty) {
                    pending_space = Some(*style);
                }
            }
            Atom::Word(pieces) => {
                let widths: Vec<f32> = pieces
                    .iter()
                    .map(|(style, text)| fonts.width(style.face, text, size))
                    .collect();
                let word_width: f32 = widths.iter().sum();
                let space_width = pending_space.map_or(0.0, |s| fonts.width(s.face, " ", size));
                let line_is_empty = lines.last().is_none_or(Vec::is_empty);
                if !line_is_empty && x + space_width + word_width > max {
                    lines.push(Vec::new());
                    x = 0.0;
                    pending_space = None;
                }
                let Some(line) = lines.last_mut() else {
                    continue;
                };
                if let Some(style) = pending_space.take() {
                    place(line, &mut x, style, " ", space_width);
                }
                if word_width <= max || !line.is_empty() {
                    for ((style, text), width) in pieces.iter().zip(widths) {
                        place(line, &mut x, *style, text, width);
                    }
                    continue;
                }
                // A word wider than the line (a long reference or URL): break it anywhere.
                for (style, text) in pieces {
                    for c in text.chars() {
                        let mut buffer = [0u8; 4];
                        let c = c.encode_utf8(&mut buffer);
                        let width = fonts.width(style.face, c, size);
                        if x + width > max && x > 0.0 {
                            lines.push(Vec::new());
                            x = 0.0;
                        }
                        if let Some(line) = lines.last_mut() {
                            place(line, &mut x, *style, c, width);
                        }
                    }
                }
            }
        }
    }
    lines
}

fn roman(mut n: u32) -> String {
    const NUMERALS: [(u32, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut out = String::new();
    for (value, numeral) in NUMERALS {
        while n >= value {
            out.push_str(numeral);
            n -= value;
        }
    }
    out
}

fn letters(mut n: u32) -> String {
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    out.iter().rev().collect()
}

/// The running numbers of lists and clauses, as the editor shows them.
#[derive(Default)]
struct Counters {
    clauses: Vec<u32>,
    list: Option<u32>,
    ordered: Vec<u32>,
}

fn bump(counters: &mut Vec<u32>, level: usize) -> &[u32] {
    counters.resize(level + 1, 0);
    counters[level] += 1;
    &counters[..=level]
}

impl Counters {
    /// The marker in front of `style`'s text, if it has one.
    fn marker(&mut self, style: BlockStyle) -> Option<String> {
        match style {
            BlockStyle::Bullet { level } => Some(if level % 2 == 0 { "•" } else { "–" }.to_owned()),
            BlockStyle::Numbered { level, list } => {
                if self.list != Some(list) {
                    self.list = Some(list);
                    self.ordered.clear();
                }
                let level = usize::from(level);
                let n = *bump(&mut self.ordered, level).last()?;
                Some(match level % 3 {
                    0 => format!("{n}."),
                    1 => format!("{}.", letters(n)),
                    _ => format!("{}.", roman(n)),
                })
            }
            BlockStyle::Clause { level } => {
                let numbers = bump(&mut self.clauses, usize::from(level));
                Some(numbers.iter().map(|n| format!("{n}.")).collect())
            }
            _ => None,
        }
    }
}

struct Layout<'a> {
    fonts: &'a mut Fonts,
    width: f32,
    height: f32,
    pages: Vec<Vec<Draw>>,
    y: f32,
    /// Footnote texts in the order their markers appear.
    notes: Vec<String>,
}

/// A paragraph's size and spacing by style: (size, bold, italic, space before, space after).
fn metrics(style: BlockStyle) -> (f32, bool, bool, f32, f32) {
    match style {
        BlockStyle::Heading(level) => {
            let size = HEADING_SIZES[usize::from(level.clamp(1, 6)) - 1];
            (size, true, false, 12.0, 6.0)
        }
        BlockStyle::Quote => (BODY_SIZE, false, true, 0.0, 8.0),
        BlockStyle::Paragraph => (BODY_SIZE, false, false, 0.0, 8.0),
        _ => (BODY_SIZE, false, false, 0.0, 4.0),
    }
}

impl Layout<'_> {
    fn bottom(&self) -> f32 {
        self.height - MARGIN
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    fn at_top(&self) -> bool {
        self.pages.last().is_some_and(Vec::is_empty)
    }

    fn draw(&mut self, draw: Draw) {
        if let Some(page) = self.pages.last_mut() {
            page.push(draw);
        }
    }

    /// Draw one line's spans from `left` on `baseline`, with underlines and strike-throughs.
    fn draw_line(&mut self, left: f32, baseline: f32, size: f32, line: Vec<Span>) {
        for span in line {
            if span.underline {
                self.draw(Draw::Rule {
                    x: left + span.x,
                    y: baseline + size * 0.12,
                    width: span.width,
                    thickness: size * 0.05,
                    color: span.color,
                });
            }
            if span.strike {
                self.draw(Draw::Rule {
                    x: left + span.x,
                    y: baseline - size * 0.3,
                    width: span.width,
                    thickness: size * 0.05,
                    color: span.color,
                });
            }
            self.draw(Draw::Text {
                x: left + span.x,
                y: baseline,
                face: span.face,
                size,
                text: span.text,
                color: span.color,
            });
        }
    }

    fn block(&mut self, block: &Paragraph, marker: Option<String>, next_line: f32) {
        let (size, bold, italic, before, after) = metrics(block.style);
        let (left, right) = match block.style {
            BlockStyle::Quote => (MARGIN + LIST_INDENT, MARGIN + LIST_INDENT),
            BlockStyle::Bullet { level }
            | BlockStyle::Numbered { level, .. }
            | BlockStyle::Clause { level } => (MARGIN + LIST_INDENT * f32::from(level + 1), MARGIN),
            _ => (MARGIN, MARGIN),
        };
        // The marker hangs left of the text; a long clause number pushes the text right.
        let marker = marker.map(|text| {
            let width = self.fonts.width(face(bold, false), &text, size);
            let hang = if width + MARKER_GAP <= LIST_INDENT / 2.0 {
                LIST_INDENT / 2.0
            } else {
                LIST_INDENT
            };
            (left - hang, text, width)
        });
        let left = marker
            .as_ref()
            .map_or(left, |(x, _, width)| left.max(x + width + MARKER_GAP));
        let atoms = atoms(block, bold, italic, &mut self.notes);
        let lines = break_lines(self.fonts, &atoms, size, self.width - left - right);
        let line_height = size * LINE_HEIGHT;
        // A heading stays with the first line under it.
        let keep = if matches!(block.style, BlockStyle::Heading(_)) {
            line_height * lines.len() as f32 + next_line
        } else {
            line_height
        };
        if !self.at_top() {
            if self.y + before + keep > self.bottom() {
                self.new_page();
            } else {
                self.y += before;
            }
        }
        for (index, line) in lines.into_iter().enumerate() {
            if self.y + line_height > self.bottom() && !self.at_top() {
                self.new_page();
            }
            let baseline = self.y + size;
            if index == 0
                && let Some((x, text, _)) = &marker
            {
                self.draw(Draw::Text {
                    x: *x,
                    y: baseline,
                    face: face(bold, false),
                    size,
                    text: text.clone(),
                    color: BLACK,
                });
            }
            self.draw_line(left, baseline, size, line);
            self.y += line_height;
        }
        self.y += after;
    }

    /// The blocks in order; `counters` number lists and clauses across the whole draft.
    fn blocks(&mut self, blocks: &[Block], counters: &mut Counters) {
        for (index, block) in blocks.iter().enumerate() {
            match block {
                Block::Paragraph(paragraph) => {
                    let marker = counters.marker(paragraph.style);
                    let next_line = blocks
                        .get(index + 1)
                        .map_or(0.0, |_| BODY_SIZE * LINE_HEIGHT);
                    self.block(paragraph, marker, next_line);
                }
                Block::Table(table) => self.table(table),
                Block::PageBreak => {
                    if !self.at_top() {
                        self.new_page();
                    }
                }
            }
        }
    }
}

fn has_suggestions(blocks: &[Block]) -> bool {
    paragraphs(blocks).iter().any(|paragraph| {
        paragraph
            .runs
            .iter()
            .any(|run| run.insertion.is_some() || run.deletion.is_some())
    })
}

/// The PDF bytes of a draft on `paper`.
pub fn export(draft: &Draft, paper: Paper) -> Result<Vec<u8>, LocalError> {
    let title = draft.title.as_str();
    let mut fonts = Fonts::load()?;
    let mut missing = BTreeSet::new();
    fonts.missing(title, &mut missing);
    for paragraph in paragraphs(&draft.blocks) {
        for run in &paragraph.runs {
            fonts.missing(&run.text, &mut missing);
            if let Inline::Footnote { text } = &run.inline {
                fonts.missing(text, &mut missing);
            }
        }
    }
    if !missing.is_empty() {
        let shown: String = missing.iter().take(12).collect();
        return Err(LocalError::Export(format!(
            "The PDF font cannot show some characters in this draft ({shown}). \
             Export to Word instead: it keeps every character."
        )));
    }
    let (width, height) = paper.size();
    let mut layout = Layout {
        fonts: &mut fonts,
        width,
        height,
        pages: Vec::new(),
        y: MARGIN,
        notes: Vec::new(),
    };
    layout.new_page();
    if draft.title_above_body() {
        let heading = Paragraph::new(BlockStyle::Heading(1), vec![Run::text(title)]);
        layout.block(&heading, None, BODY_SIZE * LINE_HEIGHT);
    }
    if has_suggestions(&draft.blocks) {
        let legend = Paragraph::new(
            BlockStyle::Paragraph,
            vec![
                Run::text("Suggested changes: "),
                Run {
                    insertion: Some(crate::store::draft::Suggestion::parse("")),
                    ..Run::text("insertions underlined")
                },
                Run::text(", "),
                Run {
                    deletion: Some(crate::store::draft::Suggestion::parse("")),
                    ..Run::text("deletions struck through")
                },
                Run::text("."),
            ],
        );
        layout.block(&legend, None, 0.0);
    }
    let mut counters = Counters::default();
    layout.blocks(&draft.blocks, &mut counters);
    let notes = std::mem::take(&mut layout.notes);
    if !notes.is_empty() {
        let heading = Paragraph::new(BlockStyle::Heading(3), vec![Run::text("Notes")]);
        layout.block(&heading, None, BODY_SIZE * LINE_HEIGHT);
        for (index, note) in notes.iter().enumerate() {
            let line = Paragraph::new(
                BlockStyle::Paragraph,
                vec![Run::text(format!("[{}] {note}", index + 1))],
            );
            layout.block(&line, None, 0.0);
        }
    }
    let pages = std::mem::take(&mut layout.pages);
    render(&mut fonts, title, pages, width, height)
}

fn fill((red, green, blue): Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(red, green, blue).into(),
        ..Fill::default()
    }
}

fn render(
    fonts: &mut Fonts,
    title: &str,
    pages: Vec<Vec<Draw>>,
    width: f32,
    height: f32,
) -> Result<Vec<u8>, LocalError> {
    let mut document = Document::new();
    let mut metadata = Metadata::new().creator("Lawyers Hub".into());
    if !title.trim().is_empty() {
        metadata = metadata.title(title.to_owned());
    }
    document.set_metadata(metadata);
    let count = pages.len();
    let settings = || {
        PageSettings::from_wh(width, height)
            .ok_or_else(|| LocalError::Export("Could not write the PDF: invalid page size.".into()))
    };
    for (number, draws) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(settings()?);
        let mut surface = page.surface();
        surface.set_fill(Some(Fill::default()));
        for draw in draws {
            match draw {
                Draw::Text {
                    x,
                    y,
                    face,
                    size,
                    text,
                    color,
                } => {
                    surface.set_fill(Some(fill(color)));
                    surface.draw_text(
                        Point::from_xy(x, y),
                        fonts.pdf[face].clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Draw::Rule {
                    x,
                    y,
                    width,
                    thickness,
                    color,
                } => {
                    surface.set_fill(Some(fill(color)));
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(x, y, width, thickness) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.set_fill(Some(Fill::default()));
        let footer = format!("Page {} of {count}", number + 1);
        let footer_width = fonts.width(0, &footer, FOOTER_SIZE);
        surface.draw_text(
            Point::from_xy((width - footer_width) / 2.0, height - MARGIN / 2.0),
            fonts.pdf[0].clone(),
            FOOTER_SIZE,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|error| LocalError::Export(format!("Could not write the PDF: {error:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::draft::{self, Run};

    fn draft_of(title: &str, blocks: Vec<Block>) -> Draft {
        Draft {
            title: title.into(),
            blocks,
            comments: Vec::new(),
        }
    }
    use yrs::{Doc, Transact};

    /// Poppler's `pdftotext` (Debian poppler-utils, installed by scripts/setup) reads the export
    /// back, as any PDF reader would.
    fn poppler(tool: &str, pdf: &[u8], args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("draft.pdf");
        std::fs::write(&path, pdf).unwrap();
        let output = std::process::Command::new(tool)
            .args(args)
            .arg(&path)
            .args(if tool == "pdftotext" {
                &["-"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap_or_else(|error| panic!("{tool} (poppler-utils) must be installed: {error}"));
        assert!(output.status.success(), "{tool}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    fn paragraph(style: BlockStyle, text: &str) -> Block {
        Block::paragraph(style, vec![Run::text(text)])
    }

    #[test]
    fn exports_text_marks_and_clause_numbers_a_reader_can_extract() {
        let doc = Doc::new();
        draft::tests::sample_draft(&doc);
        let draft = draft::read(&doc.transact());
        let pdf = export(&draft, Paper::A4).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = poppler("pdftotext", &pdf, &["-layout"]);
        assert!(text.contains("Supply agreement"), "{text}");
        assert!(text.contains("Indemnity"), "{text}");
        assert!(
            text.contains("The Supplier shall indemnify the Client."),
            "{text}"
        );
        assert!(text.contains("1.   Definitions") || text.contains("1. Definitions"));
        assert!(text.contains("2.") && text.contains("Term"), "{text}");
        assert!(text.contains("Page 1 of 1"), "{text}");
        // Every face used is embedded (a subset), so the file looks the same everywhere.
        let fonts = poppler("pdffonts", &pdf, &[]);
        assert!(fonts.contains("LiberationSerif-Bold"), "{fonts}");
        for line in fonts.lines().skip(2) {
            assert!(line.contains(" yes "), "not embedded: {line}");
        }
        let info = poppler("pdfinfo", &pdf, &[]);
        assert!(info.contains("Title:           Supply agreement"), "{info}");
        assert!(info.contains("Page size:       595.28 x 841.89"), "{info}");
    }

    /// A long draft breaks into pages and lines, and not one word is lost on the way.
    #[test]
    fn a_long_draft_fills_numbered_pages_and_keeps_every_word() {
        let words = ["supplier", "shall", "indemnify", "against", "losses"];
        let blocks: Vec<Block> = (0..400)
            .map(|n| {
                let text: Vec<String> = (0..40)
                    .map(|i| format!("{}{n}", words[(n + i) % words.len()]))
                    .collect();
                paragraph(BlockStyle::Paragraph, &text.join(" "))
            })
            .collect();
        let pdf = export(&draft_of("", blocks.clone()), Paper::Letter).unwrap();
        let info = poppler("pdfinfo", &pdf, &[]);
        let pages: usize = info
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(pages > 20, "{info}");
        assert!(info.contains("612 x 792"), "{info}");
        let text = poppler("pdftotext", &pdf, &[]);
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        let extracted: Vec<&str> = text
            .split_whitespace()
            .filter(|word| words.iter().any(|w| word.starts_with(w)))
            .collect();
        let expected: Vec<String> = blocks
            .iter()
            .flat_map(|block| {
                block
                    .as_paragraph()
                    .unwrap()
                    .text()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(extracted, expected);
    }

    /// A long table: ruled cells, the header row again at the top of each page it runs onto.
    #[test]
    fn a_long_table_repeats_its_header_row_on_every_page() {
        use crate::store::draft::{Table, TableCell, TableRow};
        let cell = |text: &str, header: bool| TableCell {
            header,
            colspan: 1,
            rowspan: 1,
            blocks: vec![paragraph(BlockStyle::Paragraph, text)],
        };
        let mut rows = vec![TableRow {
            cells: vec![cell("Exhibit", true), cell("Description", true)],
        }];
        for n in 0..120 {
            rows.push(TableRow {
                cells: vec![
                    cell(&format!("E{n}"), false),
                    cell("A signed letter", false),
                ],
            });
        }
        let pdf = export(&draft_of("", vec![Block::Table(Table { rows })]), Paper::A4).unwrap();
        let info = poppler("pdfinfo", &pdf, &[]);
        let pages: usize = info
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(pages >= 3, "{info}");
        let text = poppler("pdftotext", &pdf, &[]);
        assert_eq!(text.matches("Description").count(), pages, "{text}");
        assert!(text.contains("E119"), "{text}");
    }

    #[test]
    fn lists_restart_and_clauses_run_on_through_the_draft() {
        let mut counters = Counters::default();
        let mut next = |style| counters.marker(style).unwrap_or_default();
        assert_eq!(next(BlockStyle::Clause { level: 0 }), "1.");
        assert_eq!(next(BlockStyle::Clause { level: 1 }), "1.1.");
        assert_eq!(next(BlockStyle::Clause { level: 1 }), "1.2.");
        assert_eq!(next(BlockStyle::Clause { level: 2 }), "1.2.1.");
        assert_eq!(next(BlockStyle::Clause { level: 0 }), "2.");
        assert_eq!(next(BlockStyle::Clause { level: 1 }), "2.1.");
        assert_eq!(next(BlockStyle::Numbered { level: 0, list: 1 }), "1.");
        assert_eq!(next(BlockStyle::Numbered { level: 1, list: 1 }), "a.");
        assert_eq!(next(BlockStyle::Numbered { level: 2, list: 1 }), "i.");
        assert_eq!(next(BlockStyle::Numbered { level: 0, list: 1 }), "2.");
        assert_eq!(next(BlockStyle::Numbered { level: 0, list: 2 }), "1.");
        // Clauses carry on after a list in between.
        assert_eq!(next(BlockStyle::Clause { level: 0 }), "3.");
        assert_eq!(next(BlockStyle::Bullet { level: 0 }), "•");
        assert_eq!(letters(28), "ab");
        assert_eq!(roman(14), "xiv");
    }

    #[test]
    fn characters_the_font_cannot_show_are_refused_with_a_clear_message() {
        let blocks = [paragraph(
            BlockStyle::Paragraph,
            "Parties: 株式会社 and Ελλάδα ООО",
        )];
        let error = export(&draft_of("", blocks.to_vec()), Paper::A4).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("The PDF font cannot show"), "{message}");
        assert!(
            message.contains('株') && message.contains("Word"),
            "{message}"
        );
        assert!(!message.contains('Ε'), "Greek is covered: {message}");
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_not_lost() {
        let long = "x".repeat(400);
        let blocks = [
            paragraph(BlockStyle::Quote, &format!("See {long} at")),
            paragraph(BlockStyle::Clause { level: 0 }, "Parent"),
            paragraph(BlockStyle::Clause { level: 1 }, "Deep clause\nsecond line"),
            // Pasted text: a zero-width space and a byte-order mark (left out), a no-break space.
            paragraph(
                BlockStyle::Paragraph,
                "Section\u{200B}\u{FEFF} 5\u{00A0}(a)",
            ),
        ];
        let pdf = export(&draft_of("T", blocks.to_vec()), Paper::A4).unwrap();
        let text: String = poppler("pdftotext", &pdf, &[])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(text.contains(&format!("See{long}at")), "{text}");
        assert!(text.contains("1.Parent1.1.Deepclausesecondline"), "{text}");
        assert!(text.contains("Section5(a)"), "{text}");
    }
}
