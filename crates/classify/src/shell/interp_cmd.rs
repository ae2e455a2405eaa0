//! Interpreter command lines: `python -c CODE`, `node -e CODE`, `perl -pi -e CODE FILE`,
//! `python manage.py flush`, `python script.py`, `curl … | python`.

use super::command::run_script;
use super::Stream;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::interp::{scan, Lang};
use crate::script::ScriptLanguage;
use crate::Risk;

/// Flags whose value is code to run, per language.
fn code_flag(lang: Lang, flag: &str) -> bool {
    match lang {
        Lang::Python => flag == "-c",
        Lang::JavaScript => matches!(flag, "-e" | "--eval" | "-p" | "--print"),
        Lang::Perl => {
            // Perl clusters its switches: `-pie`, `-ne`, `-lane` all end in the code switch.
            // `-Mtime` and `-I/lib/e` carry a value, not a code switch.
            flag.starts_with('-')
                && !flag.starts_with("--")
                && !flag.starts_with("-M")
                && !flag.starts_with("-m")
                && !flag.starts_with("-I")
                && flag[1..].chars().all(|c| c.is_ascii_alphabetic() || c == '0')
                && (flag.ends_with('e') || flag.ends_with('E'))
        }
        Lang::Ruby => {
            flag == "-e"
                || (flag.len() <= 4
                    && flag.starts_with('-')
                    && !flag.starts_with("--")
                    && !flag.starts_with("-r")
                    && !flag.starts_with("-I")
                    && flag.ends_with('e'))
        }
        Lang::Php => flag == "-r",
        Lang::Mongo => flag == "--eval",
    }
}

fn value_flag(lang: Lang, flag: &str) -> bool {
    match lang {
        Lang::Python => matches!(flag, "-W" | "-X" | "-Q"),
        Lang::JavaScript => matches!(flag, "-r" | "--require" | "--import" | "--loader" | "--env-file"),
        Lang::Perl => matches!(flag, "-I" | "-M" | "-m"),
        Lang::Ruby => matches!(flag, "-I" | "-r" | "-C"),
        Lang::Php => matches!(flag, "-c" | "-d" | "-z"),
        Lang::Mongo => false,
    }
}

pub(super) fn run(lang: Lang, args: &[Arg], stdin: Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let mut i = 0;
    let mut ran_code = false;
    let in_place = lang == Lang::Perl
        && args.iter().any(|a| {
            a.text.starts_with("-i") || (a.text.starts_with('-') && a.text.contains('i') && !a.text.starts_with("--"))
        });
    // deno eval CODE / bun eval CODE
    if lang == Lang::JavaScript && args.first().is_some_and(|a| a.text == "eval") {
        if let Some(code) = args.get(1) {
            code_arg(code, lang, summary, ctx);
        }
        return;
    }
    while i < args.len() {
        let a = &args[i];
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if matches!(t, "--version" | "-V" | "-v" | "--help" | "-h")
            && !(lang == Lang::Perl && t == "-V" && args.len() > 1)
        {
            ctx.op(Risk::Read, summary, "prints the interpreter's version or help");
            return;
        }
        if code_flag(lang, t) {
            if let Some(code) = args.get(i + 1) {
                code_arg(code, lang, summary, ctx);
                ran_code = true;
            }
            i += 2;
            continue;
        }
        if lang == Lang::Python && t == "-m" {
            let module = args.get(i + 1).map_or("?", |m| m.text.as_str());
            ctx.op(
                Risk::Write,
                summary,
                format!("runs the Python module {module}; it counts as a bounded write"),
            );
            return;
        }
        i += if value_flag(lang, t) { 2 } else { 1 };
    }
    let rest = args.get(i..).unwrap_or_default();
    if ran_code {
        if in_place {
            // `perl -i -n`: no line is printed unless the code prints it, so what it does not
            // print is removed from the file.
            let filters = args.iter().any(|a| {
                a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('n') && !a.text.contains('p')
            });
            let risk = if filters { Risk::Destructive } else { Risk::Write };
            for f in rest {
                ctx.path_target(&f.text, risk, summary);
            }
            if filters {
                ctx.op(
                    risk,
                    summary,
                    "perl -n -i rewrites the files with only the lines the code prints",
                );
            } else {
                ctx.op(Risk::Write, summary, "edits files in place");
            }
        }
        return;
    }
    match rest.first() {
        Some(script) if matches!(super::command::basename(&script.text), "manage.py" | "artisan") => {
            // Django's and Laravel's management commands have their own rule packs.
            let mut words = vec![Arg::literal(super::command::basename(&script.text))];
            words.extend_from_slice(&rest[1..]);
            super::command::run(&words, &[], Stream::Terminal, ctx);
        }
        Some(script) if script.text == "-" => stdin_code(lang, stdin, summary, ctx),
        Some(script) => run_script(script, Some(script_language(lang)), summary, ctx),
        None => stdin_code(lang, stdin, summary, ctx),
    }
}

fn script_language(lang: Lang) -> ScriptLanguage {
    ScriptLanguage::from_lang(lang)
}

fn code_arg(code: &Arg, lang: Lang, summary: &str, ctx: &mut Ctx<'_>) {
    if code.dynamic {
        ctx.partially_known(summary, "part of the code", |ctx| {
            if ctx.enter("interpreter code") {
                scan(&code.text, lang, summary, ctx);
                ctx.leave();
            }
        });
    } else if ctx.enter("interpreter code") {
        scan(&code.text, lang, summary, ctx);
        ctx.leave();
    }
}

fn stdin_code(lang: Lang, stdin: Stream, summary: &str, ctx: &mut Ctx<'_>) {
    super::stream::feed(
        &stdin,
        "an interpreter",
        script_language(lang),
        summary,
        ctx,
        |code, ctx| scan(code, lang, summary, ctx),
        |ctx| ctx.op(Risk::Write, summary, "starts an interactive interpreter"),
    );
}
