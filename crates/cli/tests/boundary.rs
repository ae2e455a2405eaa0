//! Airlock installed as a service, attacked by an agent that runs as another unix user and does
//! everything its user can: read files, signal processes, bind sockets, copy binaries, edit
//! settings, present every credential it can find. The boundary is the operating system; each test
//! names the attack it tries. Needs root (CI runs as root).

mod system;

use std::time::{Duration, Instant};

use system::{ok, root, serial, server_pid, system, INSTALLED};

fn denied(out: &std::process::Output) -> bool {
    !out.status.success()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn service_state_keys_secrets_and_config_are_out_of_the_agents_reach() {
    let s = system();
    let _g = serial();
    ok(&root(&["secret", "set", "shop-db"], Some("hunter2-not-for-agents\n")));
    let meta = std::fs::metadata("/var/lib/airlock/secrets/shop-db").unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    for path in [
        "/var/lib/airlock/state.db",
        "/var/lib/airlock/vault.key",
        "/var/lib/airlock/audit.key",
        "/var/lib/airlock/secrets/shop-db",
        "/etc/airlock/airlock.toml",
    ] {
        let out = s.agent.sh(&format!("cat {path}"));
        assert!(denied(&out), "the agent read {path}");
        assert!(stderr(&out).contains("Permission denied"), "{path}: {}", stderr(&out));
    }
    for attack in [
        "ls /var/lib/airlock",
        "rm -rf /var/lib/airlock/vault",
        "truncate -s 0 /var/lib/airlock/state.db",
        "echo 'permit(principal, action, resource);' >> /etc/airlock/policy.cedar",
        "cat /proc/$(cat /run/airlock/airlock.pid)/environ",
        "cat /proc/$(cat /run/airlock/airlock.pid)/mem",
    ] {
        assert!(denied(&s.agent.sh(attack)), "the agent could: {attack}");
    }
    // The secret is in no log and in no answer.
    let log = std::fs::read_to_string("/var/log/airlock.log").unwrap_or_default();
    assert!(!log.contains("hunter2"));
    let audit = ok(&root(&["log", "--json"], None));
    assert!(audit.contains("secret.set") && !audit.contains("hunter2"));
    let listed = ok(&root(&["secret", "list"], None));
    assert!(listed.contains("shop-db") && !listed.contains("hunter2"));
    // And the agent cannot store or list secrets itself.
    assert!(denied(&s.agent.airlock(&["secret", "set", "x"], Some("y"))));
    assert!(denied(&s.agent.airlock(&["secret", "list"], None)));
}

#[test]
fn another_agents_token_is_unreadable_and_useless_to_this_agent() {
    let s = system();
    let _g = serial();
    let token = ok(&root(
        &["token", "create", "--agent", "claude", "--unix-user", "al-agent2"],
        None,
    ));
    let dir = s.other_agent.path(".config/airlock");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, &token).unwrap();
    std::os::unix::fs::chown(&dir, Some(s.other_agent.uid), Some(s.other_agent.gid)).unwrap();
    std::os::unix::fs::chown(&file, Some(s.other_agent.uid), Some(s.other_agent.gid)).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    assert!(denied(&s.agent.sh(&format!("cat {}", file.display()))));
    // Even handed the token, this agent cannot present it: it is bound to the other unix user.
    let payload = serde_json::json!({"cwd": s.agent.home, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}});
    let out = s.agent.cmd(
        INSTALLED,
        &["hook", "claude-code"],
        &[("AIRLOCK_TOKEN", token.trim())],
        Some(&payload.to_string()),
    );
    let (d, reason, _) = system::parse_claude(&out);
    assert_eq!(d, "deny");
    assert!(reason.contains("belongs to unix user al-agent2"), "{reason}");
}

#[test]
fn the_agent_cannot_stop_pause_or_impersonate_the_server() {
    let s = system();
    let _g = serial();
    let pid = server_pid();
    for sig in ["-TERM", "-KILL", "-STOP"] {
        let out = s.agent.sh(&format!("kill {sig} {pid}"));
        assert!(denied(&out), "kill {sig} worked");
    }
    // `fuser -k` (where psmisc is installed) signals the socket's owner: the same EPERM.
    let _ = s.agent.sh("fuser -k /run/airlock/airlock.sock");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the server died"
    );
    // Nobody else can put a socket (or anything) where the hook looks.
    for attack in [
        "rm -f /run/airlock/airlock.sock",
        "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/run/airlock/fake.sock')\"",
        "touch /run/airlock/x",
    ] {
        assert!(denied(&s.agent.sh(attack)), "the agent could: {attack}");
    }
    // A fake server that allows everything, where the agent can bind, with every setting an agent
    // controls pointing at it: the hook still asks the real service, which holds the deletion.
    let fake = s.agent.path("fake.sock");
    let server = FAKE_SERVER.replace("SOCKET", &fake.display().to_string());
    std::fs::write(s.agent.path("fake.py"), server).unwrap();
    let _fake_server = KillOnDrop(
        std::process::Command::new("setpriv")
            .args([
                &format!("--reuid={}", s.agent.uid),
                &format!("--regid={}", s.agent.gid),
                "--init-groups",
                "/usr/bin/python3",
            ])
            .arg(s.agent.path("fake.py"))
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let local = format!("[server]\nlisten = \"\"\nsocket = \"{}\"\n", fake.display());
    let service = format!(
        "[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"{}\"\n",
        fake.display()
    );
    std::fs::write(s.agent.path("airlock.toml"), &local).unwrap();
    std::fs::write(s.agent.path("svc.toml"), &service).unwrap();
    std::fs::create_dir_all(s.agent.path("proj/data")).unwrap();
    ok(&run_chown(&s.agent));
    let rm = format!("rm -rf {}", s.agent.path("proj/data").display());
    let payload = serde_json::json!({"cwd": s.agent.home, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": rm}});
    let out = s.agent.cmd(
        INSTALLED,
        &["hook", "claude-code"],
        &[("AIRLOCK_CONFIG", &s.agent.path("airlock.toml").display().to_string())],
        Some(&payload.to_string()),
    );
    let (d, reason, _) = system::parse_claude(&out);
    assert_eq!(d, "deny", "{reason}");
    assert!(
        reason.contains("held this action"),
        "the real service must have answered: {reason}"
    );
    // Named explicitly as a service's config, the fake socket is refused: its peer is not `airlock`.
    let out = s.agent.cmd(
        INSTALLED,
        &[
            "hook",
            "claude-code",
            "--config",
            &s.agent.path("svc.toml").display().to_string(),
        ],
        &[],
        Some(&payload.to_string()),
    );
    let (d, reason, _) = system::parse_claude(&out);
    assert_eq!(d, "deny");
    assert!(reason.contains("not by Airlock's service user"), "{reason}");
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server that answers every request "allow", as an agent would write one.
const FAKE_SERVER: &str = r#"
import socket
s = socket.socket(socket.AF_UNIX)
s.bind('SOCKET')
s.listen(8)
body = b'{"id":"x","decision":"allow","risk":"read","summary":"","reasons":[],"environments":[],"approvals_needed":0,"approvals":0,"snapshot":false,"message":"fake"}'
while True:
    c, _ = s.accept()
    try:
        c.recv(65536)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n\r\n' + body)
    except OSError:
        pass
    c.close()
"#;

fn run_chown(u: &system::User) -> std::process::Output {
    system::run(
        "chown",
        &["-R", &format!("{}:{}", u.uid, u.gid), &u.home.display().to_string()],
    )
}

#[test]
fn the_installed_binary_cannot_be_replaced_moved_or_disabled() {
    let s = system();
    let _g = serial();
    for attack in [
        "cp /bin/true /usr/local/bin/airlock",
        "mv /usr/local/bin/airlock /tmp/airlock-moved",
        "chmod -x /usr/local/bin/airlock",
        "ln -sf /bin/true /usr/local/bin/airlock",
        "rm -f /usr/local/bin/airlock",
    ] {
        assert!(denied(&s.agent.sh(attack)), "the agent could: {attack}");
    }
    let meta = std::fs::metadata(INSTALLED).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o755
    );
}

#[test]
fn a_copy_of_the_binary_gains_no_power() {
    let s = system();
    let _g = serial();
    ok(&s
        .agent
        .sh("cp /usr/local/bin/airlock ~/al && ln -sf /usr/local/bin/airlock ~/al2"));
    for (args, why) in [
        (vec!["token", "create", "--agent", "me", "--operator"], "administrator"),
        (
            vec!["token", "create", "--agent", "me", "--unix-user", "al-agent2"],
            "for itself only",
        ),
        (vec!["token", "list"], "administrator"),
        (vec!["operator", "add", "evil"], "administrator"),
        (
            vec!["operator", "add", "evil", "--unix-user", "al-agent"],
            "administrator",
        ),
        (vec!["secret", "list"], "administrator"),
        (vec!["service", "stop"], "root"),
        (vec!["setup", "--remove"], "root"),
        (vec!["install", "claude-code", "--system"], "root"),
        (vec!["vault", "prune", "--keep-last", "0"], "administrator"),
    ] {
        for copy in ["/home/al-agent/al", "/home/al-agent/al2"] {
            let out = s.agent.cmd(copy, &args, &[], None);
            assert!(denied(&out), "{copy} {args:?} worked");
            assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        }
    }
    // Its own agent token, bound to its own user, is all it may get.
    let out = s.agent.cmd(
        "/home/al-agent/al",
        &["token", "create", "--agent", "claude"],
        &[],
        None,
    );
    let tok = ok(&out);
    assert!(tok.starts_with("alk_"), "{tok}");
    assert!(stderr(&out).contains("al-agent"));
}

#[test]
fn an_approval_needs_proof_no_agent_can_produce() {
    let s = system();
    let _g = serial();
    let data = s.agent.path("proj/precious");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("orders.csv"), "1,widget\n2,gadget\n").unwrap();
    ok(&run_chown(&s.agent));
    let cmd = format!("rm -rf {}", data.display());
    let (d, reason, id) = s.agent.claude(&cmd, &s.agent.home);
    assert_eq!(d, "deny");
    let id = id.unwrap_or_else(|| panic!("not held: {reason}"));
    // Everything the agent's user can present is refused.
    let out = s.agent.airlock(&["approve", &id], None);
    assert!(
        denied(&out) && stderr(&out).contains("cannot approve"),
        "{}",
        stderr(&out)
    );
    let out = s
        .agent
        .airlock(&["approve", &id, "--totp", "123456", "--as", "bob"], None);
    assert!(denied(&out), "a guessed code approved");
    let op_token = ok(&root(&["token", "create", "--agent", "ops", "--operator"], None));
    let out = s.agent.cmd(
        INSTALLED,
        &["approve", &id],
        &[("AIRLOCK_TOKEN", op_token.trim())],
        None,
    );
    assert!(denied(&out), "an operator token approved in service mode");
    let out = s.agent.cmd(
        INSTALLED,
        &["approve", &id, "--as", "alice", "--totp", ""],
        &[],
        Some("000000\n"),
    );
    assert!(denied(&out));
    // Alice, on her own unix user, approves; the retry runs once, after a snapshot.
    ok(&s.alice.airlock(&["approve", &id, "--reason", "cleanup is fine"], None));
    let (d, reason, _) = s.agent.claude(&cmd, &s.agent.home);
    assert_eq!(d, "allow", "{reason}");
    ok(&s.agent.sh(&cmd));
    assert!(!data.exists());
    assert_eq!(
        s.agent.claude(&cmd, &s.agent.home).0,
        "deny",
        "an approval is good once"
    );
    // Root undoes it: the files come back, owned by the agent's user again.
    ok(&root(&["undo", &id], None));
    assert_eq!(
        std::fs::read_to_string(data.join("orders.csv")).unwrap(),
        "1,widget\n2,gadget\n"
    );
    let meta = std::fs::metadata(data.join("orders.csv")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), s.agent.uid);
    // The solo case: the human types their authenticator's code in a terminal that runs as the
    // agent's own user. The code proves them; the same code never works twice.
    let other = s.agent.path("proj/other");
    std::fs::create_dir_all(&other).unwrap();
    ok(&run_chown(&s.agent));
    let cmd2 = format!("rm -rf {}", other.display());
    let (_, _, id2) = s.agent.claude(&cmd2, &s.agent.home);
    let id2 = id2.unwrap();
    let code = airlock_server::totp_code_at(&s.bob_totp, airlock_server::now()).unwrap();
    ok(&s
        .agent
        .airlock(&["approve", &id2, "--totp", &code, "--as", "bob"], None));
    assert_eq!(s.agent.claude(&cmd2, &s.agent.home).0, "allow");
    let cmd3 = format!("rm -rf {}/x", other.display());
    let (_, _, id3) = s.agent.claude(&cmd3, &s.agent.home);
    let out = s
        .agent
        .airlock(&["approve", &id3.unwrap(), "--totp", &code, "--as", "bob"], None);
    assert!(
        denied(&out) && stderr(&out).contains("already used"),
        "{}",
        stderr(&out)
    );
    let log = ok(&root(&["log", "--json", "--action", &id], None));
    assert!(log.contains("unix:al-alice") && log.contains("action.undone"), "{log}");
}

#[test]
fn every_agents_hook_refuses_when_the_service_is_down() {
    let s = system();
    let _g = serial();
    ok(&root(&["service", "stop"], None));
    let cwd = s.agent.home.display().to_string();
    let claude = serde_json::json!({"cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}});
    let gemini = serde_json::json!({"cwd": cwd, "hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {"command": "ls"}});
    let cursor = serde_json::json!({"hook_event_name": "beforeShellExecution", "command": "ls", "cwd": cwd});
    let results = [
        ("claude-code", claude.clone()),
        ("codex", claude),
        ("gemini", gemini),
        ("cursor", cursor),
    ]
    .map(|(agent, payload)| (agent, s.agent.airlock(&["hook", agent], Some(&payload.to_string()))));
    ok(&root(&["service", "start"], None));
    for (agent, out) in results {
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &stderr(&out);
        let blocked = match agent {
            "codex" => out.status.code() == Some(2) && !stderr(&out).is_empty(),
            "gemini" => text.contains("\"decision\":\"deny\""),
            "cursor" => text.contains("\"permission\":\"deny\""),
            _ => text.contains("\"permissionDecision\":\"deny\""),
        };
        assert!(blocked, "{agent} was not refused with the server down: {text}");
        assert!(text.contains("fails closed"), "{agent}: {text}");
    }
    // The command written into settings blocks even when the binary cannot run at all.
    let wrapped = "/nonexistent/airlock hook codex || { echo 'Airlock: the hook failed' >&2; exit 2; }";
    let out = s.agent.sh(wrapped);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).is_empty());
}

#[test]
fn the_audit_log_detects_a_rewrite_without_the_key_and_a_truncation() {
    let _s = system();
    let _g = serial();
    ok(&root(&["log", "--verify"], None));
    // Let the service seal a checkpoint of the current head, then stop it and tamper as root.
    std::thread::sleep(Duration::from_secs(3));
    ok(&root(&["service", "stop"], None));
    let db = "/var/lib/airlock/state.db";
    let backup = "/var/lib/airlock/state.db.test-copy";
    // Fold the write-ahead log into the file first, so that the file alone is the whole state.
    ok(&system::run(
        "python3",
        &[
            "-c",
            "import sqlite3; sqlite3.connect('/var/lib/airlock/state.db').execute('PRAGMA wal_checkpoint(TRUNCATE)')",
        ],
    ));
    std::fs::copy(db, backup).unwrap();
    // 1. Rewrite: remove two entries and recompute every later link without the key.
    let rewrite = r#"
import sqlite3, hashlib, json, struct
db = sqlite3.connect('/var/lib/airlock/state.db')
db.execute('DELETE FROM audit WHERE seq IN (2, 3)')
rows = db.execute('SELECT seq, at, kind, action_id, detail FROM audit ORDER BY seq').fetchall()
db.execute('UPDATE audit SET seq = -seq')
prev = '0' * 64
for i, (seq, at, kind, action, detail) in enumerate(rows, 1):
    h = hashlib.sha256()
    for p in [prev, str(i), str(at), kind, action or '', detail]:
        b = p.encode(); h.update(struct.pack('>Q', len(b))); h.update(b)
    new = h.hexdigest()
    db.execute('UPDATE audit SET seq=?, prev_hash=?, hash=? WHERE seq=?', (i, prev, new, -seq))
    prev = new
db.commit()
"#;
    ok(&system::run("python3", &["-c", rewrite]));
    ok(&root(&["service", "start"], None));
    let out = root(&["log", "--verify"], None);
    assert!(denied(&out), "a rewritten chain verified");
    assert!(
        stderr(&out).contains("rewritten without the key") || stderr(&out).contains("edited"),
        "{}",
        stderr(&out)
    );
    ok(&root(&["service", "stop"], None));
    // 2. Truncation: the newest entries cut off leave a valid prefix; the checkpoint sees it.
    std::fs::copy(backup, db).unwrap();
    ok(&system::run(
        "python3",
        &["-c", "import sqlite3; db=sqlite3.connect('/var/lib/airlock/state.db'); n=db.execute('SELECT max(seq) FROM audit').fetchone()[0]; db.execute('DELETE FROM audit WHERE seq > ?', (n - 3,)); db.commit()"],
    ));
    ok(&root(&["service", "start"], None));
    let out = root(&["log", "--verify"], None);
    assert!(denied(&out), "a truncated chain verified");
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    ok(&root(&["service", "stop"], None));
    std::fs::copy(backup, db).unwrap();
    std::fs::remove_file(backup).unwrap();
    ok(&root(&["service", "start"], None));
    ok(&root(&["log", "--verify"], None));
}

#[test]
fn the_doctor_checks_the_install_and_names_what_is_wrong() {
    let s = system();
    let _g = serial();
    ok(&s.agent.airlock(&["install", "claude-code", "--user"], None));
    let out = s.agent.airlock(&["doctor", "--json"], None);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let failed: Vec<&serde_json::Value> = checks
        .as_array()
        .map(|a| a.iter().filter(|c| c["ok"] == false).collect())
        .unwrap_or_default();
    assert!(out.status.success(), "doctor failed for the agent: {failed:?}");
    let text = checks.to_string();
    assert!(
        text.contains("answers on /run/airlock/airlock.sock as airlock"),
        "{text}"
    );
    assert!(text.contains("claude-code"), "{text}");
    // A key others can read: root's doctor names it and exits non-zero.
    let key = "/var/lib/airlock/audit.key";
    let mode = |m: u32| std::fs::set_permissions(key, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    mode(0o644);
    let out = root(&["doctor"], None);
    mode(0o600);
    assert!(denied(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit.key has mode 644"), "{text}");
    ok(&s.agent.airlock(&["uninstall", "claude-code", "--user"], None));
}
