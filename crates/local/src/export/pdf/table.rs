//! Tables in the PDF: ProseMirror's cells placed on Word's grid (colspans, rowspans), drawn as a
//! ruled grid of equal columns with bold header cells.

use super::{
    BLACK, BODY_SIZE, CELL_PADDING, Draw, LINE_HEIGHT, Layout, MARGIN, Span, atoms, break_lines,
};
use crate::store::draft::{GridSlot, Table, paragraphs};

/// A cell placed on the grid: (first grid column, columns spanned, index in its row).
type Placed = (usize, usize, usize);

/// Each row's cells with their grid column and span ([`Table::grid`] without the covered slots).
fn place_cells(grid: &[Vec<GridSlot>]) -> Vec<(usize, Vec<Placed>)> {
    grid.iter()
        .enumerate()
        .map(|(row_index, slots)| {
            let placed = slots
                .iter()
                .filter_map(|slot| match *slot {
                    GridSlot::Cell {
                        column,
                        span,
                        index,
                    } => Some((column, span, index)),
                    GridSlot::Covered { .. } => None,
                })
                .collect();
            (row_index, placed)
        })
        .collect()
}

/// A laid-out row: its height and its cells (grid column, columns spanned, lines).
#[derive(Clone)]
struct Row {
    height: f32,
    cells: Vec<(usize, usize, Vec<Vec<Span>>)>,
}

impl Layout<'_> {
    /// A table as a ruled grid of equal columns; header cells bold, and the leading rows of
    /// header cells repeated at the top of every page the table continues on. A row moves to the
    /// next page whole when it does not fit; a cell's lists and nested tables are laid out as
    /// paragraphs.
    pub(super) fn table(&mut self, table: &Table) {
        let grid = table.grid();
        let columns = Table::grid_columns(&grid);
        let column_width = (self.width - 2.0 * MARGIN) / columns as f32;
        let line_height = BODY_SIZE * LINE_HEIGHT;
        let mut rows = Vec::new();
        for (row_index, placed) in place_cells(&grid) {
            let row = &table.rows[row_index];
            // Lay out every cell first: the row is as tall as its tallest cell.
            let mut cells = Vec::new();
            for (column, span, index) in placed {
                let cell = &row.cells[index];
                let width = column_width * span as f32 - 2.0 * CELL_PADDING;
                let mut lines = Vec::new();
                for paragraph in paragraphs(&cell.blocks) {
                    let atoms = atoms(paragraph, cell.header, false, &mut self.notes);
                    lines.extend(break_lines(self.fonts, &atoms, BODY_SIZE, width));
                }
                cells.push((column, span, lines));
            }
            let tallest = cells
                .iter()
                .map(|(_, _, lines)| lines.len())
                .max()
                .unwrap_or(0);
            let height = tallest.max(1) as f32 * line_height + 2.0 * CELL_PADDING;
            rows.push(Row { height, cells });
        }
        let headers = table
            .rows
            .iter()
            .take_while(|row| !row.cells.is_empty() && row.cells.iter().all(|cell| cell.header))
            .count();
        for (index, row) in rows.iter().enumerate() {
            if self.y + row.height > self.bottom() && !self.at_top() {
                self.new_page();
                if index >= headers {
                    for header in &rows[..headers] {
                        self.row(header.clone(), column_width);
                    }
                }
            }
            self.row(row.clone(), column_width);
        }
        self.y += 8.0;
    }

    fn row(&mut self, row: Row, column_width: f32) {
        let line_height = BODY_SIZE * LINE_HEIGHT;
        let (top, height) = (self.y, row.height);
        for (column, span, lines) in row.cells {
            let x = MARGIN + column as f32 * column_width;
            let width = column_width * span as f32;
            for y in [top, top + height] {
                self.draw(Draw::Rule {
                    x,
                    y,
                    width,
                    thickness: 0.5,
                    color: BLACK,
                });
            }
            for edge in [x, x + width] {
                self.draw(Draw::Rule {
                    x: edge,
                    y: top,
                    width: 0.5,
                    thickness: height,
                    color: BLACK,
                });
            }
            let mut baseline = top + CELL_PADDING + BODY_SIZE;
            for line in lines {
                self.draw_line(x + CELL_PADDING, baseline, BODY_SIZE, line);
                baseline += line_height;
            }
        }
        self.y = top + height;
    }
}
