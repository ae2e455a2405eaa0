use std::sync::Arc;

use anyhow::{anyhow, Result};

/// What a service refuses to start under, and the process hardening it applies first.
fn harden(cfg: &airlock_config::Config) -> Result<()> {
    // No core dumps and no ptrace by the same uid: the process holds keys and secrets.
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) takes no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    if !cfg.is_service() {
        return Ok(());
    }
    let me = airlock_server::current_uid();
    let service = airlock_server::user_by_name(&cfg.server.user);
    if service.as_ref().map(|u| u.uid) != Some(me) {
        anyhow::bail!(
            "this config is a service's (mode = \"service\"): run it as the unix user {} (`sudo airlock service start`), not as uid {me}",
            cfg.server.user
        );
    }
    if let Some(dir) = cfg.socket_path().as_deref().and_then(std::path::Path::parent) {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            anyhow::bail!(
                "{} must belong to {} and be writable by it alone, or someone else could put a socket there (`sudo airlock setup` fixes it)",
                dir.display(),
                cfg.server.user
            );
        }
    }
    Ok(())
}

pub fn run(config: Option<&std::path::Path>) -> Result<()> {
    let cfg = crate::context::load_config(config)?;
    harden(&cfg)?;
    let socket = cfg.socket_path();
    let listen = cfg.server.listen.clone();
    let airlock = Arc::new(airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))?);
    if let Some(why) = airlock.policy_status().error {
        anyhow::bail!("the policy cannot be used, so the server does not start: {why}");
    }
    let tcp = (!listen.is_empty()).then_some(listen.as_str());
    let handle = airlock_server::serve(Arc::clone(&airlock), tcp, socket).map_err(|e| anyhow!(e))?;
    let _gateway = if airlock.config.postgres.listen.trim().is_empty() {
        None
    } else {
        Some(start_gateway(&airlock)?)
    };
    let _api_gateway = if airlock.config.http.enabled() {
        Some(start_http(&airlock)?)
    } else {
        None
    };
    if !airlock.config.backups.is_empty() {
        // Scheduled backups: checked every minute, each taken when its interval has passed.
        let scheduler = Arc::clone(&airlock);
        std::thread::spawn(move || loop {
            for r in scheduler.run_due_backups() {
                if let Err(e) = r {
                    eprintln!("airlock: {e}");
                }
            }
            std::thread::sleep(std::time::Duration::from_secs(60));
        });
    }
    // The policy file takes effect when it changes; a broken edit is refused and the old one stays.
    let reloader = Arc::clone(&airlock);
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(2));
        if let Err(e) = reloader.reload_policy() {
            eprintln!("airlock: cannot record a policy reload: {e}");
        }
    });
    // Seal the audit chain's head into the vault at least every checkpoint_every.
    let sealer = Arc::clone(&airlock);
    std::thread::spawn(move || loop {
        std::thread::sleep(sealer.config.checkpoint_every);
        if let Err(e) = sealer.checkpoint() {
            eprintln!("airlock: cannot checkpoint the audit log: {e}");
        }
    });
    let _page = if airlock.config.web.enabled() {
        let page = airlock_web::start(Arc::clone(&airlock)).map_err(|e| anyhow!("{e}"))?;
        eprintln!("airlock: approval page on {} ({})", page.origin, page.addr);
        Some(page)
    } else {
        None
    };
    if !airlock.config.notify.is_empty() {
        let n = airlock_notify::start(Arc::clone(&airlock)).map_err(|e| anyhow!("{e}"))?;
        eprintln!("airlock: {} notification target(s)", n.active);
    }
    if let Some(a) = &handle.tcp {
        eprintln!("airlock: listening on http://{a}");
    }
    if let Some(p) = &handle.socket {
        eprintln!("airlock: listening on unix:{}", p.display());
    }
    handle.wait();
    Ok(())
}

fn start_gateway(airlock: &Arc<airlock_server::Airlock>) -> Result<airlock_pg::Gateway> {
    let gateway = airlock_pg::Gateway::start(Arc::clone(airlock)).map_err(|e| anyhow!("the Postgres gateway: {e}"))?;
    eprintln!(
        "airlock: Postgres gateway on {} (password: an Airlock token; database: a postgres resource)",
        gateway.local_addr()
    );
    Ok(gateway)
}

/// `airlock pg`: the gateway alone.
pub fn pg(config: Option<&std::path::Path>) -> Result<()> {
    let cfg = crate::context::load_config(config)?;
    let airlock = Arc::new(airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))?);
    start_gateway(&airlock)?.wait();
    Ok(())
}

fn start_http(airlock: &Arc<airlock_server::Airlock>) -> Result<airlock_http::Gateway> {
    let gateway = airlock_http::Gateway::start(Arc::clone(airlock)).map_err(|e| anyhow!("the API gateway: {e}"))?;
    eprintln!(
        "airlock: API gateway on http://{}/<resource>/<path> (Authorization: Bearer <an Airlock token>)",
        gateway.local_addr()
    );
    Ok(gateway)
}

/// `airlock http`: the API gateway alone.
pub fn http(config: Option<&std::path::Path>) -> Result<()> {
    let cfg = crate::context::load_config(config)?;
    harden(&cfg)?;
    let airlock = Arc::new(airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))?);
    start_http(&airlock)?.wait();
    Ok(())
}
