//! Airlock's own files and the agents' hook settings: modifying them would switch Airlock off, so any
//! action that writes, moves or deletes them is destructive by definition.

use std::path::{Path, PathBuf};

/// Files (by trailing path components) that configure agent hooks or Airlock itself.
const PROTECTED_SUFFIXES: [&[&str]; 11] = [
    &[".cursor", "hooks.json"],
    &[".gemini", "settings.json"],
    // Gemini loads a project's hooks only from a folder its user trusted.
    &[".gemini", "trustedFolders.json"],
    // The system-wide (managed) settings of each agent.
    &["etc", "claude-code"],
    &["etc", "codex"],
    &["etc", "gemini-cli"],
    &["etc", "cursor"],
    &["airlock.toml"],
    &["policy.cedar"],
    &[".config", "airlock"],
    &[".local", "share", "airlock"],
];

/// Directories whose whole content is protected.
const PROTECTED_DIRS: [&str; 3] = [".codex", ".airlock", "airlock.d"];

fn is_claude_settings(name: &str) -> bool {
    name.starts_with("settings") && name.ends_with(".json")
}

/// Why `path` is protected, if it is. `path` is as resolved by the classifier (absolute when the
/// action had a cwd). A directory counts when it contains a protected file, since removing or moving
/// it takes the file along.
pub fn protected_reason(path: &str, extra: &[PathBuf]) -> Option<String> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let hit = || {
        Some(format!(
            "{path} belongs to Airlock or to an agent's hook settings; changing it would disable Airlock"
        ))
    };
    for w in comps.windows(2) {
        if w[0] == ".claude" && is_claude_settings(w[1]) {
            return hit();
        }
    }
    for suffix in PROTECTED_SUFFIXES {
        for start in 0..comps.len() {
            let tail = &comps[start..];
            if tail.len() <= suffix.len() && suffix.starts_with(tail) && start + tail.len() == comps.len() {
                // The path is the protected file, or a directory on the way to it; a bare directory
                // name like `.config` alone is too broad to count.
                if tail.len() == suffix.len()
                    || tail
                        .first()
                        .is_some_and(|c| c.starts_with(".cursor") || *c == ".gemini")
                {
                    return hit();
                }
            }
        }
        if comps.windows(suffix.len()).any(|w| w == suffix) {
            return hit();
        }
    }
    if comps.iter().any(|c| PROTECTED_DIRS.contains(c)) {
        return hit();
    }
    if comps.last() == Some(&".claude") {
        return hit();
    }
    // The airlock binary itself, wherever it is installed.
    if comps.len() >= 2 && comps[comps.len() - 1] == "airlock" && comps[comps.len() - 2] == "bin" {
        return hit();
    }
    let p = Path::new(path);
    for e in extra {
        if p.starts_with(e) || e.starts_with(p) {
            return Some(format!("{path} is inside Airlock's protected location {}", e.display()));
        }
    }
    None
}

/// Whether a process name or pattern given to kill/pkill/systemctl names Airlock.
pub(crate) fn names_airlock(word: &str) -> bool {
    word.to_ascii_lowercase().contains("airlock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_settings_and_airlock_state_are_protected() {
        for p in [
            "/w/.claude/settings.json",
            "/w/.claude/settings.local.json",
            "/w/.claude",
            "/w/.cursor/hooks.json",
            "/w/.cursor",
            "/home/a/.codex/config.toml",
            "/w/.gemini/settings.json",
            "/w/airlock.toml",
            "/w/policy.cedar",
            "/home/a/.config/airlock/state.db",
            "/home/a/.config/airlock",
            "/srv/.airlock/vault/pack1",
            "/usr/local/bin/airlock",
            "/etc/claude-code/managed-settings.json",
            "/etc/codex/requirements.toml",
            "/etc/gemini-cli/settings.json",
            "/etc/cursor/hooks.json",
            "/home/a/.gemini/trustedFolders.json",
        ] {
            assert!(protected_reason(p, &[]).is_some(), "{p} should be protected");
        }
    }

    #[test]
    fn ordinary_paths_are_not() {
        for p in [
            "/w/src/main.rs",
            "/w/.claude/commands/x.md",
            "/home/a/.config",
            "/w/airlock-notes.md",
            "/w/.cursor/rules/x.mdc",
        ] {
            assert!(protected_reason(p, &[]).is_none(), "{p} should not be protected");
        }
    }

    #[test]
    fn extra_protected_locations_cover_parents_and_children() {
        let extra = vec![PathBuf::from("/var/lib/alk")];
        assert!(protected_reason("/var/lib/alk/state.db", &extra).is_some());
        assert!(protected_reason("/var/lib", &extra).is_some());
        assert!(protected_reason("/var/log", &extra).is_none());
    }
}
