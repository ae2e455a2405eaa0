//! `airlock operator add|list|remove`: the people who approve (administrators, on a service).
//! `add` prints the operator's authenticator secret once, as a URI an authenticator app imports.

use std::path::Path;

use airlock_server::{Enrollment, NewOperator, OperatorView, PasskeyEnrollment};
use anyhow::{anyhow, bail, Result};
use serde_json::json;

use crate::cli::{AuthArgs, OperatorCommand};
use crate::context::{api, instance, when};

pub fn run(config: Option<&Path>, cmd: OperatorCommand) -> Result<()> {
    let inst = instance(config)?;
    if !inst.is_service() {
        bail!(
            "operators are enrolled on a service (`sudo airlock setup`); an unprivileged instance approves with operator tokens (`airlock token create --operator`)"
        );
    }
    let client = api(&inst, &AuthArgs { token_file: None })?;
    match cmd {
        OperatorCommand::Add {
            name,
            unix_user,
            no_totp,
            json,
        } => {
            let e: Enrollment = client
                .call(
                    "POST",
                    "/v1/operators",
                    Some(&json!(NewOperator {
                        name: name.clone(),
                        unix_user,
                        totp: !no_totp,
                    })),
                )
                .map_err(|e| anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string(&e)?);
                return Ok(());
            }
            println!("Enrolled operator {name}.");
            if let (Some(secret), Some(uri)) = (&e.totp_secret, &e.totp_uri) {
                println!("Add this to {name}'s authenticator app (shown only now):");
                println!("  {uri}");
                println!("  (or type the secret: {secret})");
                println!("Then approve with: airlock approve ID --totp --as {name}");
            }
            if let Some(u) = &e.operator.unix_user {
                println!("Connections from unix user {u} also prove {name}, as long as {u} never runs an agent.");
            }
            if let Some(p) = &e.passkey {
                print_passkey_code(p);
            }
        }
        OperatorCommand::List(args) => {
            let ops: Vec<OperatorView> = client.call("GET", "/v1/operators", None).map_err(|e| anyhow!("{e}"))?;
            if args.json {
                println!("{}", serde_json::to_string(&ops)?);
                return Ok(());
            }
            if ops.is_empty() {
                println!("No operators yet: `sudo airlock operator add NAME` enrolls one.");
            }
            for o in ops {
                println!(
                    "{:<20} authenticator: {:<4} unix user: {:<12} enrolled {}{}",
                    o.name,
                    if o.totp { "yes" } else { "no" },
                    o.unix_user.as_deref().unwrap_or("-"),
                    when(o.created_at),
                    o.locked_until
                        .filter(|u| *u > airlock_server::now())
                        .map(|u| format!(", locked until {}", when(u)))
                        .unwrap_or_default()
                );
            }
        }
        OperatorCommand::Enroll { name, json } => {
            let p: PasskeyEnrollment = client
                .call("POST", &format!("/v1/operators/{name}/enrollment"), None)
                .map_err(|e| anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string(&p)?);
                return Ok(());
            }
            print_passkey_code(&p);
        }
        OperatorCommand::Remove { name } => {
            let _: serde_json::Value = client
                .call("DELETE", &format!("/v1/operators/{name}"), None)
                .map_err(|e| anyhow!("{e}"))?;
            println!("Removed operator {name}.");
        }
    }
    Ok(())
}

/// The passkey enrollment code, with where to use it: for the operator's eyes only.
fn print_passkey_code(p: &PasskeyEnrollment) {
    println!("Passkey for the approval page: {} opens", p.operator);
    println!("  {}", p.url);
    println!(
        "  and types this one-time code (shown only now, valid until {}):",
        when(p.expires_at)
    );
    println!("  {}", p.code);
}
