/// A state operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the state database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot prepare the state file {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the state was written by a newer Airlock (schema {found}, this build knows {known}); upgrade Airlock")]
    TooNew { found: i64, known: i64 },
}
