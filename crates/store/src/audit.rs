//! The audit chain: every entry commits to the one before it, and each link is an HMAC-SHA256
//! under a key only the service reads ([`AuditKey`]). So an edit, a removal or a reordering anywhere
//! breaks every later link, and someone who can write the state but not read the key cannot
//! recompute the links. A truncation of the newest entries leaves a valid prefix; the service's
//! sealed [`Checkpoint`]s (count and head, kept in the vault) catch that.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::hex::{digest_parts, from_hex, to_hex};
use crate::scram::hmac_sha256;
use crate::StoreError;

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

/// The key that seals the chain: 32 random bytes, hex in a 0600 file beside the state.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    pub fn generate() -> Result<AuditKey, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for the audit key: {e}")))?;
        Ok(AuditKey(bytes))
    }

    /// Reads the key file, or creates it (0600) when there is none. The flag says it was created:
    /// then the chain written so far (under no key or a lost one) must be sealed anew.
    pub fn load_or_create(path: &Path) -> Result<(AuditKey, bool), StoreError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file_err = |source| StoreError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let meta = std::fs::metadata(path).map_err(file_err)?;
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(StoreError::Corrupt(format!(
                        "the audit key {} is readable by others; chmod 600 it",
                        path.display()
                    )));
                }
                let bytes = from_hex(text.trim())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("the audit key {} is damaged", path.display())))?;
                Ok((AuditKey(bytes), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = AuditKey::generate()?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(file_err)?;
                f.write_all(format!("{}\n", to_hex(&key.0)).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(file_err)?;
                Ok((key, true))
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// HMAC-SHA256 over length-prefixed parts, hex.
    pub fn mac(&self, parts: &[&str]) -> String {
        to_hex(&hmac_sha256(&self.0, digest_parts(parts).as_bytes()))
    }
}

/// The link an entry must carry, from its content and its predecessor's link.
pub(crate) fn entry_hash(
    key: &AuditKey,
    prev_hash: &str,
    seq: i64,
    at: i64,
    kind: &str,
    action_id: Option<&str>,
    detail: &str,
) -> String {
    key.mac(&[
        "airlock-audit-v2",
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

/// Checks a whole chain, in order, under the key. Returns the number of entries checked.
pub fn verify_chain(entries: &[AuditEntry], key: &AuditKey) -> Result<usize, ChainBreak> {
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
        if entry_hash(key, &e.prev_hash, e.seq, e.at, &e.kind, e.action_id.as_deref(), &detail) != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                problem: "its content does not match its sealed hash: it was edited (or rewritten without the key)"
                    .into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}

/// The chain's length and head at a moment, sealed with the audit key. Kept outside the state (in
/// the vault), so that removing the newest entries — which leaves a valid prefix — is still seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub mac: String,
}

impl Checkpoint {
    pub fn seal(key: &AuditKey, seq: i64, hash: &str, at: i64) -> Checkpoint {
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            at,
            mac: key.mac(&["airlock-checkpoint-v1", &seq.to_string(), hash, &at.to_string()]),
        }
    }

    pub fn is_sealed_by(&self, key: &AuditKey) -> bool {
        let expected = key.mac(&[
            "airlock-checkpoint-v1",
            &self.seq.to_string(),
            &self.hash,
            &self.at.to_string(),
        ]);
        expected.len() == self.mac.len()
            && expected
                .bytes()
                .zip(self.mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Whether a verified chain still holds what this checkpoint saw.
    pub fn check(&self, entries: &[AuditEntry]) -> Result<(), ChainBreak> {
        match entries.get((self.seq - 1).max(0) as usize) {
            _ if self.seq == 0 => Ok(()),
            Some(e) if e.seq == self.seq && e.hash == self.hash => Ok(()),
            Some(e) => Err(ChainBreak {
                seq: e.seq,
                problem: format!(
                    "differs from the checkpoint sealed at {} (the chain was rewritten from here)",
                    self.at
                ),
            }),
            None => Err(ChainBreak {
                seq: entries.len() as i64 + 1,
                problem: format!(
                    "is missing: a checkpoint sealed at {} saw {} entries and only {} remain (the log was truncated)",
                    self.at,
                    self.seq,
                    entries.len()
                ),
            }),
        }
    }
}
