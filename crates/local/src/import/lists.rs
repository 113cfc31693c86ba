//! The lists of a block container (the body or a table cell): numbered and bulleted paragraphs
//! gathered into nested `bulletList` / `orderedList` / `clauseList` blocks as they arrive.

use super::model::{Block, ListKind};

/// A block container: the body or a table cell, with the lists still open at its end.
#[derive(Default)]
pub(super) struct Container {
    pub(super) blocks: Vec<Block>,
    pub(super) lists: Vec<OpenList>,
}

pub(super) struct OpenList {
    pub(super) num_id: String,
    pub(super) level: u8,
    pub(super) kind: ListKind,
    pub(super) start: u32,
    pub(super) items: Vec<Vec<Block>>,
}

impl Container {
    pub(super) fn push_block(&mut self, block: Block) {
        while !self.lists.is_empty() {
            self.close_list();
        }
        self.blocks.push(block);
    }

    /// A numbered or bulleted paragraph: into the open list at its level, a new nested list, or
    /// a new list once the numbering changes.
    pub(super) fn push_item(
        &mut self,
        num_id: &str,
        level: u8,
        kind: ListKind,
        start: u32,
        line: Block,
    ) {
        while self.lists.last().is_some_and(|list| list.level > level) {
            self.close_list();
        }
        if let Some(list) = self.lists.last_mut()
            && list.level == level
        {
            if list.num_id == num_id && list.kind == kind {
                list.items.push(vec![line]);
                return;
            }
            self.close_list();
        }
        self.lists.push(OpenList {
            num_id: num_id.to_owned(),
            level,
            kind,
            start,
            items: vec![vec![line]],
        });
    }

    pub(super) fn close_list(&mut self) {
        let Some(list) = self.lists.pop() else {
            return;
        };
        let block = Block::List {
            kind: list.kind,
            start: list.start,
            items: list.items,
        };
        match self
            .lists
            .last_mut()
            .and_then(|parent| parent.items.last_mut())
        {
            Some(item) => item.push(block),
            None => self.blocks.push(block),
        }
    }

    pub(super) fn finish(mut self) -> Vec<Block> {
        while !self.lists.is_empty() {
            self.close_list();
        }
        self.blocks
    }
}
