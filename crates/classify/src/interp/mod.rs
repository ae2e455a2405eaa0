//! Interpreter one-liners and scripts (`python -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`,
//! `mongosh --eval`): calls of the standard file, process and database APIs, found by a lexer and
//! judged by the `interpreters` rule pack.

mod calls;
mod lexer;
mod tree;

use lexer::{lex, Tok};

use crate::ctx::Ctx;
use crate::packs::{Api, ApiEffect};
use crate::{Risk, TargetKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Python,
    JavaScript,
    Perl,
    Ruby,
    Php,
    Mongo,
}

impl Lang {
    /// The language an interpreter runs, by program name (`python3.11`, `node`, `jruby`…). Used for
    /// command lines and shebang lines alike.
    pub(crate) fn of_program(name: &str) -> Option<Lang> {
        let is_versioned = |base: &str| {
            name.strip_prefix(base)
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        };
        if is_versioned("python") || is_versioned("pypy") {
            return Some(Lang::Python);
        }
        match name {
            "node" | "nodejs" | "deno" | "bun" | "tsx" | "ts-node" => Some(Lang::JavaScript),
            "perl" => Some(Lang::Perl),
            "ruby" | "jruby" => Some(Lang::Ruby),
            "php" => Some(Lang::Php),
            _ => None,
        }
    }

    fn pack_name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::Perl => "perl",
            Lang::Ruby => "ruby",
            Lang::Php => "php",
            Lang::Mongo => "mongo",
        }
    }
}

/// The literal value of a call's first argument, when it is one.
pub(crate) enum FirstArg {
    Literal(String),
    /// A list of literals (`["rm", "-rf", "x"]`), joined with spaces.
    List(String),
    /// An empty object or no argument at all (`deleteMany({})`, `deleteMany()`).
    Empty,
    Dynamic,
}

pub(crate) fn api_matches(api: &Api, lang: Lang, name: &str) -> bool {
    api.langs.iter().any(|l| l == lang.pack_name())
        && api
            .names
            .iter()
            .any(|n| name == n || name.strip_suffix(n.as_str()).is_some_and(|head| head.ends_with('.')))
}

/// Scans interpreter code for file, process, database and HTTP calls: Python and JavaScript with
/// their real parsers, the other languages with the lexer.
pub(crate) fn scan(code: &str, lang: Lang, summary: &str, ctx: &mut Ctx<'_>) {
    let Some(packs) = ctx.packs(summary) else {
        return;
    };
    let grammar = match lang {
        Lang::Python => Some(tree::Grammar::Python),
        Lang::JavaScript | Lang::Mongo => Some(tree::Grammar::JavaScript),
        _ => None,
    };
    if let Some((found, damaged)) = grammar.and_then(|g| tree::calls(code, g)) {
        let known = calls::judge(&found, lang, packs, summary, ctx);
        // Code the parser could not read in full is also scanned token by token, so that a call
        // inside a part it gave up on is not missed.
        if !damaged {
            if !known {
                ctx.op(
                    Risk::Write,
                    summary,
                    "runs code with no known file, database, HTTP or process call; it counts as a bounded write",
                );
            }
            return;
        }
    }
    lexer_scan(code, lang, packs, summary, ctx);
}

fn lexer_scan(code: &str, lang: Lang, packs: &crate::packs::Packs, summary: &str, ctx: &mut Ctx<'_>) {
    let toks = lex(code, lang);
    // `p = '.gemini/settings.json'` then `open(p, 'w')`: simple literal assignments are followed.
    let mut vars: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for w in toks.windows(4) {
        if let [Tok::Name(n), Tok::Punct('='), Tok::Str { text, dynamic: false }, next] = w {
            if !matches!(next, Tok::Punct('=')) && !n.contains('.') {
                vars.insert(n.trim_start_matches('$').to_owned(), text.clone());
            }
        }
    }
    if let [.., Tok::Name(n), Tok::Punct('='), Tok::Str { text, dynamic: false }] = toks.as_slice() {
        vars.insert(n.trim_start_matches('$').to_owned(), text.clone());
    }
    let mut matched = false;
    for (i, tok) in toks.iter().enumerate() {
        if !ctx.tick() {
            return;
        }
        match tok {
            Tok::Exec { text, dynamic } => {
                matched = true;
                shell_string(text, *dynamic, summary, ctx);
            }
            Tok::Name(name) => {
                let Some(api) = packs.apis.iter().find(|a| api_matches(a, lang, name)) else {
                    continue;
                };
                // A bare name that is not called (`os.remove` passed around, `import shutil`) is
                // not a call; Perl and Ruby call without parentheses, so any argument counts.
                // Ruby calls a method with no arguments by naming it (`Post.destroy_all`).
                let called = matches!(toks.get(i + 1), Some(Tok::Punct('(')))
                    || (matches!(lang, Lang::Perl | Lang::Ruby)
                        && matches!(toks.get(i + 1), Some(Tok::Str { .. } | Tok::Name(_))))
                    || (lang == Lang::Ruby && matches!(toks.get(i + 1), None | Some(Tok::Punct(';' | ')' | '}'))));
                if !called {
                    continue;
                }
                matched = true;
                if matches!(api.effect, ApiEffect::Command) {
                    command_document(&toks[i + 1..], packs, lang, name, summary, ctx);
                    continue;
                }
                let arg = match first_arg(&toks[i + 1..]) {
                    FirstArg::Dynamic => literal_var(&toks[i + 1..], &vars).unwrap_or(FirstArg::Dynamic),
                    other => other,
                };
                apply(api, name, arg, lang, summary, ctx);
            }
            _ => {}
        }
    }
    if !matched {
        ctx.op(
            Risk::Write,
            summary,
            "runs code with no known file, database or process call; it counts as a bounded write",
        );
    }
}

/// `runCommand({dropDatabase: 1})`: the document's first key is the operation.
fn command_document(
    after: &[Tok],
    packs: &crate::packs::Packs,
    lang: Lang,
    name: &str,
    summary: &str,
    ctx: &mut Ctx<'_>,
) {
    let op = match after {
        [Tok::Punct('('), Tok::Punct('{'), Tok::Name(op), ..] => Some(op.clone()),
        [Tok::Punct('('), Tok::Punct('{'), Tok::Str { text, dynamic: false }, ..] => Some(text.clone()),
        [Tok::Punct('('), Tok::Str { text, dynamic: false }, ..] => Some(text.clone()),
        _ => None,
    };
    let Some(op) = op else {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("{name} runs a command built at run time"),
        );
        return;
    };
    match packs
        .apis
        .iter()
        .find(|a| api_matches(a, lang, &op) && !matches!(a.effect, ApiEffect::Command))
    {
        Some(api) => {
            let risk = if matches!(api.effect, ApiEffect::Risk) {
                api.risk
            } else {
                Risk::Write
            };
            ctx.op(risk, summary, format!("{name}({op}): {}", api.reason));
        }
        None => ctx.op(
            Risk::Write,
            summary,
            format!("{name}({op}) is not a command Airlock knows; it counts as a bounded write"),
        ),
    }
}

pub(crate) fn apply(api: &Api, name: &str, arg: FirstArg, lang: Lang, summary: &str, ctx: &mut Ctx<'_>) {
    match api.effect {
        ApiEffect::Risk => {
            // Deleting a build output, a cache or the user's temp files loses nothing.
            if let (Risk::Destructive, Some(TargetKind::Path), FirstArg::Literal(p)) = (api.risk, api.target, &arg) {
                if let Some(why) = crate::regen::restorable(p, ctx) {
                    ctx.path_target(p, Risk::Write, summary);
                    ctx.op(Risk::Write, summary, format!("{name}: {why}"));
                    return;
                }
            }
            ctx.op(api.risk, summary, format!("{name}: {}", api.reason));
            if let (Some(kind), FirstArg::Literal(v) | FirstArg::List(v)) = (api.target, &arg) {
                if kind == TargetKind::Path {
                    ctx.path_target(v, api.risk, summary);
                } else {
                    ctx.target(kind, v.clone());
                }
            }
        }
        ApiEffect::Filter => match arg {
            FirstArg::Empty => ctx.op(
                Risk::Destructive,
                summary,
                format!("{name} with an empty filter matches every document"),
            ),
            _ => ctx.op(api.risk, summary, format!("{name}: {}", api.reason)),
        },
        ApiEffect::Shell => match arg {
            FirstArg::Literal(s) | FirstArg::List(s) => shell_string(&s, false, summary, ctx),
            _ => ctx.op(
                Risk::Unknown,
                summary,
                format!("{name} runs a command built at run time, which cannot be checked"),
            ),
        },
        ApiEffect::Sql => match arg {
            FirstArg::Literal(s) => {
                if ctx.enter("sql") {
                    crate::sql::classify_into(&s, ctx);
                    ctx.leave();
                }
            }
            _ => ctx.op(
                Risk::Unknown,
                summary,
                format!("{name} runs SQL built at run time, which cannot be checked"),
            ),
        },
        ApiEffect::Command | ApiEffect::Http | ApiEffect::Overwrite => {}
        ApiEffect::Code => match arg {
            FirstArg::Literal(s) => {
                if ctx.enter("eval") {
                    scan(&s, lang, summary, ctx);
                    ctx.leave();
                }
            }
            _ => ctx.op(
                Risk::Unknown,
                summary,
                format!("{name} runs code built at run time, which cannot be checked"),
            ),
        },
    }
}

fn shell_string(text: &str, dynamic: bool, summary: &str, ctx: &mut Ctx<'_>) {
    if dynamic {
        ctx.op(
            Risk::Unknown,
            summary,
            "runs a shell command built at run time, which cannot be checked",
        );
    } else {
        crate::shell::classify_nested(text, "interpreter shell call", ctx);
    }
}

/// A first argument that is a variable holding a literal (`open(p, 'w')` after `p = '...'`).
fn literal_var(toks: &[Tok], vars: &std::collections::HashMap<String, String>) -> Option<FirstArg> {
    let rest = if toks.first() == Some(&Tok::Punct('(')) {
        &toks[1..]
    } else {
        toks
    };
    match (rest.first(), rest.get(1)) {
        (Some(Tok::Name(n)), Some(Tok::Punct(',' | ')' | ';')) | None) => vars
            .get(n.trim_start_matches('$'))
            .map(|v| FirstArg::Literal(v.clone())),
        _ => None,
    }
}

/// Reads the first argument after a call's name: `(` LITERAL `,`|`)`, `([...])`, `({})`, `()`, or a
/// bare literal (Perl, Ruby).
fn first_arg(toks: &[Tok]) -> FirstArg {
    let mut rest = toks;
    let parenthesised = rest.first() == Some(&Tok::Punct('('));
    if parenthesised {
        rest = &rest[1..];
    }
    let ends_arg = |t: Option<&Tok>| match t {
        None => !parenthesised,
        Some(Tok::Punct(c)) => *c == ',' || *c == ')' || *c == ';',
        _ => false,
    };
    match rest.first() {
        Some(Tok::Punct(')')) if parenthesised => FirstArg::Empty,
        Some(Tok::Punct('{')) if rest.get(1) == Some(&Tok::Punct('}')) => FirstArg::Empty,
        Some(Tok::Str { text, dynamic: false }) if ends_arg(rest.get(1)) => FirstArg::Literal(text.clone()),
        Some(Tok::Punct('[')) => {
            let mut parts = Vec::new();
            for t in &rest[1..] {
                match t {
                    Tok::Str { text, dynamic: false } => parts.push(text.clone()),
                    Tok::Punct(',') => {}
                    Tok::Punct(']') => return FirstArg::List(parts.join(" ")),
                    _ => return FirstArg::Dynamic,
                }
            }
            FirstArg::Dynamic
        }
        _ => FirstArg::Dynamic,
    }
}
