//! Whether a hook written into an agent's settings is really run: the layers each agent loads and
//! the trust some of them need. A project install is inert in Codex until the project is trusted
//! and in Gemini CLI until the folder is; Codex also skips any user or project hook whose exact
//! definition the user has not trusted. `install` states this (and records the one trust that is
//! narrow enough to record for the user: Codex's for the hook it just wrote); `doctor` checks it.

use std::path::{Path, PathBuf};

use airlock_hooks::codex::{self, TrustState};
use airlock_hooks::gemini::{self, FolderTrust};
use airlock_hooks::{read_json_settings, settings_path, Agent, Scope};
use anyhow::{Context, Result};
use serde_json::Value;

/// The user's places the agents read: `$HOME` and `$CODEX_HOME`.
#[derive(Clone, Debug)]
pub struct Places {
    pub home: PathBuf,
    pub codex_home: PathBuf,
}

impl Places {
    pub fn from_env() -> Result<Places> {
        let home = crate::context::home()?;
        let codex_home = match std::env::var_os("CODEX_HOME") {
            Some(d) if !d.is_empty() => std::path::absolute(PathBuf::from(d))?,
            _ => home.join(".codex"),
        };
        Ok(Places { home, codex_home })
    }

    pub fn user(&self) -> Scope {
        Scope::User {
            home: self.home.clone(),
            codex_home: self.codex_home.clone(),
        }
    }

    fn codex_user_config(&self) -> PathBuf {
        self.codex_home.join("config.toml")
    }
}

/// Why a hook in some layer does not run, and what to do about it.
#[derive(Clone, Debug)]
pub struct Inert {
    pub why: String,
    pub fix: String,
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn json_at(path: &Path) -> Value {
    read(path)
        .and_then(|t| read_json_settings(&t).ok())
        .unwrap_or(Value::Null)
}

/// The git root above `dir`, which Codex may key a project's trust by.
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

/// Why the hook Airlock keeps in `scope` for `agent` would not run, if it would not.
pub fn inert(agent: Agent, scope: &Scope, places: &Places) -> Option<Inert> {
    match agent {
        Agent::Codex => codex_inert(scope, places),
        Agent::Gemini => gemini_inert(scope, places),
        Agent::ClaudeCode => claude_inert(scope, places),
        Agent::Cursor => None,
    }
}

fn user_install_fix(agent: Agent) -> String {
    format!("airlock install {} --user", agent.name())
}

fn codex_inert(scope: &Scope, places: &Places) -> Option<Inert> {
    let user_config = read(&places.codex_user_config()).unwrap_or_default();
    if !matches!(scope, Scope::System) && codex::hooks_disabled(&user_config).unwrap_or(false) {
        return Some(Inert {
            why: format!("{} switches hooks off ([features] hooks = false)", places.codex_user_config().display()),
            fix: "remove that line, or install for the whole machine: sudo airlock install codex --system (which pins hooks on)".into(),
        });
    }
    let path = settings_path(Agent::Codex, scope);
    if let Scope::Project(dir) = scope {
        let root = git_root(dir);
        let mut dirs = vec![dir.as_path()];
        dirs.extend(root.as_deref());
        if !codex::project_trusted(&user_config, &dirs).unwrap_or(false) {
            return Some(Inert {
                why: format!(
                    "Codex ignores {} until the project is trusted (it then loads everything in {}/.codex)",
                    path.display(),
                    dir.display()
                ),
                fix: format!(
                    "{}, or trust the project in Codex (`codex --trust` in {}) if you trust what its .codex/ holds",
                    user_install_fix(Agent::Codex),
                    dir.display()
                ),
            });
        }
    }
    if matches!(scope, Scope::System) {
        return None;
    }
    let trust = codex::hook_trust(&path, &read(&path)?).ok()??;
    match codex::trust_state(&user_config, &trust).unwrap_or(TrustState::Untrusted) {
        TrustState::Trusted => None,
        state => Some(Inert {
            why: format!(
                "Codex skips the hook {} until you trust it{}",
                trust.key,
                if state == TrustState::Modified {
                    " (a trust for an older version of it is recorded)"
                } else {
                    ""
                }
            ),
            fix: format!(
                "airlock install codex {} (records the trust), or trust it in Codex with /hooks",
                scope_flag(scope)
            ),
        }),
    }
}

fn scope_flag(scope: &Scope) -> String {
    match scope {
        Scope::Project(d) => format!("--project {}", d.display()),
        Scope::User { .. } => "--user".into(),
        Scope::System => "--system".into(),
    }
}

fn gemini_inert(scope: &Scope, places: &Places) -> Option<Inert> {
    let system = json_at(Path::new("/etc/gemini-cli/settings.json"));
    let user = json_at(&places.home.join(".gemini/settings.json"));
    if let Scope::Project(dir) = scope {
        let folders = read(&places.home.join(".gemini/trustedFolders.json"));
        match gemini::folder_trust(folders.as_deref(), &user, dir) {
            Ok(FolderTrust::Trusted(_) | FolderTrust::CheckOff) => {}
            Ok(FolderTrust::Untrusted(why)) => {
                return Some(Inert {
                    why: format!(
                        "Gemini CLI loads {} only in a trusted folder, and {} is not trusted ({why}); --skip-trust does not load it either",
                        settings_path(Agent::Gemini, scope).display(),
                        dir.display()
                    ),
                    fix: format!(
                        "{}, or trust the folder in Gemini CLI if you trust what its .gemini/ holds",
                        user_install_fix(Agent::Gemini)
                    ),
                })
            }
            Err(e) => {
                return Some(Inert {
                    why: format!("Gemini CLI's trustedFolders.json cannot be read: {e}"),
                    fix: "fix ~/.gemini/trustedFolders.json".into(),
                })
            }
        }
    }
    // System settings override the user's: `enabled: true` there keeps hooks on.
    if system["hooksConfig"]["enabled"] == true {
        return None;
    }
    let mut layers = vec![(places.home.join(".gemini/settings.json"), user)];
    if let Scope::Project(dir) = scope {
        let p = dir.join(".gemini/settings.json");
        let v = json_at(&p);
        layers.push((p, v));
    }
    layers.into_iter().find_map(|(path, v)| {
        gemini::hooks_switched_off(&v).map(|why| Inert {
            why: format!("{}: {why}", path.display()),
            fix: "remove that setting, or install for the whole machine: sudo airlock install gemini --system (which pins hooks on)".into(),
        })
    })
}

fn claude_inert(scope: &Scope, places: &Places) -> Option<Inert> {
    if matches!(scope, Scope::System) {
        return None;
    }
    let managed = json_at(Path::new("/etc/claude-code/managed-settings.json"));
    if managed["allowManagedHooksOnly"] == true {
        return Some(Inert {
            why: "the managed settings (/etc/claude-code/managed-settings.json) allow managed hooks only".into(),
            fix: "sudo airlock install claude-code --system".into(),
        });
    }
    let mut layers = vec![places.home.join(".claude/settings.json")];
    if let Scope::Project(dir) = scope {
        layers.push(dir.join(".claude/settings.json"));
        layers.push(dir.join(".claude/settings.local.json"));
    }
    layers.into_iter().find_map(|path| {
        (json_at(&path)["disableAllHooks"] == true).then(|| Inert {
            why: format!("{} sets disableAllHooks", path.display()),
            fix: "remove disableAllHooks, or install for the whole machine: sudo airlock install claude-code --system"
                .into(),
        })
    })
}

/// Records in the user's Codex config the trust for the hook just written in `scope`, so Codex
/// runs it; returns what to tell the user. System hooks are managed and need no trust.
pub fn record_codex_trust(scope: &Scope, places: &Places) -> Result<Option<String>> {
    if matches!(scope, Scope::System) {
        return Ok(None);
    }
    let path = settings_path(Agent::Codex, scope);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let Some(trust) = codex::hook_trust(&path, &text)? else {
        return Ok(None);
    };
    let user_config = places.codex_user_config();
    let existing = read(&user_config).unwrap_or_default();
    if codex::trust_state(&existing, &trust)? == TrustState::Trusted {
        return Ok(Some(format!("Codex already trusts this hook ({}).", trust.key)));
    }
    let updated = codex::record_trust(&existing, &trust)?;
    write_keeping_mode(&user_config, &updated)?;
    Ok(Some(format!(
        "Recorded in {} that you trust this hook (only this hook: {}), as Codex's /hooks would; Codex skips untrusted hooks silently.",
        user_config.display(),
        trust.key
    )))
}

/// Removes the trust Airlock recorded for the hook in `settings_text` (read before uninstalling).
pub fn forget_codex_trust(scope: &Scope, places: &Places, settings_text: &str) -> Result<()> {
    let path = settings_path(Agent::Codex, scope);
    let Some(trust) = codex::hook_trust(&path, settings_text)? else {
        return Ok(());
    };
    let user_config = places.codex_user_config();
    if let Some(existing) = read(&user_config) {
        let updated = codex::forget_trust(&existing, &trust.key);
        if updated != existing {
            write_keeping_mode(&user_config, &updated)?;
        }
    }
    Ok(())
}

/// Writes a file the user already has without changing its mode (a new one is 0600: these files
/// can hold credentials).
pub fn write_keeping_mode(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()));
    }
    crate::context::write_private(path, text)
}
