//! A real system install for the boundary tests: `airlock setup` as root, real unix users for the
//! agents and the operators, the agent side run as its own user with `setpriv`. Needs root (CI
//! runs as root); everything it creates is removed when the test process exits.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub const BIN: &str = env!("CARGO_BIN_EXE_airlock");
pub const INSTALLED: &str = "/usr/local/bin/airlock";

/// A unix user the tests created.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub struct System {
    pub agent: User,
    pub other_agent: User,
    /// An operator proven by their own unix user.
    pub alice: User,
    /// An operator proven by an authenticator: their TOTP secret (the test plays their phone).
    pub bob_totp: String,
}

static SYSTEM: OnceLock<System> = OnceLock::new();
/// Held for the whole test process: test binaries that install the system service (boundary, web)
/// never run at the same time, even under a runner that starts binaries in parallel.
static MACHINE_LOCK: OnceLock<std::fs::File> = OnceLock::new();

fn lock_the_machine() {
    MACHINE_LOCK.get_or_init(|| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/run/lock/airlock-system-tests.lock")
            .or_else(|_| std::fs::File::create("/tmp/airlock-system-tests.lock"))
            .unwrap();
        // SAFETY: flock on a file descriptor this File owns.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) };
        f
    });
}
static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time touches the system install.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({:?}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `airlock ARGS` as root, with stdin.
pub fn root(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(INSTALLED)
        .args(args)
        .env_remove("AIRLOCK_CONFIG")
        .env_remove("AIRLOCK_TOKEN")
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

/// Removes a test user and everything it still runs (a killed test can leave processes behind,
/// and `userdel` refuses a user with processes).
fn remove_user(name: &str) {
    for _ in 0..3 {
        let _ = run("pkill", &["-KILL", "-u", name]);
        if run("userdel", &["-r", name]).status.success() || run("id", &[name]).status.code() != Some(0) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn make_user(name: &str) -> User {
    remove_user(name);
    ok(&run("useradd", &["--create-home", "--shell", "/bin/bash", name]));
    let home = PathBuf::from(format!("/home/{name}"));
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    let id = |flag: &str| -> u32 {
        String::from_utf8_lossy(&ok(&run("id", &[flag, name])).into_bytes())
            .trim()
            .parse()
            .unwrap()
    };
    User {
        name: name.into(),
        uid: id("-u"),
        gid: id("-g"),
        home,
    }
}

impl User {
    /// Runs a program as this user, with a clean environment (HOME, PATH, and `env`).
    pub fn cmd(&self, program: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={}", self.uid),
            &format!("--regid={}", self.gid),
            "--init-groups",
            "--",
            program,
        ])
        .args(args)
        .env_clear()
        .env("HOME", &self.home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("NO_COLOR", "1")
        .current_dir(&self.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    /// `sh -c SCRIPT` as this user.
    pub fn sh(&self, script: &str) -> Output {
        self.cmd("/bin/sh", &["-c", script], &[], None)
    }

    /// The installed `airlock` as this user.
    pub fn airlock(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.cmd(INSTALLED, args, &[], stdin)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    /// A Claude Code hook call for `command` run in `cwd`, through the installed binary.
    pub fn claude(&self, command: &str, cwd: &Path) -> (String, String, Option<String>) {
        let payload = serde_json::json!({"session_id": "t", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}});
        let out = self.airlock(&["hook", "claude-code"], Some(&payload.to_string()));
        parse_claude(&out)
    }
}

pub fn parse_claude(out: &Output) -> (String, String, Option<String>) {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let d = v["hookSpecificOutput"]["permissionDecision"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let r = v["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let id = r
        .split("(id ")
        .nth(1)
        .and_then(|x| x.split(')').next())
        .map(str::to_owned);
    (d, r, id)
}

extern "C" fn teardown() {
    let _ = Command::new(INSTALLED)
        .args(["setup", "--remove", "--purge", "--purge"])
        .output();
    for u in ["al-agent", "al-agent2", "al-alice"] {
        remove_user(u);
    }
}

/// Sets the system up once per test process: `airlock setup`, the users, two operators, and a
/// config with a production path and a checkpoint every second.
pub fn system() -> &'static System {
    SYSTEM.get_or_init(|| {
        assert!(
            is_root(),
            "the boundary tests install Airlock as a service and create unix users: run them as root (CI does)"
        );
        lock_the_machine();
        teardown();
        // SAFETY: registering a plain extern "C" function with atexit.
        unsafe { libc::atexit(teardown) };
        let agent = make_user("al-agent");
        let other_agent = make_user("al-agent2");
        let alice = make_user("al-alice");
        let setup = Command::new(BIN).args(["setup", "--no-start"]).output().unwrap();
        ok(&setup);
        let config = std::fs::read_to_string("/etc/airlock/airlock.toml").unwrap();
        let config = config
            .replace(
                "approval_ttl = \"15m\"",
                "approval_ttl = \"15m\"\ncheckpoint_every = \"1s\"\nhold_wait = \"0s\"",
            )
            .replace(
                "hosts = [\"*.prod.example.com\"]",
                &format!(
                    "hosts = [\"*.prod.example.com\"]\npaths = [\"{}\"]",
                    agent.path("prod").display()
                ),
            );
        std::fs::write("/etc/airlock/airlock.toml", config).unwrap();
        ok(&root(&["service", "start"], None));
        ok(&root(
            &["operator", "add", "alice", "--unix-user", "al-alice", "--no-totp"],
            None,
        ));
        let bob: serde_json::Value =
            serde_json::from_str(&ok(&root(&["operator", "add", "bob", "--json"], None))).unwrap();
        System {
            agent,
            other_agent,
            alice,
            bob_totp: bob["totp_secret"].as_str().unwrap().to_owned(),
        }
    })
}

/// The running server's pid (background mode: the pid file).
pub fn server_pid() -> i32 {
    std::fs::read_to_string("/run/airlock/airlock.pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
