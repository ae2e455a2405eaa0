//! The real agent CLIs end to end: Claude Code 2.1.332, Codex 0.171.0 and Gemini CLI 0.61.0 from
//! npm (pinned, cached outside the repository), each run headless through scripted tool calls
//! against a real `airlock serve` with Airlock's hook put in place by `airlock install`. Every
//! check is by the effect on disk: a directory that still exists, a file that was or was not
//! written.
//!
//! The model APIs these CLIs talk to belong to third parties this machine cannot reach; a local
//! stand-in (`agents/standin.py`) answers in their formats with the scripted tool calls.

use std::path::Path;

use serde_json::{json, Value};

mod harness;

#[path = "agents/support.rs"]
mod support;

use support::{Cli, World};

fn dir_with_a_file(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::write(path.join("keep.txt"), "precious\n").unwrap();
}

fn shell(command: String) -> Value {
    json!({ "shell": command })
}

/// The arguments that let each agent run tools without asking anyone (the runs are headless):
/// what stops an action here is Airlock alone.
fn autonomous(cli: Cli) -> &'static [&'static str] {
    match cli {
        Cli::Claude => &["--dangerously-skip-permissions"],
        Cli::Codex | Cli::Gemini => &[],
    }
}

/// A command that deletes a directory tree. Codex refuses `rm -rf` on its own ("rm -f style
/// commands are not permitted"), which would hide what Airlock does, so it gets `find -delete`.
fn destroy(cli: Cli, dir: &Path) -> String {
    match cli {
        Cli::Codex => format!("find {} -delete", dir.display()),
        Cli::Claude | Cli::Gemini => format!("rm -rf {}", dir.display()),
    }
}

/// A destructive command is held and never runs while an everyday command runs; once a human
/// approves, the same command runs once; the next time it is held again.
/// `prepare` sets up the project before Airlock is installed.
fn destructive_is_held_everyday_runs_approval_lets_it_through_once(cli: Cli, prepare: impl FnOnce(&Path)) -> World {
    let mut w = World::new(&format!("{cli:?}-hold").to_lowercase(), cli, "");
    prepare(&w.project);
    let report = w.install();
    assert!(report.contains("Installed:"), "{report}");
    let data = w.project.join("node_modules");
    let out = w.project.join("out");
    dir_with_a_file(&data);
    std::fs::create_dir_all(&out).unwrap();
    let rm = shell(destroy(cli, &data));
    let everyday = shell(format!("touch {}/everyday", out.display()));

    let first = w.run(json!([rm, everyday, {"final": "FINAL"}]), autonomous(cli));
    assert!(
        data.join("keep.txt").exists(),
        "the destructive command ran:\n{}",
        first.show()
    );
    assert!(
        first.said("airlock approve"),
        "the agent was not told how to get approval:\n{}",
        first.show()
    );
    assert!(
        out.join("everyday").exists(),
        "the everyday command did not run:\n{}",
        first.show()
    );

    let id = w.held_id();
    w.approve(&id);
    let second = w.run(json!([rm, {"final": "FINAL"}]), autonomous(cli));
    assert!(!data.exists(), "the approved command did not run:\n{}", second.show());

    dir_with_a_file(&data);
    let third = w.run(json!([rm, {"final": "FINAL"}]), autonomous(cli));
    assert!(
        data.join("keep.txt").exists(),
        "an approval was used twice:\n{}",
        third.show()
    );
    w
}

/// With the server stopped, and then with the hook's binary gone, the agent's tool call is
/// blocked, not let through.
fn a_failing_airlock_blocks(cli: Cli) {
    let mut w = World::new(&format!("{cli:?}-fail").to_lowercase(), cli, "");
    let copy = w.inst.dir.join("bin/airlock");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(harness::BIN, &copy).unwrap();
    w.install_with(&copy);
    let out = w.project.join("out");
    std::fs::create_dir_all(&out).unwrap();

    w.inst.stop();
    let down = w.run(
        json!([shell(format!("touch {}/while-down", out.display())), {"final": "FINAL"}]),
        autonomous(cli),
    );
    assert!(
        !out.join("while-down").exists(),
        "ran with the server stopped:\n{}",
        down.show()
    );

    w.inst.start();
    std::fs::remove_file(&copy).unwrap();
    let missing = w.run(
        json!([shell(format!("touch {}/binary-missing", out.display())), {"final": "FINAL"}]),
        autonomous(cli),
    );
    assert!(
        !out.join("binary-missing").exists(),
        "ran with the hook binary missing:\n{}",
        missing.show()
    );
}

#[test]
fn claude_code_holds_runs_and_approves_once() {
    destructive_is_held_everyday_runs_approval_lets_it_through_once(Cli::Claude, |_| {});
}

#[test]
fn claude_code_blocks_when_airlock_fails() {
    a_failing_airlock_blocks(Cli::Claude);
}

/// Airlock allowing an action does not switch off Claude Code's own permission prompt: a write
/// outside the project, which Claude asks about (and in `-p` refuses), stays unwritten although
/// Airlock allowed it — unless `[hooks] allowed = "allow"` grants it, as the control run shows.
#[test]
fn claude_codes_own_permission_prompt_still_applies() {
    let written = |w: &mut World, name: &str| -> (bool, String) {
        let target = w.inst.staging().join(name);
        let run = w.run(
            json!([{"write": {"path": target, "content": "hello\n"}}, {"final": "FINAL"}]),
            &[],
        );
        (target.exists(), run.show())
    };
    let mut deferring = World::new("claude-defer", Cli::Claude, "");
    deferring.install();
    let (was, shown) = written(&mut deferring, "outside.txt");
    assert!(
        !was,
        "Airlock's allow bypassed Claude Code's permission prompt:\n{shown}"
    );
    let log = String::from_utf8_lossy(&deferring.airlock(&["log", "--json"]).stdout).into_owned();
    assert!(
        log.lines()
            .any(|l| l.contains("outside.txt") && l.contains("\"decision\":\"allow\"")),
        "Airlock did not see and allow the write, so the check proves nothing:\n{log}"
    );

    let mut granting = World::new("claude-grant", Cli::Claude, "\n[hooks]\nallowed = \"allow\"");
    granting.install();
    let (was, shown) = written(&mut granting, "outside.txt");
    assert!(
        was,
        "with [hooks] allowed = \"allow\" the write should go through:\n{shown}"
    );
}

#[test]
fn codex_holds_runs_and_approves_once() {
    destructive_is_held_everyday_runs_approval_lets_it_through_once(Cli::Codex, |_| {});
}

#[test]
fn codex_blocks_when_airlock_fails() {
    a_failing_airlock_blocks(Cli::Codex);
}

/// Codex edits files with `apply_patch`: an edit of a source file goes through, one of the
/// project's `.codex/config.toml` (where Airlock's hook lives) is refused.
#[test]
fn codex_apply_patch_edits_source_but_not_its_hook_settings() {
    let mut w = World::new("codex-patch", Cli::Codex, "");
    w.install();
    let src = w.project.join("src/lib.rs");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, "hello\n").unwrap();
    let settings = w.project.join(".codex/config.toml");
    let before = std::fs::read_to_string(&settings).unwrap();
    assert!(before.contains("timeout = 300"), "{before}");
    let run = w.run(
        json!([
            {"edit": {"path": src, "old": "hello", "new": "goodbye"}},
            {"edit": {"path": settings, "old": "timeout = 300", "new": "timeout = 1"}},
            {"final": "FINAL"}
        ]),
        &[],
    );
    assert_eq!(std::fs::read_to_string(&src).unwrap(), "goodbye\n", "{}", run.show());
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        before,
        "the hook settings were edited:\n{}",
        run.show()
    );
    assert!(run.said("Airlock refused"), "{}", run.show());
}

/// The Gemini runs are the slow ones (3–12 s each): one test holds, runs, approves once, and
/// checks that a settings file with comments survives install and uninstall.
#[test]
fn gemini_holds_runs_approves_once_and_keeps_settings_comments() {
    let original = "// project settings, with comments\n{\n  /* keep this */\n  \"context\": {\"fileName\": \"NOTES.md\"} // and this\n}\n";
    let w = destructive_is_held_everyday_runs_approval_lets_it_through_once(Cli::Gemini, |project| {
        std::fs::create_dir_all(project.join(".gemini")).unwrap();
        std::fs::write(project.join(".gemini/settings.json"), original).unwrap();
    });
    let settings = w.project.join(".gemini/settings.json");
    let out = w.airlock(&["uninstall", "gemini", "--project", &w.project.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(settings).unwrap(), original);
}

#[test]
fn gemini_blocks_when_airlock_fails() {
    a_failing_airlock_blocks(Cli::Gemini);
}
