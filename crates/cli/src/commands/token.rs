//! `airlock token create|list|revoke`: the instance's tokens — through the service's socket (as an
//! administrator, or any local user for an agent token of its own), or on an unprivileged
//! instance's files directly.

use std::path::Path;

use airlock_server::{IssuedToken, NewToken, TokenView};
use anyhow::{anyhow, bail, Result};
use serde_json::json;

use crate::cli::{AuthArgs, TokenCommand, TokenCreateArgs};
use crate::context::{api, instance, when, Instance};

pub fn run(config: Option<&Path>, cmd: TokenCommand) -> Result<()> {
    let inst = instance(config)?;
    if inst.is_service() {
        return service(&inst, cmd);
    }
    let Instance::Local(cfg) = inst else {
        unreachable!("a service was handled above")
    };
    let airlock = airlock_server::Airlock::open(*cfg).map_err(|e| anyhow!("{e}"))?;
    match cmd {
        TokenCommand::Create(args) => create(&airlock, args),
        TokenCommand::List(args) => {
            let tokens: Vec<TokenView> = airlock
                .store()
                .tokens()
                .map_err(|e| anyhow!("{e}"))?
                .iter()
                .map(TokenView::from)
                .collect();
            if args.json {
                println!("{}", serde_json::to_string(&tokens)?);
                return Ok(());
            }
            if tokens.is_empty() {
                println!("No tokens yet: `airlock token create --agent NAME` issues one.");
            }
            tokens.iter().for_each(print_view);
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

fn ttl_secs(ttl: Option<&str>) -> Result<Option<u64>> {
    ttl.map(airlock_config::parse_duration)
        .transpose()
        .map(|d| d.map(|d| d.as_secs()))
        .map_err(|e| anyhow!("--ttl: {e}"))
}

fn print_view(t: &TokenView) {
    let state = if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= airlock_server::now()) {
        "expired"
    } else {
        "active"
    };
    println!(
        "{}…  {:<9} {:<8} {:<16} envs: {:<24} user: {:<10} created {}{}",
        t.id,
        if t.operator { "operator" } else { "agent" },
        state,
        t.agent,
        if t.environments.is_empty() {
            "all".to_owned()
        } else {
            t.environments.join(",")
        },
        t.unix_user.as_deref().unwrap_or("any"),
        when(t.created_at),
        t.expires_at
            .map(|e| format!(", expires {}", when(e)))
            .unwrap_or_default()
    );
}

/// The same commands through the service's socket.
fn service(inst: &Instance, cmd: TokenCommand) -> Result<()> {
    let client = api(inst, &AuthArgs { token_file: None })?;
    match cmd {
        TokenCommand::Create(args) => {
            let new = NewToken {
                agent: args.agent.clone(),
                operator: args.operator,
                environments: args.envs.clone(),
                max_risk: args.max_risk.clone(),
                ttl_secs: ttl_secs(args.ttl.as_deref())?,
                unix_user: args.unix_user.clone(),
            };
            let issued: IssuedToken = client
                .call("POST", "/v1/tokens", Some(&json!(new)))
                .map_err(|e| anyhow!("{e}"))?;
            if args.json {
                println!("{}", serde_json::to_string(&issued)?);
            } else {
                println!("{}", issued.token);
                eprintln!(
                    "Token {}… for {} (environments: {}; presented only by unix user {}). It is shown only this once and stored only as a hash.",
                    issued.view.id,
                    issued.view.agent,
                    if issued.view.environments.is_empty() { "all".to_owned() } else { issued.view.environments.join(", ") },
                    issued.view.unix_user.as_deref().unwrap_or("any")
                );
            }
            Ok(())
        }
        TokenCommand::List(args) => {
            let tokens: Vec<TokenView> = client.call("GET", "/v1/tokens", None).map_err(|e| anyhow!("{e}"))?;
            if args.json {
                println!("{}", serde_json::to_string(&tokens)?);
            } else if tokens.is_empty() {
                println!("No tokens yet: `airlock token create --agent NAME` issues one.");
            }
            if !args.json {
                tokens.iter().for_each(print_view);
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let id = id.trim_end_matches('…').to_owned();
            let _: serde_json::Value = client
                .call("POST", &format!("/v1/tokens/{id}/revoke"), None)
                .map_err(|e| anyhow!("{e}"))?;
            println!("Revoked token {id}….");
            Ok(())
        }
    }
}

fn create(airlock: &airlock_server::Airlock, args: TokenCreateArgs) -> Result<()> {
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
        .issue_token(&NewToken {
            agent: args.agent.clone(),
            operator: args.operator,
            environments: envs,
            max_risk: args.max_risk.clone(),
            ttl_secs: ttl_secs(args.ttl.as_deref())?,
            unix_user: args.unix_user.clone(),
        })
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
