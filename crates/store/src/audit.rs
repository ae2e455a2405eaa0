//! The audit chain: every entry commits to the one before it, so an edit, a removal or a reordering
//! anywhere breaks every later link and `verify_chain` names the first broken entry.

use serde::{Deserialize, Serialize};

/// An entry to append.
#[derive(Clone, Debug)]
pub struct NewAudit {
    pub at: i64,
    pub kind: String,
    pub action_id: Option<String>,
    pub detail: serde_json::Value,
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub action_id: Option<String>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash an entry must carry, from its content and its predecessor's hash.
pub(crate) fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    kind: &str,
    action_id: Option<&str>,
    detail: &str,
) -> String {
    crate::hex::digest_parts(&[
        prev_hash,
        &seq.to_string(),
        &at.to_string(),
        kind,
        action_id.unwrap_or(""),
        detail,
    ])
}

/// Where a chain stops being trustworthy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {problem}")]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Checks a whole chain, in order. Returns the number of entries checked.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                problem: format!("is missing (the next entry present is {}): entries were removed", e.seq),
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak {
                seq: e.seq,
                problem: "does not follow its predecessor: entries were removed or reordered".into(),
            });
        }
        let detail = serde_json::to_string(&e.detail).map_err(|err| ChainBreak {
            seq: e.seq,
            problem: err.to_string(),
        })?;
        if entry_hash(&e.prev_hash, e.seq, e.at, &e.kind, e.action_id.as_deref(), &detail) != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                problem: "its content does not match its hash: it was edited".into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}
