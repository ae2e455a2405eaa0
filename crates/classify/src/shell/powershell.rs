//! PowerShell command lines (`pwsh -Command "Remove-Item … -Recurse"`): each statement's cmdlet is
//! judged by its verb (Remove-, Clear-, Format-… destroy; Get-, Select-, Test-… read), aliases
//! (`rm`, `del`, `rd`) included; `-WhatIf` makes a statement a dry run. Script files and encoded
//! commands cannot be seen, so they are unknown.

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::Risk;

const DESTRUCTIVE_VERBS: [&str; 9] = [
    "remove",
    "clear",
    "format",
    "reset",
    "uninstall",
    "unregister",
    "disable",
    "revoke",
    "stop",
];
const READ_VERBS: [&str; 10] = [
    "get",
    "select",
    "where",
    "test",
    "measure",
    "write",
    "format-table",
    "find",
    "show",
    "compare",
];
const DESTRUCTIVE_ALIASES: [&str; 8] = ["rm", "del", "erase", "rd", "rmdir", "ri", "clc", "clear-content"];

pub(super) fn run(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.to_ascii_lowercase();
        if matches!(t.as_str(), "-command" | "-c") {
            let rest: Vec<&str> = args[i + 1..].iter().map(|a| a.text.as_str()).collect();
            if args[i + 1..].iter().any(|a| a.dynamic) {
                ctx.op(Risk::Unknown, summary, "PowerShell runs a command built at run time");
            } else {
                line(&rest.join(" "), summary, ctx);
            }
            return;
        }
        if matches!(t.as_str(), "-encodedcommand" | "-e" | "-ec" | "-file" | "-f") {
            ctx.op(
                Risk::Unknown,
                summary,
                "PowerShell runs an encoded command or a script file Airlock does not read",
            );
            return;
        }
        i += 1;
    }
    ctx.op(Risk::Write, summary, "starts an interactive PowerShell");
}

fn line(text: &str, summary: &str, ctx: &mut Ctx<'_>) {
    for statement in text.split([';', '|', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        let words: Vec<String> = statement.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
        let cmdlet = words.first().cloned().unwrap_or_default();
        let what_if = words.iter().any(|w| w == "-whatif");
        let verb = cmdlet.split('-').next().unwrap_or_default();
        let risk = if what_if {
            Risk::Read
        } else if DESTRUCTIVE_ALIASES.contains(&cmdlet.as_str())
            || (cmdlet.contains('-') && DESTRUCTIVE_VERBS.contains(&verb))
        {
            Risk::Destructive
        } else if READ_VERBS.contains(&verb) || READ_VERBS.contains(&cmdlet.as_str()) {
            Risk::Read
        } else {
            Risk::Write
        };
        ctx.op(risk, summary, format!("PowerShell {cmdlet}: judged by its verb"));
    }
}
