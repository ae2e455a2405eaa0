use thiserror::Error;

/// What can go wrong in the gateway. Messages never hold a token or a password.
#[derive(Debug, Error)]
pub enum PgError {
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("a '{tag}' message of {bytes} bytes is larger than the gateway judges ({limit} bytes)")]
    TooLarge { tag: char, bytes: usize, limit: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the upstream database: {0}")]
    Upstream(String),
    #[error("{0}")]
    Setup(String),
}
