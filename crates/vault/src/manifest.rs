use serde::{Deserialize, Serialize};

/// What a snapshot captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A file or a directory tree.
    Path,
    /// Chosen files and trees under a directory (a working tree's untracked and changed files).
    Files,
    /// A SQLite database, copied through the online backup API.
    Sqlite,
    /// PostgreSQL tables (definitions and binary COPY data), read in one consistent transaction.
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One file, directory or symlink, relative to the snapshot's origin. Names are kept as raw bytes
/// (hex), so non-UTF-8 file names survive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path_hex: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    /// The owner, restored when the restorer may (root); older snapshots have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
}

/// A snapshot manifest: what was captured, from where, for which action, and how big.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub created_at: i64,
    pub source: SourceKind,
    /// The resource or path the snapshot belongs to.
    pub resource: String,
    /// The absolute path it was taken from (and restores to by default).
    pub origin: String,
    #[serde(default)]
    pub action_id: Option<String>,
    /// Deleting the snapshot is refused before this time.
    #[serde(default)]
    pub locked_until: Option<i64>,
    pub entries: Vec<Entry>,
    /// Bytes captured.
    pub bytes: u64,
    /// Bytes the vault grew by (after deduplication and compression).
    pub stored: u64,
}

/// A snapshot without its entries, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    pub id: String,
    pub created_at: i64,
    pub source: SourceKind,
    pub resource: String,
    pub origin: String,
    pub action_id: Option<String>,
    pub locked_until: Option<i64>,
    pub files: usize,
    pub bytes: u64,
    pub stored: u64,
}

impl Snapshot {
    pub fn summary(&self) -> SnapshotSummary {
        SnapshotSummary {
            id: self.id.clone(),
            created_at: self.created_at,
            source: self.source,
            resource: self.resource.clone(),
            origin: self.origin.clone(),
            action_id: self.action_id.clone(),
            locked_until: self.locked_until,
            files: self.entries.iter().filter(|e| e.kind == EntryKind::File).count(),
            bytes: self.bytes,
            stored: self.stored,
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
