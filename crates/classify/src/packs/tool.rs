use std::collections::HashMap;

use super::spec::{RuleSpec, ToolSpec};
use super::{err, kind, kinds, risk, PackError};
use crate::arg::Arg;
use crate::glob::glob_match;
use crate::options::{parse, Grammar, Item};
use crate::{Risk, TargetKind};

/// Flags every tool understands the same way: they name where the action lands.
const GENERIC_TARGET_FLAGS: [(&str, TargetKind); 7] = [
    ("--environment", TargetKind::Environment),
    ("--env", TargetKind::Environment),
    ("--project", TargetKind::Project),
    ("--context", TargetKind::Context),
    ("--namespace", TargetKind::Namespace),
    ("--profile", TargetKind::Profile),
    ("--region", TargetKind::Region),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overwrite {
    Last,
    All,
}

struct Rule {
    sub: Vec<String>,
    flags_any: Vec<String>,
    flags_all: Vec<String>,
    flags_none: Vec<String>,
    args_any: Vec<String>,
    any_word: Vec<String>,
    risk: Risk,
    reason: String,
    targets: Option<TargetKind>,
    skip: usize,
    overwrite: Option<Overwrite>,
    deletes: bool,
    worktree: bool,
    implies: Vec<(TargetKind, String)>,
    overrides: bool,
}

pub(crate) struct Tool {
    pub names: Vec<String>,
    default: Risk,
    value_flags: Vec<String>,
    switches: Vec<String>,
    short_clusters: bool,
    target_flags: HashMap<String, TargetKind>,
    kv_targets: HashMap<String, TargetKind>,
    kv_overwrite: Vec<String>,
    rules: Vec<Rule>,
}

/// What a tool's pack says about one invocation.
#[derive(Debug, Default)]
pub(crate) struct ToolVerdict {
    pub risk: Option<Risk>,
    pub reasons: Vec<String>,
    pub targets: Vec<(TargetKind, String)>,
    /// Paths the invocation overwrites: an existing file there makes it destructive.
    pub overwrites: Vec<String>,
    /// A word that selects the subcommand is only known at run time.
    pub dynamic_subcommand: bool,
    /// Paths (as written) that rules marked `deletes` remove.
    pub deleted: Vec<String>,
    /// Whether every rule that made the verdict destructive only deletes `deleted`.
    pub only_deletes: bool,
}

/// The arguments split into flags and positionals, per the tool's option grammar.
struct Split<'a> {
    /// Every option as written (`-xdf`, `--force`) and, for clusters, each letter (`-x`, `-d`, `-f`).
    flags: Vec<String>,
    /// (text, is dynamic)
    positionals: Vec<(&'a str, bool)>,
    flag_values: Vec<(String, String)>,
}

impl Tool {
    pub(super) fn compile(pack: &str, spec: ToolSpec) -> Result<Tool, PackError> {
        let mut rules = Vec::with_capacity(spec.rule.len());
        for r in spec.rule {
            rules.push(compile_rule(pack, r)?);
        }
        Ok(Tool {
            names: spec.names,
            default: risk(pack, &spec.default)?,
            value_flags: spec.value_flags,
            switches: spec.switches,
            short_clusters: spec.short_clusters.unwrap_or(true),
            target_flags: kinds(pack, &spec.target_flags)?,
            kv_targets: kinds(pack, &spec.kv_targets)?,
            kv_overwrite: spec.kv_overwrite,
            rules,
        })
    }

    fn split<'a>(&self, program: &str, args: &'a [Arg]) -> Split<'a> {
        // A flag that names a target always carries it as its value.
        let value_flags: Vec<&str> = self
            .value_flags
            .iter()
            .chain(self.target_flags.keys())
            .map(String::as_str)
            .collect();
        let switches: Vec<&str> = self.switches.iter().map(String::as_str).collect();
        let grammar = Grammar {
            program,
            value_flags: &value_flags,
            switches: &switches,
            clusters: self.short_clusters,
        };
        let mut s = Split {
            flags: Vec::new(),
            positionals: Vec::new(),
            flag_values: Vec::new(),
        };
        // The parser keeps no reference into `args`; map positionals back by walking in order.
        let mut rest = args.iter();
        for item in parse(args, &grammar) {
            match item {
                Item::Positional(p) => {
                    if let Some(orig) = rest.by_ref().find(|a| a.text == p.text && a.dynamic == p.dynamic) {
                        s.positionals.push((orig.text.as_str(), orig.dynamic));
                    }
                }
                Item::Opt { name, value } => {
                    // `--dry-run=none`, `--force=false`: the option is given but switched off.
                    let off = value
                        .as_ref()
                        .is_some_and(|v| matches!(v.text.to_ascii_lowercase().as_str(), "none" | "false"));
                    if let Some(v) = value {
                        s.flag_values.push((name.clone(), v.text));
                    }
                    if !off {
                        s.flags.push(name);
                    }
                }
            }
        }
        // Clusters also count as written, for rules that name a single-dash word (`-destroy`).
        for a in args {
            let t = a.text.as_str();
            if t.starts_with('-')
                && !t.starts_with("--")
                && t.len() > 2
                && !t.contains('=')
                && !s.flags.iter().any(|f| f == t)
            {
                s.flags.push(t.split_once('=').map_or(t, |(f, _)| f).to_owned());
            }
        }
        s
    }

    fn has_flag(&self, split: &Split<'_>, flag: &str) -> bool {
        split.flags.iter().any(|f| {
            if f == flag {
                return true;
            }
            // `-tzf` holds `-t` even for tools whose Fig grammar reads single-dash words whole.
            let short = flag.len() == 2 && flag.starts_with('-') && !flag.starts_with("--");
            self.short_clusters
                && short
                && f.len() > 2
                && f.starts_with('-')
                && !f.starts_with("--")
                && !f.contains('=')
                && f[1..].contains(&flag[1..])
        })
    }

    fn rule_matches(&self, rule: &Rule, split: &Split<'_>) -> bool {
        if rule.sub.len() > split.positionals.len() {
            return false;
        }
        let sub_ok = rule
            .sub
            .iter()
            .zip(&split.positionals)
            .all(|(g, (p, _))| glob_match(g, p));
        if !sub_ok {
            return false;
        }
        let rest = &split.positionals[rule.sub.len()..];
        (rule.flags_any.is_empty() || rule.flags_any.iter().any(|f| self.has_flag(split, f)))
            && rule.flags_all.iter().all(|f| self.has_flag(split, f))
            && !rule.flags_none.iter().any(|f| self.has_flag(split, f))
            && (rule.args_any.is_empty() || rest.iter().any(|(p, _)| rule.args_any.iter().any(|g| glob_match(g, p))))
            && (rule.any_word.is_empty()
                || split
                    .positionals
                    .iter()
                    .any(|(p, _)| rule.any_word.iter().any(|g| glob_match(g, p))))
    }

    /// Applies the tool's rules to its arguments (not including the program name).
    pub(crate) fn evaluate(&self, program: &str, args: &[Arg]) -> ToolVerdict {
        let split = self.split(program, args);
        let mut v = ToolVerdict {
            only_deletes: true,
            ..ToolVerdict::default()
        };
        let max_sub = self.rules.iter().map(|r| r.sub.len()).max().unwrap_or(0);
        v.dynamic_subcommand = split.positionals.iter().take(max_sub).any(|(_, d)| *d);
        // A matching rule that overrides (a dry run) is the whole verdict.
        let overriding = self.rules.iter().find(|r| r.overrides && self.rule_matches(r, &split));
        for rule in &self.rules {
            if !self.rule_matches(rule, &split) || overriding.is_some_and(|o| !std::ptr::eq(o, rule)) {
                continue;
            }
            v.risk = Some(v.risk.map_or(rule.risk, |r| r.combine(rule.risk)));
            if !v.reasons.contains(&rule.reason) {
                v.reasons.push(rule.reason.clone());
            }
            let start = (rule.sub.len() + rule.skip).min(split.positionals.len());
            let rest = &split.positionals[start..];
            if rule.deletes {
                v.deleted.extend(rest.iter().map(|(p, _)| (*p).to_owned()));
            } else if rule.risk == Risk::Destructive {
                v.only_deletes = false;
            }
            if let Some(k) = rule.targets {
                v.targets.extend(rest.iter().map(|(p, _)| (k, (*p).to_owned())));
            }
            if rule.worktree {
                let dir = split
                    .flag_values
                    .iter()
                    .rev()
                    .find(|(f, _)| f == "-C")
                    .map(|(_, d)| d.as_str());
                v.targets.push((TargetKind::Worktree, dir.unwrap_or(".").to_owned()));
            }
            v.targets.extend(rule.implies.iter().cloned());
            match rule.overwrite {
                Some(Overwrite::All) => v.overwrites.extend(rest.iter().map(|(p, _)| (*p).to_owned())),
                Some(Overwrite::Last) if rest.len() >= 2 => {
                    if let Some((p, _)) = rest.last() {
                        v.overwrites.push((*p).to_owned());
                    }
                }
                _ => {}
            }
        }
        if v.risk.is_none() {
            v.risk = Some(self.default);
            v.reasons.push(match self.default {
                Risk::Read => format!("{program} only reads"),
                Risk::Write => format!(
                    "{program}: no rule marks this use as read-only or destructive, so it counts as a bounded write"
                ),
                Risk::Destructive => format!("{program} destroys data by design"),
                Risk::Unknown => format!("{program}: its effect cannot be determined"),
            });
        }
        for (flag, value) in &split.flag_values {
            let k = self
                .target_flags
                .get(flag.as_str())
                .copied()
                .or_else(|| GENERIC_TARGET_FLAGS.iter().find(|(f, _)| *f == flag).map(|(_, k)| *k));
            if let Some(k) = k {
                v.targets.push((k, value.clone()));
            }
        }
        for (p, _) in &split.positionals {
            if let Some((key, value)) = p.split_once('=') {
                if self.kv_overwrite.iter().any(|k| k == key) && !value.starts_with("/dev/") {
                    v.overwrites.push(value.to_owned());
                }
                if let Some(k) = self.kv_targets.get(key) {
                    v.targets.push((*k, value.to_owned()));
                }
            }
        }
        v
    }
}

fn compile_rule(pack: &str, r: RuleSpec) -> Result<Rule, PackError> {
    let overwrite = match r.overwrite.as_deref() {
        None => None,
        Some("last") => Some(Overwrite::Last),
        Some("all") => Some(Overwrite::All),
        Some(other) => return Err(err(pack, format!("overwrite {other:?} is not last or all"))),
    };
    if r.reason.trim().is_empty() {
        return Err(err(pack, "a rule has an empty reason"));
    }
    Ok(Rule {
        sub: r.sub,
        flags_any: r.flags_any,
        flags_all: r.flags_all,
        flags_none: r.flags_none,
        args_any: r.args_any,
        any_word: r.any_word,
        risk: risk(pack, &r.risk)?,
        reason: r.reason,
        targets: r.targets.as_deref().map(|k| kind(pack, k)).transpose()?,
        skip: r.skip,
        overwrite,
        deletes: r.deletes,
        worktree: r.worktree,
        implies: r
            .implies
            .iter()
            .map(|t| {
                let (k, v) = t
                    .split_once(':')
                    .ok_or_else(|| err(pack, format!("implies {t:?} is not \"kind:value\"")))?;
                Ok((kind(pack, k)?, v.to_owned()))
            })
            .collect::<Result<_, PackError>>()?,
        overrides: r.overrides,
    })
}
