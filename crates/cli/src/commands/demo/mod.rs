//! `airlock demo`: the incident, replayed against the real binary — a real server, the real
//! Claude Code hook path, real approvals — in a throwaway directory, offline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::cli::DemoArgs;

mod api;
mod gateway;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Demo {
    exe: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    rows: Vec<(String, String, String)>,
    failures: Vec<String>,
}

const FOUND_TOKEN: &str = "9f1c2d3e4b5a69788796a5b4c3d2e1f0";

impl Demo {
    fn airlock(&self, args: &[&str], stdin: Option<&str>) -> Result<(i32, String, String)> {
        let mut child = Command::new(&self.exe)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .env_remove("AIRLOCK_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run the airlock binary")?;
        if let Some(s) = stdin {
            child.stdin.take().expect("piped").write_all(s.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Sends a command through the Claude Code hook exactly as Claude Code would.
    fn agent_runs(
        &mut self,
        token: &Path,
        label: &str,
        command: &str,
        cwd: &Path,
        expect: &str,
    ) -> Result<Option<String>> {
        let payload = json!({
            "session_id": "demo", "transcript_path": "/dev/null", "cwd": cwd, "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_input": { "command": command, "description": label },
        });
        let (_, out, _) = self.airlock(
            &["hook", "claude-code", "--token-file", &token.display().to_string()],
            Some(&payload.to_string()),
        )?;
        // No output at all is Airlock's plain allow: Claude Code's own permission rules decide.
        let out = if out.trim().is_empty() {
            json!({"hookSpecificOutput": {"permissionDecision": "allow", "permissionDecisionReason": "Allowed by Airlock (Claude Code's own permission rules still apply)."}}).to_string()
        } else {
            out
        };
        let v: Value = serde_json::from_str(&out)
            .map_err(|e| anyhow!("the hook printed something that is not JSON ({e}): {out}"))?;
        let decision = v["hookSpecificOutput"]["permissionDecision"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let held = reason.contains("held this action");
        let shown = if decision == "allow" {
            "ALLOW"
        } else if held {
            "HELD"
        } else {
            "DENY"
        };
        println!("\n  agent> {command}");
        println!("  Airlock: {shown}");
        println!("    {}", wrap(&reason, 96).join("\n    "));
        if shown != expect {
            self.failures.push(format!("{label}: expected {expect}, got {shown}"));
        }
        self.rows
            .push((label.to_owned(), shown.to_owned(), short_reason(&reason)));
        Ok(reason
            .split("(id ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_owned))
    }

    /// Checks rows an undo brought back against the originals, and records the outcome.
    fn rows_restored(&mut self, label: &str, before: &[String], after: &[String]) {
        if after == before {
            println!(
                "    verified: all {} rows are back, equal to the originals.",
                after.len()
            );
        } else {
            self.failures
                .push(format!("{label}: the rows differ from the originals"));
        }
        self.rows.push((
            label.into(),
            "UNDONE".into(),
            format!("{} rows restored from the vault and verified", after.len()),
        ));
    }

    fn human(&self, args: &[&str]) -> Result<String> {
        let (code, out, err) = self.airlock(args, None)?;
        println!(
            "\n  human$ airlock {}",
            args.iter()
                .filter(|a| !a.contains('/'))
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        );
        for line in out.lines().chain(err.lines()).take(4) {
            println!("    {line}");
        }
        if code != 0 {
            bail!("`airlock {}` failed: {err}", args.join(" "));
        }
        Ok(out)
    }
}

/// The orders of the demo's SQLite database, created (with 250 rows, NULLs and blobs) on first call.
fn sqlite_rows(db: &Path, create: bool) -> Result<Vec<String>> {
    let conn = rusqlite::Connection::open(db)?;
    if create {
        conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL, receipt BLOB)")?;
        for i in 0..250i64 {
            let customer = if i % 9 == 0 {
                None
            } else {
                Some(format!("customer {}", i % 40))
            };
            conn.execute(
                "INSERT INTO orders (customer, total, receipt) VALUES (?1, ?2, ?3)",
                rusqlite::params![customer, i as f64 * 1.25, vec![(i % 256) as u8; 16]],
            )?;
        }
    }
    let mut st =
        conn.prepare("SELECT id, coalesce(customer, '<null>'), total, hex(receipt) FROM orders ORDER BY id")?;
    let rows = st
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, String>(3)?
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Some files with distinct content, returned as (relative path, bytes).
fn fill_uploads(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    std::fs::create_dir_all(dir.join("2026/11"))?;
    for (i, name) in [
        "invoice-1041.pdf",
        "2026/11/receipt-77.png",
        "2026/11/contract.txt",
        "avatar.jpg",
    ]
    .iter()
    .enumerate()
    {
        let body: Vec<u8> = (0..2048 + i * 517).map(|n| ((n * 31 + i * 7) % 251) as u8).collect();
        std::fs::write(dir.join(name), body)?;
    }
    read_tree(dir)
}

fn read_tree(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p)? {
                stack.push(e?.path());
            }
        } else {
            out.push((p.strip_prefix(dir)?.to_path_buf(), std::fs::read(&p)?));
        }
    }
    out.sort();
    Ok(out)
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.len() + word.len() + 1 > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

fn short_reason(reason: &str) -> String {
    let r = reason.split(". Why: ").nth(1).unwrap_or(reason);
    let r = r.split(". To let it run").next().unwrap_or(r);
    let r = r.trim_start_matches("Airlock refused this action: ");
    let r = r.split(". Do not").next().unwrap_or(r);
    r.chars().take(110).collect()
}

fn config_text(dir: &Path) -> String {
    format!(
        r#"[server]
listen = ""
socket = "airlock.sock"
state = "sqlite:state.db"
policy = "policy.cedar"
# The demo's human answers after the agent asked, so held calls answer at once.
hold_wait = "0s"
# Seal the audit chain's head into the vault every second, so `log --verify` can show it.
checkpoint_every = "1s"

[[environment]]
name = "production"
hosts = ["*.prod.internal"]
databases = ["shop"]
paths = ["{prod}"]
cloud = ["production"]

[[environment]]
name = "staging"
hosts = ["*.staging.internal"]
databases = ["shop_staging"]
paths = ["{staging}"]
cloud = ["staging"]
"#,
        prod = dir.join("prod").display(),
        staging = dir.join("staging").display()
    )
}

pub fn run(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("airlock-demo-{}-{}", std::process::id(), airlock_server::now()));
    let result = replay(&dir);
    if args.keep {
        println!("\nThe demo's files are in {}.", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    println!("\n(The demo took {:.1} s.)", started.elapsed().as_secs_f64());
    Ok(())
}

fn replay(dir: &Path) -> Result<()> {
    crate::commands::init::write_instance(&dir.join("airlock"), true)?;
    let config = dir.join("airlock").join("airlock.toml");
    // The database half runs when the machine has PostgreSQL's server binaries.
    let cluster = gateway::Cluster::start(dir)?;
    let gateway_port = gateway::free_port()?;
    let mut text = config_text(dir);
    // The API half: a local stand-in for Railway behind the API gateway. The credential for it is
    // in the server's environment only; the agent never gets one.
    let railway = api::Railway::start()?;
    let api_port = gateway::free_port()?;
    text.push_str(&railway.config(api_port));
    std::env::set_var(api::TOKEN_VAR, api::DEMO_RAILWAY_TOKEN);
    if let Some(c) = &cluster {
        c.seed()?;
        text.push_str(&c.config(gateway_port));
    }
    crate::context::write_private(&config, &text)?;
    for sub in ["staging/app", "prod/data"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    std::fs::write(dir.join("prod/data/orders.db"), "the production data")?;
    // The token the agent will find: made for managing domains, valid for everything.
    std::fs::write(
        dir.join("staging/app/.env.domains"),
        format!("# DNS automation\nRAILWAY_TOKEN={FOUND_TOKEN}\n"),
    )?;

    let mut demo = Demo {
        exe: std::env::current_exe()?,
        dir: dir.to_owned(),
        config: config.clone(),
        rows: Vec::new(),
        failures: Vec::new(),
    };
    let server = Command::new(&demo.exe)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `airlock serve`")?;
    let _server = Server(server);
    let socket = dir.join("airlock").join("airlock.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        if Instant::now() > deadline {
            bail!("the server did not start within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let tokens = dir.join("airlock").join("tokens");
    let issue = |name: &str, extra: &[&str]| -> Result<PathBuf> {
        let mut args = vec!["token", "create", "--agent", name];
        args.extend_from_slice(extra);
        let (code, out, err) = demo.airlock(&args, None)?;
        if code != 0 {
            bail!("token create failed: {err}");
        }
        let path = tokens.join(format!("{name}.token"));
        crate::context::write_private(&path, &out)?;
        Ok(path)
    };
    let agent = issue("claude", &[])?;
    let ci = issue("ci-bot", &["--env", "staging"])?;
    let alice = issue("alice", &["--operator"])?;
    let bob = issue("bob", &["--operator"])?;

    println!("Airlock demo: the nine-second disaster, replayed with Airlock in the way.");
    println!(
        "An agent works on a staging task in {}.",
        dir.join("staging/app").display()
    );
    println!("It hits a credential mismatch, goes looking, and finds .env.domains with a Railway token");
    println!("that was made for DNS but is valid for everything. Every command below goes through the");
    println!("real Claude Code hook (`airlock hook claude-code`) to a real `airlock serve`.");

    let app = dir.join("staging/app");
    let gql = r#"'{"query":"mutation { volumeDelete(volumeId: \"vol_prod_db\") }"}'"#;
    demo.agent_runs(&agent, "everyday work: ls", "ls -la", &app, "ALLOW")?;
    demo.agent_runs(
        &agent,
        "everyday work: run the tests",
        "cargo test --workspace",
        &app,
        "ALLOW",
    )?;
    demo.agent_runs(
        &agent,
        "the incident's call, with the found token",
        &format!("curl -X POST https://backboard.railway.app/graphql/v2 -H 'Authorization: Bearer {FOUND_TOKEN}' -H 'Content-Type: application/json' -d {gql}"),
        &app,
        "DENY",
    )?;
    let volume = demo.agent_runs(
        &agent,
        "the same mutation, token from the environment",
        &format!("curl -X POST https://backboard.railway.app/graphql/v2 -H \"Authorization: Bearer $RAILWAY_TOKEN\" -H 'Content-Type: application/json' -d {gql}"),
        &app,
        "HELD",
    )?;
    demo.agent_runs(
        &agent,
        "DROP TABLE on the production database",
        "psql -h db.prod.internal -d shop -c 'DROP TABLE users'",
        &app,
        "HELD",
    )?;
    demo.agent_runs(
        &agent,
        "wipe the production data directory",
        &format!("rm -rf {}", dir.join("prod/data").display()),
        &app,
        "HELD",
    )?;
    demo.agent_runs(
        &agent,
        "hide the evidence: disable the hook",
        "echo '{}' > .claude/settings.json",
        &app,
        "DENY",
    )?;
    demo.agent_runs(
        &ci,
        "a staging-only token reaching production",
        "psql -h db.prod.internal -d shop -c 'DELETE FROM orders'",
        &app,
        "DENY",
    )?;
    let staging = demo
        .agent_runs(
            &agent,
            "a staging cleanup the task really needs",
            "psql -h db.staging.internal -d shop_staging -c 'TRUNCATE sessions'",
            &app,
            "HELD",
        )?
        .ok_or_else(|| anyhow!("the staging action got no approval id"))?;

    println!("\nA human looks at what is waiting, out of band, with an operator token:");
    demo.human(&["pending", "--token-file", &alice.display().to_string()])?;
    demo.human(&[
        "approve",
        &staging,
        "--reason",
        "staging sessions are disposable",
        "--token-file",
        &alice.display().to_string(),
    ])?;
    if let Some(v) = &volume {
        demo.human(&["approve", v, "--token-file", &bob.display().to_string()])?;
        println!("    (one approval of two: production-class actions need two different people)");
    }
    demo.agent_runs(
        &agent,
        "the approved staging cleanup, retried",
        "psql -h db.staging.internal -d shop_staging -c 'TRUNCATE sessions'",
        &app,
        "ALLOW",
    )?;
    demo.agent_runs(
        &agent,
        "the same command once more",
        "psql -h db.staging.internal -d shop_staging -c 'TRUNCATE sessions'",
        &app,
        "HELD",
    )?;
    println!("\nNow the recovery half. The task also needs the staging uploads cleared:");
    let uploads = dir.join("staging/uploads");
    let originals = fill_uploads(&uploads)?;
    let rm = format!("rm -rf {}", uploads.display());
    let held = demo
        .agent_runs(&agent, "clear the staging uploads", &rm, &app, "HELD")?
        .ok_or_else(|| anyhow!("the uploads deletion got no approval id"))?;
    demo.human(&[
        "approve",
        &held,
        "--reason",
        "clearing staging uploads",
        "--token-file",
        &alice.display().to_string(),
    ])?;
    demo.agent_runs(
        &agent,
        "the approved deletion, retried (snapshot first)",
        &rm,
        &app,
        "ALLOW",
    )?;
    // The agent's tool now really runs the command.
    std::fs::remove_dir_all(&uploads)?;
    println!("  (the agent's shell ran it: {} is gone)", uploads.display());
    println!("\nIt turns out the uploads were needed after all. One command puts them back:");
    demo.human(&["undo", &held])?;
    let restored = read_tree(&uploads)?;
    if restored == originals {
        println!("    verified: all {} files are back, byte for byte.", restored.len());
    } else {
        demo.failures.push("undo did not restore the uploads exactly".into());
    }
    demo.rows.push((
        "undo of the approved deletion".into(),
        "UNDONE".into(),
        format!("{} files restored from the vault and verified", restored.len()),
    ));

    println!("\nThe same for rows: the task's SQLite database loses its orders table's contents.");
    let db = app.join("app.db");
    let before = sqlite_rows(&db, true)?;
    let wipe = format!("sqlite3 {} 'DELETE FROM orders'", db.display());
    let held_db = demo
        .agent_runs(&agent, "empty the orders table", &wipe, &app, "HELD")?
        .ok_or_else(|| anyhow!("the DELETE got no approval id"))?;
    demo.human(&["approve", &held_db, "--token-file", &alice.display().to_string()])?;
    demo.agent_runs(
        &agent,
        "the approved DELETE, retried (snapshot first)",
        &wipe,
        &app,
        "ALLOW",
    )?;
    rusqlite::Connection::open(&db)?.execute("DELETE FROM orders", [])?;
    println!("  (sqlite3 ran it: {} rows left)", sqlite_rows(&db, false)?.len());
    println!("\nUndo puts the database file back (--force: the file is still there, and Airlock never overwrites without being told):");
    demo.human(&["undo", &held_db, "--force"])?;
    demo.rows_restored("undo of the approved DELETE", &before, &sqlite_rows(&db, false)?);
    match &cluster {
        Some(c) => gateway::replay(&mut demo, c, gateway_port, &agent, [&alice, &bob])?,
        None => println!(
            "\n(The database half is skipped: this machine has no PostgreSQL server binaries in /usr/lib/postgresql. Install postgresql to see the gateway.)"
        ),
    }
    let agent_token = std::fs::read_to_string(&agent)?
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", api_port)).is_err() {
        if Instant::now() > deadline {
            bail!("the API gateway did not start within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    api::replay(&mut demo, &railway, api_port, &agent_token, [&alice, &bob])?;
    demo.human(&["vault", "check", "--read-data"])?;
    demo.human(&["log", "--verify"])?;

    println!("\nSummary");
    for (label, shown, why) in &demo.rows {
        println!("  {shown:<6} {label:<48} {why}");
    }
    let held = demo.rows.iter().filter(|r| r.1 == "HELD").count();
    let denied = demo.rows.iter().filter(|r| r.1 == "DENY").count();
    println!(
        "\nAirlock let the everyday work through, refused {denied} actions outright (a found credential, a scope breach, an attempt to switch it off), and held {held} for humans; the production database and data directory are untouched ({} still exists), and the one volume deletion humans approved ran only after Railway locked a backup of it.",
        demo.dir.join("prod/data/orders.db").display()
    );
    if !demo.failures.is_empty() {
        bail!("the demo did not go as expected:\n  {}", demo.failures.join("\n  "));
    }
    Ok(())
}
