//! The draft's other roots (docs/DRAFT_FORMAT.md): the `comments` threads and where their
//! anchors sit, the `versions` list, and the `users` map (Y.PermanentUserData) that says which
//! Yjs client ids and deletions belong to whom.

use std::collections::HashMap;

use yrs::branch::BranchPtr;
use yrs::updates::decoder::Decode;
use yrs::{Any, Array, IdSet, Map, Out, ReadTxn, Snapshot, StickyIndex, WriteTxn};

use super::{Edge, any_number};

pub const COMMENTS: &str = "comments";
pub const VERSIONS: &str = "versions";
pub const USERS: &str = "users";

/// A reply in a comment thread.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub id: String,
    pub author: String,
    /// Unix milliseconds.
    pub created: Option<i64>,
    pub body: String,
    pub deleted: bool,
}

/// A comment thread.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comment {
    /// The thread id (its key in `comments`).
    pub id: String,
    pub author: String,
    /// Unix milliseconds.
    pub created: Option<i64>,
    pub body: String,
    /// The commented text when the comment was made.
    pub quote: String,
    pub resolved: bool,
    pub resolved_by: Option<String>,
    /// Its author deleted the opening comment (kept while it has replies).
    pub deleted: bool,
    pub replies: Vec<Reply>,
    /// Its anchors no longer resolve to live text ([`super::read`] sets this).
    pub detached: bool,
    pub(crate) from: Option<Vec<u8>>,
    pub(crate) to: Option<Vec<u8>>,
}

/// A saved version as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub author: String,
    /// Unix milliseconds.
    pub created: Option<i64>,
}

/// A version with its snapshot (`Snapshot::encode_v1`).
#[derive(Debug, Clone)]
pub(crate) struct VersionEntry {
    pub info: VersionInfo,
    pub snapshot: Vec<u8>,
}

/// Which client ids and deletions belong to a user (`users`, Y.PermanentUserData).
#[derive(Debug, Clone, Default)]
pub(crate) struct UserIds {
    pub name: String,
    pub clients: Vec<u64>,
    pub deletions: Vec<IdSet>,
}

/// A map value's fields, whether it is a `Y.Map` or a plain object.
fn fields<T: ReadTxn>(txn: &T, value: &Out) -> Option<HashMap<String, Out>> {
    match value {
        Out::YMap(map) => Some(
            map.iter(txn)
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        ),
        Out::Any(Any::Map(map)) => Some(
            map.iter()
                .map(|(key, value)| (key.clone(), Out::Any(value.clone())))
                .collect(),
        ),
        _ => None,
    }
}

fn string(fields: &HashMap<String, Out>, key: &str) -> String {
    match fields.get(key) {
        Some(Out::Any(Any::String(text))) => text.to_string(),
        _ => String::new(),
    }
}

fn millis(fields: &HashMap<String, Out>, key: &str) -> Option<i64> {
    match fields.get(key) {
        Some(Out::Any(value)) => any_number(value).map(|n| n as i64),
        _ => None,
    }
}

fn flag(fields: &HashMap<String, Out>, key: &str) -> bool {
    matches!(fields.get(key), Some(Out::Any(Any::Bool(true))))
}

fn bytes(fields: &HashMap<String, Out>, key: &str) -> Option<Vec<u8>> {
    match fields.get(key) {
        Some(Out::Any(Any::Buffer(bytes))) => Some(bytes.to_vec()),
        // A JSON round trip turns a Uint8Array into an array of numbers.
        Some(Out::Any(Any::Array(items))) => items
            .iter()
            .map(|item| any_number(item).map(|n| n as u8))
            .collect(),
        _ => None,
    }
}

/// The values of an array field (a `Y.Array` or a plain array).
fn items<T: ReadTxn>(txn: &T, fields: &HashMap<String, Out>, key: &str) -> Vec<Out> {
    match fields.get(key) {
        Some(Out::YArray(array)) => array.iter(txn).collect(),
        Some(Out::Any(Any::Array(items))) => items.iter().cloned().map(Out::Any).collect(),
        _ => Vec::new(),
    }
}

/// The comment threads, oldest first (then by id, so the order is stable).
pub fn comments<T: ReadTxn>(txn: &T) -> Vec<Comment> {
    let Some(map) = txn.get_map(COMMENTS) else {
        return Vec::new();
    };
    let mut threads: Vec<Comment> = map
        .iter(txn)
        .filter_map(|(id, value)| {
            let thread = fields(txn, &value)?;
            let replies = items(txn, &thread, "replies")
                .iter()
                .filter_map(|reply| fields(txn, reply))
                .map(|reply| Reply {
                    id: string(&reply, "id"),
                    author: string(&reply, "author"),
                    created: millis(&reply, "created"),
                    body: string(&reply, "body"),
                    deleted: flag(&reply, "deleted"),
                })
                .collect();
            let resolved_by = Some(string(&thread, "resolvedBy")).filter(|by| !by.is_empty());
            Some(Comment {
                id: id.to_owned(),
                author: string(&thread, "author"),
                created: millis(&thread, "created"),
                body: string(&thread, "body"),
                quote: string(&thread, "quote"),
                resolved: flag(&thread, "resolved"),
                resolved_by,
                deleted: flag(&thread, "deleted"),
                replies,
                detached: false,
                from: bytes(&thread, "from"),
                to: bytes(&thread, "to"),
            })
        })
        .collect();
    threads.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    threads
}

/// The comments' anchors resolved to the `Y.XmlText` they sit in and a UTF-16 index in it.
pub(crate) struct CommentAnchors {
    pub by_branch: HashMap<BranchPtr, Vec<(u32, usize, Edge)>>,
}

pub(crate) fn anchors<T: ReadTxn>(txn: &T, comments: &[Comment]) -> CommentAnchors {
    let mut by_branch: HashMap<BranchPtr, Vec<(u32, usize, Edge)>> = HashMap::new();
    for (index, comment) in comments.iter().enumerate() {
        for (bytes, edge) in [(&comment.from, Edge::Start), (&comment.to, Edge::End)] {
            let Some(offset) = bytes
                .as_deref()
                .and_then(|bytes| StickyIndex::decode_v1(bytes).ok())
                .and_then(|sticky| sticky.get_offset(txn))
            else {
                continue;
            };
            by_branch
                .entry(offset.branch)
                .or_default()
                .push((offset.index, index, edge));
        }
    }
    CommentAnchors { by_branch }
}

/// The saved versions, in the order they were saved.
pub fn versions<T: ReadTxn>(txn: &T) -> Vec<VersionInfo> {
    version_entries(txn)
        .into_iter()
        .map(|entry| entry.info)
        .collect()
}

pub(crate) fn version_entries<T: ReadTxn>(txn: &T) -> Vec<VersionEntry> {
    let Some(array) = txn.get_array(VERSIONS) else {
        return Vec::new();
    };
    array
        .iter(txn)
        .filter_map(|value| {
            let entry = fields(txn, &value)?;
            Some(VersionEntry {
                info: VersionInfo {
                    id: string(&entry, "id"),
                    name: string(&entry, "name"),
                    kind: string(&entry, "kind"),
                    author: string(&entry, "author"),
                    created: millis(&entry, "created"),
                },
                snapshot: bytes(&entry, "snapshot")?,
            })
        })
        .collect()
}

/// A version's snapshot, decoded.
pub(crate) fn decode_snapshot(bytes: &[u8]) -> Option<Snapshot> {
    Snapshot::decode_v1(bytes).ok()
}

/// Who is who in `users` (Y.PermanentUserData: name → {ids: [client id], ds: [delete set]}).
pub(crate) fn users<T: ReadTxn>(txn: &T) -> Vec<UserIds> {
    let Some(map) = txn.get_map(USERS) else {
        return Vec::new();
    };
    map.iter(txn)
        .filter_map(|(name, value)| {
            let user = fields(txn, &value)?;
            let clients = items(txn, &user, "ids")
                .iter()
                .filter_map(|id| match id {
                    Out::Any(value) => any_number(value).map(|n| n as u64),
                    _ => None,
                })
                .collect();
            let deletions = items(txn, &user, "ds")
                .iter()
                .filter_map(|set| match set {
                    Out::Any(Any::Buffer(bytes)) => IdSet::decode_v1(bytes).ok(),
                    _ => None,
                })
                .collect();
            Some(UserIds {
                name: name.to_owned(),
                clients,
                deletions,
            })
        })
        .collect()
}

/// What a new version is called, and why and by whom it was saved.
pub struct NewVersion<'a> {
    pub name: &'a str,
    /// `named`, `import`, `accept-all`, `session` or `restore` (docs/DRAFT_FORMAT.md).
    pub kind: &'a str,
    pub author: &'a str,
}

/// Save the draft as it stands in `txn` (this transaction's own changes included) as a version:
/// an entry appended to `versions`, as the editor's Versions panel writes them.
pub fn save_version(txn: &mut yrs::TransactionMut, version: &NewVersion) -> String {
    use yrs::updates::encoder::Encode;
    let snapshot = txn.snapshot().encode_v1();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as f64)
        .unwrap_or(0.0);
    let entry = Any::from(HashMap::from([
        ("id".to_owned(), Any::from(id.as_str())),
        ("name".to_owned(), Any::from(version.name)),
        ("kind".to_owned(), Any::from(version.kind)),
        ("author".to_owned(), Any::from(version.author)),
        ("created".to_owned(), Any::from(created)),
        ("snapshot".to_owned(), Any::from(snapshot)),
    ]));
    let versions = txn.get_or_insert_array(VERSIONS);
    versions.push_back(txn, entry);
    id
}
