//! Codex `apply_patch` bodies, read as the patch format they are — never as shell text. Each file
//! operation is judged as what it does to its path: adding a file writes it (or overwrites what is
//! there), updating edits it, moving takes it away from one path and writes another, deleting
//! destroys it. Self-protection applies to every path the patch names. A body Codex would not
//! apply the same way is `unknown`: Airlock refuses what it cannot read.
//!
//! The format (Codex's grammar, with the leniency its own parser has):
//!
//! ```text
//! *** Begin Patch
//! *** Add File: PATH        then lines that start with "+"
//! *** Delete File: PATH
//! *** Update File: PATH     then an optional "*** Move to: PATH", then chunks: an "@@" line
//!                           (optional for the first chunk), lines starting with " ", "-", "+"
//!                           or empty, and an optional "*** End of File"
//! *** End Patch
//! ```
//!
//! Codex trims the whole text, trims each operation header, and also accepts the body wrapped in a
//! heredoc (`<<'EOF'` … `EOF`). Lines are read exactly as Codex reads them, because a parser that
//! disagrees about where an operation starts could be shown one `*** Delete File:` and miss another.

use serde_json::Value;

use crate::ctx::Ctx;
use crate::Risk;

const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const UPDATE: &str = "*** Update File: ";
const MOVE_TO: &str = "*** Move to: ";
const END_OF_FILE: &str = "*** End of File";
const HEREDOC_OPENERS: [&str; 3] = ["<<EOF", "<<'EOF'", "<<\"EOF\""];

/// One file operation of a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileOp {
    Add { path: String },
    Delete { path: String },
    Update { path: String, move_to: Option<String> },
}

/// Why a body is not a patch Codex would apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

/// The file operations of a patch body, in order.
pub(crate) fn parse(text: &str) -> Result<Vec<FileOp>, Malformed> {
    let lines: Vec<&str> = text.trim().lines().collect();
    let body = body_lines(&lines)?;
    let mut ops = Vec::new();
    let mut rest = body;
    while let Some(first) = rest.first() {
        let (op, used) = operation(first.trim(), &rest[1..])?;
        ops.push(op);
        rest = &rest[1 + used..];
    }
    Ok(ops)
}

/// The lines between the markers: the text itself, or the inside of a heredoc wrapper.
fn body_lines<'a>(lines: &'a [&'a str]) -> Result<&'a [&'a str], Malformed> {
    let marked = |l: &'a [&'a str]| match l {
        [first, inner @ .., last] if first.trim() == BEGIN && last.trim() == END => Some(inner),
        _ => None,
    };
    if let Some(inner) = marked(lines) {
        return Ok(inner);
    }
    if let [first, inner @ .., last] = lines {
        if HEREDOC_OPENERS.contains(first) && last.ends_with("EOF") && lines.len() >= 4 {
            if let Some(inner) = marked(inner) {
                return Ok(inner);
            }
        }
    }
    Err(Malformed(format!("it must start with {BEGIN:?} and end with {END:?}")))
}

/// Reads one operation from its (trimmed) header and the lines after it; returns it with the
/// number of lines after the header it used.
fn operation(header: &str, after: &[&str]) -> Result<(FileOp, usize), Malformed> {
    if let Some(path) = header.strip_prefix(ADD) {
        let used = after.iter().take_while(|l| l.starts_with('+')).count();
        return Ok((FileOp::Add { path: path.to_owned() }, used));
    }
    if let Some(path) = header.strip_prefix(DELETE) {
        return Ok((FileOp::Delete { path: path.to_owned() }, 0));
    }
    if let Some(path) = header.strip_prefix(UPDATE) {
        let move_to = after.first().and_then(|l| l.strip_prefix(MOVE_TO)).map(str::to_owned);
        let mut used = usize::from(move_to.is_some());
        let mut chunks = 0;
        while let Some(line) = after.get(used) {
            if line.trim().is_empty() {
                used += 1;
                continue;
            }
            if line.starts_with('*') {
                break;
            }
            used += chunk(&after[used..], chunks == 0)?;
            chunks += 1;
        }
        if chunks == 0 {
            return Err(Malformed(format!("the update of {path} changes nothing")));
        }
        return Ok((
            FileOp::Update {
                path: path.to_owned(),
                move_to,
            },
            used,
        ));
    }
    Err(Malformed(format!("{header:?} is not an operation header")))
}

/// Reads one update chunk; returns how many lines it spans.
fn chunk(lines: &[&str], first_chunk: bool) -> Result<usize, Malformed> {
    let start = match lines.first() {
        Some(&"@@") => 1,
        Some(l) if l.starts_with("@@ ") => 1,
        Some(_) if first_chunk => 0,
        other => {
            return Err(Malformed(format!(
                "a chunk must start with @@, not {:?}",
                other.unwrap_or(&"")
            )))
        }
    };
    let mut used = 0;
    for line in &lines[start..] {
        if *line == END_OF_FILE {
            if used == 0 {
                break;
            }
            used += 1;
            return Ok(start + used);
        }
        match line.chars().next() {
            None | Some(' ' | '+' | '-') => used += 1,
            Some(_) => break,
        }
    }
    if used == 0 {
        return Err(Malformed("an update chunk has no lines".into()));
    }
    Ok(start + used)
}

/// The patch text of an `apply_patch` call: the argument itself, `command`/`input`/`patch`, or
/// the second word of an `["apply_patch", PATCH]` argv.
fn patch_text(args: &Value) -> Option<&str> {
    match args {
        Value::String(s) => Some(s),
        Value::Object(map) => ["command", "input", "patch"]
            .iter()
            .find_map(|k| map.get(*k))
            .and_then(patch_text),
        Value::Array(words) if words.first().and_then(Value::as_str) == Some("apply_patch") => {
            words.get(1).and_then(Value::as_str)
        }
        _ => None,
    }
}

/// Judges an `apply_patch` tool call.
pub(crate) fn classify_tool_call(args: &Value, ctx: &mut Ctx<'_>) {
    let summary = "apply_patch";
    let Some(text) = patch_text(args) else {
        ctx.op(Risk::Unknown, summary, "apply_patch without a patch body");
        return;
    };
    match parse(text) {
        Ok(ops) if ops.is_empty() => ctx.op(Risk::Read, summary, "the patch changes no file"),
        Ok(ops) => {
            for op in &ops {
                if !ctx.tick() {
                    return;
                }
                judge(op, ctx);
            }
        }
        Err(Malformed(why)) => ctx.op(
            Risk::Unknown,
            summary,
            format!("the patch is not in apply_patch's format ({why}); Airlock refuses what it cannot read"),
        ),
    }
}

fn judge(op: &FileOp, ctx: &mut Ctx<'_>) {
    match op {
        FileOp::Add { path } => ctx.overwrite(path, false, &format!("apply_patch adds {path}")),
        FileOp::Delete { path } => {
            let summary = format!("apply_patch deletes {path}");
            let resolved = ctx.path_target(path, Risk::Write, &summary);
            ctx.op(Risk::Destructive, &summary, format!("deletes the file {resolved}"));
        }
        FileOp::Update { path, move_to: None } => {
            let summary = format!("apply_patch updates {path}");
            let resolved = ctx.path_target(path, Risk::Write, &summary);
            ctx.op(Risk::Write, &summary, format!("edits {resolved}"));
        }
        FileOp::Update {
            path,
            move_to: Some(dest),
        } => {
            let summary = format!("apply_patch moves {path} to {dest}");
            let resolved = ctx.path_target(path, Risk::Write, &summary);
            ctx.op(Risk::Write, &summary, format!("moves {resolved} away"));
            ctx.overwrite(dest, false, &summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{classify, Action, ActionKind, NoWorld, PathState, World};

    fn ops(text: &str) -> Vec<FileOp> {
        parse(text).unwrap_or_else(|e| panic!("{e:?}: {text}"))
    }

    fn judged(patch: &str) -> crate::Assessment {
        let call = serde_json::json!({"name": "apply_patch", "arguments": {"command": patch}});
        classify(
            &Action::new(ActionKind::Tool, call.to_string()).with_cwd("/w"),
            &NoWorld,
        )
    }

    #[test]
    fn every_operation_kind_is_read() {
        let text = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** Delete File: b.txt\n*** Update File: c.rs\n*** Move to: d.rs\n@@ fn f()\n-old\n+new\n*** Update File: e.rs\n keep\n+more\n*** End of File\n*** End Patch\n";
        assert_eq!(
            ops(text),
            [
                FileOp::Add { path: "a.txt".into() },
                FileOp::Delete { path: "b.txt".into() },
                FileOp::Update {
                    path: "c.rs".into(),
                    move_to: Some("d.rs".into())
                },
                FileOp::Update {
                    path: "e.rs".into(),
                    move_to: None
                },
            ]
        );
    }

    #[test]
    fn a_heredoc_wrapper_is_unwrapped_as_codex_does() {
        let text = "<<'EOF'\n*** Begin Patch\n*** Delete File: x\n*** End Patch\nEOF\n";
        assert_eq!(ops(text), [FileOp::Delete { path: "x".into() }]);
    }

    #[test]
    fn a_delete_after_an_added_file_is_seen_even_indented() {
        // Codex trims operation headers: an indented header after an Add is still an operation.
        let text =
            "*** Begin Patch\n*** Add File: notes.txt\n+<<EOF\n   *** Delete File: /w/src/main.rs\n*** End Patch";
        assert_eq!(
            ops(text)[1],
            FileOp::Delete {
                path: "/w/src/main.rs".into()
            }
        );
        assert_eq!(judged(text).risk, Risk::Destructive);
    }

    #[test]
    fn malformed_patches_are_errors() {
        for bad in [
            "",
            "rm -rf /",
            "*** Begin Patch\n*** Delete File: x",
            "*** Begin Patch\n*** Frobnicate File: x\n*** End Patch",
            "*** Begin Patch\n*** Update File: x\n*** End Patch",
            "*** Begin Patch\n*** Update File: x\n@@\n-a\n@@\n*** End Patch",
            "*** Begin Patch\n*** Update File: x\n-a\nnot a diff line\n*** End Patch",
            "*** Begin Patch\n*** Add File: x\n+a\n\n*** End Patch",
            "<<EOF\n*** Begin Patch\n*** End Patch\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be malformed");
        }
    }

    #[test]
    fn malformed_patches_are_unknown() {
        assert_eq!(judged("*** Begin Patch\nrm -rf /\n*** End Patch").risk, Risk::Unknown);
        let no_body = classify(
            &Action::new(ActionKind::Tool, r#"{"name":"apply_patch","arguments":{}}"#),
            &NoWorld,
        );
        assert_eq!(no_body.risk, Risk::Unknown);
    }

    #[test]
    fn operations_are_judged_by_what_they_do_to_their_path() {
        let update = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-a\n+b\n*** End Patch";
        let a = judged(update);
        assert_eq!(a.risk, Risk::Write);
        assert!(a.has_target(crate::TargetKind::Path, "/w/src/lib.rs"));
        let delete = "*** Begin Patch\n*** Delete File: src/lib.rs\n*** End Patch";
        assert_eq!(judged(delete).risk, Risk::Destructive);
        // Without a look at the disk, adding a file may overwrite one: the worst is assumed.
        let add = "*** Begin Patch\n*** Add File: src/new.rs\n+x\n*** End Patch";
        assert_eq!(judged(add).risk, Risk::Destructive);
    }

    struct Empty;
    impl World for Empty {
        fn path_state(&self, _: &std::path::Path) -> PathState {
            PathState::Missing
        }
    }

    #[test]
    fn adding_a_new_file_is_a_write() {
        let add = "*** Begin Patch\n*** Add File: src/new.rs\n+x\n*** End Patch";
        let call = serde_json::json!({"name": "apply_patch", "arguments": {"command": add}});
        let a = classify(&Action::new(ActionKind::Tool, call.to_string()).with_cwd("/w"), &Empty);
        assert_eq!(a.risk, Risk::Write);
    }

    #[test]
    fn every_agents_hook_settings_are_protected_in_every_operation() {
        for path in [
            ".codex/config.toml",
            "/home/u/.codex/hooks.json",
            ".claude/settings.json",
            ".claude/settings.local.json",
            ".gemini/settings.json",
            ".cursor/hooks.json",
        ] {
            for patch in [
                format!("*** Begin Patch\n*** Update File: {path}\n@@\n-a\n+b\n*** End Patch"),
                format!("*** Begin Patch\n*** Update File: src/x\n*** Move to: {path}\n@@\n-a\n+b\n*** End Patch"),
                format!("*** Begin Patch\n*** Update File: {path}\n*** Move to: elsewhere\n@@\n-a\n+b\n*** End Patch"),
            ] {
                let call = serde_json::json!({"name": "apply_patch", "arguments": {"command": patch}});
                let a = classify(&Action::new(ActionKind::Tool, call.to_string()).with_cwd("/w"), &Empty);
                assert_eq!(a.risk, Risk::Destructive, "{patch}");
            }
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::{parse, FileOp};

        fn path() -> impl Strategy<Value = String> {
            "[a-z][a-z0-9_./-]{0,20}[a-z0-9]"
        }

        fn line() -> impl Strategy<Value = String> {
            "[ -~]{0,30}"
        }

        fn op() -> impl Strategy<Value = (FileOp, String)> {
            prop_oneof![
                (path(), prop::collection::vec(line(), 0..4)).prop_map(|(p, ls)| {
                    let body: String = ls.iter().map(|l| format!("+{l}\n")).collect();
                    (FileOp::Add { path: p.clone() }, format!("*** Add File: {p}\n{body}"))
                }),
                path().prop_map(|p| (FileOp::Delete { path: p.clone() }, format!("*** Delete File: {p}\n"))),
                (path(), prop::option::of(path()), prop::collection::vec(line(), 1..4)).prop_map(|(p, m, ls)| {
                    let mv = m.as_ref().map(|m| format!("*** Move to: {m}\n")).unwrap_or_default();
                    let body: String = ls.iter().map(|l| format!("-{l}\n+{l}!\n")).collect();
                    (
                        FileOp::Update {
                            path: p.clone(),
                            move_to: m,
                        },
                        format!("*** Update File: {p}\n{mv}@@\n{body}"),
                    )
                }),
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
                let _ = parse(&text);
            }

            #[test]
            fn arbitrary_lines_between_the_markers_never_panic(lines in prop::collection::vec("[ *+@-]{0,3}[ -~]{0,12}", 0..12)) {
                let _ = parse(&format!("*** Begin Patch\n{}\n*** End Patch", lines.join("\n")));
            }

            #[test]
            fn well_formed_patches_parse_to_their_operations(ops in prop::collection::vec(op(), 0..6)) {
                let text: String = ops.iter().map(|(_, t)| t.as_str()).collect();
                let parsed = parse(&format!("*** Begin Patch\n{text}*** End Patch\n")).unwrap();
                let want: Vec<FileOp> = ops.into_iter().map(|(o, _)| o).collect();
                prop_assert_eq!(parsed, want);
            }

            /// Whatever surrounds it, a delete is either seen or the whole patch is refused.
            #[test]
            fn a_delete_is_never_lost(
                before in prop::collection::vec(op(), 0..3),
                after in prop::collection::vec(op(), 0..3),
                junk in prop::collection::vec("[ -~]{0,16}", 0..3),
                target in path(),
            ) {
                let text: String = before.iter().map(|(_, t)| t.clone())
                    .chain(junk.iter().map(|j| format!("{j}\n")))
                    .chain(std::iter::once(format!("*** Delete File: {target}\n")))
                    .chain(after.iter().map(|(_, t)| t.clone()))
                    .collect();
                if let Ok(parsed) = parse(&format!("*** Begin Patch\n{text}*** End Patch")) {
                    prop_assert!(parsed.iter().any(|o| matches!(o, FileOp::Delete { path } if *path == target)), "{:?}", parsed);
                }
            }
        }
    }
}
