//! `airlock exec --resource NAME -- CMD…`: a provider CLI run by Airlock's server with the
//! resource's credential, which never enters the agent's environment. The command is judged as a
//! shell action in the resource's environment (held ones wait for humans, like a hook's), then run
//! by the server — in service mode as the service's own unix user — and its output relayed here.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::json;

use crate::cli::ExecArgs;
use crate::context::{api, instance};

/// Held or refused: the agent's command did not run.
const NOT_RUN: i32 = 2;

pub fn run(config: Option<&Path>, args: ExecArgs) -> Result<i32> {
    let inst = instance(config)?;
    // Long enough for a hold's wait (at most 240 s) and the command itself.
    let client = api(&inst, &args.auth)?.with_timeout(Duration::from_secs(900));
    let body = json!({ "resource": args.resource, "argv": args.command, "wait": !args.no_wait, "agent": args.agent });
    let answer: airlock_server::ExecResponse = client
        .call("POST", "/v1/exec", Some(&body))
        .map_err(|e| anyhow!("{e}"))?;
    let Some(ran) = answer.ran else {
        eprintln!("airlock: {}", answer.decision.message);
        return Ok(NOT_RUN);
    };
    std::io::stdout().write_all(ran.stdout.as_bytes())?;
    std::io::stderr().write_all(ran.stderr.as_bytes())?;
    if ran.truncated {
        eprintln!("airlock: the command's output was longer than Airlock relays; the rest was cut");
    }
    Ok(ran.status)
}
