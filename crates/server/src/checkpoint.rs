//! Sealed checkpoints of the audit chain, kept in the vault: the chain's length and head, with an
//! HMAC under the audit key. The chain alone cannot show that its newest entries were cut off (what
//! is left is a valid chain); a checkpoint that saw more entries than remain can.

use std::path::Path;

use airlock_store::{verify_chain, Checkpoint};
use serde::Serialize;

use crate::{now, Airlock, ApiError};

/// What `airlock log --verify` reports.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct LogVerification {
    /// Entries checked.
    pub entries: usize,
    /// Checkpoints found in the vault, and how many carried a valid seal.
    pub checkpoints: usize,
    pub sealed_checkpoints: usize,
    /// The newest sealed checkpoint's sequence number.
    pub newest_checkpoint: Option<i64>,
    /// The first problem, when the log cannot be trusted.
    pub problem: Option<String>,
}

/// Creates a directory only its owner may enter, when it does not exist.
pub(crate) fn private_dir(dir: &Path) -> Result<(), ApiError> {
    use std::os::unix::fs::PermissionsExt;
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| ApiError::Internal(format!("cannot create {}: {e}", dir.display())))
}

impl Airlock {
    /// Seals the chain's head into the vault when it moved since the newest checkpoint there.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, ApiError> {
        let Some((seq, hash)) = self.store.audit_head()? else {
            return Ok(None);
        };
        let vault = self.vault()?;
        let newest = vault
            .checkpoints()
            .map_err(|e| ApiError::Internal(format!("the vault's checkpoints: {e}")))?
            .last()
            .and_then(|n| n.split('-').next()?.parse::<i64>().ok());
        if newest.is_some_and(|n| n >= seq) {
            return Ok(None);
        }
        let cp = Checkpoint::seal(&self.audit_key, seq, &hash, now());
        let body = serde_json::to_vec(&cp).map_err(|e| ApiError::Internal(e.to_string()))?;
        vault
            .put_checkpoint(&format!("{seq:020}-{}", cp.at), &body)
            .map_err(|e| ApiError::Internal(format!("cannot write a checkpoint into the vault: {e}")))?;
        Ok(Some(cp))
    }

    /// Verifies the whole chain under the audit key, then against every sealed checkpoint.
    pub fn verify_log(&self) -> Result<LogVerification, ApiError> {
        let entries = self.store.audit(None)?;
        let mut report = LogVerification {
            entries: entries.len(),
            checkpoints: 0,
            sealed_checkpoints: 0,
            newest_checkpoint: None,
            problem: None,
        };
        if let Err(b) = verify_chain(&entries, &self.audit_key) {
            report.problem = Some(b.to_string());
            return Ok(report);
        }
        let vault = self.vault()?;
        let names = vault
            .checkpoints()
            .map_err(|e| ApiError::Internal(format!("the vault's checkpoints: {e}")))?;
        report.checkpoints = names.len();
        for name in &names {
            let raw = vault
                .checkpoint(name)
                .map_err(|e| ApiError::Internal(format!("checkpoint {name}: {e}")))?;
            let cp: Option<Checkpoint> = serde_json::from_slice(&raw).ok();
            let Some(cp) = cp.filter(|c| c.is_sealed_by(&self.audit_key)) else {
                report.problem = Some(format!(
                    "checkpoint {name} in the vault is not sealed by this instance's audit key: it was forged or damaged"
                ));
                return Ok(report);
            };
            report.sealed_checkpoints += 1;
            report.newest_checkpoint = report.newest_checkpoint.max(Some(cp.seq));
            if let Err(b) = cp.check(&entries) {
                report.problem = Some(b.to_string());
                return Ok(report);
            }
        }
        Ok(report)
    }
}
