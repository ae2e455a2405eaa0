//! Provider packs: what Airlock knows about one provider's API, as data (`packs/*.toml`, format in
//! `packs/README.md`). A pack names the provider's hosts, the risk of its operations where a name
//! alone would mislead, and for destructive operations the provider's own protective calls to make
//! first (a backup, a lock) and the call that undoes the operation (a restore).

mod path;
pub mod template;

use std::collections::BTreeMap;
use std::path::Path;

use airlock_classify::Risk;
use serde::Deserialize;
use serde_json::Value;

pub use path::JsonPath;

use crate::HttpError;

/// The packs Airlock ships.
const BUILTIN: [(&str, &str); 1] = [("railway", include_str!("../../packs/railway.toml"))];

/// One operation's risk, and why.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationRule {
    pub risk: Risk,
    pub reason: String,
}

/// A call a pack makes to the provider: GraphQL (`query` and `variables`) or REST (`method`,
/// `path` relative to the resource's url, and a `json` body).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub variables: Option<Value>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub json: Option<Value>,
}

/// A value in an answer that must equal something.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub path: String,
    pub equals: Value,
}

/// Repeat a step until a value in its answer equals something (a provider's job finishing).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Until {
    pub path: String,
    pub equals: Value,
    #[serde(default = "default_tries")]
    pub tries: u32,
    #[serde(default = "default_every")]
    pub every: String,
}

fn default_tries() -> u32 {
    60
}
fn default_every() -> String {
    "1s".into()
}

/// One protective call. (Unknown keys are refused by the flattened [`CallSpec`].)
#[derive(Clone, Debug, Deserialize)]
pub struct Step {
    /// What the step does, for the log and the approver.
    pub name: String,
    #[serde(flatten)]
    pub call: CallSpec,
    /// Names bound from the answer, for later steps and the undo: `{ name = "json.path" }`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub until: Option<Until>,
    /// A `[*]` capture that finds nothing is an error unless this is set (nothing to protect).
    #[serde(default)]
    pub allow_empty: bool,
}

/// What to do before a destructive operation runs, and how to undo it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protect {
    /// A GraphQL root field (`volumeDelete`) or `METHOD /path/{param}` relative to the resource.
    pub operation: String,
    /// One sentence for the approver: what is copied first, and what undo does.
    pub description: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    pub undo: CallSpec,
}

/// One provider's pack.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub name: String,
    /// Host names (or `*.suffix` globs) of the provider's APIs: a resource whose url is on one of
    /// them uses this pack unless it names another.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Operations by GraphQL root field or `METHOD /path/{param}`.
    #[serde(default)]
    pub operations: BTreeMap<String, OperationRule>,
    #[serde(default)]
    pub protect: Vec<Protect>,
}

impl Pack {
    /// Parses and checks a pack's text.
    pub fn parse(text: &str) -> Result<Pack, String> {
        let pack: Pack = toml::from_str(text).map_err(|e| e.to_string())?;
        pack.check()?;
        Ok(pack)
    }

    fn check(&self) -> Result<(), String> {
        for p in &self.protect {
            let at = format!("protect {:?}", p.operation);
            if p.steps.is_empty() {
                return Err(format!("{at}: no step"));
            }
            for s in &p.steps {
                check_call(&s.call).map_err(|e| format!("{at}, step {:?}: {e}", s.name))?;
                let mut fanning = 0;
                for (name, path) in &s.capture {
                    let parsed = JsonPath::parse(path).map_err(|e| format!("{at}, capture {name}: {e}"))?;
                    fanning += usize::from(parsed.fans_out());
                }
                if fanning > 1 {
                    return Err(format!("{at}, step {:?}: at most one [*] capture per step", s.name));
                }
                for path in s.expect.iter().map(|e| &e.path).chain(s.until.iter().map(|u| &u.path)) {
                    JsonPath::parse(path).map_err(|e| format!("{at}, step {:?}: {e}", s.name))?;
                }
                if let Some(u) = &s.until {
                    airlock_config::parse_duration(&u.every)
                        .map_err(|e| format!("{at}, step {:?}: every: {e}", s.name))?;
                }
            }
            check_call(&p.undo).map_err(|e| format!("{at}, undo: {e}"))?;
        }
        Ok(())
    }

    /// A pack Airlock ships, by name.
    pub fn builtin(name: &str) -> Option<Pack> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| Pack::parse(text).unwrap_or_else(|e| panic!("the built-in pack {name} is broken: {e}")))
    }

    /// The shipped pack for an API host, if any.
    pub fn for_host(host: &str) -> Option<Pack> {
        BUILTIN.iter().find_map(|(name, _)| {
            let p = Pack::builtin(name)?;
            p.hosts
                .iter()
                .any(|h| airlock_classify::glob_match(h, host))
                .then_some(p)
        })
    }

    /// `provider = "railway"` (shipped) or `provider = "packs/neon.toml"` (a file).
    pub fn named(provider: &str, config_dir: &Path) -> Result<Pack, HttpError> {
        if let Some(p) = Pack::builtin(provider) {
            return Ok(p);
        }
        let path = config_dir.join(provider);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            HttpError::Setup(format!(
                "provider {provider:?} is neither a shipped pack ({}) nor a readable pack file: {e}",
                BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ))
        })?;
        Pack::parse(&text).map_err(|e| HttpError::Setup(format!("the pack {}: {e}", path.display())))
    }

    /// The protective plan for an operation, if the pack has one.
    pub fn protect_for(&self, operation: &str) -> Option<&Protect> {
        self.protect.iter().find(|p| p.operation == operation)
    }
}

fn check_call(c: &CallSpec) -> Result<(), String> {
    match (&c.query, &c.method, &c.path) {
        (Some(q), None, None) => {
            graphql_parser::parse_query::<&str>(q).map_err(|e| format!("the query does not parse: {e}"))?;
            Ok(())
        }
        (None, Some(m), Some(p)) if !m.is_empty() && (p.is_empty() || p.starts_with('/')) => Ok(()),
        _ => Err("a call is either query (+ variables) or method + path (+ json)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_packs_load() {
        let railway = Pack::builtin("railway").unwrap();
        assert!(railway.protect_for("volumeDelete").is_some());
        assert_eq!(railway.operations["volumeDelete"].risk, Risk::Destructive);
        assert_eq!(Pack::for_host("backboard.railway.app").unwrap().name, "railway");
        assert!(Pack::for_host("api.example.com").is_none());
    }

    #[test]
    fn broken_packs_are_refused_with_the_reason() {
        let no_undo = "name = \"x\"\n[[protect]]\noperation = \"a\"\ndescription = \"d\"\n[[protect.step]]\nname = \"s\"\nquery = \"{ a }\"\n";
        assert!(Pack::parse(no_undo).unwrap_err().contains("undo"));
        let bad_capture = "name = \"x\"\n[[protect]]\noperation = \"a\"\ndescription = \"d\"\nundo = { method = \"POST\", path = \"/r\" }\n[[protect.step]]\nname = \"s\"\nquery = \"{ a }\"\ncapture = { b = \"a[x]\" }\n";
        assert!(Pack::parse(bad_capture).unwrap_err().contains("capture b"));
    }
}

#[cfg(test)]
mod readme_tests {
    use super::Pack;

    /// The packs sketched in packs/README.md load: the documented format is the real one.
    #[test]
    fn the_documented_sketches_are_valid_packs() {
        let readme = include_str!("../../packs/README.md");
        let block = readme
            .split("```toml")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap();
        for sketch in block.split("\n\n#") {
            // Each sketch: its comment line, then the pack.
            let text = sketch
                .lines()
                .skip_while(|l| !l.starts_with("name"))
                .collect::<Vec<_>>()
                .join("\n");
            Pack::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        }
    }
}
