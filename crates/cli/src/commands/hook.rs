//! `airlock hook AGENT`: the agent runs this before each tool call. It reads the agent's hook JSON
//! on stdin, asks the server, and answers in the agent's own format. Anything that goes wrong —
//! unreadable input, no token, no server — is a refusal that says why: Airlock fails closed.

use std::io::{Read, Write};
use std::path::Path;

use airlock_hooks::{parse_input, render, Agent, Verdict};
use airlock_server::{SubmitRequest, SubmitResponse};
use anyhow::{anyhow, Result};
use serde_json::json;

use crate::cli::HookArgs;
use crate::context::{api, instance};

const MAX_INPUT: u64 = 1024 * 1024;

fn decide(config: Option<&Path>, args: &HookArgs, agent: Agent, input: &str) -> Result<Verdict> {
    let call = parse_input(agent, input).map_err(|e| anyhow!("{e}"))?;
    // A system install is the only server a hook trusts (unless its own command line names
    // another instance with --config): its socket, its peer checked to be the service user.
    // The server may keep the call while humans decide (`[server] hold_wait`); the hook still
    // answers before the agent's own hook timeout, which `airlock install` sets above this.
    let client = api(&instance(config)?, &args.auth)?.with_timeout(airlock_config::HOOK_DEADLINE);
    let req = SubmitRequest {
        kind: call.kind,
        input: call.input,
        cwd: call.cwd,
        source: format!("hook:{}", agent.name()),
        agent: Some(agent.name().to_owned()),
        wait: true,
        ..SubmitRequest::default()
    };
    let answer: SubmitResponse = client
        .call("POST", "/v1/actions", Some(&json!(req)))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(if answer.decision == "allow" {
        Verdict::Allow {
            reason: format!("Airlock: {} ({})", answer.message, answer.risk),
        }
    } else {
        Verdict::Deny { reason: answer.message }
    })
}

pub fn run(config: Option<&Path>, args: HookArgs) -> Result<i32> {
    let agent = Agent::from_name(&args.agent).ok_or_else(|| {
        crate::exit::UsageError(format!(
            "unknown agent {:?}: use claude-code, cursor, codex or gemini",
            args.agent
        ))
    })?;
    let mut input = String::new();
    let read = std::io::stdin().take(MAX_INPUT + 1).read_to_string(&mut input);
    let verdict = match read {
        Err(e) => Err(anyhow!("cannot read the hook input: {e}")),
        Ok(n) if n as u64 > MAX_INPUT => Err(anyhow!("the hook input is larger than 1 MiB")),
        Ok(_) => decide(config, &args, agent, &input),
    }
    .unwrap_or_else(|e| Verdict::Deny {
        reason: format!(
            "Airlock could not check this action, so it is refused (Airlock fails closed): {e:#}. Ask the user to fix Airlock (is `airlock serve` running?); do not try to work around it."
        ),
    });
    let out = render(agent, &verdict);
    std::io::stdout().write_all(out.stdout.as_bytes())?;
    std::io::stdout().flush()?;
    if !out.stderr.is_empty() {
        eprintln!("{}", out.stderr);
    }
    Ok(out.exit_code)
}
