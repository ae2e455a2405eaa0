//! Shell commands: parsed with a real bash parser (brush-parser) and walked in full.

mod command;
mod config_code;
mod consoles;
mod expansion;
mod help;
mod interp_cmd;
mod plain;
mod powershell;
mod stream;
mod tasks;
mod walk;
mod words;
mod written;

use brush_parser::{Parser, ParserOptions};

use crate::ctx::Ctx;
use crate::limits::MAX_SHELL_BRACKETS;
use crate::Risk;

pub(crate) use stream::{feed, Stream};

/// Classifies a whole shell command line into `ctx`.
pub(crate) fn classify(src: &str, ctx: &mut Ctx<'_>) {
    classify_with_stdin(src, Stream::Terminal, ctx);
}

/// Classifies a shell command line nested in another (`bash -c`, `eval`, `$(…)`, `ssh host CMD`).
pub(crate) fn classify_nested(src: &str, what: &str, ctx: &mut Ctx<'_>) {
    if ctx.enter(what) {
        classify_with_stdin(src, Stream::Terminal, ctx);
        ctx.leave();
    }
}

/// Classifies shell text that a shell reads from its standard input.
pub(crate) fn classify_with_stdin(src: &str, stdin: Stream, ctx: &mut Ctx<'_>) {
    capture(src, stdin, ctx);
}

/// Classifies a command substitution and returns its output when that is known text
/// (`$(echo cm0g… | base64 -d)` is `rm …`), so the word it stands in can be judged by value.
pub(crate) fn classify_capture(src: &str, ctx: &mut Ctx<'_>) -> Option<String> {
    if !ctx.enter("command substitution") {
        return None;
    }
    let out = capture(src, Stream::Terminal, ctx);
    ctx.leave();
    match out {
        Stream::Literal(text) => Some(text.trim_end_matches('\n').to_owned()),
        _ => None,
    }
}

fn capture(src: &str, stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    if !ctx.charge_parse(src.len()) {
        return Stream::Opaque;
    }
    match parse(src) {
        Ok(program) => walk::program(&program, stdin, ctx),
        Err(why) => {
            ctx.op(
                Risk::Unknown,
                src,
                format!("the shell command could not be parsed ({why}); Airlock refuses what it cannot read"),
            );
            Stream::Opaque
        }
    }
}

fn parse(src: &str) -> Result<brush_parser::ast::Program, String> {
    if let Some(program) = plain::program(src) {
        return Ok(program);
    }
    parse_general(src)
}

fn parse_general(src: &str) -> Result<brush_parser::ast::Program, String> {
    if crate::nesting::shell_depth(src) > MAX_SHELL_BRACKETS {
        return Err("it nests too deeply".to_owned());
    }
    let mut parser = Parser::new(std::io::Cursor::new(src.as_bytes()), &ParserOptions::default());
    parser.parse_program().map_err(|e| e.to_string())
}

/// Runs a script file named by another classifier (`\i file.sql`, `.read x.sql`).
pub(crate) fn run_script_file(
    script: &crate::arg::Arg,
    lang: Option<crate::ScriptLanguage>,
    summary: &str,
    ctx: &mut Ctx<'_>,
) {
    command::run_script(script, lang, summary, ctx);
}
