//! `airlock install|uninstall AGENT [--project DIR | --user]`.

use std::path::{Path, PathBuf};

use airlock_hooks::{install, settings_path, uninstall, Agent, Scope};
use anyhow::{anyhow, Context, Result};

use crate::cli::InstallArgs;
use crate::context::{home, load_config, write_private};

fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn scope(args: &InstallArgs) -> Result<Scope> {
    Ok(if args.system {
        crate::commands::setup::require_root("install --system")?;
        Scope::System
    } else if args.user {
        Scope::User(home()?)
    } else {
        Scope::Project(match &args.project {
            Some(d) => d.clone(),
            None => std::env::current_dir()?,
        })
    })
}

fn agent(name: &str) -> Result<Agent> {
    Agent::from_name(name).ok_or_else(|| {
        anyhow!(crate::exit::UsageError(format!(
            "unknown agent {name:?}: use claude-code, cursor, codex or gemini"
        )))
    })
}

fn token_path(config_dir: &Path, agent: Agent, scope: &Scope) -> PathBuf {
    let tag = match scope {
        Scope::User(_) | Scope::System => "user".to_owned(),
        Scope::Project(d) => airlock_store::hash_token(&d.display().to_string())[..12].to_owned(),
    };
    config_dir.join("tokens").join(format!("{}-{tag}.token", agent.name()))
}

/// The command written into an agent's settings: every failure of the hook — a crash, a missing
/// or unreadable binary, a signal — becomes exit 2 with a reason on stderr, the one answer every
/// agent treats as a block.
pub fn hook_command(exe: &str, agent: Agent, extra: &str) -> String {
    format!(
        "{exe} hook {}{extra} || {{ echo 'Airlock: the hook failed, so this action is blocked (Airlock fails closed); ask the user to run: airlock doctor' >&2; exit 2; }}",
        agent.name()
    )
}

/// In service mode: the root-owned binary, talking to the system socket only.
fn install_service(agent: Agent, scope: &Scope) -> Result<()> {
    let command = hook_command(airlock_config::SystemPaths::BINARY, agent, "");
    write_settings(agent, scope, &command)?;
    println!(
        "The hook asks the Airlock service on {}; it needs no token (the socket tells the service who you are).",
        airlock_config::SystemPaths::SOCKET
    );
    Ok(())
}

fn write_settings(agent: Agent, scope: &Scope, command: &str) -> Result<()> {
    let path = settings_path(agent, scope);
    let existing = std::fs::read_to_string(&path).ok();
    let text = install(agent, existing.as_deref(), command).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Installed Airlock's hook for {} in {}.", agent.name(), path.display());
    Ok(())
}

/// The agent checks of `airlock doctor`: whether each agent's settings carry the fail-closed hook.
pub fn doctor_checks(project: &Path) -> Vec<crate::commands::doctor::Check> {
    use crate::commands::doctor::Check;
    let mut out = Vec::new();
    let Ok(home) = home() else {
        return out;
    };
    for agent in Agent::ALL {
        let places = [
            Scope::System,
            Scope::User(home.clone()),
            Scope::Project(project.to_path_buf()),
        ];
        let found: Vec<String> = places
            .iter()
            .map(|s| settings_path(agent, s))
            .filter(|p| {
                std::fs::read_to_string(p)
                    .is_ok_and(|t| t.contains(airlock_hooks::MARKER.trim()) && t.contains("exit 2"))
            })
            .map(|p| p.display().to_string())
            .collect();
        out.push(if found.is_empty() {
            Check::fail(
                agent.name(),
                "no fail-closed Airlock hook in its settings",
                format!("airlock install {} --user", agent.name()),
            )
        } else {
            Check::pass(agent.name(), format!("hooked in {}", found.join(", ")))
        });
    }
    out
}

pub fn run(config: Option<&Path>, args: InstallArgs) -> Result<()> {
    let agent = agent(&args.agent)?;
    let scope = scope(&args)?;
    if crate::context::instance(config)?.is_service() {
        return install_service(agent, &scope);
    }
    let cfg = load_config(config)?;
    let config_path = cfg.dir.join("airlock.toml");
    let config_path = if let Some(c) = config {
        c.to_path_buf()
    } else {
        config_path
    };
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
    let tpath = token_path(&cfg.dir, agent, &scope);
    write_private(&tpath, &format!("{token}\n"))?;
    let exe = std::env::current_exe().context("cannot find the airlock executable")?;
    let command = hook_command(
        &quote(&exe),
        agent,
        &format!(" --config {} --token-file {}", quote(&config_path), quote(&tpath)),
    );
    write_settings(agent, &scope, &command)?;
    println!(
        "The agent's token ({}…) is in {} (mode 0600).",
        record.id,
        tpath.display()
    );
    Ok(())
}

pub fn remove(config: Option<&Path>, args: InstallArgs) -> Result<()> {
    let agent = agent(&args.agent)?;
    let scope = scope(&args)?;
    let path = settings_path(agent, &scope);
    let existing = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = uninstall(agent, &existing).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Removed Airlock's hook for {} from {}.", agent.name(), path.display());
    if let Ok(cfg) = load_config(config) {
        let tpath = token_path(&cfg.dir, agent, &scope);
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
