//! # airlock-pg
//!
//! The Postgres gateway. Agents connect with any user name and their Airlock token as the password
//! (SCRAM-SHA-256); the database name picks a configured `postgres` resource, whose real
//! credentials only Airlock holds. Every Query and Parse is judged by the control plane: allowed
//! statements go on as they came, refused and held ones are replaced by a statement that makes the
//! server itself raise SQLSTATE 42501 with Airlock's reason (so transactions fail exactly as on any
//! server error), and an approved destructive statement runs once, after its snapshot. An approval
//! is bound to what the statement's names mean in the client's session (asked of the session
//! itself, resolved to schema-qualified relations and OIDs), and a held statement waits for the
//! humans up to `[server] hold_wait`. Results, COPY data and everything else pass as bytes;
//! upstream sessions are pooled per resource.
//!
//! ```
//! use airlock_pg::{ErrorResponse, Framer, Piece};
//!
//! // The refusal a client gets for a connection-level problem, framed as PostgreSQL frames it.
//! let bytes = ErrorResponse::fatal("28P01", "password authentication failed").encode();
//! let mut framer = Framer::new(1024, None);
//! assert_eq!(framer.next(&bytes, |t| t == b'E').unwrap(), Some(Piece::Whole { tag: b'E', len: bytes.len() }));
//! ```

mod audit;
mod blast;
mod cancel;
mod error;
mod fuzz;
mod gateway;
mod judge;
mod measure;
mod measure_tls;
mod messages;
mod names;
mod pool;
mod probe;
mod resolve;
mod scram;
mod session;
mod shape;
mod tls;
mod upstream;
mod upstream_tls;

pub use error::PgError;
/// For fuzzing: every parser a client can reach, on arbitrary bytes.
pub use fuzz::frontend as fuzz_frontend;
pub use gateway::Gateway;
pub use judge::{Caller, Verdict};
pub use messages::{refusal_sql, ErrorResponse, Framer, Piece, Startup, FRONTEND_TAGS};
pub use scram::ScramExchange;
pub use shape::shape;
pub use upstream::Target;
