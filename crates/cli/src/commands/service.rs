//! `airlock service start|stop|restart|status`: systemd when it runs; otherwise (containers, CI)
//! `serve` as the service user in the background, with a pid file only root can write.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airlock_config::{SystemPaths, SERVICE_USER};
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::cli::{JsonOnly, ServiceCommand};
use crate::commands::setup::{ensure_dir, require_root, sh, systemd_running};

pub fn run(cmd: ServiceCommand) -> Result<()> {
    match cmd {
        ServiceCommand::Start => {
            require_root("service start")?;
            if systemd_running() {
                sh("systemctl", &["start", "airlock.service"])?;
                wait_ready()?;
                println!("Started airlock.service (systemd).");
                Ok(())
            } else {
                start()
            }
        }
        ServiceCommand::Stop => {
            require_root("service stop")?;
            if systemd_running() {
                sh("systemctl", &["stop", "airlock.service"])?;
                println!("Stopped airlock.service (systemd).");
                Ok(())
            } else {
                stop_background()
            }
        }
        ServiceCommand::Restart => {
            require_root("service restart")?;
            if systemd_running() {
                sh("systemctl", &["restart", "airlock.service"])?;
                wait_ready()?;
                println!("Restarted airlock.service (systemd).");
                Ok(())
            } else {
                stop_background()?;
                start()
            }
        }
        ServiceCommand::Status(args) => status(&args),
    }
}

/// The pid in the pid file, when that process is still an airlock server run by the service user.
fn running_pid() -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(SystemPaths::PID).ok()?.trim().parse().ok()?;
    let meta = std::fs::metadata(format!("/proc/{pid}")).ok()?;
    let user = airlock_server::user_by_name(SERVICE_USER)?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let is_serve = cmdline.split(|b| *b == 0).any(|a| a == b"serve");
    (meta.uid() == user.uid && is_serve).then_some(pid)
}

/// Waits until the service answers on its socket, as itself.
pub(crate) fn wait_ready() -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        match health() {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "the service did not answer on {} within 15 s: {last} (see {})",
        SystemPaths::SOCKET,
        SystemPaths::LOG
    )
}

fn health() -> Result<()> {
    let inst = crate::context::Instance::Service {
        socket: SystemPaths::SOCKET.into(),
        user: SERVICE_USER.into(),
    };
    let c =
        crate::context::api(&inst, &crate::cli::AuthArgs { token_file: None })?.with_timeout(Duration::from_secs(2));
    let _: serde_json::Value = c.call("GET", "/v1/health", None).map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Starts `serve` as the service user, detached, with an empty environment (nothing secret in it)
/// and the one capability snapshots need.
pub(crate) fn start() -> Result<()> {
    if let Some(pid) = running_pid() {
        println!("Airlock already runs (pid {pid}).");
        return Ok(());
    }
    let user = airlock_server::user_by_name(SERVICE_USER)
        .ok_or_else(|| anyhow!("there is no user {SERVICE_USER}: run `sudo airlock setup` first"))?;
    ensure_dir(Path::new(SystemPaths::RUN), user.uid, user.gid, 0o755)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(SystemPaths::LOG)
        .with_context(|| format!("cannot open {}", SystemPaths::LOG))?;
    let child = Command::new("setpriv")
        .args([
            &format!("--reuid={}", user.uid),
            &format!("--regid={}", user.gid),
            "--init-groups",
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
            "--",
            SystemPaths::BINARY,
            "serve",
            "--config",
            SystemPaths::CONFIG,
        ])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the service with setpriv (util-linux)")?;
    std::fs::write(SystemPaths::PID, format!("{}\n", child.id()))?;
    wait_ready()?;
    println!(
        "Started Airlock as {SERVICE_USER} (pid {}), on {}; its log is {}.",
        child.id(),
        SystemPaths::SOCKET,
        SystemPaths::LOG
    );
    Ok(())
}

/// Stops the background service, if this machine runs one.
pub(crate) fn stop_background() -> Result<()> {
    let Some(pid) = running_pid() else {
        let _ = std::fs::remove_file(SystemPaths::PID);
        return Ok(());
    };
    // SAFETY: kill(2) with a pid we just checked and a valid signal number.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if Path::new(&format!("/proc/{pid}")).exists() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(SystemPaths::PID);
    let _ = std::fs::remove_file(SystemPaths::SOCKET);
    println!("Stopped Airlock (pid {pid}).");
    Ok(())
}

#[derive(Serialize)]
struct Status {
    installed: bool,
    manager: &'static str,
    running: bool,
    pid: Option<i32>,
    answers: bool,
    problem: Option<String>,
}

fn status(args: &JsonOnly) -> Result<()> {
    let installed = SystemPaths::installed();
    let manager = if systemd_running() { "systemd" } else { "background" };
    let pid = if systemd_running() { None } else { running_pid() };
    let running = if systemd_running() {
        Command::new("systemctl")
            .args(["is-active", "--quiet", "airlock.service"])
            .status()
            .is_ok_and(|s| s.success())
    } else {
        pid.is_some()
    };
    let answer = health();
    let s = Status {
        installed,
        manager,
        running,
        pid,
        answers: answer.is_ok(),
        problem: answer.err().map(|e| e.to_string()),
    };
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
    } else if !installed {
        println!("Airlock is not installed as a service here (`sudo airlock setup` installs it).");
    } else {
        println!(
            "Airlock ({manager}): {}{}; {}",
            if s.running { "running" } else { "not running" },
            s.pid.map(|p| format!(", pid {p}")).unwrap_or_default(),
            match &s.problem {
                None => format!("answers on {} as {SERVICE_USER}", SystemPaths::SOCKET),
                Some(p) => format!("does not answer: {p}"),
            }
        );
    }
    if s.answers {
        Ok(())
    } else {
        bail!("the service does not answer")
    }
}
