//! The control plane end to end: a real `airlock serve` on a unix socket in a temp dir, real
//! SQLite state, the real hook path for each agent, and real approvals.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "../../vault/tests/testdata/mod.rs"]
mod testdata;

use testdata::noise;

mod harness;

use harness::{unique, Instance, BIN};

#[test]
fn every_agents_hook_format_in_and_out() {
    let mut inst = Instance::new("formats", "");
    inst.start();
    let agent = inst.token("fixture-agent", &[]);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hooks");
    let mut checked = 0;
    for agent_dir in std::fs::read_dir(&root).unwrap() {
        let agent_dir = agent_dir.unwrap().path();
        let name = agent_dir.file_name().unwrap().to_string_lossy().into_owned();
        for fixture in std::fs::read_dir(&agent_dir).unwrap() {
            let fixture = fixture.unwrap().path();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
            let expect = v["expect"].as_str().unwrap();
            let out = inst.hook(&name, &agent, &v["input"]);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            // No output, exit 0: Airlock allows and defers to the agent's own permission rules.
            let deferred = stdout.trim().is_empty() && out.status.code() == Some(0);
            let got = match name.as_str() {
                _ if deferred && name != "cursor" => "allow".to_owned(),
                "claude-code" => {
                    let o: Value = serde_json::from_str(&stdout).unwrap();
                    assert_eq!(o["hookSpecificOutput"]["hookEventName"], "PreToolUse");
                    assert!(o["hookSpecificOutput"]["permissionDecisionReason"].is_string());
                    assert_eq!(out.status.code(), Some(0));
                    o["hookSpecificOutput"]["permissionDecision"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                }
                "cursor" => {
                    let o: Value = serde_json::from_str(&stdout).unwrap();
                    if o["permission"] == "deny" {
                        assert!(o["agent_message"].is_string() && o["user_message"].is_string());
                    }
                    o["permission"].as_str().unwrap().to_owned()
                }
                "codex" => {
                    assert_eq!(out.status.code(), Some(2), "{stdout}");
                    assert!(stderr.contains("Airlock"), "{stderr}");
                    "deny".into()
                }
                "gemini" => {
                    let o: Value = serde_json::from_str(&stdout).unwrap();
                    if o["decision"] == "deny" {
                        assert!(o["reason"].as_str().unwrap().contains("Airlock"));
                    }
                    o["decision"].as_str().unwrap().to_owned()
                }
                other => panic!("unexpected fixture dir {other}"),
            };
            assert_eq!(got, expect, "{}: {stdout} {stderr}", fixture.display());
            checked += 1;
        }
    }
    assert!(checked >= 14);
}

#[test]
fn approval_lets_the_same_action_through_exactly_once() {
    let mut inst = Instance::new("once", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cmd = format!("rm -rf {}/cache", inst.staging().display());
    let (d, reason, id) = inst.claude(&agent, &cmd, &inst.staging());
    assert_eq!(d, "deny");
    assert!(
        reason.contains("airlock approve") && reason.contains("Do not look for another way"),
        "{reason}"
    );
    let id = id.unwrap();
    // Asking again before approval returns the same hold, not a new one.
    assert_eq!(
        inst.claude(&agent, &cmd, &inst.staging()).2.as_deref(),
        Some(id.as_str())
    );
    assert!(inst.approve(&alice, &id).status.success());
    assert_eq!(inst.claude(&agent, &cmd, &inst.staging()).0, "allow");
    let (d, _, again) = inst.claude(&agent, &cmd, &inst.staging());
    assert_eq!(d, "deny");
    assert_ne!(again.unwrap(), id, "a spent approval must not be reused");
}

#[test]
fn nobody_approves_their_own_action_and_agents_cannot_approve() {
    let mut inst = Instance::new("self", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let (_, _, id) = inst.claude(&agent, "rm -rf old", &inst.staging());
    let out = inst.approve(&agent, &id.unwrap());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("operator token"));
    // An operator's own request cannot be approved with the same token.
    let (_, _, own) = inst.claude(&alice, "rm -rf older", &inst.staging());
    let out = inst.approve(&alice, &own.unwrap());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("someone else must approve"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_approval_binds_to_the_command_the_directory_and_the_agent() {
    let mut inst = Instance::new("bind", "");
    inst.start();
    let claude = inst.token("claude", &[]);
    let cursor = inst.token("cursor", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cmd = "rm -rf build";
    let (_, _, id) = inst.claude(&claude, cmd, &inst.staging());
    assert!(inst.approve(&alice, &id.unwrap()).status.success());
    let other_dir = inst.dir.join("work");
    assert_eq!(
        inst.claude(&claude, "rm -rf build2", &inst.staging()).0,
        "deny",
        "changed command"
    );
    assert_eq!(inst.claude(&claude, cmd, &other_dir).0, "deny", "changed cwd");
    assert_eq!(inst.claude(&cursor, cmd, &inst.staging()).0, "deny", "changed agent");
    assert_eq!(
        inst.claude(&claude, cmd, &inst.staging()).0,
        "allow",
        "the approved one still works once"
    );
}

#[test]
fn approvals_expire() {
    let mut inst = Instance::new("expiry", "approval_ttl = \"1s\"");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let (_, _, id) = inst.claude(&agent, "rm -rf tmpdata", &inst.staging());
    assert!(inst.approve(&alice, &id.unwrap()).status.success());
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(inst.claude(&agent, "rm -rf tmpdata", &inst.staging()).0, "deny");
}

#[test]
fn production_needs_two_different_people() {
    let mut inst = Instance::new("twoperson", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let bob = inst.token("bob", &["--operator"]);
    let cmd = "psql -h db.prod.internal -d shop -c 'DROP TABLE users'";
    let (_, reason, id) = inst.claude(&agent, cmd, &inst.staging());
    assert!(reason.contains("2 different humans"), "{reason}");
    let id = id.unwrap();
    assert!(inst.approve(&alice, &id).status.success());
    assert_eq!(
        inst.claude(&agent, cmd, &inst.staging()).0,
        "deny",
        "one approval is not enough"
    );
    let twice = inst.approve(&alice, &id);
    assert!(!twice.status.success() && String::from_utf8_lossy(&twice.stderr).contains("different person"));
    assert!(inst.approve(&bob, &id).status.success());
    assert_eq!(inst.claude(&agent, cmd, &inst.staging()).0, "allow");
}

#[test]
fn a_staging_token_never_reaches_production() {
    let mut inst = Instance::new("scope", "");
    inst.start();
    let staging = inst.token("ci", &["--env", "staging"]);
    let (d, reason, _) = inst.claude(
        &staging,
        "psql -h db.prod.internal -d shop -c 'SELECT 1'",
        &inst.staging(),
    );
    assert_eq!(d, "deny");
    assert!(
        reason.contains("may reach staging only") && reason.contains("production"),
        "{reason}"
    );
    assert_eq!(
        inst.claude(
            &staging,
            "psql -h db.staging.internal -d shop -c 'SELECT 1'",
            &inst.staging()
        )
        .0,
        "allow"
    );
}

#[test]
fn a_foreign_credential_is_refused_by_kind_never_by_value() {
    let mut inst = Instance::new("cred", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    let (d, reason, _) = inst.claude(
        &agent,
        &format!("git clone https://{secret}@github.com/acme/app"),
        &inst.staging(),
    );
    assert_eq!(d, "deny");
    assert!(reason.contains("GitHub personal access token"), "{reason}");
    assert!(!reason.contains(secret));
    let log = inst.run(&["log", "--json"], None);
    assert!(
        !String::from_utf8_lossy(&log.stdout).contains(secret),
        "the secret reached the audit log"
    );
}

#[test]
fn without_a_server_the_hook_refuses() {
    let inst = Instance::new("down", "");
    let agent = inst.token("claude", &[]);
    let (d, reason, _) = inst.claude(&agent, "ls", &inst.staging());
    assert_eq!(d, "deny");
    assert!(
        reason.contains("fails closed") && reason.contains("airlock serve"),
        "{reason}"
    );
    // Garbage input is a refusal too, in the agent's format.
    let out = inst.run(
        &["hook", "cursor", "--token-file", &agent.display().to_string()],
        Some("not json"),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["permission"], "deny");
}

#[test]
fn an_edited_audit_entry_fails_verification_and_is_named() {
    let mut inst = Instance::new("audit", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    for cmd in ["ls", "rm -rf x", "git status"] {
        inst.claude(&agent, cmd, &inst.staging());
    }
    inst.stop();
    let ok = inst.run(&["log", "--verify"], None);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let db = rusqlite::Connection::open(inst.dir.join("airlock/state.db")).unwrap();
    db.execute(
        "UPDATE audit SET detail = replace(detail, 'rm -rf x', 'rm -rf y') WHERE seq = 3",
        [],
    )
    .unwrap();
    drop(db);
    let bad = inst.run(&["log", "--verify"], None);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("entry 3") && err.contains("edited"), "{err}");
}

#[test]
fn install_merges_into_existing_settings_and_is_idempotent() {
    let inst = Instance::new("install", "");
    let project = inst.dir.join("project");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    let existing = json!({"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]}, "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}]}});
    std::fs::write(project.join(".claude/settings.local.json"), existing.to_string()).unwrap();
    let p = project.display().to_string();
    assert!(inst
        .run(&["install", "claude-code", "--project", &p], None)
        .status
        .success());
    let once = std::fs::read_to_string(project.join(".claude/settings.local.json")).unwrap();
    assert!(inst
        .run(&["install", "claude-code", "--project", &p], None)
        .status
        .success());
    let twice: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join(".claude/settings.local.json")).unwrap()).unwrap();
    let once: Value = serde_json::from_str(&once).unwrap();
    assert_eq!(once["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    assert_eq!(
        twice["hooks"]["PreToolUse"].as_array().unwrap().len(),
        2,
        "installing twice adds nothing"
    );
    assert_eq!(twice["permissions"], existing["permissions"]);
    let command = twice["hooks"]["PreToolUse"][1]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        command.contains("hook claude-code") && command.contains("--token-file"),
        "{command}"
    );
    assert!(inst
        .run(&["uninstall", "claude-code", "--project", &p], None)
        .status
        .success());
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join(".claude/settings.local.json")).unwrap()).unwrap();
    assert_eq!(back, existing);
}

#[test]
fn the_incident_demo_runs_and_stops_what_it_should() {
    let out = Command::new(BIN).arg("demo").env("NO_COLOR", "1").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Summary") && text.contains("DENY") && text.contains("HELD"));
    // The database half (the harness machine has PostgreSQL): through the gateway and back.
    assert!(text.contains("touches: table public.orders: 300 rows"), "{text}");
    assert!(text.contains("verified: all 300 rows are back"), "{text}");
}

#[test]
fn policy_explain_shows_environment_decision_and_policies() {
    let inst = Instance::new("explain", "");
    let out = inst.run(
        &["policy", "explain", "sql", "DROP TABLE users", "--agent", "claude"],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("unknown") && text.contains("ASK (2 approvals)") && text.contains("destructive-in-production"),
        "{text}"
    );
    let check = inst.run(&["policy", "check"], None);
    assert!(check.status.success());
    let bad = inst.dir.join("bad.cedar");
    std::fs::write(
        &bad,
        "permit(principal, action, resource) when { resource.enviroment == \"x\" };",
    )
    .unwrap();
    let out = inst.run(&["policy", "check", &bad.display().to_string()], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("enviroment"));
}

#[test]
fn unknown_config_keys_name_the_key_and_line() {
    let inst = Instance::new("badconfig", "");
    std::fs::write(&inst.config, "[server]\nlisten = \"\"\nsoket = \"x\"\n").unwrap();
    let out = inst.run(&["token", "list"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("soket") && err.contains("line 3"), "{err}");
}

fn snapshots(inst: &Instance) -> Vec<Value> {
    let out = inst.run(&["snapshots", "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_approved_deletion_is_snapshotted_and_undone_through_the_hook_path() {
    let mut inst = Instance::new("undo", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let data = inst.staging().join("data");
    std::fs::create_dir_all(data.join("nested")).unwrap();
    std::fs::write(data.join("a.csv"), "1,2,3\n").unwrap();
    std::fs::write(data.join("nested/b.bin"), noise(300_000, 3)).unwrap();
    let cmd = format!("rm -rf {}", data.display());
    let (_, _, id) = inst.claude(&agent, &cmd, &inst.staging());
    let id = id.unwrap();
    assert!(inst.approve(&alice, &id).status.success());
    let (d, reason, _) = inst.claude(&agent, &cmd, &inst.staging());
    assert_eq!(d, "allow");
    assert!(
        reason.contains("Snapshot") && reason.contains("airlock undo"),
        "{reason}"
    );
    std::fs::remove_dir_all(&data).unwrap();
    let out = inst.run(&["undo", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(data.join("a.csv")).unwrap(), "1,2,3\n");
    assert_eq!(std::fs::read(data.join("nested/b.bin")).unwrap(), noise(300_000, 3));
    // The data is back: undoing again would clobber it, so it is refused unless forced.
    let again = inst.run(&["undo", &id], None);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(inst.run(&["undo", &id, "--force"], None).status.success());
    let check = inst.run(&["vault", "check", "--read-data"], None);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

#[test]
fn a_target_above_the_size_cap_needs_an_explicit_acknowledgement() {
    let mut inst = Instance::new("cap", "\n[vault]\nmax_snapshot_bytes = 1000");
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let big = inst.staging().join("big");
    std::fs::create_dir_all(&big).unwrap();
    std::fs::write(big.join("f"), vec![7u8; 5000]).unwrap();
    let cmd = format!("rm -rf {}", big.display());
    let (_, _, id) = inst.claude(&agent, &cmd, &inst.staging());
    let id = id.unwrap();
    let pending = inst.run(
        &["pending", "--json", "--token-file", &alice.display().to_string()],
        None,
    );
    let list: Value = serde_json::from_slice(&pending.stdout).unwrap();
    assert_eq!(list[0]["snapshot_plan"]["over_cap"][0]["bytes"], 5000, "{list}");
    let refused = inst.approve(&alice, &id);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--without-snapshot"));
    let ok = inst.run(
        &[
            "approve",
            &id,
            "--without-snapshot",
            "--token-file",
            &alice.display().to_string(),
        ],
        None,
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(inst.claude(&agent, &cmd, &inst.staging()).0, "allow");
    assert!(snapshots(&inst).is_empty());
}

fn backup_config(inst_dir_hint: &str) -> String {
    format!("\n[[resource]]\nname = \"bulk\"\nkind = \"path\"\nenvironment = \"staging\"\npath = \"{inst_dir_hint}\"\n\n[[backup]]\nresource = \"bulk\"\ninterval = \"1h\"\nkeep = {{ last = 5 }}")
}

#[test]
fn a_second_backup_of_unchanged_data_adds_under_one_percent() {
    let dir = unique("dedup-data");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3 {
        std::fs::write(dir.join(format!("f{i}")), noise(4 * 1024 * 1024, i + 11)).unwrap();
    }
    let inst = Instance::new("dedup", &backup_config(&dir.display().to_string()));
    assert!(inst.run(&["backup", "run"], None).status.success());
    assert!(inst.run(&["backup", "run", "bulk"], None).status.success());
    let snaps = snapshots(&inst);
    assert_eq!(snaps.len(), 2);
    // Both may carry the same second; the one that stored the data is the first.
    let mut stored: Vec<u64> = snaps.iter().map(|s| s["stored"].as_u64().unwrap()).collect();
    stored.sort();
    let bytes = snaps[0]["bytes"].as_u64().unwrap();
    assert!(
        stored[1] as f64 > bytes as f64 * 0.5,
        "the first backup stores the data"
    );
    assert!(
        (stored[0] as f64) < bytes as f64 * 0.01,
        "second backup stored {} of {bytes}",
        stored[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_killed_midway_leaves_a_valid_vault_and_no_listed_snapshot() {
    let dir = unique("crash-data");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..12 {
        std::fs::write(dir.join(format!("f{i}")), noise(16 * 1024 * 1024, i + 1)).unwrap();
    }
    let inst = Instance::new("crash", &backup_config(&dir.display().to_string()));
    // The vault exists before the crash (the first backup of a small resource would do the same).
    assert!(inst.run(&["vault", "check"], None).status.success());
    let mut child = Command::new(BIN)
        .args(["backup", "run", "--config"])
        .arg(&inst.config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let packs = inst.dir.join("airlock/vault/packs");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_dir(&packs).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "no pack was written");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(snapshots(&inst).is_empty(), "a partial snapshot must not be listed");
    let check = inst.run(&["vault", "check", "--read-data"], None);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    // And the next run completes and can be read back.
    assert!(inst.run(&["backup", "run"], None).status.success());
    assert_eq!(snapshots(&inst).len(), 1);
    assert!(inst.run(&["vault", "check", "--read-data"], None).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[path = "../../vault/tests/pgcluster/mod.rs"]
mod pgcluster;

#[test]
fn a_held_drop_table_is_snapshotted_and_undone_on_real_postgres() {
    let pg = pgcluster::Cluster::start("cp-undo");
    let mut c = pg.client("postgres");
    c.batch_execute("CREATE DATABASE shop").unwrap();
    let mut shop = pg.client("shop");
    shop.batch_execute("CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, meta jsonb); INSERT INTO users (email, meta) SELECT 'u' || i || '@x.io', jsonb_build_object('i', i) FROM generate_series(1, 500) i;").unwrap();
    let before: Vec<String> = shop
        .query("SELECT u::text FROM users u ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let resource = format!(
        "\n[[resource]]\nname = \"shop-db\"\nkind = \"postgres\"\nenvironment = \"production\"\nurl = \"postgres://postgres@127.0.0.1:{}/shop\"\nsecret_env = \"AIRLOCK_TEST_UNUSED_PASSWORD\"\n\n[[backup]]\nresource = \"shop-db\"\ninterval = \"1d\"",
        pg.port
    );
    std::env::set_var("AIRLOCK_TEST_UNUSED_PASSWORD", "trust-ignores-it");
    let mut inst = Instance::new("pg-undo", &resource);
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let bob = inst.token("bob", &["--operator"]);
    let cmd = format!("psql -h 127.0.0.1 -p {} -d shop -c 'DROP TABLE users'", pg.port);
    let (d, _, id) = inst.claude(&agent, &cmd, &inst.staging());
    assert_eq!(d, "deny");
    let id = id.unwrap();
    assert!(inst.approve(&alice, &id).status.success());
    assert!(inst.approve(&bob, &id).status.success());
    let (d, reason, _) = inst.claude(&agent, &cmd, &inst.staging());
    assert_eq!(d, "allow", "{reason}");
    assert!(reason.contains("Snapshot"), "{reason}");
    // The agent's psql runs the statement.
    shop.batch_execute("DROP TABLE users").unwrap();
    let out = inst.run(&["undo", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after: Vec<String> = shop
        .query("SELECT u::text FROM users u ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(after, before);
    let next: i32 = shop
        .query_one("INSERT INTO users (email) VALUES ('n@x.io') RETURNING id", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 501);
}

#[test]
fn a_failed_snapshot_keeps_the_approved_action_from_running() {
    let resource = "\n[[resource]]\nname = \"ledger\"\nkind = \"postgres\"\nenvironment = \"staging\"\nurl = \"postgres://app@ledger.staging.internal:5432/ledger\"\nsecret_env = \"AIRLOCK_TEST_SECRET_THAT_IS_NOT_SET\"";
    let mut inst = Instance::new("snapfail", resource);
    inst.start();
    let agent = inst.token("claude", &[]);
    let alice = inst.token("alice", &["--operator"]);
    let cmd = "psql -h ledger.staging.internal -d ledger -c 'TRUNCATE entries'";
    let (_, _, id) = inst.claude(&agent, cmd, &inst.staging());
    assert!(inst.approve(&alice, &id.unwrap()).status.success());
    let (d, reason, _) = inst.claude(&agent, cmd, &inst.staging());
    assert_eq!(d, "deny");
    assert!(
        reason.contains("snapshot") && reason.contains("AIRLOCK_TEST_SECRET_THAT_IS_NOT_SET"),
        "{reason}"
    );
}

/// `airlock` run as the agent's user: `home` is its HOME (and the agents' settings in it),
/// `codex_home` its CODEX_HOME, PATH without any agent CLI unless `path` says otherwise.
fn as_user(inst: &Instance, home: &std::path::Path, args: &[&str]) -> (bool, String) {
    let empty = home.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(&inst.config)
        .env("HOME", home)
        .env("CODEX_HOME", home.join("codex-home"))
        .env("PATH", format!("{}:/usr/bin:/bin", empty.display()))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn codex_install_follows_codex_home_records_hook_trust_and_says_when_a_project_is_inert() {
    let inst = Instance::new("codex-install", "");
    let home = inst.dir.join("home");
    let project = inst.dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let config = home.join("codex-home/config.toml");

    let (ok, said) = as_user(&inst, &home, &["install", "codex", "--user"]);
    assert!(ok && said.contains("Installed:"), "{said}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("hook codex") && text.contains("trusted_hash = \"sha256:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:pre_tool_use:0:0", config.display())),
        "{text}"
    );
    assert!(!home.join(".codex").exists(), "CODEX_HOME was ignored");

    let (ok, said) = as_user(
        &inst,
        &home,
        &["install", "codex", "--project", &project.display().to_string()],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("NOT ACTIVE YET")
            && said.contains("until the project is trusted")
            && said.contains("airlock install codex --user"),
        "{said}"
    );

    let (ok, said) = as_user(&inst, &home, &["uninstall", "codex", "--user"]);
    assert!(ok, "{said}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !text.contains("hook codex") && !text.contains(&format!("{}:pre_tool_use", config.display())),
        "{text}"
    );
}

#[test]
fn gemini_project_install_in_an_untrusted_folder_says_it_is_inert() {
    let inst = Instance::new("gemini-inert", "");
    let home = inst.dir.join("home");
    let project = inst.dir.join("project");
    std::fs::create_dir_all(project.join(".gemini")).unwrap();
    let original = "{\n  // the user's note\n  \"model\": {\"name\": \"gemini-pro\"}\n}\n";
    std::fs::write(project.join(".gemini/settings.json"), original).unwrap();
    let p = project.display().to_string();
    let (ok, said) = as_user(&inst, &home, &["install", "gemini", "--project", &p]);
    assert!(ok, "{said}");
    assert!(
        said.contains("NOT ACTIVE YET")
            && said.contains("trusted folder")
            && said.contains("airlock install gemini --user"),
        "{said}"
    );
    let installed = std::fs::read_to_string(project.join(".gemini/settings.json")).unwrap();
    assert!(
        installed.contains("// the user's note") && installed.contains("hook gemini"),
        "{installed}"
    );
    assert!(as_user(&inst, &home, &["uninstall", "gemini", "--project", &p]).0);
    assert_eq!(
        std::fs::read_to_string(project.join(".gemini/settings.json")).unwrap(),
        original
    );
}

#[test]
fn install_all_installs_into_every_agent_found_once_and_doctor_checks_them() {
    let inst = Instance::new("install-all", "");
    let home = inst.dir.join("home");
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    for _ in 0..2 {
        let (ok, said) = as_user(&inst, &home, &["install", "--all", "--user"]);
        assert!(ok, "{said}");
        assert!(
            said.contains("No codex on this machine") && said.contains("No cursor on this machine"),
            "{said}"
        );
    }
    let claude: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(claude["hooks"]["PreToolUse"].as_array().unwrap().len(), 1, "{claude}");
    let gemini = std::fs::read_to_string(home.join(".gemini/settings.json")).unwrap();
    assert_eq!(gemini.matches("hook gemini").count(), 1, "{gemini}");
    assert!(!home.join("codex-home").exists() && !home.join(".cursor").exists());

    // A hand-weakened Gemini hook (timeout below the hold wait) is reported, with the fix.
    std::fs::write(home.join(".gemini/settings.json"), gemini.replace("300000", "5000")).unwrap();
    let (_, said) = as_user(
        &inst,
        &home,
        &["doctor", "--json", "--project", &inst.dir.display().to_string()],
    );
    let json_line = said
        .lines()
        .find(|l| l.starts_with('['))
        .unwrap_or_else(|| panic!("{said}"));
    let checks: Vec<Value> = serde_json::from_str(json_line).unwrap();
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {said}"))
            .clone()
    };
    // On a machine with a service install (the boundary tests make one), a hook that runs any
    // binary but the root-owned one is reported; otherwise Claude Code's hook is in order.
    let claude = check("claude-code");
    assert!(
        claude["ok"] == true || claude["detail"].as_str().unwrap().contains("root-owned"),
        "{said}"
    );
    assert!(
        check("codex")["detail"]
            .as_str()
            .unwrap()
            .contains("not on this machine"),
        "{said}"
    );
    assert_eq!(check("codex")["ok"], true);
    let g = check("gemini");
    assert_eq!(g["ok"], false, "{said}");
    assert!(g["detail"].as_str().unwrap().contains("timeout"), "{said}");
}

/// A closed pipe ends a command quietly (SIGPIPE), never with a panic.
#[test]
fn closed_pipes_end_commands_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut inst = Instance::new("pipes", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    for i in 0..5 {
        inst.claude(&agent, &format!("ls {i}"), &inst.staging());
    }
    for args in [&["log"][..], &["snapshots"], &["log", "--json"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&inst.config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc_sigpipe()),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

fn libc_sigpipe() -> i32 {
    13
}

/// A server that takes the call and never answers is a refusal, given before the agent's own
/// hook timeout (an agent that times a hook out lets the action through).
#[test]
fn a_server_that_never_answers_is_a_refusal_in_time() {
    let inst = Instance::new("silent", "");
    let agent = inst.token("codex", &[]);
    let socket = inst.dir.join("airlock/airlock.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let held = std::thread::spawn(move || listener.accept().map(|(conn, _)| conn));
    let payload =
        json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": "/"});
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["hook", "codex", "--token-file"])
        .arg(&agent)
        .arg("--config")
        .arg(&inst.config)
        .env("AIRLOCK_HOOK_DEADLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(payload.to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refused (Airlock fails closed)"), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    drop(held);
}
