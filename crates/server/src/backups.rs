//! Scheduled backups: `[[backup]]` resources copied into the vault every `interval` by
//! `airlock serve` (or now, by `airlock backup run`), deduplicated against earlier snapshots, and
//! thinned by keep rules.

use std::collections::HashSet;

use airlock_config::{parse_duration, BackupConfig, KeepRules};
use airlock_vault::SnapshotSummary;

use crate::{now, Airlock, ApiError};

/// The ids the keep rules retain among one resource's snapshots.
pub fn retained(snapshots: &[SnapshotSummary], rules: &KeepRules) -> HashSet<String> {
    let mut newest_first: Vec<&SnapshotSummary> = snapshots.iter().collect();
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let mut keep: HashSet<String> = newest_first
        .iter()
        .take(rules.last.max(1))
        .map(|s| s.id.clone())
        .collect();
    let buckets: [(usize, i64); 4] = [
        (rules.hourly, 3600),
        (rules.daily, 86_400),
        (rules.weekly, 7 * 86_400),
        (rules.monthly, 30 * 86_400),
    ];
    for (count, width) in buckets {
        let mut seen = HashSet::new();
        for s in &newest_first {
            if seen.len() >= count {
                break;
            }
            if seen.insert(s.created_at.div_euclid(width)) {
                keep.insert(s.id.clone());
            }
        }
    }
    keep
}

impl Airlock {
    /// Takes one backup of `b`'s resource now and applies its keep rules. Returns the snapshot id.
    pub fn run_backup(&self, b: &BackupConfig) -> Result<String, ApiError> {
        let r = self
            .config
            .resources
            .iter()
            .find(|r| r.name == b.resource)
            .ok_or_else(|| ApiError::BadRequest(format!("no resource {}", b.resource)))?;
        let vault = self.vault()?;
        let snap = if r.kind == "postgres" {
            let url = r.connection_url(&self.config).map_err(ApiError::BadRequest)?;
            vault.snapshot_postgres(&url, &airlock_vault::PgScope::Database, &r.name, None, None)
        } else {
            let path = self.config.path(
                r.path
                    .as_deref()
                    .ok_or_else(|| ApiError::BadRequest(format!("resource {} has no path", r.name)))?,
            );
            if r.kind == "sqlite" {
                vault.snapshot_sqlite(&path, &r.name, None, None)
            } else {
                vault.snapshot_path(&path, &r.name, None, None)
            }
        }
        .map_err(|e| ApiError::Internal(format!("backup of {}: {e}", r.name)))?;
        let all = vault.snapshots().map_err(|e| ApiError::Internal(e.to_string()))?;
        let scheduled: Vec<SnapshotSummary> = all
            .into_iter()
            .filter(|s| s.resource == r.name && s.action_id.is_none())
            .collect();
        let keep = retained(&scheduled, &b.keep);
        let name = r.name.clone();
        let pruned = vault
            .prune(&|s| s.resource != name || s.action_id.is_some() || keep.contains(&s.id))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store().append_audit(airlock_store::NewAudit {
            at: now(),
            kind: "backup.taken".into(),
            action_id: None,
            detail: serde_json::json!({ "resource": r.name, "snapshot": snap.id, "bytes": snap.bytes, "stored": snap.stored, "pruned": pruned }),
        })?;
        Ok(snap.id)
    }

    /// Runs every backup whose interval has passed since its newest snapshot.
    pub fn run_due_backups(&self) -> Vec<Result<String, ApiError>> {
        let Ok(vault) = self.vault() else { return Vec::new() };
        let snapshots = vault.snapshots().unwrap_or_default();
        let mut out = Vec::new();
        for b in &self.config.backups {
            let every = parse_duration(&b.interval).map(|d| d.as_secs() as i64).unwrap_or(3600);
            let last = snapshots
                .iter()
                .filter(|s| s.resource == b.resource && s.action_id.is_none())
                .map(|s| s.created_at)
                .max();
            if last.is_none_or(|l| now() - l >= every) {
                out.push(self.run_backup(b));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_vault::SourceKind;

    fn snap(id: &str, at: i64) -> SnapshotSummary {
        SnapshotSummary {
            id: id.into(),
            created_at: at,
            source: SourceKind::Path,
            resource: "r".into(),
            origin: "/x".into(),
            action_id: None,
            locked_until: None,
            files: 1,
            bytes: 1,
            stored: 1,
        }
    }

    #[test]
    fn keep_rules_keep_the_newest_per_bucket() {
        let hour = 3600;
        let snaps: Vec<SnapshotSummary> = (0..48).map(|i| snap(&format!("s{i}"), i * hour / 2)).collect();
        let keep = retained(
            &snaps,
            &KeepRules {
                last: 1,
                hourly: 3,
                daily: 0,
                weekly: 0,
                monthly: 0,
            },
        );
        // Newest overall, and the newest of each of the last three hours.
        assert_eq!(keep.len(), 3);
        assert!(keep.contains("s47") && keep.contains("s45") && keep.contains("s43"));
        let keep = retained(
            &snaps,
            &KeepRules {
                last: 5,
                ..KeepRules::default()
            },
        );
        assert_eq!(keep.len(), 5);
    }
}
