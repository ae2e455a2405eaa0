//! A real Airlock instance for the integration tests: a temp dir, a config, `airlock serve` on a
//! unix socket, and the binary run as users run it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_airlock");

pub struct Instance {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub server: Option<Child>,
    /// Whether dropping it removes the directory (false for a second handle from another thread).
    owned: bool,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn unique(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "airlock-cp-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

impl Instance {
    /// A new instance; `server_extra` goes into `[server]`. Held hook calls answer at once unless
    /// `server_extra` sets `hold_wait` (tests of waiting do).
    pub fn new(name: &str, server_extra: &str) -> Instance {
        let server_extra = if server_extra.contains("hold_wait") {
            server_extra.to_owned()
        } else {
            format!("hold_wait = \"0s\"\n{server_extra}")
        };
        let dir = unique(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("work/staging")).unwrap();
        std::fs::create_dir_all(dir.join("work/prod")).unwrap();
        // The instance's own directory is protected: the agent's work lives beside it, not in it.
        std::fs::create_dir_all(dir.join("airlock")).unwrap();
        let config = dir.join("airlock/airlock.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"\"\nsocket = \"airlock.sock\"\n{server_extra}\n\n[[environment]]\nname = \"production\"\nhosts = [\"*.prod.internal\"]\npaths = [\"{prod}\"]\n\n[[environment]]\nname = \"staging\"\nhosts = [\"*.staging.internal\"]\npaths = [\"{staging}\"]\n",
                prod = dir.join("work/prod").display(),
                staging = dir.join("work/staging").display()
            ),
        )
        .unwrap();
        Instance {
            dir,
            config,
            server: None,
            owned: true,
        }
    }

    /// A second handle on an instance another handle owns (to act from another thread).
    pub fn attach(dir: PathBuf, config: PathBuf) -> Instance {
        Instance {
            dir,
            config,
            server: None,
            owned: false,
        }
    }

    pub fn start(&mut self) {
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.server = Some(child);
        let socket = self.dir.join("airlock/airlock.sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("AIRLOCK_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    pub fn token(&self, agent: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["token", "create", "--agent", agent];
        args.extend_from_slice(extra);
        let out = self.run(&args, None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let path = self
            .dir
            .join(format!("{agent}-{}.token", extra.join("").replace(['-', '/'], "")));
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }

    pub fn hook(&self, agent: &str, token: &Path, payload: &Value) -> Output {
        self.run(
            &["hook", agent, "--token-file", &token.display().to_string()],
            Some(&payload.to_string()),
        )
    }

    /// Runs a command through the Claude Code hook; returns (decision, reason, approval id). A
    /// plain allow (no decision: Claude's own rules decide) comes back as "allow" with no reason.
    pub fn claude(&self, token: &Path, command: &str, cwd: &Path) -> (String, String, Option<String>) {
        let payload = json!({"session_id": "t", "transcript_path": "/dev/null", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}});
        let out = self.hook("claude-code", token, &payload);
        assert_eq!(out.status.code(), Some(0));
        // No output at all: Airlock allowed it and defers to Claude Code's own permission rules.
        if out.stdout.is_empty() {
            return ("allow".into(), String::new(), None);
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        let decision = v["hookSpecificOutput"]["permissionDecision"]
            .as_str()
            .unwrap()
            .to_owned();
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .to_owned();
        let id = reason
            .split("(id ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_owned);
        (decision, reason, id)
    }

    pub fn approve(&self, operator: &Path, id: &str) -> Output {
        self.run(&["approve", id, "--token-file", &operator.display().to_string()], None)
    }

    pub fn staging(&self) -> PathBuf {
        self.dir.join("work/staging")
    }
}
