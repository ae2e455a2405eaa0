//! `airlock doctor`: does Airlock really guard this user's agents? Each check says what it found
//! and, when it fails, what to do. Exits non-zero when any check fails.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use airlock_config::{SystemPaths, SERVICE_USER};
use serde::Serialize;

use crate::cli::DoctorArgs;

/// One finding.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Whether a path is owned by `uid`, has exactly `mode`, and (for the binary) every directory above
/// it is root-owned and not writable by others, so nobody else can replace it.
fn owned(path: &Path, uid: u32, mode: u32) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", path.display()));
    }
    if meta.uid() != uid {
        return Err(format!("{} is owned by uid {}, not {uid}", path.display(), meta.uid()));
    }
    let m = meta.permissions().mode() & 0o7777;
    if m != mode {
        return Err(format!("{} has mode {m:o}, not {mode:o}", path.display()));
    }
    Ok(())
}

fn parents_root_only(path: &Path) -> Result<(), String> {
    for dir in path.ancestors().skip(1) {
        let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if meta.uid() != 0 || meta.permissions().mode() & 0o022 != 0 {
            return Err(format!("{} can be changed by someone other than root", dir.display()));
        }
    }
    Ok(())
}

/// As root (only root can look inside the data directory): the keys, the state and every secret are
/// the service's alone.
fn private_files(uid: u32) -> Vec<Check> {
    let data = Path::new(SystemPaths::DATA);
    let mut files = vec![data.join("state.db"), data.join("audit.key"), data.join("vault.key")];
    if let Ok(entries) = std::fs::read_dir(data.join("secrets")) {
        files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
    }
    files
        .into_iter()
        .filter(|f| f.exists())
        .map(|f| match owned(&f, uid, 0o600) {
            Ok(()) => Check::pass("private file", format!("{}: {SERVICE_USER}'s, 0600", f.display())),
            Err(e) => Check::fail("private file", e, format!("chown {SERVICE_USER} and chmod 600 it")),
        })
        .collect()
}

fn service_checks() -> Vec<Check> {
    let mut out = Vec::new();
    if !SystemPaths::installed() {
        out.push(Check::fail(
            "install",
            "Airlock is not installed as a service on this machine, so it is not a boundary: an agent running as your user can reach an unprivileged instance's files",
            "sudo airlock setup",
        ));
        return out;
    }
    let Some(user) = airlock_server::user_by_name(SERVICE_USER) else {
        out.push(Check::fail(
            "service user",
            format!("there is no unix user {SERVICE_USER}"),
            "sudo airlock setup",
        ));
        return out;
    };
    let bin = Path::new(SystemPaths::BINARY);
    out.push(match owned(bin, 0, 0o755).and_then(|()| parents_root_only(bin)) {
        Ok(()) => Check::pass(
            "binary",
            format!("{} is root's, 0755, in root-only directories", bin.display()),
        ),
        Err(e) => Check::fail("binary", e, "sudo airlock setup (reinstalls it root-owned)"),
    });
    for (path, uid, mode, what) in [
        (SystemPaths::CONFIG_DIR, 0, 0o750, "configuration"),
        (SystemPaths::DATA, user.uid, 0o700, "state, vault, keys and secrets"),
        (SystemPaths::RUN, user.uid, 0o755, "the socket's directory"),
    ] {
        out.push(match owned(Path::new(path), uid, mode) {
            Ok(()) => Check::pass(what, format!("{path}: owner and mode as they must be")),
            Err(e) => Check::fail(what, e, "sudo airlock setup"),
        });
    }
    if airlock_server::current_uid() == 0 {
        out.extend(private_files(user.uid));
    }
    let inst = crate::context::Instance::Service {
        socket: SystemPaths::SOCKET.into(),
        user: SERVICE_USER.into(),
    };
    let who: Result<serde_json::Value, String> = crate::context::api(&inst, &crate::cli::AuthArgs { token_file: None })
        .map_err(|e| e.to_string())
        .and_then(|c| c.call("GET", "/v1/whoami", None).map_err(|e| e.to_string()));
    out.push(match who {
        Ok(v) if v["service_uid"].as_u64() == Some(u64::from(user.uid)) => Check::pass(
            "service",
            format!(
                "answers on {} as {SERVICE_USER}; it knows you as {}{}",
                SystemPaths::SOCKET,
                v["peer"]["user"].as_str().unwrap_or("?"),
                if v["admin"] == true { " (an administrator)" } else { "" }
            ),
        ),
        Ok(v) => Check::fail(
            "service",
            format!("the server runs as uid {}, not {SERVICE_USER}", v["service_uid"]),
            "sudo airlock service restart",
        ),
        Err(e) => Check::fail(
            "service",
            e,
            "sudo airlock service start (then `airlock service status`)",
        ),
    });
    out
}

pub fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let mut checks = service_checks();
    let project = args
        .project
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| "/".into());
    checks.extend(crate::commands::install::doctor_checks(&project));
    if args.json {
        println!("{}", serde_json::to_string(&checks)?);
    } else {
        for c in &checks {
            println!("{} {:<14} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
            if let Some(f) = &c.fix {
                println!("     {:<14} fix: {f}", "");
            }
        }
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}
