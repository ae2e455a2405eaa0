/// Why the approval page cannot start or answer.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("the approval page is off: set [web] listen (on a service instance)")]
    Off,
    #[error("the approval page cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("the approval page's TLS: {0}")]
    Tls(String),
    #[error("no randomness: {0}")]
    Random(String),
    #[error("too many sessions or sign-ins under way; try again in a minute")]
    Busy,
    #[error("cannot start the approval page: {0}")]
    Runtime(std::io::Error),
}
