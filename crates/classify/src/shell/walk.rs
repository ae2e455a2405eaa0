//! The walk over the parsed program: lists, pipelines, compound commands, redirections. Every part
//! that can run is visited, whichever branch the shell would take at run time.

use brush_parser::ast::{
    AndOr, Command, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, ExtendedTestExpr, IoFileRedirectKind,
    IoFileRedirectTarget, IoRedirect, Pipeline, Program, RedirectList, SimpleCommand,
};

use super::command;
use super::words::{expand, expand_heredoc};
use super::Stream;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::Risk;

/// Walks a program; returns what its last pipeline writes to stdout (for `$(…)` values).
pub(super) fn program(p: &Program, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    // Only the first pipeline of a script reads the script's own stdin; the rest share it in
    // reality, but treating them as reading nothing is enough to follow a piped payload.
    let mut stdin = Some(stdin);
    let mut out = Stream::Terminal;
    for list in &p.complete_commands {
        out = compound_list(list, &mut stdin, ctx);
    }
    out
}

fn compound_list(list: &CompoundList, stdin: &mut Option<Stream>, ctx: &mut Ctx<'_>) -> Stream {
    let mut out = Stream::Terminal;
    for item in &list.0 {
        let and_or = &item.0;
        out = pipeline(&and_or.first, stdin.take().unwrap_or(Stream::Terminal), ctx);
        for next in &and_or.additional {
            match next {
                AndOr::And(p) | AndOr::Or(p) => out = pipeline(p, Stream::Terminal, ctx),
            }
        }
    }
    out
}

fn body(list: &CompoundList, ctx: &mut Ctx<'_>) {
    compound_list(list, &mut None, ctx);
}

fn pipeline(p: &Pipeline, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    let mut input = stdin;
    for cmd in &p.seq {
        if !ctx.tick() {
            return Stream::Opaque;
        }
        input = command(cmd, input, ctx);
    }
    input
}

/// Runs one command of a pipeline; returns what it writes to its stdout.
fn command(cmd: &Command, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    match cmd {
        Command::Simple(s) => simple(s, stdin, ctx),
        Command::Compound(c, redirects) => {
            let stdin = redirect_list(redirects.as_ref(), stdin, ctx);
            compound(c, stdin, ctx);
            Stream::Opaque
        }
        Command::Function(f) => {
            ctx.functions.push(f.fname.value.clone());
            // A function body runs whenever the function is called: judge it where it is defined.
            compound(&f.body.0, Stream::Terminal, ctx);
            redirect_list(f.body.1.as_ref(), Stream::Terminal, ctx);
            Stream::Terminal
        }
        Command::ExtendedTest(t, redirects) => {
            redirect_list(redirects.as_ref(), Stream::Terminal, ctx);
            test_expr(&t.expr, ctx);
            ctx.op(Risk::Read, "[[ … ]]", "a test only reads");
            Stream::Terminal
        }
    }
}

fn test_expr(e: &ExtendedTestExpr, ctx: &mut Ctx<'_>) {
    match e {
        ExtendedTestExpr::And(a, b) | ExtendedTestExpr::Or(a, b) => {
            test_expr(a, ctx);
            test_expr(b, ctx);
        }
        ExtendedTestExpr::Not(a) | ExtendedTestExpr::Parenthesized(a) => test_expr(a, ctx),
        ExtendedTestExpr::UnaryTest(_, w) => {
            expand(&w.value, ctx);
        }
        ExtendedTestExpr::BinaryTest(_, a, b) => {
            expand(&a.value, ctx);
            expand(&b.value, ctx);
        }
    }
}

fn compound(c: &CompoundCommand, stdin: Stream, ctx: &mut Ctx<'_>) {
    if !ctx.enter("compound command") {
        return;
    }
    match c {
        CompoundCommand::BraceGroup(g) => {
            compound_list(&g.list, &mut Some(stdin), ctx);
        }
        CompoundCommand::Subshell(s) => {
            // A subshell's `cd` does not leak out of it.
            let saved = ctx.cwd.clone();
            let _ = compound_list(&s.list, &mut Some(stdin), ctx);
            ctx.cwd = saved;
        }
        CompoundCommand::ForClause(f) => {
            for w in f.values.iter().flatten() {
                expand(&w.value, ctx);
            }
            body(&f.body.list, ctx);
        }
        CompoundCommand::ArithmeticForClause(f) => body(&f.body.list, ctx),
        CompoundCommand::CaseClause(c) => {
            expand(&c.value.value, ctx);
            for item in &c.cases {
                if let Some(list) = &item.cmd {
                    body(list, ctx);
                }
            }
        }
        CompoundCommand::IfClause(i) => {
            body(&i.condition, ctx);
            body(&i.then, ctx);
            for e in i.elses.iter().flatten() {
                if let Some(cond) = &e.condition {
                    body(cond, ctx);
                }
                body(&e.body, ctx);
            }
        }
        CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
            body(&w.0, ctx);
            body(&w.1.list, ctx);
        }
        CompoundCommand::Arithmetic(_) => ctx.op(Risk::Read, "(( … ))", "arithmetic only computes"),
        CompoundCommand::Coprocess(c) => {
            command(&c.body, Stream::Terminal, ctx);
        }
    }
    ctx.leave();
}

fn redirect_list(list: Option<&RedirectList>, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    let mut stdin = stdin;
    for r in list.map(|l| l.0.as_slice()).unwrap_or_default() {
        if let Some(s) = redirect(r, ctx) {
            stdin = s;
        }
    }
    stdin
}

/// Applies one redirection; returns the new stdin when it replaces it.
fn redirect(r: &IoRedirect, ctx: &mut Ctx<'_>) -> Option<Stream> {
    match r {
        IoRedirect::File(fd, kind, target) => {
            let path = match target {
                IoFileRedirectTarget::Filename(w) => expand(&w.value, ctx),
                IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                    body(&sub.list, ctx);
                    return None;
                }
                IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::Duplicate(_) => return None,
            };
            let summary = format!("redirect to {}", path.text);
            match kind {
                IoFileRedirectKind::Write | IoFileRedirectKind::Clobber => {
                    ctx.overwrite(&path.text, path.dynamic || path.glob, &summary);
                    None
                }
                IoFileRedirectKind::Append | IoFileRedirectKind::ReadAndWrite => {
                    if !crate::ctx::is_sink(&path.text) {
                        let p = ctx.path_target(&path.text, Risk::Write, &summary);
                        ctx.op(Risk::Write, &summary, format!("appends to {p}"));
                    }
                    None
                }
                IoFileRedirectKind::Read => {
                    let p = ctx.path_target(&path.text, Risk::Read, &format!("read {}", path.text));
                    (fd.unwrap_or(0) == 0).then_some(if path.dynamic { Stream::Opaque } else { Stream::File(p) })
                }
                IoFileRedirectKind::DuplicateInput | IoFileRedirectKind::DuplicateOutput => None,
            }
        }
        IoRedirect::OutputAndError(w, append) => {
            let path = expand(&w.value, ctx);
            let summary = format!("redirect to {}", path.text);
            if *append {
                if !crate::ctx::is_sink(&path.text) {
                    let p = ctx.path_target(&path.text, Risk::Write, &summary);
                    ctx.op(Risk::Write, &summary, format!("appends to {p}"));
                }
            } else {
                ctx.overwrite(&path.text, path.dynamic || path.glob, &summary);
            }
            None
        }
        IoRedirect::HereDocument(fd, doc) => {
            let content = expand_heredoc(&doc.doc.value, doc.requires_expansion, ctx);
            (fd.unwrap_or(0) == 0).then_some(Stream::Literal(content.text))
        }
        IoRedirect::HereString(fd, w) => {
            let content = expand(&w.value, ctx);
            (fd.unwrap_or(0) == 0).then_some(Stream::Literal(format!("{}\n", content.text)))
        }
    }
}

fn simple(s: &SimpleCommand, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    let mut stdin = stdin;
    let mut words: Vec<Arg> = Vec::new();
    let mut assignments: Vec<(String, Arg)> = Vec::new();
    for it in s.prefix.iter().flat_map(|p| p.0.iter()) {
        item(it, true, &mut words, &mut assignments, &mut stdin, ctx);
    }
    if let Some(name) = &s.word_or_name {
        words.push(expand(&name.value, ctx));
    }
    for it in s.suffix.iter().flat_map(|p| p.0.iter()) {
        item(it, false, &mut words, &mut assignments, &mut stdin, ctx);
    }
    // Brace expansion makes several words of one (`{rm,-rf,x}`).
    if words.iter().any(|w| w.brace) {
        words = words
            .into_iter()
            .flat_map(|w| {
                if w.brace {
                    super::expansion::braces(&w.text)
                        .into_iter()
                        .map(|t| Arg {
                            text: t,
                            brace: false,
                            ..w.clone()
                        })
                        .collect::<Vec<_>>()
                } else {
                    vec![w]
                }
            })
            .collect();
    }
    // A known variable expanded unquoted becomes several words, as the shell would split it
    // (at the characters of IFS when the line set it).
    let ifs: Vec<char> = ctx
        .vars
        .get("IFS")
        .map_or_else(|| vec![' ', '\t', '\n'], |v| v.chars().collect());
    if words.iter().any(|w| w.split) {
        words = words
            .into_iter()
            .flat_map(|w| {
                if w.split {
                    w.text
                        .split(|c: char| ifs.contains(&c))
                        .filter(|t| !t.is_empty())
                        .map(|t| Arg {
                            text: t.to_owned(),
                            split: false,
                            brace: false,
                            ..w.clone()
                        })
                        .collect::<Vec<_>>()
                } else {
                    vec![w]
                }
            })
            .collect();
    }
    if words.is_empty() {
        // Only assignments and redirections (`X=1`, `> file`): their effects were recorded above.
        for (name, value) in &assignments {
            if value.text.starts_with("$(mktemp") {
                ctx.temp_vars.push(name.clone());
            }
            // An array (`cmd=(cargo test)`): its elements, for `"${cmd[@]}"`.
            if let Some(items) = value.text.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
                if !value.dynamic {
                    ctx.vars.insert(name.clone(), items.trim().to_owned());
                    continue;
                }
            }
            if value.dynamic {
                ctx.vars.remove(name);
            } else {
                ctx.vars.insert(name.clone(), value.text.clone());
            }
        }
        if assignments.is_empty() {
            ctx.op(Risk::Read, "(redirection only)", "no program runs");
        } else {
            ctx.op(Risk::Read, "(variable assignment)", "sets a shell variable");
        }
        return Stream::Terminal;
    }
    let out = command::run(&words, &assignments, stdin, ctx);
    super::written::record_redirects(s, &out, ctx);
    out
}

fn item(
    it: &CommandPrefixOrSuffixItem,
    in_prefix: bool,
    words: &mut Vec<Arg>,
    assignments: &mut Vec<(String, Arg)>,
    stdin: &mut Stream,
    ctx: &mut Ctx<'_>,
) {
    match it {
        CommandPrefixOrSuffixItem::IoRedirect(r) => {
            if let Some(s) = redirect(r, ctx) {
                *stdin = s;
            }
        }
        CommandPrefixOrSuffixItem::Word(w) => words.push(expand(&w.value, ctx)),
        // After the program name, `NAME=VALUE` is an ordinary argument (`dd of=/dev/sda`).
        CommandPrefixOrSuffixItem::AssignmentWord(_, w) if !in_prefix => words.push(expand(&w.value, ctx)),
        CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
            // `FOO=1 cmd` sets FOO for cmd only; the value may still run `$(…)`.
            let (name, value) = w.value.split_once('=').unwrap_or((w.value.as_str(), ""));
            let value = expand(value, ctx);
            assignments.push((name.to_owned(), value));
        }
        CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
            body(&sub.list, ctx);
            words.push(Arg::literal("/dev/fd/63"));
        }
    }
}
