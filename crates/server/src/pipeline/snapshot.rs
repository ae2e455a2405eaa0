//! Stage 5: before an approved destructive action runs, each planned target goes into the vault,
//! locked for the retention period. A snapshot that fails stops the action.

use std::path::Path;

use crate::snapshots::Plan;
use crate::{now, Airlock};

impl Airlock {
    /// Takes the planned snapshots; the ids, or why it failed (then the action must not run).
    pub(crate) fn take_snapshots(&self, action_id: &str, plan: &Plan) -> Result<Vec<String>, String> {
        if plan.items.is_empty() {
            return Ok(Vec::new());
        }
        let vault = self.vault().map_err(|e| e.to_string())?;
        let lock = Some(now() + self.config.retention.as_secs() as i64);
        let mut ids = Vec::new();
        for item in &plan.items {
            let path = Path::new(&item.path);
            let snap = match item.kind.as_str() {
                "sqlite" => vault.snapshot_sqlite(path, &item.path, Some(action_id), lock),
                "postgres" => {
                    let resource = self
                        .config
                        .resources
                        .iter()
                        .find(|r| r.name == item.path)
                        .ok_or_else(|| format!("resource {} is gone from the config", item.path))?;
                    let url = resource.connection_url(&self.config)?;
                    let scope = if !item.tables.is_empty() {
                        airlock_vault::PgScope::Tables(item.tables.clone())
                    } else if let Some(s) = &item.schema {
                        airlock_vault::PgScope::Schema(s.clone())
                    } else {
                        airlock_vault::PgScope::Database
                    };
                    vault.snapshot_postgres(&url, &scope, &item.path, Some(action_id), lock)
                }
                // Listed again now: files made or changed since the hold are discarded too.
                "files" => {
                    let found = crate::worktree::uncommitted(path, self.config.vault.max_snapshot_bytes)
                        .map_err(|e| format!("the snapshot of {} failed: {e}", item.path))?;
                    let (fit, _) = crate::snapshots::fit_under(found.paths, self.config.vault.max_snapshot_bytes);
                    let chosen: Vec<_> = fit.into_iter().map(|d| d.rel).collect();
                    vault.snapshot_files(&found.top, &chosen, &item.path, Some(action_id), lock)
                }
                _ => vault.snapshot_path(path, &item.path, Some(action_id), lock),
            }
            .map_err(|e| format!("the snapshot of {} failed: {e}", item.path))?;
            ids.push(snap.id);
        }
        Ok(ids)
    }
}
