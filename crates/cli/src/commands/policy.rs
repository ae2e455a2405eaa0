//! `airlock policy check` and `airlock policy explain`.

use std::path::{Path, PathBuf};

use airlock_policy::Policy;
use airlock_server::{Airlock, SubmitRequest};
use airlock_store::TokenRecord;
use anyhow::{anyhow, Context, Result};

use crate::cli::{ExplainArgs, PolicyCommand};

/// What `explain` prints, as the library or the API gives it.
#[derive(serde::Deserialize, serde::Serialize)]
struct Explained {
    assessment: airlock_classify::Assessment,
    resolved: Vec<airlock_config::Resolved>,
    credentials: Vec<serde_json::Value>,
    decision: airlock_policy::Decision,
}
use crate::context::load_config;

pub fn run(config: Option<&Path>, cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Check { file } => check(config, file),
        PolicyCommand::Explain(args) => explain(config, args),
    }
}

fn check(config: Option<&Path>, file: Option<PathBuf>) -> Result<()> {
    let path = match file {
        Some(f) => Some(f),
        None => load_config(config).ok().and_then(|c| c.policy_path()),
    };
    let Some(path) = path else {
        Policy::default_policy();
        println!("No policy file is configured: the built-in default applies, and it is valid.");
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Policy::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    println!("{} is valid against Airlock's schema.", path.display());
    Ok(())
}

/// The configured instance, or, without a config, the embedded defaults with throwaway state.
fn instance(config: Option<&Path>) -> Result<Airlock> {
    match load_config(config) {
        Ok(c) => Airlock::open(c).map_err(|e| anyhow!("{e}")),
        Err(_) if config.is_none() => {
            let dir = std::env::temp_dir().join(format!("airlock-explain-{}", std::process::id()));
            let c = airlock_config::Config::parse("", &dir).map_err(|e| anyhow!(e))?;
            Airlock::open(c).map_err(|e| anyhow!("{e}"))
        }
        Err(e) => Err(e),
    }
}

fn explain(config: Option<&Path>, args: ExplainArgs) -> Result<()> {
    let cwd = args
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let req = SubmitRequest {
        kind: args.kind.name().into(),
        input: args.input.clone(),
        cwd: Some(cwd.display().to_string()),
        source: "cli".into(),
        agent: Some(args.agent.clone()),
        ..SubmitRequest::default()
    };
    let ev: serde_json::Value = match crate::context::instance(config) {
        // The running service decides, so the answer never disagrees with what the hook gets.
        Ok(service) if service.is_service() => {
            crate::context::api(&service, &crate::cli::AuthArgs { token_file: None })?
                .call("POST", "/v1/explain", Some(&serde_json::json!(req)))
                .map_err(|e| anyhow!("{e}"))?
        }
        _ => {
            let airlock = instance(config)?;
            let subject = TokenRecord {
                id: "explain".into(),
                hash: String::new(),
                agent: args.agent.clone(),
                operator: false,
                environments: Vec::new(),
                max_risk: None,
                created_at: 0,
                expires_at: None,
                revoked_at: None,
                scram: None,
                unix_uid: None,
            };
            serde_json::to_value(airlock.evaluate(&subject, &req, None).map_err(|e| anyhow!("{e}"))?)?
        }
    };
    let ev: Explained = serde_json::from_value(ev)?;
    if args.json {
        println!("{}", serde_json::to_string(&ev)?);
        return Ok(());
    }
    print!("{}", crate::render::explain(&args.input, &ev.assessment));
    println!("  resolved:");
    for r in &ev.resolved {
        println!("    {:<24} {:<10} {:<14} ({})", r.name, r.kind, r.environment, r.via);
    }
    for c in &ev.credentials {
        println!(
            "  credential: {} ({})",
            c["kind"].as_str().unwrap_or("?"),
            c["prefix"].as_str().unwrap_or("?")
        );
    }
    let outcome = match ev.decision.outcome {
        airlock_policy::Outcome::Allow => "ALLOW".to_owned(),
        airlock_policy::Outcome::Deny => "DENY".to_owned(),
        airlock_policy::Outcome::Ask { approvals } => {
            format!("ASK ({approvals} approval{})", if approvals == 1 { "" } else { "s" })
        }
    };
    println!(
        "  decision for agent {}: {outcome}{}",
        args.agent,
        if ev.decision.snapshot { ", snapshot first" } else { "" }
    );
    for p in &ev.decision.policies {
        println!("    policy: {p}");
    }
    for r in &ev.decision.reasons {
        println!("    because: {r}");
    }
    Ok(())
}
