//! The humans' side, end to end against a real `airlock serve`: a held hook that waits for the
//! decision, approvals bound to evidence (a directory swapped for a link, a script rewritten),
//! standing grants, and a policy that reloads when its file changes.

mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::Instance;
use serde_json::Value;

fn pending_id(inst: &Instance, op: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = inst.run(&["pending", "--json", "--token-file", &op.display().to_string()], None);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(id) = list[0]["id"].as_str() {
            return id.to_owned();
        }
        assert!(Instant::now() < deadline, "nothing was held");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn action(inst: &Instance, op: &Path, id: &str) -> Value {
    let out = inst.run(&["log", "--json", "--action", id], None);
    assert!(out.status.success());
    let _ = op;
    Value::Array(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    )
}

#[test]
fn a_held_hook_waits_for_the_decision_and_runs_once_approved() {
    let mut inst = Instance::new("wait", "hold_wait = \"30s\"");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cache = inst.staging().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("a"), "x").unwrap();
    let cmd = format!("rm -rf {}", cache.display());
    // The agent's hook call pauses while a human looks.
    let waiting = {
        let (inst_dir, config, agent, cmd, cwd) = (
            inst.dir.clone(),
            inst.config.clone(),
            agent.clone(),
            cmd.clone(),
            inst.staging(),
        );
        std::thread::spawn(move || {
            let started = Instant::now();
            let inst = Instance::attach(inst_dir, config);
            let answer = inst.claude(&agent, &cmd, &cwd);
            (answer, started.elapsed())
        })
    };
    let id = pending_id(&inst, &alice);
    std::thread::sleep(Duration::from_millis(300));
    let approved_at = Instant::now();
    assert!(inst.approve(&alice, &id).status.success());
    let ((decision, reason, _), waited) = waiting.join().unwrap();
    let after_approval = approved_at.elapsed();
    assert_eq!(decision, "allow", "{reason}");
    assert!(reason.contains("Approved by alice"), "{reason}");
    assert!(
        waited > Duration::from_millis(300),
        "the hook did not wait ({waited:?})"
    );
    assert!(
        after_approval < Duration::from_secs(2),
        "the hook took {after_approval:?} after the approval"
    );
    let log = action(&inst, &alice, &id).to_string();
    assert!(
        log.contains("action.snapshotted") && log.contains("action.consumed"),
        "{log}"
    );
    // Once: the same command asks again.
    assert_eq!(inst.claude(&agent, &cmd, &inst.staging()).0, "deny");
}

#[test]
fn a_held_hook_hears_a_refusal_and_a_silence() {
    let mut inst = Instance::new("refuse", "hold_wait = \"3s\"");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cmd = format!("rm -rf {}/logs", inst.staging().display());
    let waiting = {
        let (d, c, a, cmd, cwd) = (
            inst.dir.clone(),
            inst.config.clone(),
            agent.clone(),
            cmd.clone(),
            inst.staging(),
        );
        std::thread::spawn(move || Instance::attach(d, c).claude(&a, &cmd, &cwd))
    };
    let id = pending_id(&inst, &alice);
    let out = inst.run(
        &[
            "deny",
            &id,
            "--reason",
            "not today",
            "--token-file",
            &alice.display().to_string(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (d, reason, _) = waiting.join().unwrap();
    assert_eq!(d, "deny");
    assert!(
        reason.contains("A human refused") && reason.contains("not today"),
        "{reason}"
    );
    // Nobody answers: after hold_wait the hook says it is held, with the id, as before.
    let started = Instant::now();
    let (d, reason, id2) = inst.claude(
        &agent,
        &format!("rm -rf {}/tmp2", inst.staging().display()),
        &inst.staging(),
    );
    assert_eq!(d, "deny");
    assert!(started.elapsed() >= Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(
        reason.contains("No one decided within 3 s") && id2.is_some(),
        "{reason}"
    );
}

#[test]
fn an_approval_does_not_cover_a_directory_swapped_for_a_link() {
    let mut inst = Instance::new("swap", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let bob = inst.token("bob", &["--operator"]);
    let build = inst.staging().join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("out.o"), "object").unwrap();
    let prod = inst.dir.join("work/prod/data");
    std::fs::create_dir_all(&prod).unwrap();
    std::fs::write(prod.join("orders.csv"), "precious").unwrap();
    let cmd = "rm -rf build/*";
    let (_, _, id) = inst.claude(&agent, cmd, &inst.staging());
    let id = id.unwrap();
    assert!(inst.approve(&alice, &id).status.success());
    // Between the approval and the retry, build becomes a link to production data.
    std::fs::remove_dir_all(&build).unwrap();
    std::os::unix::fs::symlink(&prod, &build).unwrap();
    let (d, reason, id2) = inst.claude(&agent, cmd, &inst.staging());
    assert_eq!(d, "deny", "the swapped target ran on the old approval: {reason}");
    assert!(
        reason.contains("changed since it was approved") && reason.contains("symbolic link"),
        "{reason}"
    );
    let id2 = id2.unwrap();
    assert_ne!(id2, id);
    assert!(reason.contains("production"), "the real target is production: {reason}");
    assert!(reason.contains("2 different humans"), "{reason}");
    assert_eq!(std::fs::read_to_string(prod.join("orders.csv")).unwrap(), "precious");
    // Approved again by two people, the snapshot copies the real data, not the link.
    assert!(inst.approve(&alice, &id2).status.success());
    assert!(inst.approve(&bob, &id2).status.success());
    assert_eq!(inst.claude(&agent, cmd, &inst.staging()).0, "allow");
    let snaps: Value = serde_json::from_slice(&inst.run(&["snapshots", "--json"], None).stdout).unwrap();
    let origins: Vec<&str> = snaps
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["origin"].as_str())
        .collect();
    assert!(
        origins.iter().any(|o| Path::new(o) == prod.canonicalize().unwrap()),
        "the snapshot must be of {}: {origins:?}",
        prod.display()
    );
}

#[test]
fn an_approval_does_not_cover_a_rewritten_script() {
    let mut inst = Instance::new("script", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let script = inst.staging().join("cleanup.sh");
    std::fs::write(&script, "rm -rf ./old-logs\n").unwrap();
    let (_, _, id) = inst.claude(&agent, "bash cleanup.sh", &inst.staging());
    let id = id.expect("a destructive script is held");
    assert!(inst.approve(&alice, &id).status.success());
    std::fs::write(&script, "rm -rf ./old-logs ./src\n").unwrap();
    let (d, reason, id2) = inst.claude(&agent, "bash cleanup.sh", &inst.staging());
    assert_eq!(d, "deny");
    assert!(
        reason.contains("changed since it was approved") && reason.contains("cleanup.sh"),
        "{reason}"
    );
    assert!(id2.is_some_and(|i| i != id));
    let log = action(&inst, &alice, &id).to_string();
    assert!(log.contains("action.evidence_changed"), "{log}");
}

#[test]
fn a_standing_grant_lets_the_same_action_through_for_its_window_only() {
    let mut inst = Instance::new("grant", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cmd = "rm -rf ./tmp-cache";
    let (_, _, id) = inst.claude(&agent, cmd, &inst.staging());
    let id = id.unwrap();
    let out = inst.run(
        &[
            "approve",
            &id,
            "--for",
            "4s",
            "--token-file",
            &alice.display().to_string(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        inst.claude(&agent, cmd, &inst.staging()).0,
        "allow",
        "the approval itself"
    );
    let (d, reason, _) = inst.claude(&agent, cmd, &inst.staging());
    assert_eq!(d, "allow", "{reason}");
    assert!(reason.contains("under grant"), "{reason}");
    assert_eq!(inst.claude(&agent, cmd, &inst.staging()).0, "allow");
    // Another command, or another agent, is not covered.
    assert_eq!(inst.claude(&agent, "rm -rf ./other", &inst.staging()).0, "deny");
    let other = inst.token("codex", &[]);
    assert_eq!(inst.claude(&other, cmd, &inst.staging()).0, "deny");
    let listed = inst.run(
        &["grants", "--json", "--token-file", &alice.display().to_string()],
        None,
    );
    let grants: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(grants[0]["live"], true, "{grants}");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(inst.claude(&agent, cmd, &inst.staging()).0, "deny", "the window ended");
}

#[test]
fn an_edited_policy_takes_effect_and_a_broken_one_is_refused() {
    let mut inst = Instance::new("reload", "policy = \"policy.cedar\"");
    let policy = inst.dir.join("airlock/policy.cedar");
    std::fs::write(&policy, airlock_policy::DEFAULT_POLICY).unwrap();
    inst.start();
    let agent = inst.token("claude", &[]);
    assert_eq!(inst.claude(&agent, "rm -rf ./target-old", &inst.staging()).0, "deny");
    let exception = format!(
        "{}\n@id(\"clean-builds\")\n@exception(\"build outputs regenerate\")\npermit (principal, action == Action::\"destroy\", resource)\nwhen {{ resource.environment == \"staging\" && context.summary like \"rm -rf ./target-old*\" }};\n",
        airlock_policy::DEFAULT_POLICY
    );
    std::fs::write(&policy, &exception).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // An allowed action is answered with silence (Claude Code's own rules then apply).
        let (d, reason, _) = inst.claude(&agent, "rm -rf ./target-old", &inst.staging());
        if d == "allow" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edited policy did not take effect: {reason}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // A broken edit: refused, the exception stays in force, and the log says why.
    std::fs::write(&policy, format!("{exception}\npermit (principal action resource);\n")).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(inst.claude(&agent, "rm -rf ./target-old", &inst.staging()).0, "allow");
    let log = String::from_utf8_lossy(&inst.run(&["log", "--json"], None).stdout).into_owned();
    assert!(log.contains("policy.refused") && log.contains("line "), "{log}");
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The class: commands that discard a working tree's uncommitted files (clean, reset --hard, a
/// discarding checkout) name no path, yet what they destroy must be snapshotted or shown.
#[test]
fn discarded_uncommitted_work_is_snapshotted_and_undone() {
    let mut inst = Instance::new("worktree", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let repo = inst.staging().join("app");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(repo.join(".gitignore"), ".env\n").unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "first"]);
    std::fs::write(repo.join(".env"), "API_KEY=only-copy\n").unwrap();
    std::fs::create_dir_all(repo.join("notes")).unwrap();
    std::fs::write(repo.join("notes/plan.md"), "untracked work\n").unwrap();
    std::fs::write(repo.join("src/main.rs"), "fn main() { println!(\"edited\"); }\n").unwrap();

    let cmd = "git reset --hard && git clean -fdx";
    let (d, reason, id) = inst.claude(&agent, cmd, &repo);
    assert_eq!(d, "deny", "{reason}");
    let id = id.unwrap();
    let pending = inst.run(&["pending", "--token-file", &alice.display().to_string()], None);
    let text = String::from_utf8_lossy(&pending.stdout).into_owned();
    assert!(
        text.contains("snapshot first")
            && text.contains(".env")
            && text.contains("notes")
            && text.contains("src/main.rs"),
        "the approver must see what will be copied: {text}"
    );
    assert!(!text.contains("NOT RECOVERABLE"), "{text}");
    assert!(inst.approve(&alice, &id).status.success());
    assert_eq!(inst.claude(&agent, cmd, &repo).0, "allow");
    git(&repo, &["reset", "--hard", "-q"]);
    git(&repo, &["clean", "-fdxq"]);
    assert!(!repo.join(".env").exists() && !repo.join("notes").exists());

    let undo = inst.run(&["undo", &id], None);
    assert!(undo.status.success(), "{}", String::from_utf8_lossy(&undo.stderr));
    assert_eq!(
        std::fs::read_to_string(repo.join(".env")).unwrap(),
        "API_KEY=only-copy\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("notes/plan.md")).unwrap(),
        "untracked work\n"
    );
    assert!(std::fs::read_to_string(repo.join("src/main.rs"))
        .unwrap()
        .contains("edited"));
}

#[test]
fn what_no_snapshot_can_copy_is_shown_as_not_recoverable() {
    let mut inst = Instance::new("volumes", "\n[vault]\nmax_snapshot_bytes = 1000");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let repo = inst.staging().join("svc");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("small.txt"), "keep me\n").unwrap();
    std::fs::write(repo.join("large.bin"), vec![7u8; 5000]).unwrap();
    let (_, _, id) = inst.claude(&agent, "docker compose down -v && git clean -fd", &repo);
    assert!(id.is_some());
    let pending = inst.run(&["pending", "--token-file", &alice.display().to_string()], None);
    let text = String::from_utf8_lossy(&pending.stdout).into_owned();
    assert!(
        text.contains("NOT RECOVERABLE: volume:every volume of the compose project"),
        "{text}"
    );
    assert!(text.contains("NOT RECOVERABLE") && text.contains("large.bin"), "{text}");
    assert!(text.contains("small.txt"), "the small file still fits: {text}");
}

fn post_waiting(socket: &Path, token: &str, body: &Value) -> String {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let request = format!(
        "POST /v1/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The class: waiting holds must not each take a thread, or a few hundred waiting agents would
/// stop the server answering anyone.
#[test]
fn hundreds_of_held_hooks_wait_at_once_and_the_server_keeps_answering() {
    const WAITERS: usize = 300;
    let mut inst = Instance::new("many", "hold_wait = \"6s\"");
    inst.start();
    let token = std::fs::read_to_string(inst.token("claude", &[])).unwrap();
    let socket = inst.dir.join("airlock/airlock.sock");
    let staging = inst.staging();
    let started = Instant::now();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let (socket, token) = (socket.clone(), token.trim().to_owned());
            let body = serde_json::json!({"kind": "shell", "input": format!("rm -rf ./data{i}"), "cwd": staging, "source": "test", "wait": true});
            std::thread::spawn(move || (post_waiting(&socket, &token, &body), Instant::now()))
        })
        .collect();
    // While they all wait, an everyday action is still decided at once.
    std::thread::sleep(Duration::from_secs(2));
    let other = inst.token("other", &[]);
    let asked = Instant::now();
    assert_eq!(inst.claude(&other, "ls -la", &staging).0, "allow");
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "an everyday action waited behind the holds (as long as hold_wait): {:?}",
        asked.elapsed()
    );
    let mut answered = 0;
    for w in waiters {
        let (reply, at) = w.join().unwrap();
        assert!(reply.contains("\"decision\":\"ask\""), "{reply}");
        // Each waited out hold_wait: it was really held open, not answered at once.
        assert!(
            at.duration_since(started) >= Duration::from_secs(6),
            "answered after {:?}",
            at - started
        );
        answered += 1;
    }
    assert_eq!(answered, WAITERS);
    // All waited side by side: one after another would take 300 × 6 s.
    assert!(started.elapsed() < Duration::from_secs(120), "{:?}", started.elapsed());
}
