//! Task runners: `npm/pnpm/yarn/bun run X`, `make X`, `just X`. The recipe is read through the
//! `World` (package.json, the Makefile, the justfile) and judged as the shell commands it runs;
//! when it cannot be read, a target whose name says drop/reset/wipe/nuke/destroy/purge/delete is
//! destructive, and any other is a bounded write.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::{Risk, TargetKind};

/// Words in a task's name that say it destroys data.
const DESTRUCTIVE_NAMES: [&str; 14] = [
    "drop",
    "reset",
    "wipe",
    "nuke",
    "destroy",
    "purge",
    "delete",
    "fresh",
    "truncate",
    "rollback",
    "erase",
    "obliterate",
    "teardown",
    "distclean",
];

/// Recipes that call other recipes (prerequisites) are followed this deep.
const MAX_DEPTH: usize = 8;

/// Handles a task runner; returns false when `name args` is not one.
pub(super) fn run(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    match name {
        "npm" | "pnpm" | "yarn" | "bun" => package_script(name, args, summary, ctx),
        "make" | "gmake" => make(args, summary, ctx),
        "just" => just(args, summary, ctx),
        _ => false,
    }
}

/// Package managers' own commands: anything else after `pnpm`/`yarn` is a script name.
const BUILTINS: [&str; 48] = [
    "add",
    "install",
    "i",
    "ci",
    "remove",
    "rm",
    "uninstall",
    "un",
    "update",
    "up",
    "upgrade",
    "list",
    "ls",
    "outdated",
    "exec",
    "dlx",
    "x",
    "create",
    "init",
    "publish",
    "audit",
    "why",
    "store",
    "config",
    "link",
    "unlink",
    "import",
    "rebuild",
    "prune",
    "fetch",
    "patch",
    "env",
    "setup",
    "info",
    "view",
    "pack",
    "cache",
    "global",
    "workspace",
    "workspaces",
    "set",
    "plugin",
    "dedupe",
    "bin",
    "version",
    "login",
    "logout",
    "help",
];

fn package_script(pm: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut dir: Option<String> = None;
    let mut words: Vec<&Arg> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "--prefix" | "-C" | "--cwd" | "--dir" => {
                dir = args.get(i + 1).map(|a| a.text.clone());
                i += 2;
                continue;
            }
            "--filter" | "-F" | "-w" | "--workspace" => {
                i += 2;
                continue;
            }
            _ if t.starts_with("--prefix=") || t.starts_with("--cwd=") || t.starts_with("--dir=") => {
                dir = t.split_once('=').map(|(_, v)| v.to_owned());
            }
            _ if t.starts_with('-') && words.is_empty() => {}
            _ => words.push(&args[i]),
        }
        i += 1;
    }
    let Some(first) = words.first() else {
        return false;
    };
    let (script, extra) = match first.text.as_str() {
        "run" | "run-script" | "rum" | "urn" => match words.get(1) {
            Some(s) => (s.text.clone(), &words[2..]),
            None => {
                ctx.op(Risk::Read, summary, format!("{pm} run lists the package's scripts"));
                return true;
            }
        },
        "test" | "t" | "start" | "stop" | "restart" => {
            let s = if first.text == "t" { "test" } else { first.text.as_str() };
            (s.to_owned(), &words[1..])
        }
        w if pm != "npm" && !BUILTINS.contains(&w) && !w.contains('/') => (w.to_owned(), &words[1..]),
        _ => return false,
    };
    let base = dir.unwrap_or_else(|| ".".to_owned());
    let manifest = ctx.resolve_path(&format!("{base}/package.json"));
    let scripts: Option<HashMap<String, String>> = ctx.world.read_script(Path::new(&manifest)).and_then(|text| {
        let v: Json = serde_json::from_str(&text).ok()?;
        Some(
            v.get("scripts")?
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect(),
        )
    });
    ctx.target(TargetKind::Script, format!("{manifest}#{script}"));
    let extra: Vec<&str> = extra.iter().map(|a| a.text.as_str()).filter(|t| *t != "--").collect();
    match scripts {
        Some(scripts) => match scripts.get(&script) {
            Some(body) => {
                let saved = ctx.cwd.clone();
                ctx.cwd = Some(Path::new(&manifest).parent().unwrap_or(Path::new("/")).to_path_buf());
                for hook in [format!("pre{script}"), script.clone(), format!("post{script}")] {
                    if let Some(line) = scripts.get(&hook) {
                        let line = if hook == script && !extra.is_empty() {
                            format!("{line} {}", extra.join(" "))
                        } else {
                            line.clone()
                        };
                        ctx.op(Risk::Read, summary, format!("runs the package script {hook}: {line}"));
                        super::classify_nested(&line, "package script", ctx);
                    }
                }
                ctx.cwd = saved;
                let _ = body;
            }
            None => ctx.op(
                Risk::Read,
                summary,
                format!("package.json has no script {script}: {pm} only reports an error"),
            ),
        },
        None => by_name(&format!("{pm} script"), &script, summary, ctx),
    }
    true
}

/// Judges a task that could not be read by its name.
fn by_name(kind: &str, task: &str, summary: &str, ctx: &mut Ctx<'_>) {
    let words = crate::http::words(task);
    match words.iter().find(|w| DESTRUCTIVE_NAMES.contains(&w.as_str())) {
        Some(w) => ctx.op(
            Risk::Destructive,
            summary,
            format!("the {kind} {task} could not be read, and its name says it will {w}"),
        ),
        None => ctx.op(
            Risk::Write,
            summary,
            format!("runs the {kind} {task}; its recipe could not be read, so it counts as a bounded write"),
        ),
    }
}

fn make(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut dir = ".".to_owned();
    let mut file: Option<String> = None;
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut targets: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "-C" | "--directory" => {
                dir = args.get(i + 1).map_or(dir, |a| a.text.clone());
                i += 1;
            }
            "-f" | "--file" | "--makefile" => {
                file = args.get(i + 1).map(|a| a.text.clone());
                i += 1;
            }
            "-n" | "--dry-run" | "--just-print" | "--recon" | "-q" | "--question" | "-p" | "--print-data-base" => {
                ctx.op(
                    Risk::Read,
                    summary,
                    format!("make {t} only prints or checks what would run"),
                );
                return true;
            }
            "-j" | "-l" | "-o" | "-W" | "-I" => i += 1,
            _ if t.starts_with("-C") && t.len() > 2 => dir = t[2..].to_owned(),
            _ if t.starts_with('-') => {}
            _ => match t.split_once('=') {
                Some((k, v)) => {
                    vars.insert(k.to_owned(), v.to_owned());
                }
                None => targets.push(t.to_owned()),
            },
        }
        i += 1;
    }
    let candidates = match &file {
        Some(f) => vec![f.clone()],
        None => vec!["GNUmakefile".into(), "makefile".into(), "Makefile".into()],
    };
    let text = candidates.iter().find_map(|f| {
        let p = ctx.resolve_path(&format!("{dir}/{f}"));
        ctx.world.read_script(Path::new(&p)).map(|t| (p, t))
    });
    let Some((path, text)) = text else {
        let task = targets.first().cloned().unwrap_or_else(|| "(default)".to_owned());
        by_name("make target", &task, summary, ctx);
        return true;
    };
    ctx.target(TargetKind::Script, path.clone());
    let makefile = Makefile::parse(&text, vars);
    if targets.is_empty() {
        match &makefile.first {
            Some(t) => targets.push(t.clone()),
            None => {
                ctx.op(Risk::Read, summary, "the Makefile has no target");
                return true;
            }
        }
    }
    let saved = ctx.cwd.clone();
    ctx.cwd = Some(Path::new(&path).parent().unwrap_or(Path::new("/")).to_path_buf());
    let mut seen = Vec::new();
    for t in &targets {
        make_target(&makefile, t, summary, ctx, &mut seen, 0);
    }
    ctx.cwd = saved;
    true
}

struct Makefile {
    vars: HashMap<String, String>,
    rules: HashMap<String, (Vec<String>, Vec<String>)>,
    first: Option<String>,
}

impl Makefile {
    /// Reads variables, rules, their prerequisites and recipe lines. Command-line variables win.
    fn parse(text: &str, overrides: HashMap<String, String>) -> Makefile {
        let mut m = Makefile {
            vars: HashMap::new(),
            rules: HashMap::new(),
            first: None,
        };
        let mut current: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(recipe) = line.strip_prefix('\t') {
                for t in &current {
                    if let Some(r) = m.rules.get_mut(t) {
                        r.1.push(recipe.trim().to_owned());
                    }
                }
                continue;
            }
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some((name, value)) = assignment(l) {
                m.vars.entry(name).or_insert(value);
                current.clear();
                continue;
            }
            if let Some((targets, prereqs)) = l.split_once(':').filter(|(t, _)| !t.contains('=')) {
                let prereqs: Vec<String> = prereqs
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                current = targets.split_whitespace().map(str::to_owned).collect();
                for t in &current {
                    if m.first.is_none() && !t.starts_with('.') {
                        m.first = Some(t.clone());
                    }
                    m.rules.entry(t.clone()).or_default().0.extend(prereqs.iter().cloned());
                }
            }
        }
        m.vars.extend(overrides);
        m
    }

    /// Expands `$(VAR)` and `${VAR}` (bounded, for self-referring variables).
    fn expand(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for _ in 0..8 {
            let mut changed = false;
            for (k, v) in &self.vars {
                for pat in [format!("$({k})"), format!("${{{k}}}")] {
                    if out.contains(&pat) {
                        out = out.replace(&pat, v);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        out.replace("$(MAKE)", "make")
            .replace("${MAKE}", "make")
            .replace("$$", "$")
    }
}

fn assignment(line: &str) -> Option<(String, String)> {
    for op in [":=", "?=", "+=", "::=", "="] {
        if let Some((k, v)) = line.split_once(op) {
            let k = k.trim().trim_start_matches("export ").trim();
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some((k.to_owned(), v.trim().to_owned()));
            }
        }
    }
    None
}

fn make_target(m: &Makefile, target: &str, summary: &str, ctx: &mut Ctx<'_>, seen: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH || seen.iter().any(|s| s == target) {
        return;
    }
    seen.push(target.to_owned());
    let Some((prereqs, recipe)) = m.rules.get(target) else {
        // A file target with no rule: make only checks it exists.
        return;
    };
    for p in prereqs {
        make_target(m, &m.expand(p), summary, ctx, seen, depth + 1);
    }
    if recipe.is_empty() {
        ctx.op(
            Risk::Read,
            summary,
            format!("make target {target} runs no command of its own"),
        );
    }
    for line in recipe {
        let line = m.expand(line.trim_start_matches(['@', '-', '+']));
        ctx.op(Risk::Read, summary, format!("make {target} runs: {line}"));
        super::classify_nested(&line, "make recipe", ctx);
    }
}

fn just(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut positionals: Vec<&str> = Vec::new();
    let mut file: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "-n" | "--dry-run" | "-l" | "--list" | "--summary" | "--show" | "-s" | "--evaluate" | "--help" | "-h" => {
                ctx.op(Risk::Read, summary, format!("just {t} only prints"));
                return true;
            }
            "-f" | "--justfile" => {
                file = args.get(i + 1).map(|a| a.text.clone());
                i += 1;
            }
            "-d" | "--working-directory" | "--set" => i += 1,
            _ if t.starts_with('-') => {}
            _ => positionals.push(t),
        }
        i += 1;
    }
    let candidates = match &file {
        Some(f) => vec![f.clone()],
        None => vec!["justfile".into(), "Justfile".into(), ".justfile".into()],
    };
    let text = candidates.iter().find_map(|f| {
        let p = ctx.resolve_path(f);
        ctx.world.read_script(Path::new(&p)).map(|t| (p, t))
    });
    let Some((path, text)) = text else {
        let task = positionals.first().copied().unwrap_or("(default)");
        by_name("just recipe", task, summary, ctx);
        return true;
    };
    ctx.target(TargetKind::Script, path);
    let recipes = just_recipes(&text);
    let Some(name) = positionals
        .first()
        .map(|s| (*s).to_owned())
        .or_else(|| recipes.first().map(|r| r.0.clone()))
    else {
        ctx.op(Risk::Read, summary, "the justfile has no recipe");
        return true;
    };
    let mut seen = Vec::new();
    just_recipe(&recipes, &name, summary, ctx, &mut seen, 0);
    true
}

type Recipe = (String, Vec<String>, Vec<String>);

/// Recipes: name, dependencies, body lines (`name arg: dep` then indented lines).
fn just_recipes(text: &str) -> Vec<Recipe> {
    let mut out: Vec<Recipe> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(r) = out.last_mut() {
                r.2.push(line.trim().to_owned());
            }
            continue;
        }
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("set ") || l.contains(":=") {
            continue;
        }
        if let Some((head, deps)) = l.split_once(':') {
            let name = head
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches('@')
                .to_owned();
            out.push((name, deps.split_whitespace().map(str::to_owned).collect(), Vec::new()));
        }
    }
    out
}

fn just_recipe(recipes: &[Recipe], name: &str, summary: &str, ctx: &mut Ctx<'_>, seen: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH || seen.iter().any(|s| s == name) {
        return;
    }
    seen.push(name.to_owned());
    let Some((_, deps, body)) = recipes.iter().find(|r| r.0 == name) else {
        ctx.op(
            Risk::Read,
            summary,
            format!("the justfile has no recipe {name}: just only reports an error"),
        );
        return;
    };
    for d in deps {
        just_recipe(recipes, d, summary, ctx, seen, depth + 1);
    }
    for line in body {
        let line = line.trim_start_matches(['@', '-']);
        ctx.op(Risk::Read, summary, format!("just {name} runs: {line}"));
        super::classify_nested(line, "just recipe", ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text reads as some Makefile and justfile; expansion of self-referring variables ends.
        #[test]
        fn task_runner_parsers_are_total(text in "[a-zA-Z$():=?+\t\n @.-]{0,200}") {
            let m = Makefile::parse(&text, HashMap::new());
            let _ = m.expand(&text);
            let _ = just_recipes(&text);
        }
    }

    #[test]
    fn task_runner_makefile_variables_and_prerequisites() {
        let m = Makefile::parse(
            "BUILD_DIR ?= build\nclean:\n\trm -rf $(BUILD_DIR)\ndistclean: clean\n\trm -rf data\n",
            HashMap::from([("BUILD_DIR".to_owned(), "src".to_owned())]),
        );
        assert_eq!(m.first.as_deref(), Some("clean"));
        assert_eq!(m.expand("rm -rf $(BUILD_DIR)"), "rm -rf src");
        assert_eq!(m.rules["distclean"].0, ["clean"]);
    }

    #[test]
    fn task_runner_justfile_recipes() {
        let r = just_recipes(
            "set shell := [\"bash\", \"-c\"]\n\nreset-db: stop\n    dropdb app\n\nstop:\n  docker compose down\n",
        );
        assert_eq!(r[0].0, "reset-db");
        assert_eq!(r[0].1, ["stop"]);
        assert_eq!(r[0].2, ["dropdb app"]);
    }
}
