//! # airlock-server
//!
//! The control plane: [`Airlock`] runs the pipeline (classify → credentials → resolve → token scope
//! → policy → hold or allow → record) over a [`Store`](airlock_store::Store), and [`serve`] answers
//! the JSON HTTP API that hooks and the CLI use. [`Client`] is the other end of that API.
//!
//! ```no_run
//! use airlock_server::{Airlock, SubmitRequest};
//!
//! let config = airlock_config::Config::parse("", std::path::Path::new("/tmp/airlock-doc")).unwrap();
//! let airlock = Airlock::open(config).unwrap();
//! let (token, _) = airlock.create_token("claude", false, vec![], None, None).unwrap();
//! let caller = airlock.authenticate(&token).unwrap();
//! let answer = airlock.submit(&caller, SubmitRequest::shell("rm -rf /srv/data", "/srv", "doc")).unwrap();
//! assert_eq!(answer.decision, "ask");
//! ```

mod api;
mod backups;
mod client;
mod core;
mod error;
mod http;
mod ids;
mod snapshots;
mod world;

pub use api::{ActionView, ApproveRequest, Evaluation, SubmitRequest, SubmitResponse};
pub use backups::retained;
pub use client::{Client, ClientError, Endpoint};
pub use core::Airlock;
pub use error::ApiError;
pub use http::{serve, ServeHandle};
pub use ids::now;
pub use snapshots::{Plan, PlanItem, VaultSlot};
pub use world::FsWorld;
