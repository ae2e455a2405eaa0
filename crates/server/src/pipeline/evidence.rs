//! What an approval covers, beyond the action's text: the real path, device and inode of each path
//! it touches (a directory swapped for a link is another target), the content hash of each script
//! it runs, the resources and environments it resolves to, and (from the Postgres gateway) the relations its SQL resolves to under the session's
//! `search_path`, with their OIDs. Recorded when the action is held; recomputed when the approved
//! action is about to run; any difference refuses the approval and holds the action again.

use std::os::unix::fs::MetadataExt;

use airlock_classify::TargetKind;
use serde::{Deserialize, Serialize};

use crate::api::Evaluation;

/// One fact the approval covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceItem {
    /// A path target: what it is (a file, a directory, a link, nothing), its device and inode, and
    /// where it really leads.
    Path {
        path: String,
        is: String,
        dev: u64,
        ino: u64,
        real: Option<String>,
    },
    /// A script or file the action runs as code, by content.
    Script { path: String, sha256: String },
    /// An object a SQL statement names (a table, view, sequence, schema, function), as the session
    /// resolves it: `object` says which (`table`, `view`, …, or `missing` with oid 0 when nothing of
    /// that name exists; `resolved` then says where it would be created).
    Relation {
        name: String,
        resolved: String,
        oid: u32,
        #[serde(default)]
        object: String,
    },
    /// A name whose target could not be established (the Postgres gateway could not ask the session,
    /// or cannot tell which object it means). An approval never covers it: whoever approves sees
    /// why, and the action is held again when it is retried.
    Unresolved { name: String, why: String },
    /// A resource the action reaches, and its environment (a config change can move a target).
    Resource { name: String, environment: String },
}

impl EvidenceItem {
    /// One line for the approver.
    pub fn describe(&self) -> String {
        match self {
            EvidenceItem::Path {
                path,
                is,
                dev,
                ino,
                real,
                ..
            } => match real {
                Some(r) if r != path => format!("{path}: {is} (device {dev}, inode {ino}), really {r}"),
                _ => format!("{path}: {is} (device {dev}, inode {ino})"),
            },
            EvidenceItem::Script { path, sha256 } => format!("{path}: content {}", &sha256[..sha256.len().min(16)]),
            EvidenceItem::Relation {
                name, resolved, object, ..
            } if object == "missing" => format!("{name} does not exist (it would be {resolved})"),
            EvidenceItem::Relation { resolved, object, .. } if object == "session" => {
                format!("the session reads names with {resolved}")
            }
            EvidenceItem::Relation {
                name,
                resolved,
                oid,
                object,
            } => format!("{name} is {object} {resolved} (oid {oid})"),
            EvidenceItem::Unresolved { name, why } => format!("{name} cannot be resolved: {why}"),
            EvidenceItem::Resource { name, environment } => format!("{name} in {environment}"),
        }
    }

    fn key(&self) -> String {
        match self {
            EvidenceItem::Path { path, .. } | EvidenceItem::Script { path, .. } => path.clone(),
            EvidenceItem::Relation { name, .. } | EvidenceItem::Unresolved { name, .. } => format!("sql {name}"),
            EvidenceItem::Resource { name, .. } => format!("resource {name}"),
        }
    }
}

/// Everything an approval covers, and its digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub items: Vec<EvidenceItem>,
    pub digest: String,
}

impl Evidence {
    fn new(mut items: Vec<EvidenceItem>) -> Evidence {
        items.sort_by_key(EvidenceItem::key);
        items.dedup();
        let canon = serde_json::to_string(&items).unwrap_or_default();
        Evidence {
            digest: airlock_store::digest_parts(&["airlock-evidence-v1", &canon]),
            items,
        }
    }

    /// The schema-qualified tables SQL resolved to (from the gateway), for the snapshot plan: only
    /// what a snapshot can copy (views, sequences, schemas and missing names are evidence only).
    pub fn relations(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| match i {
                EvidenceItem::Relation { resolved, object, .. }
                    if object == "table" || object == "partitioned table" =>
                {
                    Some(resolved.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// What could not be established, one line each: an approval never covers such evidence.
    pub fn unresolved(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| matches!(i, EvidenceItem::Unresolved { .. }))
            .map(EvidenceItem::describe)
            .collect()
    }

    /// What differs from `earlier`, one line each.
    pub fn changes_since(&self, earlier: &Evidence) -> Vec<String> {
        let mut out = Vec::new();
        for old in &earlier.items {
            match self.items.iter().find(|n| n.key() == old.key()) {
                Some(new) if new == old => {}
                Some(new) => out.push(format!("{} — was {}", new.describe(), old.describe())),
                None => out.push(format!("{} is no longer part of the action", old.describe())),
            }
        }
        for new in &self.items {
            if !earlier.items.iter().any(|o| o.key() == new.key()) {
                out.push(format!("{} is new", new.describe()));
            }
        }
        out
    }
}

fn path_item(path: &str) -> EvidenceItem {
    let (is, dev, ino) = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => ("a symbolic link", m.dev(), m.ino()),
        Ok(m) if m.is_dir() => ("a directory", m.dev(), m.ino()),
        Ok(m) => ("a file", m.dev(), m.ino()),
        Err(_) => ("missing", 0, 0),
    };
    EvidenceItem::Path {
        path: path.to_owned(),
        is: is.into(),
        dev,
        ino,
        real: std::fs::canonicalize(path).ok().map(|p| p.display().to_string()),
    }
}

/// The evidence of an evaluated action, with what a caller's probe adds.
pub(crate) fn gather(ev: &Evaluation, extra: Vec<EvidenceItem>) -> Evidence {
    let mut items: Vec<EvidenceItem> = ev
        .assessment
        .targets
        .iter()
        .filter(|t| matches!(t.kind, TargetKind::Path | TargetKind::Worktree) && t.value.starts_with('/'))
        .map(|t| path_item(&t.value))
        .collect();
    items.extend(ev.scripts.iter().map(|s| EvidenceItem::Script {
        path: s.path.clone(),
        sha256: s.sha256.clone(),
    }));
    items.extend(ev.resolved.iter().map(|r| EvidenceItem::Resource {
        name: r.name.clone(),
        environment: r.environment.clone(),
    }));
    items.extend(extra);
    Evidence::new(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_swapped_for_a_link_changes_the_evidence() {
        let dir = std::env::temp_dir().join(format!("airlock-evidence-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("build")).unwrap();
        std::fs::create_dir_all(dir.join("prod")).unwrap();
        let build = dir.join("build").display().to_string();
        let before = Evidence::new(vec![path_item(&build)]);
        assert_eq!(before, Evidence::new(vec![path_item(&build)]), "nothing changed");
        std::fs::remove_dir(dir.join("build")).unwrap();
        std::os::unix::fs::symlink(dir.join("prod"), dir.join("build")).unwrap();
        let after = Evidence::new(vec![path_item(&build)]);
        assert_ne!(before.digest, after.digest);
        let changes = after.changes_since(&before);
        assert!(
            changes[0].contains("a symbolic link") && changes[0].contains("prod"),
            "{changes:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_tables_are_planned_and_unresolved_names_are_listed() {
        let relation = |name: &str, object: &str| EvidenceItem::Relation {
            name: name.into(),
            resolved: format!("other.{name}"),
            oid: 7,
            object: object.into(),
        };
        let e = Evidence::new(vec![
            relation("t", "table"),
            relation("v", "view"),
            relation("gone", "missing"),
            EvidenceItem::Unresolved {
                name: "u".into(),
                why: "the session could not be asked".into(),
            },
        ]);
        assert_eq!(e.relations(), vec!["other.t".to_owned()]);
        assert_eq!(
            e.unresolved(),
            vec!["u cannot be resolved: the session could not be asked".to_owned()]
        );
    }

    #[test]
    fn a_rewritten_script_changes_the_evidence() {
        let a = Evidence::new(vec![EvidenceItem::Script {
            path: "/w/x.sh".into(),
            sha256: "aa".into(),
        }]);
        let b = Evidence::new(vec![EvidenceItem::Script {
            path: "/w/x.sh".into(),
            sha256: "bb".into(),
        }]);
        assert_ne!(a.digest, b.digest);
        assert_eq!(b.changes_since(&a).len(), 1);
    }
}
