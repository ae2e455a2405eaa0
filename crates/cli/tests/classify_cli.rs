//! The real `airlock` binary, run as a user or a hook would run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn airlock(args: &[&str], stdin: Option<&str>, cwd: Option<&PathBuf>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("the airlock binary runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("airlock-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn railway_incident_curl_is_destructive_and_names_the_volume() {
    let curl = r#"curl -X POST https://backboard.railway.app/graphql/v2 -H 'Authorization: Bearer 7f9c2ba4e88f827d61604550760585' -H 'Content-Type: application/json' -d '{"query":"mutation { volumeDelete(volumeId: \"vol_9f3\") }"}'"#;
    let out = airlock(&["classify", "shell", "--json", curl], None, None);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["risk"], "destructive");
    let targets = v["targets"].to_string();
    assert!(
        targets.contains("backboard.railway.app") && targets.contains("vol_9f3"),
        "{targets}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("7f9c2ba4e88f827d61604550760585"),
        "token leaked"
    );
}

#[test]
fn explanation_names_risk_reasons_and_targets_without_secrets() {
    let out = airlock(&["classify", "sql", "DELETE FROM users WHERE 1=1"], None, None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("DESTRUCTIVE"), "{text}");
    assert!(text.contains("always-true WHERE"), "{text}");
    assert!(text.contains("table") && text.contains("users"), "{text}");

    let out = airlock(
        &[
            "classify",
            "shell",
            "psql postgres://admin:hunter2hunter2@db.prod/shop -c 'SELECT 1'",
        ],
        None,
        None,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("READ"), "{text}");
    assert!(!text.contains("hunter2hunter2"), "{text}");
}

#[test]
fn json_lines_answer_in_order_and_survive_bad_lines() {
    let input = "{\"input\": \"rm -rf build\"}\nnot json\n{\"input\": \"ls -la\"}\n{\"input\": \"echo hi > out.txt\", \"cwd\": \"/nonexistent-airlock-dir\"}\n";
    let out = airlock(&["classify", "shell"], Some(input), None);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["risk"], "destructive");
    assert!(lines[1]["error"].as_str().unwrap().contains("line 2"));
    assert_eq!(lines[2]["risk"], "read");
    assert_eq!(
        lines[3]["risk"], "write",
        "a new file in a missing directory is a write"
    );
    for l in [&lines[0], &lines[2], &lines[3]] {
        for key in ["risk", "operations", "targets", "reasons"] {
            assert!(l.get(key).is_some(), "{key} missing from {l}");
        }
    }
}

#[test]
fn redirect_onto_an_existing_file_is_destructive_onto_a_new_one_a_write() {
    let dir = TempDir::new("redirect");
    std::fs::write(dir.0.join("existing.txt"), "data").unwrap();
    let existing = airlock(
        &["classify", "shell", "--json", "echo x > existing.txt"],
        None,
        Some(&dir.0),
    );
    assert_eq!(json(&existing)["risk"], "destructive");
    let fresh = airlock(
        &["classify", "shell", "--json", "echo x > fresh.txt"],
        None,
        Some(&dir.0),
    );
    assert_eq!(json(&fresh)["risk"], "write");
    let appended = airlock(
        &["classify", "shell", "--json", "echo x >> existing.txt"],
        None,
        Some(&dir.0),
    );
    assert_eq!(json(&appended)["risk"], "write");
}

#[test]
fn a_script_the_agent_runs_is_judged_by_its_content() {
    let dir = TempDir::new("script");
    std::fs::write(dir.0.join("cleanup.sh"), "#!/bin/sh\nrm -rf /srv/data\n").unwrap();
    std::fs::write(dir.0.join("report.sh"), "#!/bin/sh\nls -la\n").unwrap();
    let out = airlock(&["classify", "shell", "--json", "bash cleanup.sh"], None, Some(&dir.0));
    assert_eq!(json(&out)["risk"], "destructive");
    let out = airlock(&["classify", "shell", "--json", "./report.sh"], None, Some(&dir.0));
    assert_eq!(json(&out)["risk"], "read");
    let out = airlock(&["classify", "shell", "--json", "./missing.sh"], None, Some(&dir.0));
    assert_eq!(json(&out)["risk"], "write");
}

#[test]
fn http_requests_are_classified_from_raw_text_and_json() {
    let out = airlock(
        &[
            "classify",
            "http",
            "--json",
            "DELETE https://api.example.com/v1/volumes/42",
        ],
        None,
        None,
    );
    assert_eq!(json(&out)["risk"], "destructive");
    let out = airlock(
        &[
            "classify",
            "http",
            "--json",
            r#"{"method": "GET", "url": "https://api.example.com/v1/volumes"}"#,
        ],
        None,
        None,
    );
    assert_eq!(json(&out)["risk"], "read");
    let out = airlock(&["classify", "http", "--json", "not a request"], None, None);
    assert!(out.status.success());
    assert_eq!(json(&out)["risk"], "unknown");
}

#[test]
fn wrong_arguments_exit_2_with_a_message() {
    let out = airlock(&["classify", "yaml", "x"], None, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value"));
    let out = airlock(&["classify"], None, None);
    assert_eq!(out.status.code(), Some(2));
}
