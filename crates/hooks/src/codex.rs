//! Codex's TOML settings: Airlock's hook as a block between marker lines (so comments and layout
//! around it survive, and uninstall removes exactly the block), and the trust Codex requires
//! before it runs a user's or a project's hook.
//!
//! Codex skips an untrusted hook silently. Its trust is recorded in the user's `config.toml` as
//! `[hooks.state."<settings file>:pre_tool_use:<group>:<handler>"] trusted_hash = "sha256:…"`,
//! the hash of that one hook's definition; a changed hook no longer matches and is skipped again.
//! Airlock records trust for the hook it just wrote, and nothing else. A project's hooks also need
//! the project itself trusted (`[projects."<dir>"] trust_level = "trusted"`), which trusts
//! everything the project's `.codex/` holds: that decision stays the user's.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::settings::{is_ours, HOOK_TIMEOUT_SECS};
use crate::{Agent, HookError};

const BEGIN: &str = "# >>> airlock hook (managed by `airlock install codex`; `airlock uninstall codex` removes it)";
const END: &str = "# <<< airlock hook";
const TRUST_BEGIN: &str = "# >>> airlock hook trust";
const TRUST_END: &str = "# <<< airlock hook trust";
const PIN_BEGIN: &str = "# >>> airlock: hooks stay on (managed by `airlock install codex --system`)";
const PIN_END: &str = "# <<< airlock: hooks stay on";
/// Codex's default when a hook has no timeout.
const CODEX_DEFAULT_TIMEOUT: u64 = 600;

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends a block after the text, separated by one blank line.
fn append_block(text: &str, block: &str) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(block);
    out
}

/// Removes every block that starts with a line equal to `begin` (up to the line `end`).
fn remove_blocks(text: &str, begin: &dyn Fn(&str) -> bool, end: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if !inside && begin(t) {
            inside = true;
            continue;
        }
        if inside {
            if t == end {
                inside = false;
            }
            continue;
        }
        out.push_str(line);
    }
    // The blank line an install put before the block goes with it.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

pub(crate) fn install(existing: &str, command: &str) -> String {
    append_block(
        &uninstall(existing),
        &format!(
            "{BEGIN}\n[[hooks.PreToolUse]]\nmatcher = \"*\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = {}\ntimeout = {HOOK_TIMEOUT_SECS}\n{END}\n",
            toml_string(command)
        ),
    )
}

pub(crate) fn uninstall(existing: &str) -> String {
    remove_blocks(existing, &|l| l == BEGIN, END)
}

fn parse(text: &str) -> Result<toml::Table, HookError> {
    toml::from_str(text).map_err(|e| HookError::Settings(format!("not valid TOML: {e}")))
}

/// Airlock's PreToolUse handler in a Codex settings text: `(group index, handler index, group)`.
fn find(table: &toml::Table) -> Option<(usize, usize, &toml::Table)> {
    let groups = table.get("hooks")?.get("PreToolUse")?.as_array()?;
    groups.iter().enumerate().find_map(|(g, group)| {
        let group = group.as_table()?;
        let handlers = group.get("hooks")?.as_array()?;
        handlers
            .iter()
            .position(|h| {
                h.get("command")
                    .and_then(toml::Value::as_str)
                    .is_some_and(|c| is_ours(c, Agent::Codex))
            })
            .map(|h| (g, h, group))
    })
}

pub(crate) fn installed(text: &str) -> Result<Option<(String, Vec<String>)>, HookError> {
    let table = parse(text)?;
    let Some((_, h, group)) = find(&table) else {
        return Ok(None);
    };
    let handler = &group["hooks"].as_array().expect("found above")[h];
    let command = handler["command"].as_str().unwrap_or_default().to_owned();
    let timeout = handler
        .get("timeout")
        .and_then(toml::Value::as_integer)
        .map_or(CODEX_DEFAULT_TIMEOUT, |t| t.max(0) as u64);
    let mut problems = Vec::new();
    if timeout < HOOK_TIMEOUT_SECS {
        problems.push(format!(
            "PreToolUse: its timeout ({timeout}s) is shorter than a held action's wait, and a timed-out hook lets the action through"
        ));
    }
    Ok(Some((command, problems)))
}

/// The trust Codex needs for Airlock's hook in one settings file: the `hooks.state` key and the
/// hash of the hook's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookTrust {
    pub key: String,
    pub hash: String,
}

/// The trust entry for Airlock's hook in `settings_text`, which Codex reads from `settings_path`.
/// The hash is SHA-256 over the compact, key-sorted JSON of the event name, the group's matcher
/// and that one handler (Codex's own definition of a hook's identity).
pub fn hook_trust(settings_path: &Path, settings_text: &str) -> Result<Option<HookTrust>, HookError> {
    let table = parse(settings_text)?;
    let Some((g, h, group)) = find(&table) else {
        return Ok(None);
    };
    let handler = &group["hooks"].as_array().expect("found above")[h];
    let mut fields: BTreeMap<&str, Value> = BTreeMap::new();
    fields.insert(
        "type",
        json!(handler.get("type").and_then(toml::Value::as_str).unwrap_or("command")),
    );
    fields.insert("command", json!(handler.get("command").and_then(toml::Value::as_str)));
    fields.insert(
        "timeout",
        json!(handler.get("timeout").and_then(toml::Value::as_integer).unwrap_or(600)),
    );
    fields.insert(
        "async",
        json!(handler.get("async").and_then(toml::Value::as_bool).unwrap_or(false)),
    );
    if let Some(m) = handler.get("statusMessage").and_then(toml::Value::as_str) {
        fields.insert("statusMessage", json!(m));
    }
    let mut identity: BTreeMap<&str, Value> = BTreeMap::new();
    identity.insert("event_name", json!("pre_tool_use"));
    if let Some(m) = group.get("matcher").and_then(toml::Value::as_str) {
        identity.insert("matcher", json!(m));
    }
    identity.insert("hooks", json!([fields]));
    let canonical = serde_json::to_string(&identity).map_err(|e| HookError::Settings(e.to_string()))?;
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(HookTrust {
        key: format!("{}:pre_tool_use:{g}:{h}", settings_path.display()),
        hash: format!("sha256:{hex}"),
    }))
}

/// Whether the user's config records `trust` for the hook: trusted, trusted for an older version
/// of it (Codex calls that "modified" and skips it), or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustState {
    Trusted,
    Modified,
    Untrusted,
}

pub fn trust_state(user_config: &str, trust: &HookTrust) -> Result<TrustState, HookError> {
    let table = parse(user_config)?;
    let recorded = table
        .get("hooks")
        .and_then(|h| h.get("state"))
        .and_then(|s| s.get(&trust.key))
        .and_then(|k| k.get("trusted_hash"))
        .and_then(toml::Value::as_str);
    Ok(match recorded {
        Some(h) if h == trust.hash => TrustState::Trusted,
        Some(_) => TrustState::Modified,
        None => TrustState::Untrusted,
    })
}

fn trust_begin(key: &str) -> String {
    format!("{TRUST_BEGIN} {key}")
}

/// The user's config with `trust` recorded for Airlock's hook (replacing what Airlock recorded
/// for the same key before). Refused when the key is already recorded outside Airlock's block
/// (by Codex itself): a second table with the same name would make the whole file invalid.
pub fn record_trust(user_config: &str, trust: &HookTrust) -> Result<String, HookError> {
    let begin = trust_begin(&trust.key);
    let without = remove_blocks(user_config, &|l| l == begin, TRUST_END);
    if trust_state(&without, trust)? != TrustState::Untrusted {
        return Err(HookError::Settings(format!(
            "Codex already records a trust for {} itself; trust the hook in Codex (/hooks) instead",
            trust.key
        )));
    }
    let text = append_block(
        &without,
        &format!(
            "{begin}\n[hooks.state.{}]\ntrusted_hash = {}\n{TRUST_END}\n",
            toml_string(&trust.key),
            toml_string(&trust.hash)
        ),
    );
    parse(&text)?;
    Ok(text)
}

/// The user's config without the trust Airlock recorded for `key`.
pub fn forget_trust(user_config: &str, key: &str) -> String {
    let begin = trust_begin(key);
    remove_blocks(user_config, &|l| l == begin, TRUST_END)
}

/// Whether the user's config trusts the project at any of `dirs` (its directory, its git root).
pub fn project_trusted(user_config: &str, dirs: &[&Path]) -> Result<bool, HookError> {
    let table = parse(user_config)?;
    let Some(projects) = table.get("projects").and_then(toml::Value::as_table) else {
        return Ok(false);
    };
    Ok(dirs.iter().any(|d| {
        projects
            .get(&d.display().to_string())
            .and_then(|p| p.get("trust_level"))
            .and_then(toml::Value::as_str)
            == Some("trusted")
    }))
}

/// Whether the config switches hooks off (`[features] hooks = false`, or its old name).
pub fn hooks_disabled(config: &str) -> Result<bool, HookError> {
    let table = parse(config)?;
    let features = table.get("features");
    Ok(["hooks", "codex_hooks"]
        .iter()
        .any(|k| features.and_then(|f| f.get(*k)).and_then(toml::Value::as_bool) == Some(false)))
}

/// `/etc/codex/requirements.toml` with hooks pinned on: a user's `--disable hooks` or
/// `[features] hooks = false` would otherwise switch the system's hooks off too.
pub fn pin_hooks_on(existing: &str) -> Result<String, HookError> {
    let without = remove_blocks(existing, &|l| l == PIN_BEGIN, PIN_END);
    let table = parse(&without)?;
    match table.get("features").and_then(|f| f.get("hooks")) {
        Some(v) if v.as_bool() == Some(true) => Ok(without),
        Some(_) => Err(HookError::Settings(
            "it sets [features] hooks to something other than true; an administrator decided that, so Airlock leaves it".into(),
        )),
        None if table.contains_key("features") => Err(HookError::Settings(
            "it has a [features] table without hooks; add `hooks = true` to it".into(),
        )),
        None => {
            let text = append_block(&without, &format!("{PIN_BEGIN}\n[features]\nhooks = true\n{PIN_END}\n"));
            parse(&text)?;
            Ok(text)
        }
    }
}

pub fn unpin_hooks(existing: &str) -> String {
    remove_blocks(existing, &|l| l == PIN_BEGIN, PIN_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "airlock hook codex --token-file /t; exit 2";

    #[test]
    fn toml_keeps_comments_and_removes_exactly_its_block() {
        let existing = "# my settings\nmodel = \"o4\"\n\n[mcp_servers.pg]\ncommand = \"pg-mcp\"\n";
        let once = install(existing, CMD);
        assert_eq!(install(&once, CMD), once);
        let parsed: toml::Table = toml::from_str(&once).unwrap();
        assert_eq!(
            parsed["hooks"]["PreToolUse"][0]["hooks"][0]["command"].as_str(),
            Some(CMD)
        );
        assert_eq!(
            parsed["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"].as_integer(),
            Some(300)
        );
        assert_eq!(uninstall(&once), existing);
    }

    /// The value Codex 0.171.0 reported (`codex app-server`, `hooks/list` → `currentHash`) for
    /// the block this module writes with this command.
    #[test]
    fn the_trust_hash_is_the_one_codex_computes() {
        let settings = install(
            "model = \"gpt-5.5\"\n",
            "/usr/local/bin/airlock hook codex; s=$?; exit 2",
        );
        let trust = hook_trust(Path::new("/tmp/cx1/home/.codex/config.toml"), &settings)
            .unwrap()
            .unwrap();
        assert_eq!(trust.key, "/tmp/cx1/home/.codex/config.toml:pre_tool_use:0:0");
        assert_eq!(
            trust.hash,
            "sha256:89a5494faa272a25594e54affc67089182dc44a3e88d1bf5d727b7885cc7f1f3"
        );
    }

    #[test]
    fn the_group_index_counts_the_users_own_hooks() {
        let mine = "[[hooks.PreToolUse]]\nmatcher = \"Bash\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"lint\"\n";
        let trust = hook_trust(Path::new("/c.toml"), &install(mine, CMD)).unwrap().unwrap();
        assert_eq!(trust.key, "/c.toml:pre_tool_use:1:0");
    }

    #[test]
    fn trust_is_recorded_once_and_forgotten_exactly() {
        let trust = HookTrust {
            key: "/p/.codex/config.toml:pre_tool_use:0:0".into(),
            hash: "sha256:ab".into(),
        };
        let user = "model = \"gpt-5.5\"\n\n[projects.\"/p\"]\ntrust_level = \"trusted\"\n";
        let once = record_trust(user, &trust).unwrap();
        assert_eq!(trust_state(&once, &trust).unwrap(), TrustState::Trusted);
        assert_eq!(record_trust(&once, &trust).unwrap(), once);
        assert!(project_trusted(&once, &[Path::new("/p")]).unwrap());
        assert_eq!(forget_trust(&once, &trust.key), user);
        let newer = HookTrust {
            hash: "sha256:cd".into(),
            ..trust.clone()
        };
        assert_eq!(trust_state(&once, &newer).unwrap(), TrustState::Modified);
        // Recorded by Codex itself: left alone rather than duplicated.
        let by_codex = "[hooks.state.\"/p/.codex/config.toml:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:00\"\n";
        assert!(record_trust(by_codex, &trust).is_err());
    }

    #[test]
    fn requirements_pin_hooks_on() {
        let pinned = pin_hooks_on("").unwrap();
        let t: toml::Table = toml::from_str(&pinned).unwrap();
        assert_eq!(t["features"]["hooks"].as_bool(), Some(true));
        assert_eq!(pin_hooks_on(&pinned).unwrap(), pinned);
        assert_eq!(unpin_hooks(&pinned), "");
        assert!(pin_hooks_on("[features]\nhooks = false\n").is_err());
        assert!(hooks_disabled("[features]\nhooks = false\n").unwrap());
    }
}
