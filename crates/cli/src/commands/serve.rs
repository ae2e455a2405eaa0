use std::sync::Arc;

use anyhow::{anyhow, Result};

pub fn run(config: Option<&std::path::Path>) -> Result<()> {
    let cfg = crate::context::load_config(config)?;
    let socket = cfg.socket_path();
    let listen = cfg.server.listen.clone();
    let airlock = Arc::new(airlock_server::Airlock::open(cfg).map_err(|e| anyhow!("{e}"))?);
    let tcp = (!listen.is_empty()).then_some(listen.as_str());
    let handle = airlock_server::serve(Arc::clone(&airlock), tcp, socket).map_err(|e| anyhow!(e))?;
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
