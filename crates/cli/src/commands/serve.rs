use std::sync::Arc;

use anyhow::{anyhow, Result};

pub fn run(config: Option<&std::path::Path>) -> Result<()> {
    let cfg = crate::context::load_config(config)?;
    let socket = cfg.socket_path();
    let listen = cfg.server.listen.clone();
    let airlock = Arc::new(airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))?);
    let tcp = (!listen.is_empty()).then_some(listen.as_str());
    let handle = airlock_server::serve(Arc::clone(&airlock), tcp, socket).map_err(|e| anyhow!(e))?;
    let _gateway = if airlock.config.postgres.listen.trim().is_empty() {
        None
    } else {
        Some(start_gateway(&airlock)?)
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
