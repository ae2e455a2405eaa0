//! `redis-cli`: the command it sends is judged by the `redis` rule pack.

use super::ClientArgs;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::shell::Stream;
use crate::{Risk, TargetKind};

const VALUE_FLAGS: [&str; 16] = [
    "-h",
    "-p",
    "-s",
    "-a",
    "-u",
    "-n",
    "-r",
    "-i",
    "-d",
    "-D",
    "--user",
    "--pass",
    "--pattern",
    "--count",
    "--rdb",
    "--eval",
];

pub(super) fn run(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &VALUE_FLAGS);
    for h in a.get(&["-h"]) {
        ctx.target(TargetKind::Host, h);
    }
    for p in a.get(&["-p"]) {
        ctx.target(TargetKind::Port, p);
    }
    for n in a.get(&["-n"]) {
        ctx.target(TargetKind::Database, n);
    }
    for u in a.get(&["-u"]) {
        crate::http::url_targets(&u, ctx);
    }
    if !a.get(&["--eval"]).is_empty() {
        ctx.op(
            Risk::Unknown,
            summary,
            "runs a Lua script on the Redis server, which can do anything",
        );
        return;
    }
    if a.has(&[
        "--scan",
        "--bigkeys",
        "--memkeys",
        "--hotkeys",
        "--stat",
        "--latency",
        "--version",
        "-v",
    ]) {
        ctx.op(Risk::Read, summary, "redis-cli only inspects the server");
        return;
    }
    if a.has(&["--pipe"]) || a.positionals.is_empty() {
        match stdin {
            Stream::Literal(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let words: Vec<Arg> = line.split_whitespace().map(Arg::literal).collect();
                    command(&words.iter().collect::<Vec<_>>(), line, ctx);
                }
            }
            _ => ctx.op(
                Risk::Unknown,
                summary,
                "redis-cli reads commands from its input, which Airlock cannot see",
            ),
        }
        return;
    }
    command(&a.positionals.iter().collect::<Vec<_>>(), summary, ctx);
}

/// `CONFIG SET save ""` or `CONFIG SET appendonly no`: persistence off, a safeguard removed.
fn persistence_off(words: &[&Arg]) -> Option<&'static str> {
    let w = |i: usize| words.get(i).map(|a| a.text.to_ascii_lowercase());
    if w(0)? != "config" || w(1)? != "set" {
        return None;
    }
    match (w(2)?.as_str(), w(3).unwrap_or_default().trim()) {
        ("save", "") => Some("CONFIG SET save \"\" switches snapshots off: a restart loses the data"),
        ("appendonly", "no") => Some("CONFIG SET appendonly no switches the append-only log off"),
        _ => None,
    }
}

fn command(words: &[&Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let Some(first) = words.first() else {
        return;
    };
    if first.dynamic {
        ctx.op(Risk::Unknown, summary, "the Redis command is only known at run time");
        return;
    }
    let Some(packs) = ctx.packs(summary) else {
        return;
    };
    let name = first.text.to_ascii_lowercase();
    if let Some(why) = persistence_off(words) {
        ctx.op(Risk::Destructive, summary, why);
        return;
    }
    let two = words.get(1).map(|w| format!("{name} {}", w.text.to_ascii_lowercase()));
    let rule = two
        .as_ref()
        .and_then(|t| packs.redis_commands.get(t))
        .or_else(|| packs.redis_commands.get(&name));
    // A delete of keys chosen at run time (`… | xargs redis-cli DEL`) is not a bounded one.
    let keys_unknown = words.len() < 2 || words[1..].iter().any(|w| w.dynamic || w.text.contains('*'));
    if let Some(k) = rule.filter(|k| k.risk == Risk::Write && k.reason.starts_with("deletes") && keys_unknown) {
        ctx.op(
            Risk::Destructive,
            summary,
            format!(
                "{}: {}, and the keys are only known at run time",
                first.text.to_ascii_uppercase(),
                k.reason
            ),
        );
        return;
    }
    match rule {
        Some(k) => ctx.op(
            k.risk,
            summary,
            format!("{}: {}", first.text.to_ascii_uppercase(), k.reason),
        ),
        None => ctx.op(
            Risk::Write,
            summary,
            format!(
                "{} is not a Redis command Airlock knows; it counts as a bounded write",
                first.text
            ),
        ),
    }
}
