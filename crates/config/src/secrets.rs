//! The secret store: resource credentials kept beside the state, one file per secret (0600) in a
//! directory only the service can enter (0700). Values are never printed back; `list` shows names.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A secret that cannot be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0:?} is not a secret name: use 1–64 letters, digits, '.', '_' or '-', not starting with '.'")]
    Name(String),
    #[error("no secret named {0:?} (`airlock secret set {0}` stores it)")]
    Missing(String),
    #[error("the secret store at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("a secret may not be empty")]
    Empty,
}

pub fn valid_secret_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn path_of(dir: &Path, name: &str) -> Result<PathBuf, SecretError> {
    if !valid_secret_name(name) {
        return Err(SecretError::Name(name.to_owned()));
    }
    Ok(dir.join(name))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_owned(),
        source,
    }
}

pub fn read_secret(dir: &Path, name: &str) -> Result<String, SecretError> {
    let path = path_of(dir, name)?;
    match std::fs::read_to_string(&path) {
        Ok(v) => Ok(v.trim_end_matches(['\n', '\r']).to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretError::Missing(name.to_owned())),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Stores a secret atomically (a temporary file, then a rename), replacing an older value.
pub fn write_secret(dir: &Path, name: &str, value: &str) -> Result<(), SecretError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = path_of(dir, name)?;
    let value = value.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::Empty);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(value.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// The names in the store, sorted.
pub fn list_secrets(dir: &Path) -> Result<Vec<String>, SecretError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| valid_secret_name(n))
        .collect();
    names.sort();
    Ok(names)
}

/// Removes a secret; false when there was none.
pub fn remove_secret(dir: &Path, name: &str) -> Result<bool, SecretError> {
    let path = path_of(dir, name)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_privately_and_names_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("airlock-secrets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_secret(&dir, "shop-db", "hunter2\n").unwrap();
        assert_eq!(read_secret(&dir, "shop-db").unwrap(), "hunter2");
        let mode = std::fs::metadata(dir.join("shop-db")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(list_secrets(&dir).unwrap(), vec!["shop-db".to_owned()]);
        for bad in ["../x", ".hidden", "", "a/b", "x y"] {
            assert!(
                matches!(write_secret(&dir, bad, "v"), Err(SecretError::Name(_))),
                "{bad}"
            );
        }
        assert!(matches!(read_secret(&dir, "nope"), Err(SecretError::Missing(_))));
        assert!(matches!(write_secret(&dir, "e", "\n"), Err(SecretError::Empty)));
        assert!(remove_secret(&dir, "shop-db").unwrap());
        assert!(!remove_secret(&dir, "shop-db").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
