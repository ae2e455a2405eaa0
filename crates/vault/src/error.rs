/// A vault operation that failed. Messages name the object and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("the vault key does not open this vault (wrong key, or the key file was replaced); without the right key the vault cannot be read")]
    WrongKey,
    #[error("the vault key is invalid: {0}")]
    BadKey(String),
    #[error("{0} failed authentication: the data was changed or damaged; it will not be restored")]
    Corrupt(String),
    #[error("no snapshot {0} in the vault (`airlock snapshots` lists them)")]
    NoSnapshot(String),
    #[error("snapshot {id} is locked until {until}; it cannot be deleted before then")]
    Locked { id: String, until: i64 },
    #[error(
        "{0} already exists and differs from the snapshot; pass --force to overwrite it, or --to to restore beside it"
    )]
    WouldClobber(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the SQLite backup failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no randomness available: {0}")]
    Random(String),
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> VaultError {
    let what = what.into();
    move |source| VaultError::Io { what, source }
}
