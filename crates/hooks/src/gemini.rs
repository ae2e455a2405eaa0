//! What decides whether Gemini CLI loads a project's settings (and so its hooks): folder trust.
//! `~/.gemini/trustedFolders.json` maps paths to `TRUST_FOLDER`, `TRUST_PARENT` (the path's
//! parent) or `DO_NOT_TRUST`; the longest rule containing the folder wins (Gemini CLI 0.61.0's
//! `isPathTrusted`). `security.folderTrust.enabled: false` in the user's settings turns the check
//! off, and `GEMINI_CLI_TRUST_WORKSPACE=true` trusts whatever folder a run starts in.
//!
//! Trusting a folder loads everything its `.gemini/settings.json` holds (other hooks, MCP servers
//! that run commands), so Airlock reports trust and never records it.

use std::path::Path;

use serde_json::Value;

use crate::HookError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderTrust {
    /// The folder is trusted, by the rule named.
    Trusted(String),
    /// The check is off (`security.folderTrust.enabled: false`).
    CheckOff,
    /// Not trusted: a project install there is inert.
    Untrusted(String),
}

/// The folder's trust, from the trusted-folders file and the user's settings (both may be
/// missing). Paths are compared as given: pass them canonical.
pub fn folder_trust(
    trusted_folders: Option<&str>,
    user_settings: &Value,
    folder: &Path,
) -> Result<FolderTrust, HookError> {
    if user_settings["security"]["folderTrust"]["enabled"] == false {
        return Ok(FolderTrust::CheckOff);
    }
    let rules = match trusted_folders {
        Some(text) => crate::jsonc::read(text)?,
        None => Value::Object(Default::default()),
    };
    let best = rules
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(path, level)| {
            let level = level.as_str()?;
            let rule = Path::new(path);
            let applies_to = if level == "TRUST_PARENT" { rule.parent()? } else { rule };
            folder.starts_with(applies_to).then_some((path, level))
        })
        .max_by_key(|(path, _)| path.len());
    Ok(match best {
        Some((path, "TRUST_FOLDER" | "TRUST_PARENT")) => FolderTrust::Trusted(format!("{path} in trustedFolders.json")),
        Some((path, _)) => FolderTrust::Untrusted(format!("trustedFolders.json says not to trust {path}")),
        None => FolderTrust::Untrusted("no rule in trustedFolders.json trusts it".into()),
    })
}

/// Whether settings switch hooks off: `hooksConfig.enabled: false`, or Airlock's hook named in
/// `hooksConfig.disabled`.
pub fn hooks_switched_off(settings: &Value) -> Option<String> {
    if settings["hooksConfig"]["enabled"] == false {
        return Some("hooksConfig.enabled is false".into());
    }
    let named = settings["hooksConfig"]["disabled"]
        .as_array()
        .is_some_and(|names| names.iter().any(|n| n == "airlock"));
    named.then(|| "hooksConfig.disabled names the airlock hook".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_longest_rule_wins() {
        let rules = r#"{"/home/u": "TRUST_FOLDER", "/home/u/secret": "DO_NOT_TRUST", "/srv/x/marker": "TRUST_PARENT"}"#;
        let trust = |p: &str| folder_trust(Some(rules), &json!({}), Path::new(p)).unwrap();
        assert!(matches!(trust("/home/u/app"), FolderTrust::Trusted(_)));
        assert!(matches!(trust("/home/u/secret/app"), FolderTrust::Untrusted(_)));
        assert!(matches!(trust("/srv/x/app"), FolderTrust::Trusted(_)));
        assert!(matches!(trust("/opt/app"), FolderTrust::Untrusted(_)));
        assert_eq!(
            folder_trust(
                None,
                &json!({"security": {"folderTrust": {"enabled": false}}}),
                Path::new("/a")
            )
            .unwrap(),
            FolderTrust::CheckOff
        );
    }

    #[test]
    fn switched_off_hooks_are_named() {
        assert!(hooks_switched_off(&json!({"hooksConfig": {"enabled": false}})).is_some());
        assert!(hooks_switched_off(&json!({"hooksConfig": {"disabled": ["airlock"]}})).is_some());
        assert!(hooks_switched_off(&json!({"hooksConfig": {"enabled": true}})).is_none());
    }
}
