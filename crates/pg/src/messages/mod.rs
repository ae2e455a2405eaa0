//! The wire messages the gateway reads or writes itself, one per file. Everything else crosses the
//! gateway as bytes; [`Framer`] finds the message boundaries in those bytes.

mod auth;
mod backend;
mod error_response;
mod frame;
mod query;
mod startup;

pub use auth::{auth_ok, auth_sasl, auth_sasl_continue, auth_sasl_final, SaslInitial};
pub use backend::{backend_key_data, parameter_status, ready_for_query};
pub use error_response::ErrorResponse;
pub use frame::{Framer, Piece, FRONTEND_TAGS};
pub use query::{bind_statement, parse_message, query_text, refusal_sql, substitute_error};
pub use startup::{read_startup, Startup};

use crate::PgError;

/// Reads a NUL-terminated string at the start of `bytes`: the string and what follows it.
pub(crate) fn cstr(bytes: &[u8]) -> Result<(&str, &[u8]), PgError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| PgError::Protocol("a string in the message is not NUL-terminated".into()))?;
    let text = std::str::from_utf8(&bytes[..end])
        .map_err(|_| PgError::Protocol("a string in the message is not UTF-8".into()))?;
    Ok((text, &bytes[end + 1..]))
}

/// A message with its tag and length header around `body`.
pub(crate) fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(tag);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}
