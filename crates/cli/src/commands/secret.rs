//! `airlock secret set|list|remove`: resource credentials, kept by the service (administrators).
//! A value is read from stdin so that it never lands in a shell history or a process list.

use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde_json::json;

use crate::cli::{AuthArgs, SecretCommand};
use crate::context::{api, instance, Instance};

pub fn run(config: Option<&Path>, cmd: SecretCommand) -> Result<()> {
    let inst = instance(config)?;
    match inst {
        Instance::Local(cfg) => local(&cfg, cmd),
        service => remote(&api(&service, &AuthArgs { token_file: None })?, cmd),
    }
}

fn read_value() -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("Value (then Enter): ");
    }
    let mut value = String::new();
    std::io::stdin().take(64 * 1024 + 1).read_to_string(&mut value)?;
    if value.len() > 64 * 1024 {
        bail!("a secret is at most 64 KiB");
    }
    let value = value.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        bail!("no value on stdin: `printf %s \"$VALUE\" | airlock secret set NAME`");
    }
    Ok(value)
}

fn remote(client: &airlock_server::Client, cmd: SecretCommand) -> Result<()> {
    match cmd {
        SecretCommand::Set { name } => {
            let value = read_value()?;
            let _: serde_json::Value = client
                .call("PUT", &format!("/v1/secrets/{name}"), Some(&json!({ "value": value })))
                .map_err(|e| anyhow!("{e}"))?;
            println!("Stored secret {name}; resources reference it with secret = \"{name}\".");
        }
        SecretCommand::List(args) => {
            let names: Vec<String> = client.call("GET", "/v1/secrets", None).map_err(|e| anyhow!("{e}"))?;
            print_names(&names, args.json)?;
        }
        SecretCommand::Remove { name } => {
            let _: serde_json::Value = client
                .call("DELETE", &format!("/v1/secrets/{name}"), None)
                .map_err(|e| anyhow!("{e}"))?;
            println!("Removed secret {name}.");
        }
    }
    Ok(())
}

/// An unprivileged instance: its secret store is the caller's own directory.
fn local(cfg: &airlock_config::Config, cmd: SecretCommand) -> Result<()> {
    let dir = cfg.secrets_dir().map_err(|e| anyhow!(e))?;
    match cmd {
        SecretCommand::Set { name } => {
            airlock_config::write_secret(&dir, &name, &read_value()?)?;
            println!("Stored secret {name} in {}.", dir.display());
        }
        SecretCommand::List(args) => print_names(&airlock_config::list_secrets(&dir)?, args.json)?,
        SecretCommand::Remove { name } => {
            if !airlock_config::remove_secret(&dir, &name)? {
                bail!("no secret named {name}");
            }
            println!("Removed secret {name}.");
        }
    }
    Ok(())
}

fn print_names(names: &[String], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(names)?);
    } else if names.is_empty() {
        println!("No secrets stored (`airlock secret set NAME` reads one from stdin).");
    } else {
        names.iter().for_each(|n| println!("{n}"));
    }
    Ok(())
}
