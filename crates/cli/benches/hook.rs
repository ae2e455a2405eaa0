//! Hook latency: spawn `airlock hook claude-code` with a real Claude Code payload, against a running
//! `airlock serve`, until it prints its decision — over a mixed set of commands. Beside it, in the
//! same run, a regex-only hook of the kind people write today (Python, `re`, a deny list) answers
//! the same payloads. Prints p50 and p99 for both.
//!
//! `cargo bench -p airlock --bench hook`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 25;

const COMMANDS: &[&str] = &[
    "ls -la",
    "git status",
    "git diff HEAD~1",
    "cargo test --workspace",
    "npm install",
    "cat README.md | head -50",
    "grep -rn 'TODO' src/",
    "rm -rf build",
    "git push --force origin main",
    "psql -h db.prod.internal -d shop -c 'SELECT count(*) FROM users'",
    "psql -h db.prod.internal -d shop -c 'DROP TABLE users'",
    "curl -s https://api.example.com/v1/status",
    r#"curl -X POST https://backboard.railway.app/graphql/v2 -H 'Content-Type: application/json' -d '{"query":"mutation { volumeDelete(volumeId: \"v\") }"}'"#,
    "kubectl get pods -n prod",
    "terraform plan",
    "docker compose down -v",
    "echo cm0gLXJmIC9zcnY= | base64 -d | sh",
    "python3 -c 'import shutil; shutil.rmtree(\"dist\")'",
    "find . -name '*.pyc' -delete",
    "sed -i 's/a/b/' config.yml",
];

const REGEX_HOOK: &str = r#"#!/usr/bin/env python3
import json, re, sys
DENY = [r"\brm\s+-[a-zA-Z]*[rf]", r"DROP\s+TABLE", r"TRUNCATE", r"git\s+push\s+.*--force", r"volumeDelete", r"\|\s*(ba)?sh\b", r"-delete\b"]
data = json.load(sys.stdin)
cmd = data.get("tool_input", {}).get("command", "")
for pattern in DENY:
    if re.search(pattern, cmd, re.I):
        print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "matched " + pattern}}))
        sys.exit(0)
print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow", "permissionDecisionReason": "no match"}}))
"#;

fn time_hook(program: &Path, args: &[String], payload: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    assert!(out.stdout.starts_with(b"{"), "no decision printed");
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p50 = percentile(&samples, 0.50);
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<40} n={:<5} p50 {:>8.2} ms   p99 {:>8.2} ms",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    (p50, p99)
}

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_airlock"));
    let dir = std::env::temp_dir().join(format!("airlock-bench-hook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("airlock")).unwrap();
    std::fs::create_dir_all(dir.join("work")).unwrap();
    let config = dir.join("airlock/airlock.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"\"\nsocket = \"airlock.sock\"\n\n[[environment]]\nname = \"production\"\nhosts = [\"*.prod.internal\"]\n",
    )
    .unwrap();
    let mut server = Command::new(&bin)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !dir.join("airlock/airlock.sock").exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Command::new(&bin)
        .args(["token", "create", "--agent", "bench", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let token = dir.join("bench.token");
    std::fs::write(&token, &out.stdout).unwrap();
    let airlock_args: Vec<String> = vec![
        "hook".into(),
        "claude-code".into(),
        "--config".into(),
        config.display().to_string(),
        "--token-file".into(),
        token.display().to_string(),
    ];
    let payloads: Vec<String> = COMMANDS
        .iter()
        .map(|c| serde_json::json!({"session_id": "b", "transcript_path": "/dev/null", "cwd": dir.join("work"), "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": c}}).to_string())
        .collect();
    let regex_hook = dir.join("regex_hook.py");
    std::fs::write(&regex_hook, REGEX_HOOK).unwrap();
    // The interpreter itself, not a version-manager shim, so the peer is measured at its fastest.
    let python: PathBuf = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    let has_python = python.is_file();
    let python_args = vec!["-S".to_owned(), regex_hook.display().to_string()];

    // Warm caches, then interleave the two so that machine noise hits both alike.
    for p in &payloads {
        time_hook(&bin, &airlock_args, p);
    }
    let mut airlock = Vec::new();
    let mut regex = Vec::new();
    for _ in 0..ROUNDS {
        for p in &payloads {
            airlock.push(time_hook(&bin, &airlock_args, p));
            if has_python {
                regex.push(time_hook(&python, &python_args, p));
            }
        }
    }
    println!(
        "hook latency, spawn to decision, {} commands x {ROUNDS} rounds",
        COMMANDS.len()
    );
    let (a50, a99) = report("airlock hook claude-code (server running)", airlock);
    if has_python {
        let (r50, r99) = report("regex-only Python hook (peer)", regex);
        println!(
            "ratio airlock/peer: p50 {:.2}x, p99 {:.2}x",
            a50.as_secs_f64() / r50.as_secs_f64(),
            a99.as_secs_f64() / r99.as_secs_f64()
        );
    } else {
        println!("python3 not found: the regex-only peer was not measured");
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
