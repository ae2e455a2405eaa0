//! Switching a safeguard off is destructive: backups, point-in-time recovery, deletion or
//! termination protection, bucket versioning and object lock, soft delete, "destructive actions
//! require a name". Nothing is lost at that moment, but the next mistake can no longer be undone.
//!
//! Recognised by the setting's name, whatever the tool, in the forms CLIs and APIs use:
//! `--no-deletion-protection`, `--clear-soft-delete`, `--backup-retention-period 0`,
//! `Status=Suspended`, `PointInTimeRecoveryEnabled=false`, and JSON bodies and patches
//! (`{"action.destructive_requires_name": false}`, `"persistentVolumeReclaimPolicy": "Delete"`).

use serde_json::Value as Json;

use crate::arg::Arg;

/// Words (lower case, separators removed) naming a setting that protects data.
const PROTECTIVE: [&str; 14] = [
    "deletionprotection",
    "terminationprotection",
    "disableapitermination",
    "backup",
    "pointintimerecovery",
    "versioning",
    "objectlock",
    "softdelete",
    "destructiverequiresname",
    "mfadelete",
    "blockpublic",
    "restrictpublic",
    "ignorepublic",
    "retention",
];

/// Values that switch a setting off.
const OFF: [&str; 8] = ["false", "0", "off", "suspended", "disabled", "no", "none", "disable"];

fn squeeze(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn protective(name: &str) -> bool {
    let n = squeeze(name);
    PROTECTIVE.iter().any(|p| n.contains(p))
}

/// Whether `value` switches the setting `name` off (a retention of 0 or 1 keeps nothing).
fn switched_off(name: &str, value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    if !protective(name) {
        return false;
    }
    // "disable-api-termination = false" leaves protection off too: the name is inverted.
    if squeeze(name).contains("disable") {
        return matches!(v.as_str(), "false" | "0" | "off" | "no");
    }
    OFF.contains(&v.as_str()) || (squeeze(name).contains("retention") && matches!(v.as_str(), "0" | "1"))
}

/// Why a command line switches a safeguard off, if it does.
pub(crate) fn in_args(args: &[Arg]) -> Option<String> {
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if let Some(name) = t.strip_prefix("--no-") {
            if protective(name) {
                return Some(format!("{t} switches off a safeguard that lets data be recovered"));
            }
        }
        if let Some(name) = t.strip_prefix("--clear-").or_else(|| t.strip_prefix("--disable-")) {
            if protective(name) && !squeeze(name).contains("disable") {
                return Some(format!("{t} switches off a safeguard that lets data be recovered"));
            }
        }
        if let Some(flag) = t.strip_prefix("--") {
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (flag, args.get(i + 1).map(|n| n.text.clone())),
            };
            // `--versioning-configuration Status=Suspended`: the flag names the safeguard, its
            // value's fields switch it off.
            let off = value.as_deref().is_some_and(|v| {
                switched_off(name, v)
                    || (protective(name)
                        && v.split(',')
                            .filter_map(|p| p.split_once('='))
                            .any(|(_, x)| OFF.contains(&x.trim().to_ascii_lowercase().as_str())))
            });
            if off {
                return Some(format!(
                    "--{name} {} switches a safeguard off",
                    value.unwrap_or_default()
                ));
            }
        }
        // `Status=Suspended`, `Key=false,Other=false` and JSON documents given as values.
        if let Some(why) = pairs(t) {
            return Some(why);
        }
        if t.trim_start().starts_with(['{', '[']) {
            if let Ok(v) = serde_json::from_str::<Json>(t) {
                if let Some(why) = in_json(&v) {
                    return Some(why);
                }
            }
        }
    }
    None
}

fn pairs(word: &str) -> Option<String> {
    word.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        switched_off(k, v).then(|| format!("{k}={v} switches a safeguard off"))
    })
}

/// Why a JSON document (a request body, a patch) switches a safeguard off, if it does.
pub(crate) fn in_json(v: &Json) -> Option<String> {
    walk(v, 0)
}

fn walk(v: &Json, depth: usize) -> Option<String> {
    if depth > 16 {
        return None;
    }
    match v {
        Json::Object(map) => map.iter().find_map(|(k, inner)| {
            let value = match inner {
                Json::Bool(b) => Some(b.to_string()),
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if value.as_deref().is_some_and(|val| switched_off(k, val)) {
                return Some(format!("sets {k} to {inner}, which switches a safeguard off"));
            }
            if squeeze(k).ends_with("reclaimpolicy") && inner.as_str() == Some("Delete") {
                return Some(format!("{k}: Delete deletes the volume's data when its claim goes"));
            }
            walk(inner, depth + 1)
        }),
        Json::Array(items) => items.iter().find_map(|i| walk(i, depth + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Option<String> {
        let args: Vec<Arg> = s.split_whitespace().map(Arg::literal).collect();
        in_args(&args)
    }

    #[test]
    fn safeguard_off_by_setting_name() {
        for s in [
            "--no-deletion-protection",
            "--backup-retention-period 0",
            "--no-enable-point-in-time-recovery",
            "--versioning-configuration Status=Suspended",
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=false",
            "--clear-soft-delete",
            "--no-disable-api-termination",
            "--retention-in-days 1",
            "--no-backup",
            r#"-p {"spec":{"persistentVolumeReclaimPolicy":"Delete"}}"#,
            r#"-d {"persistent":{"action.destructive_requires_name":false}}"#,
        ] {
            assert!(line(s).is_some(), "{s}");
        }
        for s in [
            "--deletion-protection",
            "--backup-retention-period 7",
            "--no-cache",
            "--no-audit",
            "--versioning-configuration Status=Enabled",
            "--retention-in-days 30",
            "--no-verify",
        ] {
            assert!(line(s).is_none(), "{s}");
        }
    }
}
