//! Snapshots before destructive actions: planned when an action is held (so the approver sees what
//! will and will not be copied), taken when the approved action is let through. If a snapshot fails,
//! the action does not run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use airlock_classify::{Assessment, TargetKind};
use airlock_config::Config;
use airlock_vault::{Key, LocalBackend, Vault};
use serde::{Deserialize, Serialize};

/// One thing a snapshot will copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    /// A path, or for PostgreSQL the resource's name.
    pub path: String,
    /// `path`, `sqlite` or `postgres`.
    pub kind: String,
    pub bytes: u64,
    /// PostgreSQL: the tables to copy (empty: the whole database, or `schema`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `files`: the untracked and changed paths under `path` (a working tree's top), relative.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

impl PlanItem {
    /// One line for the approver: what will be copied.
    pub fn describe(&self) -> String {
        if self.kind != "files" {
            return format!("{} ({}, {} bytes)", self.path, self.kind, self.bytes);
        }
        const SHOWN: usize = 5;
        let mut names = self.files.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        if self.files.len() > SHOWN {
            names.push_str(&format!(", and {} more", self.files.len() - SHOWN));
        }
        match self.files.len() {
            0 => format!(
                "{}: its untracked and changed files (none now; listed again when it runs)",
                self.path
            ),
            n => format!(
                "{}: {n} untracked or changed path(s), {} bytes: {names}",
                self.path, self.bytes
            ),
        }
    }
}

/// What will be copied before the action runs, and what will not (and why).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Paths above the size cap: no snapshot; the approver must acknowledge it.
    pub over_cap: Vec<PlanItem>,
    /// Targets no source can copy yet (remote APIs, databases without a source).
    pub uncovered: Vec<String>,
}

pub(crate) fn du(path: &Path, cap: u64) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if m.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if m.is_file() {
            total += m.len();
        }
        if total > cap {
            break;
        }
    }
    total
}

fn is_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"SQLite format 3\0"
}

/// Plans the snapshots for an action's targets. Tables, schemas and databases are copied when they
/// resolve to a configured `postgres` resource with a URL; `relations`, when the caller resolved
/// them (the Postgres gateway, under the session's `search_path`), name the tables exactly. A path
/// is copied where it really leads, never as the link that points there.
pub fn plan(
    assessment: &Assessment,
    resolved: &[airlock_config::Resolved],
    relations: &[String],
    config: &Config,
    protected: &[PathBuf],
    cap: u64,
) -> Plan {
    let mut plan = Plan::default();
    let pg = resolved.iter().find_map(|r| {
        config
            .resources
            .iter()
            .find(|c| c.name == r.name && c.kind == "postgres" && c.url.is_some())
    });
    if let Some(resource) = pg {
        let of = |k: TargetKind| {
            assessment
                .targets
                .iter()
                .filter(|t| t.kind == k)
                .map(|t| t.value.clone())
                .collect::<Vec<_>>()
        };
        let tables = if relations.is_empty() {
            of(TargetKind::Table)
        } else {
            relations.to_vec()
        };
        let schemas = of(TargetKind::Schema);
        plan.items.push(PlanItem {
            path: resource.name.clone(),
            kind: "postgres".into(),
            bytes: 0,
            schema: if tables.is_empty() {
                schemas.first().cloned()
            } else {
                None
            },
            tables,
            files: Vec::new(),
        });
    }
    for t in &assessment.targets {
        match t.kind {
            TargetKind::Path => {
                let p = Path::new(&t.value);
                // A link is not what the action destroys: its real path is a target of its own
                // (see the resolve stage), and that is what gets copied.
                let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
                if !p.is_absolute()
                    || is_link
                    || std::fs::symlink_metadata(p).is_err()
                    || protected.iter().any(|a| p.starts_with(a) || a.starts_with(p))
                {
                    continue;
                }
                // A parent already planned covers its children.
                if plan.items.iter().chain(&plan.over_cap).any(|i| p.starts_with(&i.path)) {
                    continue;
                }
                let bytes = du(p, cap);
                let kind = if std::fs::metadata(p).is_ok_and(|m| m.is_file()) && is_sqlite(p) {
                    "sqlite"
                } else {
                    "path"
                };
                let item = PlanItem {
                    path: t.value.clone(),
                    kind: kind.into(),
                    bytes,
                    tables: Vec::new(),
                    schema: None,
                    files: Vec::new(),
                };
                if bytes > cap {
                    plan.over_cap.push(item);
                } else {
                    plan.items.push(item);
                }
            }
            TargetKind::Worktree => plan_worktree(&t.value, cap, &mut plan),
            TargetKind::Table
            | TargetKind::Database
            | TargetKind::Schema
            | TargetKind::Volume
            | TargetKind::Bucket
            | TargetKind::Object => {
                plan.uncovered.push(t.to_string());
            }
            _ => {}
        }
    }
    plan
}

/// A working tree's untracked and changed files (what a `git clean`, `git reset --hard` or
/// discarding checkout destroys): copied smallest first while they fit under `cap`, the rest named
/// as not recoverable, so nothing is lost without the approver being told.
fn plan_worktree(dir: &str, cap: u64, plan: &mut Plan) {
    let found = match crate::worktree::uncommitted(Path::new(dir), cap) {
        Ok(found) => found,
        Err(e) => {
            plan.uncovered.push(format!("worktree {dir} ({e})"));
            return;
        }
    };
    let top = found.top.display().to_string();
    if plan.items.iter().any(|i| i.kind == "files" && i.path == top) {
        return;
    }
    let (fit, over) = fit_under(found.paths, cap);
    // Planned even when nothing is uncommitted now: the list is taken again when the action runs.
    plan.items.push(PlanItem {
        path: top.clone(),
        kind: "files".into(),
        bytes: fit.iter().map(|d| d.bytes).sum(),
        tables: Vec::new(),
        schema: None,
        files: fit.iter().map(|d| d.rel.display().to_string()).collect(),
    });
    for d in over {
        plan.over_cap.push(PlanItem {
            path: found.top.join(&d.rel).display().to_string(),
            kind: "path".into(),
            bytes: d.bytes,
            tables: Vec::new(),
            schema: None,
            files: Vec::new(),
        });
    }
    if found.truncated {
        plan.uncovered.push(format!(
            "worktree {top}: files past the first {} visited were not listed",
            crate::worktree::MAX_VISITS
        ));
    }
}

/// Splits discarded paths into those that fit under `cap` together (smallest first, so many
/// small hand-written files win over one large build directory) and the rest.
pub(crate) fn fit_under(
    mut paths: Vec<crate::worktree::Discarded>,
    cap: u64,
) -> (Vec<crate::worktree::Discarded>, Vec<crate::worktree::Discarded>) {
    paths.sort_by_key(|d| d.bytes);
    let mut total = 0u64;
    let split = paths
        .iter()
        .position(|d| {
            total = total.saturating_add(d.bytes);
            total > cap
        })
        .unwrap_or(paths.len());
    let over = paths.split_off(split);
    (paths, over)
}

/// The instance's vault, opened (or created, with a new key file) on first use.
pub struct VaultSlot {
    dir: PathBuf,
    key_file: PathBuf,
    cell: OnceLock<Result<Vault, String>>,
}

impl VaultSlot {
    pub fn new(config: &Config) -> VaultSlot {
        VaultSlot {
            dir: config.path(&config.vault.dir),
            key_file: config.path(&config.vault.key_file),
            cell: OnceLock::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    pub fn get(&self) -> Result<&Vault, String> {
        self.cell
            .get_or_init(|| open_vault(&self.dir, &self.key_file))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn open_vault(dir: &Path, key_file: &Path) -> Result<Vault, String> {
    let exists = dir.join("config").exists();
    let key = match std::env::var("AIRLOCK_VAULT_KEY") {
        Ok(hex) if !hex.trim().is_empty() => Key::from_hex(&hex).map_err(|e| format!("AIRLOCK_VAULT_KEY: {e}"))?,
        _ if key_file.exists() => Key::load(key_file).map_err(|e| e.to_string())?,
        _ if exists => {
            return Err(format!(
                "the vault at {} exists but its key file {} is missing; without the key the vault cannot be read",
                dir.display(),
                key_file.display()
            ))
        }
        _ => Key::create_file(key_file).map_err(|e| e.to_string())?,
    };
    let backend = LocalBackend::new(dir).map_err(|e| e.to_string())?;
    if exists {
        Vault::open(backend, key).map_err(|e| e.to_string())
    } else {
        Vault::create(backend, key).map_err(|e| e.to_string())
    }
}
