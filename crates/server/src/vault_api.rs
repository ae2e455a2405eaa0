//! The vault as administrators reach it through the API: list, check, prune, back up now, and
//! record an undo that an administrator performed (the service itself writes nothing outside its
//! own directory; restoring files where they were is done by root).

use std::collections::HashMap;

use airlock_vault::{CheckReport, SnapshotSummary};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Caller;
use crate::{Airlock, ApiError};

fn vault_error(e: airlock_vault::VaultError) -> ApiError {
    ApiError::Internal(format!("the vault: {e}"))
}

/// One backup taken by `POST /v1/backups/run`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupTaken {
    pub resource: String,
    pub snapshot: String,
}

impl Airlock {
    pub fn list_snapshots(&self, caller: &Caller) -> Result<Vec<SnapshotSummary>, ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        self.vault()?.snapshots().map_err(vault_error)
    }

    pub fn check_vault(&self, caller: &Caller, read_data: bool) -> Result<CheckReport, ApiError> {
        self.require_admin(caller)?;
        self.vault()?.check(read_data).map_err(vault_error)
    }

    /// Deletes snapshots beyond the newest `keep_last` per origin (locked ones always stay), then
    /// packs nothing refers to. Returns the deleted ids.
    pub fn prune_vault(&self, caller: &Caller, keep_last: usize) -> Result<Vec<String>, ApiError> {
        self.require_admin(caller)?;
        let vault = self.vault()?;
        let all = vault.snapshots().map_err(vault_error)?;
        let mut newest: HashMap<String, Vec<String>> = HashMap::new();
        for s in all.iter().rev() {
            newest.entry(s.origin.clone()).or_default().push(s.id.clone());
        }
        let keep = |s: &SnapshotSummary| {
            newest
                .get(&s.origin)
                .is_some_and(|ids| ids.iter().take(keep_last).any(|i| i == &s.id))
        };
        let deleted = vault.prune(&keep).map_err(vault_error)?;
        self.audit(
            "vault.pruned",
            None,
            json!({ "deleted": deleted, "keep_last": keep_last }),
        )?;
        Ok(deleted)
    }

    /// Takes the configured backups now: all, or one resource's.
    pub fn backups_now(&self, caller: &Caller, resource: Option<&str>) -> Result<Vec<BackupTaken>, ApiError> {
        self.require_admin(caller)?;
        let chosen: Vec<_> = self
            .config
            .backups
            .iter()
            .filter(|b| resource.is_none_or(|r| b.resource == r))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(ApiError::NotFound(match resource {
                Some(r) => format!("no [[backup]] entry for {r} in the config"),
                None => "the config has no [[backup]] entries".to_owned(),
            }));
        }
        let mut taken = Vec::new();
        for b in &chosen {
            taken.push(BackupTaken {
                resource: b.resource.clone(),
                snapshot: self.run_backup(b)?,
            });
        }
        Ok(taken)
    }

    /// Records that an administrator restored an action's snapshots (`airlock undo` as root).
    pub fn record_undo(&self, caller: &Caller, id: &str, detail: serde_json::Value) -> Result<(), ApiError> {
        self.require_admin(caller)?;
        self.store
            .action(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no action {id}")))?;
        self.audit(
            "action.undone",
            Some(id),
            json!({ "by": caller.peer.as_ref().map(crate::peer::Peer::label), "detail": detail }),
        )?;
        Ok(())
    }
}
