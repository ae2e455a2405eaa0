//! Brokered commands (`airlock exec --resource NAME -- CMD…`): a provider CLI run by the server,
//! with the resource's credential in the environment variable the CLI reads (`cli_env`), put there
//! only after the command was judged and allowed. In service mode the process belongs to the
//! service's unix user, so the agent's user can neither read its `/proc/PID/environ` nor trace it;
//! it runs in a private scratch directory with a minimal environment, no stdin, and its output —
//! the credential masked out of it — is relayed to the agent.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::api::{SubmitRequest, SubmitResponse};
use crate::{Airlock, ApiError};

/// Output kept per stream; the rest is cut (and said so).
const MAX_OUTPUT: usize = 8 << 20;
/// A brokered command that runs longer is killed.
const MAX_RUN: Duration = Duration::from_secs(600);
const MASK: &str = "[secret withheld by Airlock]";

/// `POST /v1/exec`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecRequest {
    pub resource: String,
    pub argv: Vec<String>,
    /// Wait (up to `[server] hold_wait`) for humans when the command is held.
    #[serde(default)]
    pub wait: bool,
    /// The agent, for a caller without a token on the socket.
    #[serde(default)]
    pub agent: Option<String>,
}

/// What the command did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecOutput {
    /// The exit code; 128 + N when a signal N ended it.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
}

/// The decision, and the output when it ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecResponse {
    pub decision: SubmitResponse,
    pub ran: Option<ExecOutput>,
}

/// A command line as a shell would read it: each word quoted when it needs to be.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,%+".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn mask(text: &[u8], secret: &str) -> String {
    String::from_utf8_lossy(text).replace(secret, MASK)
}

fn read_capped(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let mut cut = false;
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = MAX_OUTPUT.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
            cut |= n > room;
        }
        (kept, cut)
    })
}

impl Airlock {
    /// The shell action a brokered command is judged as, against its resource's environment.
    pub fn exec_action(&self, req: &ExecRequest) -> Result<SubmitRequest, ApiError> {
        let r = self.exec_resource(&req.resource)?;
        if req.argv.is_empty() || req.argv[0].is_empty() {
            return Err(ApiError::BadRequest("no command to run".into()));
        }
        Ok(SubmitRequest {
            kind: "shell".into(),
            input: shell_line(&req.argv),
            cwd: Some(format!("exec:{}", r.name)),
            source: "exec".into(),
            resource: Some(r.name.clone()),
            ..SubmitRequest::default()
        })
    }

    fn exec_resource(&self, name: &str) -> Result<&airlock_config::ResourceConfig, ApiError> {
        let r = self
            .config
            .resources
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| ApiError::NotFound(format!("no [[resource]] is named {name:?}")))?;
        if r.cli_env.is_none() {
            return Err(ApiError::BadRequest(format!(
                "resource {name} has no cli_env: name the environment variable its CLI reads the credential from"
            )));
        }
        Ok(r)
    }

    /// Runs an allowed brokered command with the resource's credential; its output, masked.
    /// Call only with a decision that allowed `req`.
    pub fn run_brokered(&self, req: &ExecRequest) -> Result<ExecOutput, ApiError> {
        let r = self.exec_resource(&req.resource)?;
        let var = r.cli_env.clone().unwrap_or_default();
        let secret = r
            .secret_value(&self.config)
            .map_err(ApiError::Internal)?
            .ok_or_else(|| ApiError::BadRequest(format!("resource {} names no secret", r.name)))?;
        let scratch = scratch_dir(&self.config.state_dir().map_err(ApiError::Internal)?)?;
        let result = run_in(&scratch, &req.argv, &var, &secret);
        let _ = std::fs::remove_dir_all(&scratch);
        let output = result?;
        self.audit(
            "exec.ran",
            None,
            serde_json::json!({ "resource": r.name, "command": airlock_classify::redact(&shell_line(&req.argv)), "status": output.status }),
        )?;
        Ok(output)
    }
}

fn scratch_dir(state_dir: &Path) -> Result<PathBuf, ApiError> {
    use std::os::unix::fs::DirBuilderExt;
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let dir = state_dir.join("exec").join(airlock_store::to_hex(&rnd));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| ApiError::Internal(format!("cannot make a scratch directory: {e}")))?;
    Ok(dir)
}

fn run_in(dir: &Path, argv: &[String], var: &str, secret: &str) -> Result<ExecOutput, ApiError> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("LANG", "C.UTF-8")
        .env(var, secret)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ApiError::BadRequest(format!("cannot run {}: {e}", argv[0])))?;
    let out = read_capped(child.stdout.take().expect("piped"));
    let err = read_capped(child.stderr.take().expect("piped"));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| ApiError::Internal(e.to_string()))? {
            break s;
        }
        if started.elapsed() > MAX_RUN {
            let _ = child.kill();
            break child.wait().map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (stdout, cut_out) = out.join().unwrap_or_default();
    let (stderr, cut_err) = err.join().unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    Ok(ExecOutput {
        status: status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: mask(&stdout, secret),
        stderr: mask(&stderr, secret),
        truncated: cut_out || cut_err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_what_needs_quoting() {
        let argv: Vec<String> = ["railway", "volume", "list", "--json", "it's here", ""]
            .map(String::from)
            .to_vec();
        assert_eq!(shell_line(&argv), "railway volume list --json 'it'\\''s here' ''");
    }

    #[test]
    fn the_credential_is_set_for_the_command_and_masked_in_its_output() {
        let dir = std::env::temp_dir().join(format!("airlock-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let argv: Vec<String> = ["/bin/sh", "-c", "echo \"token=$TOK\"; echo err >&2; exit 3"]
            .map(String::from)
            .to_vec();
        let out = run_in(&dir, &argv, "TOK", "s3cr3t-value").unwrap();
        assert_eq!(out.status, 3);
        assert_eq!(out.stdout, format!("token={MASK}\n"));
        assert_eq!(out.stderr, "err\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
