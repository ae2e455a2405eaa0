//! `airlock snapshots`, `restore`, `undo`, `vault check`, `vault prune`, `backup run`.
//!
//! On a service, listing, checking, pruning and backing up go through its socket (the service owns
//! the vault); restoring writes files back where they were, with their owners, which only root
//! may do: `sudo airlock undo ID` reads the vault itself and records the undo through the socket.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::cli::{AuthArgs, BackupCommand, RestoreArgs, SnapshotsArgs, UndoArgs, VaultCommand};
use crate::context::{api, instance, when, Instance};

/// The service's API, when this is a service.
fn service_api(config: Option<&Path>) -> Result<Option<airlock_server::Client>> {
    let inst = instance(config)?;
    if inst.is_service() {
        Ok(Some(api(&inst, &AuthArgs { token_file: None })?))
    } else {
        Ok(None)
    }
}

/// The instance's files, opened here: an unprivileged instance, or as root a service's (to
/// restore files as their owners).
fn open_for_restore(config: Option<&Path>) -> Result<airlock_server::Airlock> {
    match instance(config)? {
        Instance::Local(cfg) => airlock_server::Airlock::open(*cfg).map_err(|e| anyhow!("{e}")),
        Instance::Service { .. } => {
            if airlock_server::current_uid() != 0 {
                bail!("restoring puts files back with their owners, which only root may do: run it with sudo");
            }
            let path = config
                .map(Path::to_path_buf)
                .unwrap_or_else(|| airlock_config::SystemPaths::CONFIG.into());
            let cfg = airlock_config::Config::load(&path)?;
            airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))
        }
    }
}

fn open_local(config: Option<&Path>) -> Result<airlock_server::Airlock> {
    crate::context::local_only(instance(config)?, "this command")
}

/// A progress bar with throughput and ETA, only when stderr is a terminal; None otherwise (output
/// stays plain or JSON). The vault reports bytes as it captures or restores them.
fn progress(vault: &airlock_vault::Vault, total: Option<u64>, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(what.to_owned());
    let b = bar.clone();
    vault.set_progress(Some(Box::new(move |n| b.inc(n))));
    Some(bar)
}

fn done(vault: &airlock_vault::Vault, bar: Option<indicatif::ProgressBar>) {
    vault.set_progress(None);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

pub fn snapshots(config: Option<&Path>, args: SnapshotsArgs) -> Result<()> {
    let list: Vec<airlock_vault::SnapshotSummary> = match service_api(config)? {
        Some(c) => c.call("GET", "/v1/snapshots", None).map_err(|e| anyhow!("{e}"))?,
        None => open_local(config)?
            .vault()
            .map_err(|e| anyhow!("{e}"))?
            .snapshots()
            .map_err(|e| anyhow!("{e}"))?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("The vault holds no snapshots yet.");
    }
    for s in list {
        println!(
            "{}  {}  {:<6} {:>10} ({} stored)  {} files  {}{}{}",
            s.id,
            when(s.created_at),
            format!("{:?}", s.source).to_lowercase(),
            crate::render::bytes(s.bytes),
            crate::render::bytes(s.stored),
            s.files,
            s.origin,
            s.action_id.map(|a| format!("  action {a}")).unwrap_or_default(),
            s.locked_until
                .map(|u| format!("  locked until {}", when(u)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub fn restore(config: Option<&Path>, args: RestoreArgs) -> Result<()> {
    let airlock = open_for_restore(config)?;
    let vault = airlock.vault().map_err(|e| anyhow!("{e}"))?;
    let snap = vault.snapshot(&args.id).map_err(|e| anyhow!("{e}"))?;
    let pg_url = pg_target(&airlock, &snap, args.to.as_deref())?;
    let to = if pg_url.is_some() { None } else { args.to.as_deref() };
    let done = vault
        .restore(&args.id, to, pg_url.as_deref(), args.as_schema.as_deref(), args.force)
        .map_err(|e| anyhow!("{e}"))?;
    println!("Restored snapshot {} ({done}).", args.id);
    Ok(())
}

/// For a PostgreSQL snapshot: the database to restore into, `--to URL` or its configured resource.
fn pg_target(
    airlock: &airlock_server::Airlock,
    snap: &airlock_vault::Snapshot,
    to: Option<&Path>,
) -> Result<Option<String>> {
    if snap.source != airlock_vault::SourceKind::Postgres {
        return Ok(None);
    }
    if let Some(url) = to {
        return Ok(Some(url.display().to_string()));
    }
    let resource = airlock
        .config
        .resources
        .iter()
        .find(|r| r.name == snap.resource)
        .ok_or_else(|| {
            anyhow!(
                "snapshot {} came from the resource {}, which is no longer configured; pass --to URL",
                snap.id,
                snap.resource
            )
        })?;
    Ok(Some(resource.connection_url(&airlock.config).map_err(|e| anyhow!(e))?))
}

pub fn undo(config: Option<&Path>, args: UndoArgs) -> Result<()> {
    let airlock = open_for_restore(config)?;
    let action = airlock
        .store()
        .action(&args.action)
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow!(
                "no action {} (its id is in the hold message and in `airlock log`)",
                args.action
            )
        })?;
    let provider = airlock_http::recorded_undo(&airlock, &action.id).map_err(|e| anyhow!("{e}"))?;
    if action.snapshots.is_empty() && provider.is_empty() {
        bail!(
            "action {} has no snapshot to restore ({}); nothing Airlock copied can undo it",
            action.id,
            if action.snapshot {
                "it was not run, or its targets could not be copied"
            } else {
                "its policy did not require one"
            }
        );
    }
    let vault = airlock.vault().map_err(|e| anyhow!("{e}"))?;
    for id in &action.snapshots {
        let snap = vault.snapshot(id).map_err(|e| anyhow!("{e}"))?;
        let pg_url = pg_target(&airlock, &snap, args.to.as_deref())?;
        let to = match &pg_url {
            Some(_) => None,
            None => args
                .to
                .as_ref()
                .map(|dir| dir.join(Path::new(&snap.origin).file_name().unwrap_or_default())),
        };
        let done = vault
            .restore(
                id,
                to.as_deref(),
                pg_url.as_deref(),
                args.as_schema.as_deref(),
                args.force,
            )
            .map_err(|e| anyhow!("{e}"))?;
        println!("Restored {} (snapshot {id}): {done}.", snap.origin);
    }
    // What a provider pack protected (a Railway volume backup) is restored by the provider.
    let provider_undone = airlock_http::undo(&airlock, &action.id).map_err(|e| anyhow!("{e}"))?;
    for line in &provider_undone {
        println!("Restored at the provider: {line}.");
    }
    let detail = serde_json::json!({ "snapshots": action.snapshots, "provider": provider_undone, "to": args.to, "force": args.force });
    match service_api(config)? {
        // The service keeps the audit chain; it records what root restored.
        Some(c) => {
            let _: serde_json::Value = c
                .call("POST", &format!("/v1/actions/{}/undone", action.id), Some(&detail))
                .map_err(|e| anyhow!("restored, but the undo could not be recorded: {e}"))?;
        }
        None => {
            airlock
                .store()
                .append_audit(airlock_store::NewAudit {
                    at: airlock_server::now(),
                    kind: "action.undone".into(),
                    action_id: Some(action.id.clone()),
                    detail,
                })
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    Ok(())
}

pub fn run(config: Option<&Path>, cmd: VaultCommand) -> Result<()> {
    let remote = service_api(config)?;
    let local = match remote {
        Some(_) => None,
        None => Some(open_local(config)?),
    };
    match cmd {
        VaultCommand::Check { read_data, json } => {
            let report: airlock_vault::CheckReport = match (&remote, &local) {
                (Some(c), _) => c
                    .call(
                        "POST",
                        "/v1/vault/check",
                        Some(&serde_json::json!({ "read_data": read_data })),
                    )
                    .map_err(|e| anyhow!("{e}"))?,
                (None, Some(a)) => a
                    .vault()
                    .map_err(|e| anyhow!("{e}"))?
                    .check(read_data)
                    .map_err(|e| anyhow!("{e}"))?,
                (None, None) => unreachable!("one of the two is open"),
            };
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} snapshots, {} packs, {} chunks{}.",
                    report.snapshots,
                    report.packs,
                    report.chunks,
                    if read_data {
                        format!(", {} chunks decrypted and re-hashed", report.chunks_read)
                    } else {
                        String::new()
                    }
                );
                for p in &report.problems {
                    println!("problem: {p}");
                }
            }
            if report.problems.is_empty() {
                Ok(())
            } else {
                bail!("the vault check found {} problem(s)", report.problems.len())
            }
        }
        VaultCommand::Prune { keep_last } => {
            let deleted: Vec<String> = match (&remote, &local) {
                (Some(c), _) => c
                    .call(
                        "POST",
                        "/v1/vault/prune",
                        Some(&serde_json::json!({ "keep_last": keep_last })),
                    )
                    .map_err(|e| anyhow!("{e}"))?,
                (None, Some(a)) => local_prune(a, keep_last)?,
                (None, None) => unreachable!("one of the two is open"),
            };
            println!(
                "Pruned {} snapshot(s); locked ones and the newest {keep_last} per location stay.",
                deleted.len()
            );
            Ok(())
        }
    }
}

/// Pruning an unprivileged instance's vault: whoever can open its files administers it.
fn local_prune(airlock: &airlock_server::Airlock, keep_last: usize) -> Result<Vec<String>> {
    let vault = airlock.vault().map_err(|e| anyhow!("{e}"))?;
    let all = vault.snapshots().map_err(|e| anyhow!("{e}"))?;
    let mut newest: HashMap<String, Vec<String>> = HashMap::new();
    for s in all.iter().rev() {
        newest.entry(s.origin.clone()).or_default().push(s.id.clone());
    }
    let keep = |s: &airlock_vault::SnapshotSummary| {
        newest
            .get(&s.origin)
            .is_some_and(|ids| ids.iter().take(keep_last).any(|i| i == &s.id))
    };
    vault.prune(&keep).map_err(|e| anyhow!("{e}"))
}

pub fn backup(config: Option<&Path>, cmd: BackupCommand) -> Result<()> {
    let BackupCommand::Run { resource, json } = cmd;
    if let Some(c) = service_api(config)? {
        let taken: Vec<airlock_server::BackupTaken> = c
            .call(
                "POST",
                "/v1/backups/run",
                Some(&serde_json::json!({ "resource": resource })),
            )
            .map_err(|e| anyhow!("{e}"))?;
        if json {
            println!("{}", serde_json::to_string(&taken)?);
        } else {
            for t in taken {
                println!("Backed up {} as snapshot {}.", t.resource, t.snapshot);
            }
        }
        return Ok(());
    }
    let airlock = open_local(config)?;
    let chosen: Vec<_> = airlock
        .config
        .backups
        .iter()
        .filter(|b| resource.as_ref().is_none_or(|r| &b.resource == r))
        .cloned()
        .collect();
    if chosen.is_empty() {
        bail!(
            "{}",
            match resource {
                Some(r) => format!("no [[backup]] entry for {r} in the config"),
                None => "the config has no [[backup]] entries".to_owned(),
            }
        );
    }
    let mut taken = Vec::new();
    let vault = airlock.vault().map_err(|e| anyhow!("{e}"))?;
    for b in &chosen {
        let bar = progress(vault, None, &format!("backing up {}", b.resource));
        let result = airlock.run_backup(b);
        done(vault, bar);
        let id = result.map_err(|e| anyhow!("{e}"))?;
        if !json {
            println!("Backed up {} as snapshot {id}.", b.resource);
        }
        taken.push(serde_json::json!({ "resource": b.resource, "snapshot": id }));
    }
    if json {
        println!("{}", serde_json::Value::Array(taken));
    }
    Ok(())
}
