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
    Ok(if args.user {
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
        Scope::User(_) => "user".to_owned(),
        Scope::Project(d) => airlock_store::hash_token(&d.display().to_string())[..12].to_owned(),
    };
    config_dir.join("tokens").join(format!("{}-{tag}.token", agent.name()))
}

pub fn run(config: Option<&Path>, args: InstallArgs) -> Result<()> {
    let agent = agent(&args.agent)?;
    let scope = scope(&args)?;
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
    let command = format!(
        "{} hook {} --config {} --token-file {}",
        quote(&exe),
        agent.name(),
        quote(&config_path),
        quote(&tpath)
    );
    let path = settings_path(agent, &scope);
    let existing = std::fs::read_to_string(&path).ok();
    let text = install(agent, existing.as_deref(), &command).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Installed Airlock's hook for {} in {}.", agent.name(), path.display());
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
