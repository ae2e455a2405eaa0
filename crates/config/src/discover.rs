//! Finding the config file: `--config`, then `AIRLOCK_CONFIG`, then `./airlock.toml`, then the user
//! config dir (`$XDG_CONFIG_HOME/airlock/airlock.toml`, or `~/.config/airlock/airlock.toml`).

use std::path::{Path, PathBuf};

/// Where the config was found, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    pub path: PathBuf,
    pub how: &'static str,
}

/// The per-user config directory.
pub fn user_config_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("airlock"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("airlock"))
}

/// Finds the config file to use. `explicit` is `--config`. Returns None when none exists, with the
/// places tried, so the caller can say where it looked.
pub fn discover(explicit: Option<&Path>) -> Result<Discovered, Vec<PathBuf>> {
    if let Some(p) = explicit {
        return Ok(Discovered {
            path: p.to_owned(),
            how: "--config",
        });
    }
    if let Some(p) = std::env::var_os("AIRLOCK_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(Discovered {
            path: PathBuf::from(p),
            how: "AIRLOCK_CONFIG",
        });
    }
    let mut tried = Vec::new();
    let local = PathBuf::from("airlock.toml");
    if local.is_file() {
        let path = std::env::current_dir().map(|d| d.join(&local)).unwrap_or(local);
        return Ok(Discovered {
            path,
            how: "./airlock.toml",
        });
    }
    tried.push(local);
    if let Some(dir) = user_config_dir() {
        let p = dir.join("airlock.toml");
        if p.is_file() {
            return Ok(Discovered {
                path: p,
                how: "the user config dir",
            });
        }
        tried.push(p);
    }
    Err(tried)
}
