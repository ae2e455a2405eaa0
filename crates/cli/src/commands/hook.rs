//! `airlock hook AGENT`: the agent runs this before each tool call. It reads the agent's hook JSON
//! on stdin, asks the server, and answers in the agent's own format.
//!
//! Fail closed, in every agent: anything that goes wrong — unreadable input, no token, no server,
//! no answer in time — is a refusal that says why. The hook never exits with a failure code other
//! than 2 (the one every agent treats as a block), it answers before the agent's own hook timeout
//! (an agent that times a hook out lets the action through), and it starts no child that could
//! keep the agent waiting on its output.
//!
//! An action Airlock allows is deferred to the agent's own permission rules unless the server
//! grants it (a human approved this exact action, or `[hooks] allowed = "allow"`).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use airlock_hooks::{parse_input, render, Agent, Verdict};
use airlock_server::{SubmitRequest, SubmitResponse};
use anyhow::{anyhow, Result};
use serde_json::json;

use crate::cli::HookArgs;
use crate::context::{api, instance};

const MAX_INPUT: u64 = 1024 * 1024;

/// When the hook gives up and refuses: below every agent's hook timeout as `airlock install`
/// writes it (`HOOK_TIMEOUT_SECS`, 300 s), above the server's longest hold wait, during which a
/// held action waits for a human.
const DEADLINE: Duration = airlock_config::HOOK_DEADLINE;

/// The deadline, or a shorter one from `AIRLOCK_HOOK_DEADLINE` (seconds; for tests). Never a
/// longer one: past the agent's own timeout the agent would let the action through.
fn deadline() -> Duration {
    std::env::var("AIRLOCK_HOOK_DEADLINE")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEADLINE, |s| Duration::from_secs(s).min(DEADLINE))
}

/// Whether an answer has been written: the main path and the deadline race to answer once.
static ANSWERED: Mutex<bool> = Mutex::new(false);

fn decide(config: Option<&Path>, args: &HookArgs, agent: Agent, input: &str) -> Result<Verdict> {
    let call = parse_input(agent, input).map_err(|e| anyhow!("{e}"))?;
    // A system install is the only server a hook trusts (unless its own command line names
    // another instance with --config): its socket, its peer checked to be the service user.
    // The server may keep the call while humans decide (`[server] hold_wait`); the deadline
    // still answers before the agent's own hook timeout.
    let client = api(&instance(config)?, &args.auth)?.with_timeout(deadline());
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
    Ok(verdict(&answer))
}

fn verdict(answer: &SubmitResponse) -> Verdict {
    match answer.decision.as_str() {
        "allow" if answer.grant => Verdict::Grant {
            reason: format!("Airlock: {} ({})", answer.message, answer.risk),
        },
        "allow" => Verdict::Defer,
        _ => Verdict::Deny {
            reason: answer.message.clone(),
        },
    }
}

fn refusal(why: &str) -> Verdict {
    Verdict::Deny {
        reason: format!(
            "Airlock could not check this action, so it is refused (Airlock fails closed): {why}. Ask the user to fix Airlock (is `airlock serve` running? `airlock doctor` checks); do not try to work around it."
        ),
    }
}

/// Writes the answer unless one was written already; returns the exit code. A failed write is a
/// block too (exit 2 with a reason), and a closed pipe ends the process by SIGPIPE, which the
/// installed command turns into exit 2.
fn answer_once(agent: Agent, verdict: &Verdict) -> Option<i32> {
    let mut answered = ANSWERED.lock().unwrap_or_else(|e| e.into_inner());
    if *answered {
        return None;
    }
    *answered = true;
    let out = render(agent, verdict);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.stdout.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("Airlock: the hook could not write its answer, so this action is blocked.");
        return Some(2);
    }
    if !out.stderr.is_empty() {
        eprintln!("{}", out.stderr);
    }
    Some(out.exit_code)
}

/// Refuses and exits at the deadline if the server has not answered by then.
fn arm_deadline(agent: Agent) {
    std::thread::spawn(move || {
        std::thread::sleep(DEADLINE);
        let why = format!("the Airlock server did not answer within {} s", DEADLINE.as_secs());
        if let Some(code) = answer_once(agent, &refusal(&why)) {
            std::process::exit(code);
        }
    });
}

pub fn run(config: Option<&Path>, args: HookArgs) -> Result<i32> {
    let Some(agent) = Agent::from_name(&args.agent) else {
        eprintln!(
            "Airlock: unknown agent {:?} (use claude-code, cursor, codex or gemini), so this action is blocked.",
            args.agent
        );
        return Ok(2);
    };
    arm_deadline(agent);
    let mut input = String::new();
    let read = std::io::stdin().take(MAX_INPUT + 1).read_to_string(&mut input);
    let verdict = match read {
        Err(e) => Err(anyhow!("cannot read the hook input: {e}")),
        Ok(n) if n as u64 > MAX_INPUT => Err(anyhow!("the hook input is larger than 1 MiB")),
        Ok(_) => decide(config, &args, agent, &input),
    }
    .unwrap_or_else(|e| refusal(&format!("{e:#}")));
    match answer_once(agent, &verdict) {
        Some(code) => Ok(code),
        // The deadline answered first and is ending the process.
        None => loop {
            std::thread::park();
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(decision: &str, grant: bool) -> SubmitResponse {
        SubmitResponse {
            id: "x".into(),
            decision: decision.into(),
            risk: "write".into(),
            summary: "s".into(),
            reasons: vec![],
            environments: vec![],
            approvals_needed: 0,
            approvals: 0,
            snapshot: false,
            message: "m".into(),
            grant,
        }
    }

    #[test]
    fn only_a_grant_is_an_allow_the_rest_of_allows_defer() {
        assert_eq!(verdict(&response("allow", false)), Verdict::Defer);
        assert!(matches!(verdict(&response("allow", true)), Verdict::Grant { .. }));
        assert!(matches!(verdict(&response("ask", false)), Verdict::Deny { .. }));
        assert!(matches!(verdict(&response("deny", true)), Verdict::Deny { .. }));
    }

    #[test]
    fn the_deadline_comes_before_the_agents_timeout() {
        assert_eq!(
            airlock_config::AGENT_HOOK_TIMEOUT.as_secs(),
            airlock_hooks::HOOK_TIMEOUT_SECS
        );
        assert!(DEADLINE.as_secs() < airlock_hooks::HOOK_TIMEOUT_SECS);
        assert!(DEADLINE > airlock_config::MAX_HOLD_WAIT, "above the longest hold wait");
    }
}
