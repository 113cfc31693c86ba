//! A structural walk over a Yjs v1 update before yrs decodes it.
//!
//! yrs pre-allocates from counts it reads (`try_reserve(clients_len)` and the like), so a few
//! hostile bytes can make it reserve and zero hundreds of megabytes. This walk reads the same
//! layout yrs reads, allocates nothing but the set of client ids it has seen, and refuses any
//! count larger than the bytes left could hold, any nesting deeper than [`MAX_ANY_DEPTH`], any
//! unknown tag, a client listed twice and clocks past `u32::MAX`. Only then does yrs see it.
//!
//! The walk also reports each block's clock range and origin to a visitor, for checks that
//! need the document's state ([`crate::integrate_update`]).

use std::collections::HashSet;

use crate::lib0::Reader;
use crate::{ChangeDefect, ProtocolError};

/// Deepest nesting of lib0 `Any` values (arrays/objects) accepted inside an update.
pub const MAX_ANY_DEPTH: usize = 48;

fn bad(reason: &str) -> ProtocolError {
    ProtocolError::InvalidUpdate(reason.to_owned())
}

fn read_u32(reader: &mut Reader<'_>, what: &'static str) -> Result<u32, ProtocolError> {
    u32::try_from(reader.read_var_uint(what)?).map_err(|_| ProtocolError::VarIntOverflow { what })
}

/// A count of items that each take at least `min_bytes` bytes must fit in what is left.
fn count(
    reader: &mut Reader<'_>,
    what: &'static str,
    min_bytes: usize,
) -> Result<usize, ProtocolError> {
    let value = read_u32(reader, what)? as usize;
    if value > reader.remaining() / min_bytes.max(1) {
        return Err(ProtocolError::LimitExceeded {
            what,
            limit: reader.remaining() / min_bytes.max(1),
        });
    }
    Ok(value)
}

/// Yjs client ids are JavaScript-safe integers; yrs keeps only their low 53 bits, so two
/// different larger numbers could name one client.
pub const MAX_CLIENT_ID: u64 = (1 << 53) - 1;

fn read_client(reader: &mut Reader<'_>, what: &'static str) -> Result<u64, ProtocolError> {
    let client = reader.read_var_uint(what)?;
    if client > MAX_CLIENT_ID {
        return Err(ProtocolError::MalformedChange(
            ChangeDefect::ClientIdTooLarge { client },
        ));
    }
    Ok(client)
}

/// A Yjs id: (client, clock).
pub(crate) type Id = (u64, u32);

fn read_id(reader: &mut Reader<'_>) -> Result<Id, ProtocolError> {
    let client = read_client(reader, "client id")?;
    Ok((client, read_u32(reader, "clock")?))
}

/// The parent an item names (items with an origin or right origin take theirs from those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent<'a> {
    /// A root type, by name.
    Root(&'a str),
    /// A nested type: the id of the item holding it.
    Nested(Id),
}

/// What a block is, as far as clocks and dependencies go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind<'a> {
    /// A gap the update does not cover (yrs skips it).
    Skip,
    /// Garbage-collected content.
    Gc,
    /// Content placed after `origin` and before `right_origin`; with neither, the item names its
    /// parent (and the key, for a map entry).
    Item {
        origin: Option<Id>,
        right_origin: Option<Id>,
        names_parent: Option<(Parent<'a>, Option<&'a str>)>,
    },
}

/// One block of an update: its client, its clocks `clock..end` and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block<'a> {
    pub client: u64,
    pub clock: u32,
    pub end: u32,
    pub kind: BlockKind<'a>,
}

fn utf16_len(text: &str) -> u32 {
    // A string of at most `MAX_FRAME_BYTES` bytes has fewer UTF-16 units than `u32::MAX`.
    u32::try_from(text.encode_utf16().count()).unwrap_or(u32::MAX)
}

fn skip(reader: &mut Reader<'_>, bytes: usize, what: &'static str) -> Result<(), ProtocolError> {
    for _ in 0..bytes {
        reader.read_u8(what)?;
    }
    Ok(())
}

fn check_any(reader: &mut Reader<'_>, depth: usize) -> Result<(), ProtocolError> {
    if depth > MAX_ANY_DEPTH {
        return Err(ProtocolError::LimitExceeded {
            what: "value nesting",
            limit: MAX_ANY_DEPTH,
        });
    }
    match reader.read_u8("value tag")? {
        127 | 126 | 121 | 120 => Ok(()),
        125 => reader.read_var_int("integer").map(|_| ()),
        124 => skip(reader, 4, "float32"),
        123 | 122 => skip(reader, 8, "float64"),
        119 => reader.read_var_str("string value").map(|_| ()),
        118 => {
            for _ in 0..count(reader, "object entries", 2)? {
                reader.read_var_str("object key")?;
                check_any(reader, depth + 1)?;
            }
            Ok(())
        }
        117 => {
            for _ in 0..count(reader, "array items", 1)? {
                check_any(reader, depth + 1)?;
            }
            Ok(())
        }
        116 => reader.read_var_bytes("binary value").map(|_| ()),
        _ => Err(bad("unknown value tag")),
    }
}

/// Walk one block; returns its length in clocks (as yrs counts it: 0 for an item yrs drops
/// because its content is empty) and its kind.
fn check_block<'a>(reader: &mut Reader<'a>) -> Result<(u32, BlockKind<'a>), ProtocolError> {
    let info = reader.read_u8("block info")?;
    match info {
        // Skip and GC blocks: a non-empty length.
        10 | 0 => {
            let len = read_u32(reader, "block length")?;
            if len == 0 {
                return Err(bad("empty block"));
            }
            let kind = if info == 10 {
                BlockKind::Skip
            } else {
                BlockKind::Gc
            };
            return Ok((len, kind));
        }
        _ => {}
    }
    let has_origin = info & 0b1000_0000 != 0;
    let has_right_origin = info & 0b0100_0000 != 0;
    let origin = if has_origin {
        Some(read_id(reader)?)
    } else {
        None
    };
    let right_origin = if has_right_origin {
        Some(read_id(reader)?)
    } else {
        None
    };
    let mut names_parent = None;
    if !has_origin && !has_right_origin {
        let parent = if read_u32(reader, "parent info")? == 1 {
            Parent::Root(reader.read_var_str("parent name")?)
        } else {
            Parent::Nested(read_id(reader)?)
        };
        let key = if info & 0b0010_0000 != 0 {
            Some(reader.read_var_str("parent key")?)
        } else {
            None
        };
        names_parent = Some((parent, key));
    }
    let len = match info & 0b1111 {
        1 => read_u32(reader, "deleted length")?,
        2 => {
            // yrs reads `len + 1` strings here (and refuses a length that is negative as i32).
            let len = read_u32(reader, "json length")?;
            if len > i32::MAX as u32 || len as usize >= reader.remaining() {
                return Err(ProtocolError::LimitExceeded {
                    what: "json items",
                    limit: reader.remaining(),
                });
            }
            for _ in 0..=len {
                reader.read_var_str("json item")?;
            }
            len + 1
        }
        3 => reader.read_var_bytes("binary content").map(|_| 1)?,
        4 => utf16_len(reader.read_var_str("string content")?),
        5 => reader.read_var_str("embed").map(|_| 1)?,
        6 => {
            reader.read_var_str("format key")?;
            reader.read_var_str("format value").map(|_| 1)?
        }
        7 => match reader.read_u8("type ref")? {
            3 => reader.read_var_str("xml element name").map(|_| 1)?,
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => 1,
            _ => return Err(bad("unknown type ref")),
        },
        8 => {
            let items = count(reader, "any items", 1)?;
            for _ in 0..items {
                check_any(reader, 0)?;
            }
            // `count` keeps this below the frame's length.
            u32::try_from(items).unwrap_or(u32::MAX)
        }
        9 => check_any(reader, 0).map(|_| 1)?,
        _ => return Err(bad("unknown content type")),
    };
    Ok((
        len,
        BlockKind::Item {
            origin,
            right_origin,
            names_parent,
        },
    ))
}

/// Walk a v1 update; `Ok` means yrs can decode it without outsized allocations, and each
/// client's blocks are listed once, in one run of clocks that fits in a `u32`.
pub fn check_update_v1(update: &[u8]) -> Result<(), ProtocolError> {
    walk_update_v1(update, |_| Ok(()))
}

/// [`check_update_v1`], calling `visit` with every block yrs would keep (in order; the blocks of
/// one client are consecutive and their clocks follow one another).
pub(crate) fn walk_update_v1<'a>(
    update: &'a [u8],
    visit: impl FnMut(Block<'a>) -> Result<(), ProtocolError>,
) -> Result<(), ProtocolError> {
    walk_update_v1_with_deletions(update, visit, |_| Ok(()))
}

/// A range of clocks an update deletes: `client`'s clocks `clock..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deletion {
    pub client: u64,
    pub clock: u32,
    pub end: u32,
}

/// [`walk_update_v1`], calling `deleted` with every range of the update's delete set as well.
pub(crate) fn walk_update_v1_with_deletions<'a>(
    update: &'a [u8],
    mut visit: impl FnMut(Block<'a>) -> Result<(), ProtocolError>,
    mut deleted: impl FnMut(Deletion) -> Result<(), ProtocolError>,
) -> Result<(), ProtocolError> {
    let mut reader = Reader::new(update);
    let mut seen = HashSet::new();
    for _ in 0..count(&mut reader, "update clients", 3)? {
        let blocks = count(&mut reader, "client blocks", 2)?;
        let client = read_client(&mut reader, "client id")?;
        let mut clock = read_u32(&mut reader, "clock")?;
        // yrs appends a second listing of a client to the first whatever its clocks, and
        // integrates the lot out of order; Yjs never writes one.
        if !seen.insert(client) {
            return Err(ProtocolError::MalformedChange(
                ChangeDefect::ClientListedTwice { client },
            ));
        }
        for _ in 0..blocks {
            let (len, kind) = check_block(&mut reader)?;
            if len == 0 {
                // yrs drops an item with empty content, and its clock does not advance.
                continue;
            }
            let end = clock
                .checked_add(len)
                .ok_or(ProtocolError::MalformedChange(
                    ChangeDefect::ClockOverflow { client },
                ))?;
            visit(Block {
                client,
                clock,
                end,
                kind,
            })?;
            clock = end;
        }
    }
    for _ in 0..count(&mut reader, "delete set clients", 2)? {
        let client = read_client(&mut reader, "delete set client")?;
        for _ in 0..count(&mut reader, "delete set ranges", 2)? {
            let clock = read_u32(&mut reader, "deleted clock")?;
            let len = read_u32(&mut reader, "deleted length")?;
            deleted(Deletion {
                client,
                clock,
                end: clock.saturating_add(len),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{
        Any, Array, Doc, GetString, Map, ReadTxn, Text, Transact, XmlFragment, XmlTextPrelim,
    };

    #[test]
    fn accepts_what_yrs_writes() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("body");
        let map = doc.get_or_insert_map("meta");
        let array = doc.get_or_insert_array("parties");
        let xml = doc.get_or_insert_xml_fragment("default");
        let mut updates = Vec::new();
        for i in 0..5 {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, &format!("Clause {i} — é ✓ "));
            if i > 1 {
                text.remove_range(&mut txn, 2, 4);
            }
            map.insert(
                &mut txn,
                format!("k{i}"),
                Any::from(vec![Any::from(i as f64), Any::from("x"), Any::Null]),
            );
            array.push_back(&mut txn, format!("party {i}"));
            xml.push_back(&mut txn, XmlTextPrelim::new("para"));
            updates.push(txn.encode_update_v1());
        }
        for update in &updates {
            check_update_v1(update).unwrap();
        }
        let full = doc
            .transact()
            .encode_state_as_update_v1(&Default::default());
        check_update_v1(&full).unwrap();
        assert!(text.get_string(&doc.transact()).starts_with("Cl"));
    }

    #[test]
    fn refuses_counts_the_bytes_cannot_hold() {
        // 200 million clients declared in five bytes: yrs would reserve gigabytes for this.
        let mut bytes = vec![0x80, 0x84, 0xaf, 0x5f];
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            check_update_v1(&bytes).unwrap_err().code(),
            "limit_exceeded"
        );
        // A deeply nested value.
        let mut nested = vec![1, 1, 1, 0, 8, 1, 1, b'x', 1];
        nested.extend(std::iter::repeat_n([117u8, 1], 100).flatten());
        assert!(check_update_v1(&nested).is_err());
    }
}
