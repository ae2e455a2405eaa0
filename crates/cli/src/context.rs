//! What most commands need first: the config, the local instance, the token, the server.

use std::path::{Path, PathBuf};

use airlock_config::{discover, Config};
use airlock_server::{Airlock, Client, Endpoint};
use anyhow::{anyhow, bail, Context, Result};

use crate::cli::AuthArgs;

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

/// Opens this machine's instance directly (state and policy): for local administration.
pub fn open_local(explicit: Option<&Path>) -> Result<Airlock> {
    let config = load_config(explicit)?;
    Airlock::open(config).map_err(|e| anyhow!("{e}"))
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
    let config = load_config(explicit)?;
    Ok(Client::new(endpoint(&config), Some(token(auth)?)))
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
