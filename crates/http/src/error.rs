/// What can go wrong in the API gateway. Messages never carry a credential.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The config or a file it names cannot be used.
    #[error("{0}")]
    Setup(String),
    /// The provider could not be reached or answered wrongly.
    #[error("{0}")]
    Upstream(String),
    /// The resource's secret cannot be read.
    #[error("{0}")]
    Secret(String),
    /// A protective call before a destructive one failed: the destructive call must not run.
    #[error("{0}")]
    Protect(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
