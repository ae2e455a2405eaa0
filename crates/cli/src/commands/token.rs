//! `airlock token create|list|revoke`: local administration of the instance's tokens.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::cli::{TokenCommand, TokenCreateArgs};
use crate::context::{open_local, when};

pub fn run(config: Option<&Path>, cmd: TokenCommand) -> Result<()> {
    let airlock = open_local(config)?;
    match cmd {
        TokenCommand::Create(args) => create(&airlock, args),
        TokenCommand::List(args) => {
            let tokens = airlock.store().tokens().map_err(|e| anyhow!("{e}"))?;
            if args.json {
                println!("{}", serde_json::to_string(&tokens.iter().map(|t| serde_json::json!({
                    "id": t.id, "agent": t.agent, "operator": t.operator, "environments": t.environments,
                    "max_risk": t.max_risk, "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at,
                })).collect::<Vec<_>>())?);
                return Ok(());
            }
            if tokens.is_empty() {
                println!("No tokens yet: `airlock token create --agent NAME` issues one.");
            }
            for t in tokens {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if !t.is_usable(airlock_server::now()) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{}…  {:<9} {:<8} {:<16} envs: {:<24} max-risk: {:<12} created {}{}",
                    t.id,
                    if t.operator { "operator" } else { "agent" },
                    state,
                    t.agent,
                    if t.environments.is_empty() {
                        "all".to_owned()
                    } else {
                        t.environments.join(",")
                    },
                    t.max_risk.as_deref().unwrap_or("any"),
                    when(t.created_at),
                    t.expires_at
                        .map(|e| format!(", expires {}", when(e)))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let id = id.trim_end_matches('…').to_owned();
            if airlock.revoke_token(&id).map_err(|e| anyhow!("{e}"))? {
                println!("Revoked token {id}….");
                Ok(())
            } else {
                bail!("no active token with id {id} (`airlock token list` shows them)")
            }
        }
    }
}

fn create(airlock: &airlock_server::Airlock, args: TokenCreateArgs) -> Result<()> {
    let ttl = args
        .ttl
        .as_deref()
        .map(airlock_config::parse_duration)
        .transpose()
        .map_err(|e| anyhow!("--ttl: {e}"))?;
    let envs = if args.envs.is_empty() {
        airlock
            .config
            .agents
            .iter()
            .find(|a| a.name == args.agent)
            .map(|a| a.environments.clone())
            .unwrap_or_default()
    } else {
        args.envs
    };
    let (token, record) = airlock
        .create_token(&args.agent, args.operator, envs, args.max_risk, ttl)
        .map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "token": token, "id": record.id, "agent": record.agent, "operator": record.operator, "environments": record.environments, "expires_at": record.expires_at })
        );
    } else {
        println!("{token}");
        eprintln!(
            "Token {}… for {} ({}; environments: {}). It is shown only this once and stored only as a hash.",
            record.id,
            record.agent,
            if record.operator { "operator" } else { "agent" },
            if record.environments.is_empty() {
                "all".to_owned()
            } else {
                record.environments.join(", ")
            }
        );
    }
    Ok(())
}
