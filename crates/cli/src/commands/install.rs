//! `airlock install|uninstall AGENT|--all [--project DIR | --user | --system]`: puts Airlock's
//! fail-closed hook into an agent's settings, gives the agent its token, and says whether the
//! agent will really run the hook (see `activation`); `doctor_checks` checks the same for
//! `airlock doctor`.

mod activation;
mod detect;
mod doctor;

use std::path::{Path, PathBuf};

use airlock_hooks::{install, settings_path, uninstall, Agent, Scope};
use anyhow::{anyhow, bail, Context, Result};

use crate::cli::InstallArgs;
use crate::context::{load_config, write_private, Instance};

pub use doctor::doctor_checks;

use activation::{inert, write_keeping_mode, Places};

fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn scope(args: &InstallArgs, places: &Places) -> Result<Scope> {
    Ok(if args.system {
        crate::commands::setup::require_root("install --system")?;
        Scope::System
    } else if args.user {
        places.user()
    } else {
        let dir = match &args.project {
            Some(d) => d.clone(),
            None => std::env::current_dir()?,
        };
        // Agents key trust by the project's real path.
        Scope::Project(std::fs::canonicalize(&dir).with_context(|| format!("no project directory {}", dir.display()))?)
    })
}

fn agent(name: &str) -> Result<Agent> {
    Agent::from_name(name).ok_or_else(|| {
        anyhow!(crate::exit::UsageError(format!(
            "unknown agent {name:?}: use claude-code, cursor, codex or gemini"
        )))
    })
}

/// The agents a command is about: the one named, or with `--all` every agent this machine has.
fn agents(args: &InstallArgs, places: &Places) -> Result<Vec<Agent>> {
    if !args.all {
        return Ok(vec![agent(args.agent.as_deref().unwrap_or_default())?]);
    }
    let mut out = Vec::new();
    for a in Agent::ALL {
        match detect::found(a, places) {
            Some(how) => {
                println!("Found {} ({how}).", a.name());
                out.push(a);
            }
            None => println!("No {} on this machine ({}).", a.name(), detect::looked_for(a, places)),
        }
    }
    Ok(out)
}

fn token_path(config_dir: &Path, agent: Agent, scope: &Scope) -> PathBuf {
    let tag = match scope {
        Scope::User { .. } | Scope::System => "user".to_owned(),
        Scope::Project(d) => airlock_store::hash_token(&d.display().to_string())[..12].to_owned(),
    };
    config_dir.join("tokens").join(format!("{}-{tag}.token", agent.name()))
}

/// The command written into an agent's settings. Every failure of the hook — a crash, a missing
/// or unreadable binary, a signal, a closed pipe — becomes exit 2 with a reason on stderr, the one
/// answer every agent treats as a block (Codex and Gemini CLI let an exit 2 *without* a reason
/// through, and any other failure code). The hook's own answers (0, or 2 with its reason) pass
/// unchanged.
pub fn hook_command(exe: &str, agent: Agent, extra: &str) -> String {
    format!(
        "{exe} hook {}{extra}; s=$?; [ $s -eq 0 ] || [ $s -eq 2 ] && exit $s; echo 'Airlock: the hook failed, so this action is blocked (Airlock fails closed); ask the user to run: airlock doctor' >&2; exit 2",
        agent.name()
    )
}

/// The hook command for this instance, and (unprivileged instances) the agent's new token.
fn command_for(
    config: Option<&Path>,
    inst: &Instance,
    agent: Agent,
    scope: &Scope,
    args: &InstallArgs,
) -> Result<String> {
    if inst.is_service() {
        // The root-owned binary, talking to the system socket only; the socket tells the
        // service who calls, so no token is needed.
        return Ok(hook_command(airlock_config::SystemPaths::BINARY, agent, ""));
    }
    let cfg = load_config(config)?;
    let config_path = config.map_or_else(|| cfg.dir.join("airlock.toml"), Path::to_path_buf);
    let config_path = std::path::absolute(&config_path)?;
    let airlock = airlock_server::Airlock::open(cfg.clone()).map_err(|e| anyhow!("{e}"))?;
    let envs = if args.envs.is_empty() {
        cfg.agents
            .iter()
            .find(|a| a.name == agent.name())
            .map(|a| a.environments.clone())
            .unwrap_or_default()
    } else {
        args.envs.clone()
    };
    let (token, record) = airlock
        .create_token(agent.name(), false, envs, None, None)
        .map_err(|e| anyhow!("{e}"))?;
    let tpath = token_path(&cfg.dir, agent, scope);
    write_private(&tpath, &format!("{token}\n"))?;
    println!(
        "The agent's token ({}…) is in {} (mode 0600).",
        record.id,
        tpath.display()
    );
    let exe = std::env::current_exe().context("cannot find the airlock executable")?;
    Ok(hook_command(
        &quote(&exe),
        agent,
        &format!(" --config {} --token-file {}", quote(&config_path), quote(&tpath)),
    ))
}

fn write_settings(agent: Agent, scope: &Scope, command: &str) -> Result<PathBuf> {
    let path = settings_path(agent, scope);
    let existing = std::fs::read_to_string(&path).ok();
    let mut text = install(agent, existing.as_deref(), command).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if agent == Agent::Gemini && matches!(scope, Scope::System) {
        text = airlock_hooks::gemini_pin_hooks_enabled(Some(&text)).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_keeping_mode(&path, &text)?;
    Ok(path)
}

/// System installs need no trust (managed layers), but Codex lets a user switch even system hooks
/// off unless its requirements pin them on.
fn pin_system_hooks(agent: Agent) -> Result<Option<String>> {
    match agent {
        Agent::Codex => {
            let path = Path::new("/etc/codex/requirements.toml");
            let existing = std::fs::read_to_string(path).unwrap_or_default();
            let text = airlock_hooks::codex::pin_hooks_on(&existing).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            Ok(Some(format!(
                "Pinned hooks on in {} ([features] hooks = true), so no user setting switches them off.",
                path.display()
            )))
        }
        Agent::Gemini => Ok(Some(
            "Set hooksConfig.enabled: true in the system settings, which override the user's.".into(),
        )),
        _ => Ok(None),
    }
}

fn install_one(
    config: Option<&Path>,
    inst: &Instance,
    agent: Agent,
    scope: &Scope,
    args: &InstallArgs,
    places: &Places,
) -> Result<()> {
    let command = command_for(config, inst, agent, scope, args)?;
    let path = write_settings(agent, scope, &command)?;
    println!("Wrote Airlock's hook for {} into {}.", agent.name(), path.display());
    let notes = match (agent, scope) {
        (_, Scope::System) => pin_system_hooks(agent)?,
        (Agent::Codex, _) => activation::record_codex_trust(scope, places)?,
        _ => None,
    };
    notes.into_iter().for_each(|n| println!("{n}"));
    match inert(agent, scope, places) {
        None => println!(
            "Installed: {} runs Airlock's hook before every tool call, and blocks when the hook fails.",
            agent.name()
        ),
        Some(i) => {
            println!("NOT ACTIVE YET: {}.", i.why);
            println!("To make it active: {}", i.fix);
        }
    }
    Ok(())
}

pub fn run(config: Option<&Path>, args: InstallArgs) -> Result<()> {
    let places = Places::from_env()?;
    let scope = scope(&args, &places)?;
    let inst = crate::context::instance(config)?;
    let mut failed = Vec::new();
    for agent in agents(&args, &places)? {
        if let Err(e) = install_one(config, &inst, agent, &scope, &args, &places) {
            eprintln!("airlock: {}: {e:#}", agent.name());
            failed.push(agent.name());
        }
    }
    if !failed.is_empty() {
        bail!("could not install for {}", failed.join(", "));
    }
    Ok(())
}

fn remove_one(config: Option<&Path>, agent: Agent, scope: &Scope, places: &Places) -> Result<()> {
    let path = settings_path(agent, scope);
    let Ok(existing) = std::fs::read_to_string(&path) else {
        println!(
            "No settings for {} at {}: nothing to remove.",
            agent.name(),
            path.display()
        );
        return Ok(());
    };
    if agent == Agent::Codex {
        activation::forget_codex_trust(scope, places, &existing)?;
        if matches!(scope, Scope::System) {
            let req = Path::new("/etc/codex/requirements.toml");
            if let Ok(t) = std::fs::read_to_string(req) {
                std::fs::write(req, airlock_hooks::codex::unpin_hooks(&t))?;
            }
        }
    }
    // The user's Codex settings may be the file that held the trust: read it again.
    let existing = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = uninstall(agent, &existing).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    write_keeping_mode(&path, &text)?;
    println!("Removed Airlock's hook for {} from {}.", agent.name(), path.display());
    if let Ok(cfg) = load_config(config) {
        let tpath = token_path(&cfg.dir, agent, scope);
        if let Ok(token) = std::fs::read_to_string(&tpath) {
            if let (Some(id), Ok(a)) = (
                airlock_store::token_id(token.trim()),
                airlock_server::Airlock::open(cfg),
            ) {
                let _ = a.revoke_token(&id);
                println!("Revoked its token {id}….");
            }
            let _ = std::fs::remove_file(&tpath);
        }
    }
    Ok(())
}

pub fn remove(config: Option<&Path>, args: InstallArgs) -> Result<()> {
    let places = Places::from_env()?;
    let scope = scope(&args, &places)?;
    for agent in agents(&args, &places)? {
        remove_one(config, agent, &scope, &places)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(command: &str) -> (Option<i32>, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Every way a hook binary can fail is a block with a reason; its own answers pass unchanged.
    #[test]
    fn the_wrapper_turns_every_failure_into_exit_2_with_a_reason() {
        for exe in [
            "/nonexistent/airlock",
            "false",
            "sh -c 'kill -9 $$'",
            "sh -c 'exit 101'",
        ] {
            let (code, stderr) = sh(&hook_command(exe, Agent::Codex, ""));
            assert_eq!(code, Some(2), "{exe}");
            assert!(stderr.contains("Airlock: the hook failed"), "{exe}: {stderr}");
        }
        assert_eq!(sh(&hook_command("true", Agent::Codex, "")).0, Some(0));
        let (code, stderr) = sh(&hook_command("sh -c 'echo held >&2; exit 2'", Agent::Codex, ""));
        assert_eq!((code, stderr.trim()), (Some(2), "held"));
    }
}
