//! `airlock log`: the audit chain, read from this instance's state; `--verify` checks every link.

use std::path::Path;
use std::time::Duration;

use airlock_store::{verify_chain, AuditEntry};
use anyhow::{anyhow, bail, Result};

use crate::cli::LogArgs;
use crate::context::{open_local, when};

fn print(e: &AuditEntry, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(e)?);
    } else if let (Some(items), "pg.statements") = (e.detail["statements"].as_array(), e.kind.as_str()) {
        // The gateway's batches: one line per statement or connection under the entry.
        println!(
            "{:>6}  {}  {:<18} {:<9} {} entries",
            e.seq,
            when(e.at),
            e.kind,
            "-",
            items.len()
        );
        for s in items {
            match s["event"].as_str() {
                Some(event) => println!(
                    "          session {}  {event}: {} (token {}…) to {} from {}",
                    s["session"],
                    s["agent"].as_str().unwrap_or("?"),
                    s["token"].as_str().unwrap_or("?"),
                    s["resource"].as_str().unwrap_or("?"),
                    s["peer"].as_str().unwrap_or("?")
                ),
                None => println!(
                    "          session {}  {} {:<11} {}",
                    s["session"],
                    s["decision"].as_str().unwrap_or("?"),
                    s["risk"].as_str().unwrap_or("?"),
                    s["sql"].as_str().unwrap_or("")
                ),
            }
        }
    } else {
        let detail = e.detail.to_string();
        println!(
            "{:>6}  {}  {:<18} {:<9} {}",
            e.seq,
            when(e.at),
            e.kind,
            e.action_id.as_deref().unwrap_or("-"),
            detail
        );
    }
    Ok(())
}

pub fn run(config: Option<&Path>, args: LogArgs) -> Result<()> {
    let airlock = open_local(config)?;
    let store = airlock.store();
    if args.verify {
        let all = store.audit(None).map_err(|e| anyhow!("{e}"))?;
        return match verify_chain(&all) {
            Ok(n) => {
                println!("The audit chain is intact: {n} entries, each committing to the one before.");
                Ok(())
            }
            Err(b) => bail!("the audit chain is broken at entry {}: {}", b.seq, b.problem),
        };
    }
    let mut seen = 0i64;
    loop {
        for e in store.audit(args.action.as_deref()).map_err(|e| anyhow!("{e}"))? {
            if e.seq > seen {
                print(&e, args.json)?;
                seen = e.seq;
            }
        }
        if !args.follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
