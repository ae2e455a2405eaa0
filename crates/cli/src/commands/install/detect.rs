//! Which agents this machine has: an agent counts when its CLI is on PATH or its configuration
//! directory exists (an IDE such as Cursor may have no CLI).

use std::path::{Path, PathBuf};

use airlock_hooks::Agent;

use super::activation::Places;

/// The commands each agent's CLI is known by.
fn commands(agent: Agent) -> &'static [&'static str] {
    match agent {
        Agent::ClaudeCode => &["claude"],
        Agent::Cursor => &["cursor-agent", "cursor"],
        Agent::Codex => &["codex"],
        Agent::Gemini => &["gemini"],
    }
}

fn config_dir(agent: Agent, places: &Places) -> PathBuf {
    match agent {
        Agent::ClaudeCode => places.home.join(".claude"),
        Agent::Cursor => places.home.join(".cursor"),
        Agent::Codex => places.codex_home.clone(),
        Agent::Gemini => places.home.join(".gemini"),
    }
}

fn on_path(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(command))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// How the agent was found, or None when this machine does not have it.
pub fn found(agent: Agent, places: &Places) -> Option<String> {
    if let Some(p) = commands(agent).iter().find_map(|c| on_path(c)) {
        return Some(format!("{} on PATH", p.display()));
    }
    let dir = config_dir(agent, places);
    Path::new(&dir).is_dir().then(|| format!("{} exists", dir.display()))
}

/// What was looked for, for a report that the agent is absent.
pub fn looked_for(agent: Agent, places: &Places) -> String {
    format!(
        "no {} on PATH, no {}",
        commands(agent).join(" or "),
        config_dir(agent, places).display()
    )
}
