//! SQLite databases: a consistent copy through SQLite's online backup API, even while the database is
//! in use, then stored like a file.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::VaultError;

/// Copies the database at `db` into `into` (a new file) with the online backup API.
pub(crate) fn backup(db: &Path, into: &Path) -> Result<(), VaultError> {
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    // The copy holds the database's data: create it private before SQLite writes into it (its
    // journal takes the same mode).
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(into)
            .map_err(crate::error::io(format!("cannot create {}", into.display())))?;
    }
    let mut dst = Connection::open(into)?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    backup.run_to_completion(256, Duration::from_millis(5), None)?;
    Ok(())
}
