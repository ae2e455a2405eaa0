//! App consoles that run code given on the command line: `manage.py shell -c`, `rails runner`,
//! `artisan tinker --execute`. The code is judged as the interpreter would run it; the consoles'
//! other uses go to their rule packs.

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::interp::{scan, Lang};
use crate::Risk;

/// (program, subcommand, flags whose value is the code, language). With no flag, the first
/// positional after the subcommand is the code.
const CONSOLES: [(&str, &str, &[&str], Lang); 6] = [
    ("manage.py", "shell", &["-c", "--command"], Lang::Python),
    ("django-admin", "shell", &["-c", "--command"], Lang::Python),
    ("rails", "runner", &[], Lang::Ruby),
    ("rails", "r", &[], Lang::Ruby),
    ("artisan", "tinker", &["--execute"], Lang::Php),
    ("flask", "shell", &["-c", "--command"], Lang::Python),
];

/// Handles an app console running code; returns false when `name args` is not one.
pub(super) fn run(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let Some(sub_at) = args.iter().position(|a| !a.text.starts_with('-')) else {
        return false;
    };
    let sub = args[sub_at].text.as_str();
    let Some((_, _, flags, lang)) = CONSOLES.iter().find(|(p, s, _, _)| *p == name && *s == sub) else {
        return false;
    };
    let rest = &args[sub_at + 1..];
    let glued: Option<Arg> = rest.iter().find_map(|a| {
        let (f, v) = a.text.split_once('=')?;
        flags.contains(&f).then(|| Arg {
            text: v.to_owned(),
            ..a.clone()
        })
    });
    let code = if flags.is_empty() {
        rest.iter().find(|a| !a.text.starts_with('-'))
    } else {
        code_flag(rest, flags).or(glued.as_ref())
    };
    let Some(code) = code else {
        // An interactive console: what the agent types next is not known.
        ctx.op(
            Risk::Unknown,
            summary,
            format!("{name} {sub} opens an interactive console"),
        );
        return true;
    };
    if code.dynamic {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("{name} {sub} runs code built at run time"),
        );
    } else if ctx.enter("console code") {
        scan(&code.text, *lang, summary, ctx);
        ctx.leave();
    }
    true
}

/// The value of one of `flags`: `-c CODE`, `--command=CODE`.
fn code_flag<'a>(args: &'a [Arg], flags: &[&str]) -> Option<&'a Arg> {
    args.iter().enumerate().find_map(|(i, a)| {
        if flags.contains(&a.text.as_str()) {
            return args.get(i + 1);
        }
        None
    })
}
