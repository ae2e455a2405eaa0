//! `airlock pending`, `approve ID`, `deny ID`: a human's side of a hold, over the API. On a
//! service, an approval is proven by the operator's own unix user or by their authenticator code
//! (`--totp`); on an unprivileged instance, by an operator token.

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
    if let Some(b) = &a.blast_radius {
        for line in blast_radius_lines(b) {
            println!("    touches: {line}");
        }
    }
    if let Some(plan) = &a.snapshot_plan {
        for item in plan.items.iter().filter(|_| a.snapshot) {
            println!("    snapshot first: {}", item.describe());
        }
        for item in &plan.over_cap {
            println!(
                "    NOT RECOVERABLE: {} ({} bytes, above the snapshot cap)",
                item.path, item.bytes
            );
        }
        for t in &plan.uncovered {
            println!("    NOT RECOVERABLE: {t} (no snapshot source can copy it)");
        }
    }
    if let Some(e) = &a.evidence {
        for item in &e.items {
            println!("    approval covers: {}", item.describe());
        }
    }
    if let Some(s) = &a.supersedes {
        println!(
            "    replaces approval {} because: {}",
            s["action"].as_str().unwrap_or("?"),
            s["changes"]
                .as_array()
                .map(|c| c.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; "))
                .unwrap_or_default()
        );
    }
    if let Some(u) = a.until {
        println!(
            "    {} until {}",
            if a.state == "held" { "waits" } else { "valid" },
            when(u)
        );
    }
}

/// The gateway's measurement of a held statement, one line per table, schema or database.
fn blast_radius_lines(b: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = b["error"].as_str() {
        out.push(format!("unknown ({e})"));
    }
    let size = |v: &serde_json::Value| {
        v.as_i64()
            .map(|n| crate::render::bytes(n.max(0) as u64))
            .unwrap_or_else(|| "?".into())
    };
    for t in b["tables"].as_array().into_iter().flatten() {
        let rows = match t["rows"].as_i64() {
            Some(n) if n >= 0 => format!("{n} rows ({})", t["rows_from"].as_str().unwrap_or("")),
            _ => "rows unknown".into(),
        };
        if let Some(name) = t["name"].as_str() {
            if t["exists"] == false {
                out.push(format!("table {name} (does not exist)"));
            } else {
                out.push(format!("table {name}: {rows}, {}", size(&t["bytes"])));
            }
        } else if let Some(schema) = t["schema"].as_str() {
            out.push(format!(
                "schema {schema}: {} tables, {rows}, {}",
                t["tables"],
                size(&t["bytes"])
            ));
        } else if let Some(db) = t["database"].as_str() {
            out.push(format!("database {db}: {}", size(&t["bytes"])));
        }
    }
    match &b["planner_rows"] {
        serde_json::Value::Number(n) => out.push(format!(
            "the planner estimates {n} rows match its WHERE (EXPLAIN, not run)"
        )),
        serde_json::Value::String(s) => out.push(format!("row estimate: {s}")),
        _ => {}
    }
    out
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

/// Reads the authenticator code: given on the command line, else asked on the terminal (or read
/// from stdin when there is none).
fn totp_code(given: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !given.trim().is_empty() {
        return Ok(given.trim().to_owned());
    }
    let mut line = String::new();
    if let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") {
        let mut out = &tty;
        write!(out, "Authenticator code: ")?;
        out.flush()?;
        std::io::BufReader::new(&tty).read_line(&mut line)?;
    } else if !std::io::stdin().is_terminal() {
        std::io::stdin().lock().read_line(&mut line)?;
    }
    let code = line.trim().to_owned();
    if code.is_empty() {
        anyhow::bail!("no authenticator code given (pass --totp CODE, or type it when asked)");
    }
    Ok(code)
}

pub fn decide(config: Option<&Path>, args: DecideArgs, approve: bool) -> Result<()> {
    let c = client(config, &args.auth)?;
    let verb = if approve { "approve" } else { "deny" };
    let totp = match &args.totp {
        Some(given) => {
            let operator = match &args.operator {
                Some(o) => o.clone(),
                None => airlock_server::user_by_uid(airlock_server::current_uid())
                    .map(|u| u.name)
                    .ok_or_else(|| anyhow!("name the operator you are with --as NAME"))?,
            };
            Some(json!({ "operator": operator, "code": totp_code(given)? }))
        }
        None => None,
    };
    let grant_secs = match (&args.grant_for, approve) {
        (Some(d), true) => Some(
            airlock_config::parse_duration(d)
                .map_err(|e| anyhow!("--for: {e}"))?
                .as_secs(),
        ),
        (Some(_), false) => anyhow::bail!("--for goes with approve, not deny"),
        (None, _) => None,
    };
    let a: ActionView = c
        .call(
            "POST",
            &format!("/v1/actions/{}/{verb}", args.id),
            Some(&json!({ "reason": args.reason, "without_snapshot": args.without_snapshot, "totp": totp, "grant_secs": grant_secs })),
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

/// `airlock grants [revoke ID]`.
pub fn grants(config: Option<&Path>, args: crate::cli::GrantsArgs) -> Result<()> {
    let c = client(config, &args.auth)?;
    if let Some(crate::cli::GrantsCommand::Revoke { id }) = &args.command {
        let _: serde_json::Value = c
            .call("POST", &format!("/v1/grants/{id}/revoke"), None)
            .map_err(|e| anyhow!("{e}"))?;
        println!("Ended grant {id}.");
        return Ok(());
    }
    let list: Vec<airlock_server::GrantView> = c.call("GET", "/v1/grants", None).map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("No grants (`airlock approve ID --for 8h` makes one).");
    }
    for g in list {
        let state = if g.live {
            format!("live until {}", when(g.until))
        } else if g.revoked_at.is_some() {
            "revoked".into()
        } else {
            "lapsed".into()
        };
        println!(
            "{}  {}  agent {} in {}  by {}",
            g.id, state, g.agent, g.project, g.granted_by
        );
        println!("    {}", g.summary);
    }
    Ok(())
}
