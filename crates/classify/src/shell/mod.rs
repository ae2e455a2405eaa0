//! Shell commands: parsed with a real bash parser (brush-parser) and walked in full.

mod command;
mod interp_cmd;
mod stream;
mod walk;
mod words;

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
    if bracket_depth(src) > MAX_SHELL_BRACKETS {
        return Err("it nests brackets too deeply".to_owned());
    }
    let mut parser = Parser::new(std::io::Cursor::new(src.as_bytes()), &ParserOptions::default());
    parser.parse_program().map_err(|e| e.to_string())
}

/// An upper estimate of how deeply the input nests (brackets and compound-command keywords),
/// counted cheaply so that the recursive parser is never handed input that could exhaust the stack.
fn bracket_depth(src: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut word = String::new();
    let keyword = |word: &mut String, depth: &mut usize, max: &mut usize| {
        match word.as_str() {
            "if" | "while" | "until" | "for" | "case" | "select" | "function" => {
                *depth += 1;
                *max = (*max).max(*depth);
            }
            "fi" | "done" | "esac" => *depth = depth.saturating_sub(1),
            _ => {}
        }
        word.clear();
    };
    for c in src.chars() {
        match c {
            '(' | '{' | '[' => {
                keyword(&mut word, &mut depth, &mut max);
                depth += 1;
                max = max.max(depth);
            }
            ')' | '}' | ']' => {
                keyword(&mut word, &mut depth, &mut max);
                depth = depth.saturating_sub(1);
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            _ => keyword(&mut word, &mut depth, &mut max),
        }
    }
    keyword(&mut word, &mut depth, &mut max);
    max
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
