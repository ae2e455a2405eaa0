//! Where vault objects live. Objects are written once under their final name, never rewritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{io, VaultError};

/// A place to keep vault objects (a local directory now; object storage later).
pub trait Backend: Send + Sync {
    /// Stores `data` under `name` atomically: readers see all of it or nothing.
    fn put(&self, name: &str, data: &[u8]) -> Result<(), VaultError>;
    /// Stores `data` under `name` without waiting for it to reach the disk; `sync` must follow
    /// before anything refers to it. Lets the OS write packs back while chunking goes on.
    fn put_unsynced(&self, name: &str, data: &[u8]) -> Result<(), VaultError> {
        self.put(name, data)
    }
    /// Makes objects stored with `put_unsynced` durable.
    fn sync(&self, _names: &[String]) -> Result<(), VaultError> {
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Vec<u8>, VaultError>;
    /// Object names under a prefix (`packs/`, `index/`, `snapshots/`).
    fn list(&self, prefix: &str) -> Result<Vec<String>, VaultError>;
    fn remove(&self, name: &str) -> Result<(), VaultError>;
    fn exists(&self, name: &str) -> bool;
}

/// A directory owned by Airlock (0700, files 0600).
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> Result<LocalBackend, VaultError> {
        use std::os::unix::fs::PermissionsExt;
        let root = root.into();
        for sub in ["", "packs", "index", "snapshots", "checkpoints", "tmp"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).map_err(io(format!("cannot create {}", d.display())))?;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
                .map_err(io(format!("cannot secure {}", d.display())))?;
        }
        Ok(LocalBackend { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> Result<PathBuf, VaultError> {
        if name.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(VaultError::Invalid(format!("bad object name {name:?}")));
        }
        Ok(self.root.join(name))
    }
}

impl LocalBackend {
    fn write(&self, name: &str, data: &[u8], durable: bool) -> Result<(), VaultError> {
        use std::os::unix::fs::OpenOptionsExt;
        let target = self.path(name)?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| VaultError::Random(e.to_string()))?;
        let tmp = self.root.join("tmp").join(format!(
            "{}.{}",
            name.replace('/', "_"),
            suffix.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(format!("cannot write {}", tmp.display())))?;
        f.write_all(data)
            .map_err(io(format!("cannot write {}", tmp.display())))?;
        if durable {
            f.sync_all().map_err(io(format!("cannot sync {}", tmp.display())))?;
        }
        drop(f);
        std::fs::rename(&tmp, &target).map_err(io(format!("cannot move {} into place", name)))?;
        if durable {
            sync_dir(&target);
        }
        Ok(())
    }
}

fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

impl Backend for LocalBackend {
    fn put(&self, name: &str, data: &[u8]) -> Result<(), VaultError> {
        self.write(name, data, true)
    }

    fn put_unsynced(&self, name: &str, data: &[u8]) -> Result<(), VaultError> {
        self.write(name, data, false)
    }

    fn sync(&self, names: &[String]) -> Result<(), VaultError> {
        let mut last = None;
        for n in names {
            let p = self.path(n)?;
            std::fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(io(format!("cannot sync {}", p.display())))?;
            last = Some(p);
        }
        if let Some(p) = last {
            sync_dir(&p);
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, VaultError> {
        let p = self.path(name)?;
        std::fs::read(&p).map_err(io(format!("cannot read vault object {name}")))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, VaultError> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io(format!("cannot list {}", dir.display())))? {
            let e = e.map_err(io(format!("cannot list {}", dir.display())))?;
            if let Some(n) = e.file_name().to_str() {
                out.push(format!("{}/{}", prefix.trim_end_matches('/'), n));
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, name: &str) -> Result<(), VaultError> {
        let p = self.path(name)?;
        std::fs::remove_file(&p).map_err(io(format!("cannot remove vault object {name}")))
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name).is_ok_and(|p| p.exists())
    }
}
