//! What most commands need first: which instance, the config, the token, the server.
//!
//! Which instance a command talks to is decided here, once:
//! 1. `--config PATH`: that instance;
//! 2. else, when this machine has a system install (`/etc/airlock/airlock.toml`), the service on
//!    its fixed socket — `AIRLOCK_CONFIG`, `./airlock.toml` and user configs are then ignored, so
//!    nothing an agent can set or write points a hook or an operator's CLI at another server;
//! 3. else `AIRLOCK_CONFIG`, `./airlock.toml`, the user config dir (an unprivileged instance).

use std::path::{Path, PathBuf};

use airlock_config::{discover, Config, SystemPaths};
use airlock_server::{Airlock, Client, Endpoint};
use anyhow::{anyhow, bail, Context, Result};

use crate::cli::AuthArgs;

/// The instance a command talks to.
pub enum Instance {
    /// An unprivileged instance (`mode = "local"`): its files are the caller's own.
    Local(Box<Config>),
    /// A service (`mode = "service"`): reached only through its socket, whose peer must be the
    /// service's unix user.
    Service { socket: PathBuf, user: String },
}

impl Instance {
    pub fn is_service(&self) -> bool {
        matches!(self, Instance::Service { .. })
    }
}

fn from_config(config: Config) -> Instance {
    if config.is_service() {
        Instance::Service {
            socket: config.socket_path().unwrap_or_else(|| SystemPaths::SOCKET.into()),
            user: config.server.user.clone(),
        }
    } else {
        Instance::Local(Box::new(config))
    }
}

/// Which instance (see the module's rules).
pub fn instance(explicit: Option<&Path>) -> Result<Instance> {
    if explicit.is_none() && SystemPaths::installed() {
        return Ok(Instance::Service {
            socket: SystemPaths::SOCKET.into(),
            user: airlock_config::SERVICE_USER.into(),
        });
    }
    Ok(from_config(load_config(explicit)?))
}

/// A client for the instance's API: in service mode the system socket, its server checked to be
/// the service's unix user; the token is optional there (the socket says who calls).
pub fn api(instance: &Instance, auth: &AuthArgs) -> Result<Client> {
    match instance {
        Instance::Local(cfg) => Ok(Client::new(endpoint(cfg), Some(token(auth)?))),
        Instance::Service { socket, user } => {
            let uid = airlock_server::user_by_name(user)
                .ok_or_else(|| {
                    anyhow!("there is no unix user {user:?}: Airlock is not set up on this machine (run `sudo airlock setup`)")
                })?
                .uid;
            Ok(Client::new(Endpoint::Unix(socket.clone()), token(auth).ok()).expecting_peer(uid))
        }
    }
}

/// The local instance, refusing a service (whose files belong to the service user).
pub fn local_only(instance: Instance, what: &str) -> Result<Airlock> {
    match instance {
        Instance::Local(cfg) => Airlock::open(*cfg).map_err(|e| anyhow!("{e}")),
        Instance::Service { .. } => bail!(
            "{what} works on an unprivileged instance only; this machine's Airlock runs as a service, which does it through its socket"
        ),
    }
}

pub fn load_config(explicit: Option<&Path>) -> Result<Config> {
    let found = discover(explicit).map_err(|tried| {
        let places: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        anyhow!(
            "no airlock.toml found (looked for {}); run `airlock init` to create one, or pass --config",
            places.join(", ")
        )
    })?;
    Config::load(&found.path).with_context(|| format!("the config found through {}", found.how))
}

/// The caller's token: `--token-file`, else `AIRLOCK_TOKEN`.
pub fn token(auth: &AuthArgs) -> Result<String> {
    if let Some(path) = &auth.token_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()))?;
        let t = text.trim().to_owned();
        if t.is_empty() {
            bail!("the token file {} is empty", path.display());
        }
        return Ok(t);
    }
    match std::env::var("AIRLOCK_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        _ => bail!("no token: set AIRLOCK_TOKEN or pass --token-file PATH (`airlock token create` issues one)"),
    }
}

pub fn endpoint(config: &Config) -> Endpoint {
    match config.socket_path() {
        Some(p) => Endpoint::Unix(p),
        None => Endpoint::Tcp(config.server.listen.clone()),
    }
}

pub fn client(explicit: Option<&Path>, auth: &AuthArgs) -> Result<Client> {
    api(&instance(explicit)?, auth)
}

/// A file only its owner can read (tokens, keys).
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("HOME is not set"))
}

/// A timestamp for people: `2026-11-25 10:58:09Z`.
pub fn when(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant), valid for the whole i64 day range we can meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(super::when(0), "1970-01-01 00:00:00Z");
        assert_eq!(super::when(1_795_604_289), "2026-11-25 10:58:09Z");
    }
}
