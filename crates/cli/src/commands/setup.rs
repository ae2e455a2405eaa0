//! `airlock setup [--remove]`: the install that makes Airlock a boundary — its own unix user, a
//! root-owned binary, configuration agents cannot change, state only the service reads, and a
//! socket only the service can create. Every step is idempotent and says what it did.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use airlock_config::{SystemPaths, SERVICE_USER};
use anyhow::{anyhow, bail, Context, Result};

use crate::cli::SetupArgs;

pub(crate) fn require_root(what: &str) -> Result<()> {
    if airlock_server::current_uid() != 0 {
        bail!("{what} changes the system and must run as root: sudo airlock {what}");
    }
    Ok(())
}

/// Runs a system command, failing with its stderr.
pub(crate) fn sh(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub(crate) fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).with_context(|| format!("cannot chown {}", path.display()))
}

/// A directory with exactly this owner and mode (created when missing).
pub(crate) fn ensure_dir(path: &Path, uid: u32, gid: u32, mode: u32) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    chown(path, uid, gid)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

fn ensure_user() -> Result<airlock_server::UnixUser> {
    if let Some(u) = airlock_server::user_by_name(SERVICE_USER) {
        println!("  user {SERVICE_USER}: exists (uid {})", u.uid);
        return Ok(u);
    }
    sh(
        "useradd",
        &[
            "--system",
            "--user-group",
            "--home-dir",
            SystemPaths::DATA,
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "Airlock service",
            SERVICE_USER,
        ],
    )?;
    let u = airlock_server::user_by_name(SERVICE_USER)
        .ok_or_else(|| anyhow!("useradd succeeded but user {SERVICE_USER} is not in the user database"))?;
    println!("  user {SERVICE_USER}: created (uid {})", u.uid);
    Ok(u)
}

/// Copies this binary to the root-owned path every hook runs, atomically, when it differs.
fn install_binary() -> Result<()> {
    let me = std::env::current_exe().context("cannot find this executable")?;
    let target = Path::new(SystemPaths::BINARY);
    let new = std::fs::read(&me).with_context(|| format!("cannot read {}", me.display()))?;
    if std::fs::read(target).is_ok_and(|old| old == new) {
        println!("  {}: up to date", target.display());
    } else {
        let tmp = target.with_extension("airlock-new");
        let _ = std::fs::remove_file(&tmp);
        std::fs::write(&tmp, &new).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, target).with_context(|| format!("cannot install {}", target.display()))?;
        println!("  {}: installed", target.display());
    }
    chown(target, 0, 0)?;
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn write_config(gid: u32, admins: &[String]) -> Result<()> {
    let dir = Path::new(SystemPaths::CONFIG_DIR);
    ensure_dir(dir, 0, gid, 0o750)?;
    let config = Path::new(SystemPaths::CONFIG);
    if config.exists() {
        println!("  {}: kept as it is", config.display());
        if !admins.is_empty() {
            println!("    (--admin: edit `admins` in it yourself, then `airlock service restart`)");
        }
    } else {
        let list: Vec<String> = admins.iter().map(|a| format!("{a:?}")).collect();
        let text = SystemPaths::config_text().replace("admins = []", &format!("admins = [{}]", list.join(", ")));
        airlock_config::Config::parse(&text, dir).map_err(|e| anyhow!("the service config: {e}"))?;
        std::fs::write(config, text)?;
        println!("  {}: written", config.display());
    }
    let policy = Path::new(SystemPaths::POLICY);
    if !policy.exists() {
        std::fs::write(
            policy,
            format!(
                "{}{}",
                airlock_config::STARTER_POLICY_HEADER,
                airlock_policy::DEFAULT_POLICY
            ),
        )?;
        println!("  {}: written (the default policy)", policy.display());
    }
    for f in [config, policy] {
        chown(f, 0, gid)?;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o640))?;
    }
    Ok(())
}

/// The systemd unit: the service user, restart on failure, and a sandbox in which the only place
/// it writes is its own state directory.
pub(crate) fn unit_text() -> String {
    format!(
        "[Unit]
Description=Airlock: holds destructive agent actions until a human approves them
After=network.target

[Service]
Type=simple
User={user}
Group={user}
ExecStart={bin} serve --config {config}
Restart=on-failure
RestartSec=1
RuntimeDirectory=airlock
RuntimeDirectoryMode=0755
StateDirectory=airlock
StateDirectoryMode=0700
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths={data}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
# Snapshots read what an approved action will destroy, whoever owns it; nothing more.
AmbientCapabilities=CAP_DAC_READ_SEARCH
CapabilityBoundingSet=CAP_DAC_READ_SEARCH

[Install]
WantedBy=multi-user.target
",
        user = SERVICE_USER,
        bin = SystemPaths::BINARY,
        config = SystemPaths::CONFIG,
        data = SystemPaths::DATA,
    )
}

pub fn run(args: SetupArgs) -> Result<()> {
    require_root("setup")?;
    if args.remove {
        return remove(args.purge);
    }
    println!("Setting up Airlock as a service:");
    let user = ensure_user()?;
    install_binary()?;
    write_config(user.gid, &args.admins)?;
    ensure_dir(Path::new(SystemPaths::DATA), user.uid, user.gid, 0o700)?;
    println!("  {}: owned by {SERVICE_USER}, 0700", SystemPaths::DATA);
    ensure_dir(Path::new(SystemPaths::RUN), user.uid, user.gid, 0o755)?;
    println!(
        "  {}: owned by {SERVICE_USER}, 0755 (only it can create the socket)",
        SystemPaths::RUN
    );
    std::fs::write(SystemPaths::UNIT, unit_text())?;
    println!("  {}: written", SystemPaths::UNIT);
    if args.no_start {
        println!("Not started (--no-start): `sudo airlock service start` starts it.");
    } else if systemd_running() {
        sh("systemctl", &["daemon-reload"])?;
        sh("systemctl", &["enable", "--now", "airlock.service"])?;
        crate::commands::service::wait_ready()?;
        println!("  service: enabled and started by systemd");
    } else {
        crate::commands::service::start()?;
    }
    println!();
    println!("Next, as each user whose agents Airlock should guard:");
    println!("  airlock install claude-code      # or codex, gemini, cursor; --all for every agent found");
    println!("  airlock doctor                   # checks that the hook really guards the agent");
    println!("Enroll the people who approve (each gets an authenticator secret):");
    println!("  sudo airlock operator add alice");
    Ok(())
}

fn remove(purge: u8) -> Result<()> {
    if purge == 1 {
        bail!(
            "--purge deletes {} — every snapshot in the vault and the whole audit log. To confirm, give it twice: sudo airlock setup --remove --purge --purge",
            SystemPaths::DATA
        );
    }
    println!("Removing Airlock's service install:");
    if systemd_running() && Path::new(SystemPaths::UNIT).exists() {
        let _ = sh("systemctl", &["disable", "--now", "airlock.service"]);
    }
    crate::commands::service::stop_background()?;
    for f in [SystemPaths::UNIT, SystemPaths::BINARY] {
        if std::fs::remove_file(f).is_ok() {
            println!("  {f}: removed");
        }
    }
    if systemd_running() {
        let _ = sh("systemctl", &["daemon-reload"]);
    }
    for d in [SystemPaths::CONFIG_DIR, SystemPaths::RUN] {
        if std::fs::remove_dir_all(d).is_ok() {
            println!("  {d}: removed");
        }
    }
    if purge >= 2 {
        if std::fs::remove_dir_all(SystemPaths::DATA).is_ok() {
            println!("  {}: removed (the vault and the state)", SystemPaths::DATA);
        }
        if airlock_server::user_by_name(SERVICE_USER).is_some() {
            sh("userdel", &[SERVICE_USER])?;
            println!("  user {SERVICE_USER}: removed");
        }
    } else if Path::new(SystemPaths::DATA).exists() {
        let meta = std::fs::metadata(SystemPaths::DATA)?;
        println!(
            "  {}: kept (the vault and the state, owner uid {}); `--remove --purge --purge` deletes it",
            SystemPaths::DATA,
            meta.uid()
        );
    }
    println!("Agents' hooks that still point at {} now refuse everything (they fail closed); `airlock uninstall` removes them.", SystemPaths::BINARY);
    Ok(())
}
