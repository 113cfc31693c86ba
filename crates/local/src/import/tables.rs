//! Tables as Word writes them (a grid, rows of cells, horizontal spans, vertical merges) into
//! TipTap's table: `colspan`, `rowspan`, `colwidth` in pixels.

use super::model::{Block, Cell, Row};

pub(super) struct TableState {
    pub(super) grid: Vec<u32>,
    pub(super) rows: Vec<RawRow>,
    pub(super) cell_span: u32,
    pub(super) cell_merge: Option<bool>,
}

pub(super) struct RawRow {
    pub(super) header: bool,
    pub(super) grid_before: u32,
    pub(super) next_column: u32,
    pub(super) cells: Vec<RawCell>,
}

pub(super) struct RawCell {
    pub(super) blocks: Vec<Block>,
    pub(super) column: u32,
    pub(super) span: u32,
    /// `Some(true)` starts a vertical merge, `Some(false)` continues the one above.
    pub(super) merge: Option<bool>,
}

/// Vertical merges (`vMerge`) become row spans; the continuing cells are dropped.
pub(super) fn table_rows(table: TableState) -> Vec<Row> {
    let TableState { grid, mut rows, .. } = table;
    let mut spans: Vec<Vec<u32>> = rows.iter().map(|row| vec![1; row.cells.len()]).collect();
    let mut covered: Vec<Vec<bool>> = rows
        .iter()
        .map(|row| vec![false; row.cells.len()])
        .collect();
    for (row_index, row) in rows.iter().enumerate() {
        for (cell_index, cell) in row.cells.iter().enumerate() {
            if cell.merge != Some(true) {
                continue;
            }
            let column = cell.column;
            let mut span = 1;
            for (below_index, below) in rows.iter().enumerate().skip(row_index + 1) {
                let Some(position) = below
                    .cells
                    .iter()
                    .position(|other| other.column == column && other.merge == Some(false))
                else {
                    break;
                };
                covered[below_index][position] = true;
                span += 1;
            }
            spans[row_index][cell_index] = span;
        }
    }
    let pixel = |twips: u32| twips.div_ceil(15);
    rows.iter_mut()
        .enumerate()
        .map(|(row_index, row)| {
            let cells = std::mem::take(&mut row.cells)
                .into_iter()
                .enumerate()
                .filter(|(cell_index, _)| !covered[row_index][*cell_index])
                .map(|(cell_index, cell)| {
                    let start = cell.column as usize;
                    let end = start + cell.span as usize;
                    let colwidth = (end <= grid.len() && grid[start..end].iter().all(|w| *w > 0))
                        .then(|| grid[start..end].iter().map(|w| pixel(*w)).collect());
                    Cell {
                        blocks: cell.blocks,
                        colspan: cell.span,
                        rowspan: spans[row_index][cell_index],
                        colwidth,
                    }
                })
                .collect::<Vec<_>>();
            let cells = if cells.is_empty() {
                vec![Cell {
                    blocks: vec![Block::Paragraph {
                        heading: None,
                        inlines: Vec::new(),
                    }],
                    colspan: 1,
                    rowspan: 1,
                    colwidth: None,
                }]
            } else {
                cells
            };
            Row {
                header: row.header,
                cells,
            }
        })
        .collect()
}
