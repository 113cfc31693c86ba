//! A structural walk over a Yjs v1 update before yrs decodes it.
//!
//! yrs pre-allocates from counts it reads (`try_reserve(clients_len)` and the like), so a few
//! hostile bytes can make it reserve and zero hundreds of megabytes. This walk reads the same
//! layout yrs reads, allocates nothing, and refuses any count larger than the bytes left could
//! hold, any nesting deeper than [`MAX_ANY_DEPTH`], and any unknown tag. Only then does yrs see it.

use crate::ProtocolError;
use crate::lib0::Reader;

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

fn read_id(reader: &mut Reader<'_>) -> Result<(), ProtocolError> {
    reader.read_var_uint("client id")?;
    read_u32(reader, "clock")?;
    Ok(())
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

fn check_block(reader: &mut Reader<'_>) -> Result<(), ProtocolError> {
    let info = reader.read_u8("block info")?;
    match info {
        // Skip and GC blocks: a non-empty length.
        10 | 0 => {
            if read_u32(reader, "block length")? == 0 {
                return Err(bad("empty block"));
            }
            return Ok(());
        }
        _ => {}
    }
    let has_origin = info & 0b1000_0000 != 0;
    let has_right_origin = info & 0b0100_0000 != 0;
    if has_origin {
        read_id(reader)?;
    }
    if has_right_origin {
        read_id(reader)?;
    }
    if !has_origin && !has_right_origin {
        if read_u32(reader, "parent info")? == 1 {
            reader.read_var_str("parent name")?;
        } else {
            read_id(reader)?;
        }
        if info & 0b0010_0000 != 0 {
            reader.read_var_str("parent key")?;
        }
    }
    match info & 0b1111 {
        1 => read_u32(reader, "deleted length").map(|_| ()),
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
            Ok(())
        }
        3 => reader.read_var_bytes("binary content").map(|_| ()),
        4 => reader.read_var_str("string content").map(|_| ()),
        5 => reader.read_var_str("embed").map(|_| ()),
        6 => {
            reader.read_var_str("format key")?;
            reader.read_var_str("format value").map(|_| ())
        }
        7 => match reader.read_u8("type ref")? {
            3 => reader.read_var_str("xml element name").map(|_| ()),
            0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => Ok(()),
            _ => Err(bad("unknown type ref")),
        },
        8 => {
            for _ in 0..count(reader, "any items", 1)? {
                check_any(reader, 0)?;
            }
            Ok(())
        }
        9 => check_any(reader, 0),
        _ => Err(bad("unknown content type")),
    }
}

/// Walk a v1 update; `Ok` means yrs can decode it without outsized allocations.
pub fn check_update_v1(update: &[u8]) -> Result<(), ProtocolError> {
    let mut reader = Reader::new(update);
    for _ in 0..count(&mut reader, "update clients", 3)? {
        let blocks = count(&mut reader, "client blocks", 2)?;
        reader.read_var_uint("client id")?;
        read_u32(&mut reader, "clock")?;
        for _ in 0..blocks {
            check_block(&mut reader)?;
        }
    }
    for _ in 0..count(&mut reader, "delete set clients", 2)? {
        reader.read_var_uint("delete set client")?;
        for _ in 0..count(&mut reader, "delete set ranges", 2)? {
            read_u32(&mut reader, "deleted clock")?;
            read_u32(&mut reader, "deleted length")?;
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
