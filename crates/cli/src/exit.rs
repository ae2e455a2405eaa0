//! Exit codes, decided in one place.
//!
//! - 0: the command did its job (a classification was printed, whatever its risk).
//! - 1: it could not (I/O failure and the like); the message says why.
//! - 2: the arguments were wrong (clap reports those itself with the same code).

pub const OK: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;

/// A failure caused by how the command was called, not by what happened while it ran.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn code(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("airlock: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                USAGE
            } else {
                FAILURE
            }
        }
    }
}
