//! `mongosh` / `mongo`: `--eval` code and script files are scanned as Mongo shell JavaScript.

use super::ClientArgs;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::interp::{scan, Lang};
use crate::shell::Stream;
use crate::{Risk, TargetKind};

const VALUE_FLAGS: [&str; 12] = [
    "--eval",
    "--file",
    "-f",
    "--host",
    "--port",
    "-u",
    "--username",
    "-p",
    "--password",
    "--authenticationDatabase",
    "--tlsCAFile",
    "--apiVersion",
];

pub(super) fn run(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &VALUE_FLAGS);
    for h in a.get(&["--host"]) {
        ctx.target(TargetKind::Host, h);
    }
    for p in a.get(&["--port"]) {
        ctx.target(TargetKind::Port, p);
    }
    let mut scripts = Vec::new();
    for p in &a.positionals {
        if p.text.contains("://") {
            crate::http::url_targets(&p.text, ctx);
        } else if p.text.ends_with(".js") {
            scripts.push((*p).clone());
        } else {
            ctx.target(TargetKind::Database, p.text.clone());
        }
    }
    scripts.extend(a.values_of(&["--file", "-f"]));
    let evals = a.values_of(&["--eval"]);
    if a.has(&["--version", "--help"]) {
        ctx.op(Risk::Read, summary, "mongosh only prints its version or help");
        return;
    }
    for code in &evals {
        if code.dynamic {
            ctx.op(
                Risk::Unknown,
                summary,
                "mongosh evaluates code that is only known at run time",
            );
        } else if ctx.enter("mongosh --eval") {
            scan(&code.text, Lang::Mongo, summary, ctx);
            ctx.leave();
        }
    }
    for s in &scripts {
        crate::shell::run_script_file(s, Some(crate::ScriptLanguage::JavaScript), summary, ctx);
    }
    if evals.is_empty() && scripts.is_empty() {
        match stdin {
            Stream::Literal(code) => {
                if ctx.enter("mongosh") {
                    scan(code, Lang::Mongo, summary, ctx);
                    ctx.leave();
                }
            }
            _ => ctx.op(
                Risk::Unknown,
                summary,
                "mongosh reads commands from its input, which Airlock cannot see; pass them with --eval",
            ),
        }
    }
}
