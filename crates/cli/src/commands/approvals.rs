//! `airlock pending`, `approve ID`, `deny ID`: a human's side of a hold, over the API with an
//! operator token.

use std::path::Path;

use airlock_server::ActionView;
use anyhow::{anyhow, Result};
use serde_json::json;

use crate::cli::{DecideArgs, JsonArgs};
use crate::context::{client, when};

fn show(a: &ActionView) {
    println!(
        "{}  {}  {}, requested by {} ({})",
        a.id,
        a.risk.to_uppercase(),
        a.state,
        a.agent,
        a.source
    );
    println!("    {}", a.summary);
    println!("    in {}  cwd {}", a.environments.join(", "), a.cwd);
    for r in &a.reasons {
        println!("    why: {r}");
    }
    println!(
        "    approvals: {} of {}{}{}",
        a.approved_by.len(),
        a.approvals_needed,
        if a.approved_by.is_empty() {
            String::new()
        } else {
            format!(" ({})", a.approved_by.join(", "))
        },
        if a.snapshot {
            "; a snapshot is required first"
        } else {
            ""
        }
    );
    if let Some(u) = a.until {
        println!(
            "    {} until {}",
            if a.state == "held" { "waits" } else { "valid" },
            when(u)
        );
    }
}

pub fn pending(config: Option<&Path>, args: JsonArgs) -> Result<()> {
    let c = client(config, &args.auth)?;
    let list: Vec<ActionView> = c.call("GET", "/v1/pending", None).map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("Nothing is waiting for approval.");
    }
    for a in &list {
        show(a);
    }
    Ok(())
}

pub fn decide(config: Option<&Path>, args: DecideArgs, approve: bool) -> Result<()> {
    let c = client(config, &args.auth)?;
    let verb = if approve { "approve" } else { "deny" };
    let a: ActionView = c
        .call(
            "POST",
            &format!("/v1/actions/{}/{verb}", args.id),
            Some(&json!({ "reason": args.reason, "without_snapshot": args.without_snapshot })),
        )
        .map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&a)?);
        return Ok(());
    }
    match a.state.as_str() {
        "approved" => println!(
            "Approved {}: the agent may now run it once (retry the same command).",
            a.id
        ),
        "held" => println!(
            "Recorded your approval of {}; it needs {} more.",
            a.id,
            a.approvals_needed.saturating_sub(a.approved_by.len() as u32)
        ),
        "rejected" => println!("Refused {}.", a.id),
        other => println!("Action {} is {other}.", a.id),
    }
    show(&a);
    Ok(())
}
