//! Configuration and environment that run code: `git -c core.fsmonitor=CMD`, git aliases that
//! start with `!`, `GIT_SSH_COMMAND`, `EDITOR`/`PAGER` set to commands, `BASH_ENV` and `ENV` for a
//! non-interactive shell, `PSQLRC`, `NODE_OPTIONS=--require`, `PYTHONPATH`, `LD_PRELOAD`,
//! `PGOPTIONS` settings. What they run is judged; what cannot be seen is unknown.

use std::path::Path;

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::script::ScriptLanguage;
use crate::Risk;

/// How a variable runs code.
#[derive(Clone, Copy)]
enum Runs {
    /// Its value is a command line the program runs (an editor, a pager, an ssh command).
    Command,
    /// Its value names a file the program reads as code, in this language.
    File(ScriptLanguage),
    /// Its value changes which code the program loads (a module path, a preloaded library).
    Loads,
    /// Node's options: `--require FILE` and `--import FILE` run that file first.
    NodeOptions,
    /// libpq's `-c name=value` session settings.
    PgOptions,
}

const ENV: [(&str, Runs); 26] = [
    ("GIT_SSH_COMMAND", Runs::Command),
    ("GIT_SSH", Runs::Command),
    ("GIT_EDITOR", Runs::Command),
    ("GIT_SEQUENCE_EDITOR", Runs::Command),
    ("GIT_PAGER", Runs::Command),
    ("GIT_EXTERNAL_DIFF", Runs::Command),
    ("GIT_ASKPASS", Runs::Command),
    ("SSH_ASKPASS", Runs::Command),
    ("SUDO_ASKPASS", Runs::Command),
    ("EDITOR", Runs::Command),
    ("VISUAL", Runs::Command),
    ("PAGER", Runs::Command),
    ("MANPAGER", Runs::Command),
    ("SYSTEMD_PAGER", Runs::Command),
    ("PROMPT_COMMAND", Runs::Command),
    ("LESSOPEN", Runs::Command),
    ("BASH_ENV", Runs::File(ScriptLanguage::Shell)),
    ("ENV", Runs::File(ScriptLanguage::Shell)),
    ("PYTHONSTARTUP", Runs::File(ScriptLanguage::Python)),
    ("PSQLRC", Runs::File(ScriptLanguage::Sql)),
    ("PYTHONPATH", Runs::Loads),
    ("LD_PRELOAD", Runs::Loads),
    ("PERL5OPT", Runs::Loads),
    ("RUBYOPT", Runs::Loads),
    ("NODE_OPTIONS", Runs::NodeOptions),
    ("PGOPTIONS", Runs::PgOptions),
];

/// Editors and pagers that only show or edit what a person types: set to these, nothing runs
/// on its own.
const INTERACTIVE: [&str; 16] = [
    "vi",
    "vim",
    "nvim",
    "nano",
    "emacs",
    "emacsclient",
    "code",
    "subl",
    "micro",
    "hx",
    "less",
    "more",
    "most",
    "cat",
    "true",
    ":",
];

/// Judges the environment assignments of a command (`NAME=value cmd`, `env NAME=value cmd`).
pub(super) fn environment(assignments: &[(String, Arg)], summary: &str, ctx: &mut Ctx<'_>) {
    for (name, value) in assignments {
        let Some((_, runs)) = ENV.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if value.text.is_empty() {
            continue;
        }
        match runs {
            Runs::Command => command_value(name, value, summary, ctx),
            Runs::File(lang) => file_value(name, &value.text, *lang, summary, ctx),
            // A module path inside the project is the project's own code; one elsewhere (or a
            // preloaded library) swaps in code nobody reviewed.
            Runs::Loads if name == "PYTHONPATH" && value.text.split(':').all(|p| !p.starts_with(['/', '~', '$'])) => {}
            Runs::Loads => ctx.op(
                Risk::Unknown,
                summary,
                format!(
                    "{name}={} changes which code the program loads: any import can run other code",
                    value.text
                ),
            ),
            Runs::NodeOptions => {
                let words: Vec<&str> = value.text.split_whitespace().collect();
                for (i, w) in words.iter().enumerate() {
                    let file = match *w {
                        "--require" | "-r" | "--import" | "--loader" | "--experimental-loader" => {
                            words.get(i + 1).copied()
                        }
                        _ => ["--require=", "--import=", "--loader="]
                            .iter()
                            .find_map(|p| w.strip_prefix(p)),
                    };
                    if let Some(f) = file {
                        file_value(name, f, ScriptLanguage::JavaScript, summary, ctx);
                    }
                }
            }
            Runs::PgOptions => {
                for setting in value.text.split("-c").map(str::trim).filter(|s| !s.is_empty()) {
                    let set = format!("SET {}", setting.replacen('=', " = ", 1));
                    if let Some(why) = crate::sql::session_safeguard(&set) {
                        ctx.op(Risk::Destructive, summary, format!("PGOPTIONS: {why}"));
                    }
                }
            }
        }
    }
}

/// A command line that the program will run as its editor, pager or ssh.
fn command_value(name: &str, value: &Arg, summary: &str, ctx: &mut Ctx<'_>) {
    let program = value.text.split_whitespace().next().unwrap_or_default();
    let base = program.rsplit('/').next().unwrap_or(program);
    if INTERACTIVE.contains(&base) && !value.text.contains(['-', ';', '|', '&', '$', '`']) {
        return;
    }
    // A sequence editor that rewrites the rebase todo list: what it turns `pick` into decides.
    if name == "GIT_SEQUENCE_EDITOR" {
        if let Some(risk) = rebase_todo_edit(&value.text) {
            ctx.op(
                risk,
                summary,
                format!("the rebase todo list is edited by `{}`", value.text),
            );
            return;
        }
    }
    // An ssh command runs only what its command options say (ProxyCommand, LocalCommand…).
    if base == "ssh" && !value.text.contains([';', '|', '&', '`']) && !value.text.contains("$(") {
        let words: Vec<&str> = value.text.split_whitespace().collect();
        for w in words.iter().filter_map(|w| w.split_once('=')) {
            let key = w.0.trim_start_matches("-o").to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "proxycommand" | "localcommand" | "knownhostscommand" | "remotecommand"
            ) {
                super::classify_nested(w.1.trim_matches(['"', '\'']), name, ctx);
            }
        }
        return;
    }
    let before = ctx.found.risk();
    super::classify_nested(&value.text, name, ctx);
    if ctx.found.risk() != Some(Risk::Destructive) || before == Some(Risk::Destructive) {
        ctx.op(
            Risk::Unknown,
            summary,
            format!(
                "{name} makes the program run `{}` on whatever it opens (files, commits, connections): what that does is not visible",
                value.text
            ),
        );
    }
}

/// `sed -i '[ADDR]s/^pick/WORD/'` on a rebase todo list: squash, fixup and reword keep every
/// change; drop (or deleting lines) loses commits. Other editors are not modelled.
fn rebase_todo_edit(cmd: &str) -> Option<Risk> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    if words.first() != Some(&"sed") || !words.iter().any(|w| w.starts_with("-i")) {
        return None;
    }
    let script = words
        .iter()
        .rev()
        .find(|w| !w.starts_with('-'))?
        .trim_matches(['\'', '"']);
    let body = script.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, ',' | '$' | '\\'));
    if body.ends_with('d') && !body.contains("s/") {
        return Some(Risk::Destructive);
    }
    let rest = body.strip_prefix("s/^pick/").or_else(|| body.strip_prefix("s/pick/"))?;
    let word = rest.split('/').next()?.trim();
    match word {
        "squash" | "s" | "fixup" | "f" | "reword" | "r" | "edit" | "e" | "pick" | "p" => Some(Risk::Write),
        "drop" | "d" => Some(Risk::Destructive),
        _ => None,
    }
}

/// A file the program reads as code: judged through the World, unknown when it cannot be read.
fn file_value(name: &str, file: &str, lang: ScriptLanguage, summary: &str, ctx: &mut Ctx<'_>) {
    let path = ctx.resolve_path(file);
    match ctx.world.read_script(Path::new(&path)) {
        Some(text) if ctx.enter(name) => {
            crate::script::classify_into(&text, lang, ctx);
            ctx.leave();
        }
        Some(_) => {}
        None => ctx.op(
            Risk::Unknown,
            summary,
            format!("{name} makes the program run {path} first, which Airlock could not read"),
        ),
    }
}

/// Git configuration keys whose value is a command git runs.
const GIT_COMMAND_KEYS: [&str; 12] = [
    "core.fsmonitor",
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.askpass",
    "sequence.editor",
    "diff.external",
    "gpg.program",
    "credential.helper",
    "pager.*",
    "filter.*",
    "merge.*.driver",
];

/// `git -c key=value …` and `git config key value`: code that git runs now or later.
/// Returns true when it decided the command (`git config core.hooksPath …`).
pub(super) fn git(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut i = 0;
    let mut aliases: Vec<(String, String)> = Vec::new();
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "-c" {
            if let Some(kv) = args.get(i + 1) {
                if let Some((k, v)) = kv.text.split_once('=') {
                    git_setting(k, v, kv.dynamic, &mut aliases, summary, ctx);
                }
            }
            i += 2;
            continue;
        }
        if matches!(t, "-C" | "--git-dir" | "--work-tree" | "--namespace") {
            i += 2;
            continue;
        }
        if t.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    let rest = &args[i.min(args.len())..];
    let Some(sub) = rest.first() else {
        return false;
    };
    // An alias defined on this command line and used by it.
    if let Some((_, body)) = aliases.iter().find(|(a, _)| *a == sub.text) {
        let extra: Vec<&str> = rest[1..].iter().map(|a| a.text.as_str()).collect();
        match body.strip_prefix('!') {
            Some(shell) => super::classify_nested(&format!("{shell} {}", extra.join(" ")), "git alias", ctx),
            None => super::classify_nested(&format!("git {body} {}", extra.join(" ")), "git alias", ctx),
        }
        return true;
    }
    if sub.text == "config" {
        let words: Vec<&Arg> = rest[1..].iter().filter(|a| !a.text.starts_with('-')).collect();
        if let [key, value, ..] = words.as_slice() {
            let k = key.text.to_ascii_lowercase();
            if k == "core.hookspath" {
                if value.text.is_empty() || value.text.starts_with("/dev/") {
                    ctx.op(
                        Risk::Destructive,
                        summary,
                        format!(
                            "points the repository's hooks at {}: its checks stop running",
                            value.text
                        ),
                    );
                } else {
                    ctx.op(
                        Risk::Write,
                        summary,
                        format!("runs the repository's hooks from {}", value.text),
                    );
                }
                return true;
            }
            if is_command_key(&k) || (k.starts_with("alias.") && value.text.starts_with('!')) {
                ctx.op(
                    Risk::Unknown,
                    summary,
                    format!("stores `{}` as a command git will run later ({k})", value.text),
                );
                return true;
            }
        }
    }
    false
}

fn is_command_key(k: &str) -> bool {
    GIT_COMMAND_KEYS.iter().any(|p| crate::glob::glob_match(p, k))
}

fn git_setting(
    key: &str,
    value: &str,
    dynamic: bool,
    aliases: &mut Vec<(String, String)>,
    summary: &str,
    ctx: &mut Ctx<'_>,
) {
    let k = key.to_ascii_lowercase();
    if let Some(name) = k.strip_prefix("alias.") {
        aliases.push((name.to_owned(), value.to_owned()));
        return;
    }
    if k == "core.hookspath" {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("runs the hooks in {value} instead of the repository's"),
        );
        return;
    }
    if !is_command_key(&k) {
        return;
    }
    let arg = Arg {
        text: value.to_owned(),
        dynamic,
        glob: false,
        split: false,
        brace: false,
    };
    command_value(&format!("git -c {k}"), &arg, summary, ctx);
}
