//! Help and dry runs lower the risk, whatever the tool: `--help`, a trailing `-h`, a `help`
//! subcommand, `--dry-run` (not `--dry-run=none`), `--dryrun`, `--preview-only`, `--what-if`.
//! Tool-specific forms (`git push -n`, `make -n`) live in the rule packs as rules that override.

use crate::arg::Arg;

const HELP: [&str; 5] = ["--help", "-help", "--usage", "-?", "/?"];
const DRY_RUN: [&str; 9] = [
    "--dry-run",
    "--dryrun",
    "--dry_run",
    "--preview-only",
    "--what-if",
    "--whatif",
    "-WhatIf",
    "--noop",
    "--simulate",
];

/// Why this command line only prints (help or a dry run), if it does.
pub(super) fn only_prints(args: &[Arg]) -> Option<&'static str> {
    let mut positionals = args.iter().filter(|a| !a.text.starts_with('-'));
    if positionals.next().is_some_and(|a| a.text == "help") {
        return Some("a help subcommand only prints documentation");
    }
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if a.dynamic {
            continue;
        }
        // `-h` and `--version` only ask for help or the version when nothing follows them
        // (`shutdown -h now`, `helm upgrade --version 1.2` mean something else).
        let last = i + 1 == args.len();
        if HELP.contains(&t)
            || (t == "-h" && last)
            || (t == "--version" && last && args.iter().all(|a| a.text.starts_with('-')))
        {
            return Some("asks for help: the tool prints its documentation and does nothing else");
        }
        let (flag, value) = t.split_once('=').map_or((t, None), |(f, v)| (f, Some(v)));
        if DRY_RUN.iter().any(|d| d.eq_ignore_ascii_case(flag))
            && value.is_none_or(|v| !matches!(v.to_ascii_lowercase().as_str(), "none" | "false" | "0" | "no"))
        {
            return Some("a dry run only prints what would be done");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prints(line: &str) -> bool {
        let args: Vec<Arg> = line.split_whitespace().map(Arg::literal).collect();
        only_prints(&args).is_some()
    }

    #[test]
    fn help_and_dry_runs_only_print() {
        for l in [
            "destroy -help",
            "reset --hard --help",
            "delete deploy api --dry-run=client",
            "uninstall payments --dry-run",
            "apps destroy -h",
            "help reset",
            "destroy --preview-only --stack prod",
        ] {
            assert!(prints(l), "{l}");
        }
        for l in [
            "delete deploy api --dry-run=none",
            "-h now",
            "-h db.prod psql",
            "rm -rf x",
        ] {
            assert!(!prints(l), "{l}");
        }
    }
}
