//! The policy file is read when the instance opens and again whenever it changes (the server polls
//! it). A valid edit takes effect at once, without a restart; a broken edit is refused — the
//! previous policy stays in force — and why is recorded in the audit log and shown until fixed.

use std::sync::Arc;

use airlock_config::Config;
use airlock_policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Airlock, ApiError};

/// The policy in force, and whether the file on disk says something else.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyStatus {
    pub path: Option<String>,
    /// Why the file on disk is not in force (it does not parse or fit the schema).
    pub error: Option<String>,
}

fn read(path: &std::path::Path) -> Result<(String, Policy), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let policy = Policy::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((text, policy))
}

/// What is in force while the policy file cannot be read: everything refused, saying why.
const BROKEN: &str = "@id(\"the policy file is broken (see `airlock policy check`)\")\nforbid (principal, action, resource);\n@id(\"nothing else\")\npermit (principal, action, resource) when { false };\n";

/// The policy an instance opens with — its file's, or the built-in default — and, when the file is
/// broken, why (the instance then refuses everything; `serve` refuses to start).
pub(crate) fn load(config: &Config) -> Result<(Policy, Option<String>), ApiError> {
    match config.policy_path() {
        Some(p) => match read(&p) {
            Ok((_, policy)) => Ok((policy, None)),
            Err(why) => Ok((
                Policy::parse(BROKEN).map_err(|e| ApiError::Internal(format!("the fallback policy: {e}")))?,
                Some(why),
            )),
        },
        None => Ok((Policy::default_policy(), None)),
    }
}

impl Airlock {
    /// Reads the policy file again; when its text changed, a valid policy replaces the one in force
    /// and a broken one is refused (and recorded once). Returns whether anything changed.
    pub fn reload_policy(&self) -> Result<bool, ApiError> {
        let Some(path) = self.config.policy_path() else {
            return Ok(false);
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let digest = airlock_store::digest_parts(&[&text]);
        let mut seen = self.policy_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.as_deref() == Some(digest.as_str()) {
            return Ok(false);
        }
        *seen = Some(digest);
        match read(&path) {
            Ok((_, policy)) => {
                *self.policy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
                *self.policy_error.write().unwrap_or_else(|p| p.into_inner()) = None;
                self.audit("policy.reloaded", None, json!({ "path": path.display().to_string() }))?;
            }
            Err(why) => {
                eprintln!("airlock: the edited policy was refused, the previous one stays in force: {why}");
                *self.policy_error.write().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
                self.audit(
                    "policy.refused",
                    None,
                    json!({ "path": path.display().to_string(), "why": why }),
                )?;
            }
        }
        Ok(true)
    }

    pub fn policy_status(&self) -> PolicyStatus {
        PolicyStatus {
            path: self.config.policy_path().map(|p| p.display().to_string()),
            error: self.policy_error.read().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}
