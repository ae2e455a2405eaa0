//! `airlock log`: the audit chain; `--verify` checks every sealed link and the vault's checkpoints.

use std::path::Path;
use std::time::Duration;

use airlock_server::LogVerification;
use airlock_store::AuditEntry;
use anyhow::{anyhow, bail, Result};

use crate::cli::LogArgs;
use crate::context::{api, instance, when, Instance};

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

/// Where the log comes from: an unprivileged instance's own state, or the service's API.
enum Source {
    Local(Box<airlock_server::Airlock>),
    Api(airlock_server::Client),
}

impl Source {
    fn entries(&self, action: Option<&str>) -> Result<Vec<AuditEntry>> {
        match self {
            Source::Local(a) => a.store().audit(action).map_err(|e| anyhow!("{e}")),
            Source::Api(c) => {
                let path = match action {
                    Some(id) => format!("/v1/log?action={id}"),
                    None => "/v1/log".into(),
                };
                c.call("GET", &path, None).map_err(|e| anyhow!("{e}"))
            }
        }
    }

    fn verify(&self) -> Result<LogVerification> {
        match self {
            Source::Local(a) => a.verify_log().map_err(|e| anyhow!("{e}")),
            Source::Api(c) => c.call("GET", "/v1/log/verify", None).map_err(|e| anyhow!("{e}")),
        }
    }
}

pub fn run(config: Option<&Path>, args: LogArgs) -> Result<()> {
    let source = match instance(config)? {
        Instance::Local(cfg) => Source::Local(Box::new(
            airlock_server::Airlock::open(*cfg).map_err(|e| anyhow!("{e}"))?,
        )),
        service => Source::Api(api(&service, &args.auth)?),
    };
    if args.verify {
        let v = source.verify()?;
        if args.json {
            println!("{}", serde_json::to_string(&v)?);
        }
        return match &v.problem {
            None => {
                if !args.json {
                    println!(
                        "The audit chain is intact: {} entries, each sealed with the instance's key and committing to the one before; {} checkpoint(s) in the vault agree{}.",
                        v.entries,
                        v.sealed_checkpoints,
                        v.newest_checkpoint.map(|s| format!(" (the newest saw {s} entries)")).unwrap_or_default()
                    );
                }
                Ok(())
            }
            Some(p) => bail!("the audit log cannot be trusted: {p}"),
        };
    }
    let mut seen = 0i64;
    loop {
        for e in source.entries(args.action.as_deref())? {
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
