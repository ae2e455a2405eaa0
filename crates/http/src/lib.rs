//! # airlock-http
//!
//! The API gateway. Agents call `http://<[http] listen>/<resource>/<path>` with their Airlock token
//! (and point their SDKs' and CLIs' base URL settings at it); the provider's real credential stays
//! with Airlock. Each call is judged whole — GraphQL documents parsed (operation selection,
//! aliases, fragments, variables, batches), REST methods and paths, the provider's schema when one
//! is configured (an operation it does not know is `unknown`), and the provider pack — and goes
//! through the control plane exactly like a hook's command or a SQL statement: refused, held for
//! humans (the gateway waits up to `hold_wait`, then answers 403 with the action's id), or
//! allowed. Only an allowed call gets the credential and is forwarded, over TLS with the
//! upstream's certificate verified; the answer streams back with the credential masked out of it.
//! Before an approved destructive operation that a pack protects, the provider's own protective
//! calls run first (Railway: back up and lock the volume), and `airlock undo` replays the pack's
//! undo (restore).
//!
//! ```
//! use airlock_http::{root_fields, OpKind};
//!
//! let body = r#"{"query":"mutation { tidy: volumeDelete(volumeId: $v) }","variables":{"v":"vol_9f3"}}"#;
//! let fields = root_fields(body, "application/json", &[]).unwrap();
//! assert_eq!((fields[0].kind, fields[0].name.as_str()), (OpKind::Mutation, "volumeDelete"));
//! assert_eq!(fields[0].args["volumeId"], "vol_9f3");
//! ```

mod assess;
mod audit;
mod decide;
mod error;
mod gateway;
mod graphql;
mod mask;
mod pack;
mod protect;
mod provider;
mod refusal;
mod request;
mod resource;
mod schema;
mod tls;
mod undo;
mod upstream;
mod verbs;

pub use error::HttpError;
pub use gateway::Gateway;
pub use graphql::{root_fields, OpKind, RootField};
pub use pack::{JsonPath, Pack};
pub use schema::Schema;
pub use undo::{recorded as recorded_undo, undo};
