//! Rule packs: data files, one per tool family, that say which uses of a tool read, write or destroy.
//!
//! The files live in `crates/classify/packs/` and are embedded at build time (see `build.rs`). They
//! are parsed once, on first use. A pack that fails to load makes every classification `unknown`
//! (fail closed) with the load error as the reason; the pack tests make sure that never ships.

mod spec;
mod tool;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::glob::{glob_match, is_glob};
use crate::{Risk, TargetKind};

pub use spec::ExampleSpec;
pub(crate) use tool::Tool;

include!(concat!(env!("OUT_DIR"), "/packs_generated.rs"));

/// A rule pack failed to load.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rule pack {pack}: {message}")]
pub struct PackError {
    pub pack: String,
    pub message: String,
}

pub(crate) struct Wrapper {
    pub sub: Vec<String>,
    pub value_flags: Vec<String>,
    pub skip: usize,
    pub skip_kind: Option<TargetKind>,
    pub shell_mode: bool,
    pub assignments: bool,
    pub read_flags: Vec<String>,
    pub shell_flags: Vec<String>,
    pub target_flags: HashMap<String, TargetKind>,
    pub stdin_args: bool,
    pub mount_flags: Vec<String>,
}

pub(crate) enum ApiEffect {
    Risk,
    /// An HTTP client: the call is a request, judged by the HTTP classifier.
    Http,
    /// The first argument names a file whose content the call replaces.
    Overwrite,
    Shell,
    Sql,
    Code,
    Filter,
    Command,
}

pub(crate) struct Api {
    pub langs: Vec<String>,
    pub names: Vec<String>,
    pub effect: ApiEffect,
    pub risk: Risk,
    pub reason: String,
    pub target: Option<TargetKind>,
}

#[derive(Clone)]
pub(crate) struct Keyword {
    pub risk: Risk,
    pub reason: String,
    /// The SQL dialects that have this function built in (all when empty).
    pub dialects: Vec<String>,
}

/// A kind of path the toolchain recreates (see `packs/regenerable.toml`).
pub(crate) struct Regen {
    pub names: Vec<String>,
    pub beside: Vec<String>,
    pub home: bool,
    pub reason: String,
}

/// Every pack, compiled for lookup.
pub(crate) struct Packs {
    tools: Vec<Tool>,
    tool_by_name: HashMap<String, usize>,
    tool_globs: Vec<(String, usize)>,
    wrappers: HashMap<String, Vec<Wrapper>>,
    pub apis: Vec<Api>,
    pub redis_commands: HashMap<String, Keyword>,
    pub sql_functions: HashMap<String, Keyword>,
    pub mutations: HashMap<String, Keyword>,
    pub destructive_verbs: Vec<String>,
    pub destructive_flags: Vec<String>,
    /// Words that make an unknown program's subcommand destructive (a superset of the API verbs).
    pub subcommand_verbs: Vec<String>,
    pub regenerable: Vec<Regen>,
}

impl Packs {
    pub(crate) fn tool(&self, program: &str) -> Option<&Tool> {
        if let Some(&i) = self.tool_by_name.get(program) {
            return self.tools.get(i);
        }
        self.tool_globs
            .iter()
            .find(|(g, _)| glob_match(g, program))
            .and_then(|&(_, i)| self.tools.get(i))
    }

    /// Every program name a pack lists (not the glob ones).
    pub(crate) fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tool_by_name.keys().map(String::as_str)
    }

    pub(crate) fn wrappers(&self, program: &str) -> &[Wrapper] {
        self.wrappers.get(program).map_or(&[], Vec::as_slice)
    }
}

static PACKS: OnceLock<Result<Packs, PackError>> = OnceLock::new();

/// The compiled packs, loaded on first use.
pub(crate) fn packs() -> Result<&'static Packs, &'static PackError> {
    PACKS.get_or_init(load_all).as_ref()
}

/// The names of the embedded packs, for reports and tests.
pub fn pack_names() -> Vec<&'static str> {
    PACK_FILES.iter().map(|(n, _)| *n).collect()
}

/// Checks that every embedded pack loads. Returns the first error.
pub fn check_packs() -> Result<(), PackError> {
    packs().map(|_| ()).map_err(Clone::clone)
}

/// The examples a pack carries, for the pack tests.
pub fn pack_examples(pack: &str) -> Result<Vec<ExampleSpec>, PackError> {
    let (name, text) = PACK_FILES
        .iter()
        .find(|(n, _)| *n == pack)
        .ok_or_else(|| err(pack, "no such pack"))?;
    let file: spec::PackFile = serde_json::from_str(text).map_err(|e| err(name, e.to_string()))?;
    Ok(file.example)
}

fn err(pack: &str, message: impl Into<String>) -> PackError {
    PackError {
        pack: pack.to_owned(),
        message: message.into(),
    }
}

fn risk(pack: &str, s: &str) -> Result<Risk, PackError> {
    s.parse()
        .map_err(|e: crate::risk::ParseRiskError| err(pack, e.to_string()))
}

fn kind(pack: &str, s: &str) -> Result<TargetKind, PackError> {
    TargetKind::from_name(s).ok_or_else(|| err(pack, format!("unknown target kind {s:?}")))
}

fn kinds(
    pack: &str,
    map: &std::collections::BTreeMap<String, String>,
) -> Result<HashMap<String, TargetKind>, PackError> {
    map.iter().map(|(flag, k)| Ok((flag.clone(), kind(pack, k)?))).collect()
}

fn keywords(
    pack: &str,
    specs: Vec<spec::KeywordSpec>,
    into: &mut HashMap<String, Keyword>,
    fold_case: bool,
) -> Result<(), PackError> {
    for k in specs {
        let kw = Keyword {
            risk: risk(pack, &k.risk)?,
            reason: k.reason,
            dialects: k.dialects,
        };
        for n in k.names {
            let n = if fold_case { n.to_ascii_lowercase() } else { n };
            into.insert(n, kw.clone());
        }
    }
    Ok(())
}

fn load_all() -> Result<Packs, PackError> {
    let mut packs = Packs {
        tools: Vec::new(),
        tool_by_name: HashMap::new(),
        tool_globs: Vec::new(),
        wrappers: HashMap::new(),
        apis: Vec::new(),
        redis_commands: HashMap::new(),
        sql_functions: HashMap::new(),
        mutations: HashMap::new(),
        destructive_verbs: Vec::new(),
        destructive_flags: Vec::new(),
        subcommand_verbs: Vec::new(),
        regenerable: Vec::new(),
    };
    for (name, text) in PACK_FILES {
        let file: spec::PackFile = serde_json::from_str(text).map_err(|e| err(name, e.to_string()))?;
        for t in file.tool {
            let compiled = Tool::compile(name, t)?;
            let index = packs.tools.len();
            for n in &compiled.names {
                if is_glob(n) {
                    packs.tool_globs.push((n.clone(), index));
                } else if packs.tool_by_name.insert(n.clone(), index).is_some() {
                    return Err(err(name, format!("tool {n:?} is defined twice")));
                }
            }
            packs.tools.push(compiled);
        }
        for w in file.wrapper {
            let shell_mode = match w.mode.as_str() {
                "argv" => false,
                "shell" => true,
                other => return Err(err(name, format!("wrapper mode {other:?} is not argv or shell"))),
            };
            let skip_kind = w.skip_kind.as_deref().map(|k| kind(name, k)).transpose()?;
            for n in &w.names {
                packs.wrappers.entry(n.clone()).or_default().push(Wrapper {
                    sub: w.sub.clone(),
                    value_flags: w.value_flags.clone(),
                    skip: w.skip,
                    skip_kind,
                    shell_mode,
                    assignments: w.assignments,
                    read_flags: w.read_flags.clone(),
                    shell_flags: w.shell_flags.clone(),
                    target_flags: kinds(name, &w.target_flags)?,
                    stdin_args: w.stdin_args,
                    mount_flags: w.mount_flags.clone(),
                });
            }
        }
        for a in file.api {
            let effect = match a.effect.as_str() {
                "risk" => ApiEffect::Risk,
                "shell" => ApiEffect::Shell,
                "sql" => ApiEffect::Sql,
                "code" => ApiEffect::Code,
                "filter" => ApiEffect::Filter,
                "command" => ApiEffect::Command,
                "http" => ApiEffect::Http,
                "overwrite" => ApiEffect::Overwrite,
                other => return Err(err(name, format!("api effect {other:?} is not known"))),
            };
            packs.apis.push(Api {
                langs: a.langs,
                names: a.names,
                effect,
                risk: risk(name, &a.risk)?,
                reason: a.reason,
                target: a.targets.as_deref().map(|k| kind(name, k)).transpose()?,
            });
        }
        keywords(name, file.command, &mut packs.redis_commands, true)?;
        keywords(name, file.function, &mut packs.sql_functions, true)?;
        keywords(name, file.mutation, &mut packs.mutations, false)?;
        packs.regenerable.extend(file.regenerable.into_iter().map(|r| Regen {
            names: r.names,
            beside: r.beside,
            home: r.home,
            reason: r.reason,
        }));
        if let Some(v) = file.verbs {
            packs.subcommand_verbs.extend(v.destructive.iter().cloned());
            packs.subcommand_verbs.extend(v.subcommand);
            packs.destructive_verbs.extend(v.destructive);
            packs.destructive_flags.extend(v.destructive_flags);
        }
        for ex in &file.example {
            risk(name, &ex.risk)?;
        }
    }
    // Longer wrapper selectors first, so `docker exec` wins over a bare `docker` entry.
    for list in packs.wrappers.values_mut() {
        list.sort_by_key(|w| std::cmp::Reverse(w.sub.len()));
    }
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_embedded_packs_load() {
        if let Err(e) = check_packs() {
            panic!("{e}");
        }
        assert!(pack_names().len() >= 10);
    }

    #[test]
    fn tools_are_found_by_exact_name_and_by_glob() {
        let p = packs().unwrap();
        assert!(p.tool("git").is_some());
        assert!(p.tool("mkfs.ext4").is_some());
        assert!(p.tool("definitely-not-a-tool").is_none());
    }
}
