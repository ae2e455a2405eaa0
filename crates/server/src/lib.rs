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
mod approvals;
mod auth;
mod backups;
mod checkpoint;
mod client;
mod core;
mod error;
mod events;
mod exec;
mod http;
mod ids;
mod listener;
mod operators;
mod peer;
mod pipeline;
mod policy_reload;
mod secrets;
mod snapshots;
mod tokens;
mod totp;
mod vault_api;
mod worktree;
mod world;

pub use api::{
    ActionView, ApproveRequest, Evaluation, IssuedToken, NewToken, SubmitRequest, SubmitResponse, TokenView, TotpProof,
};
pub use auth::{Approver, Caller};
pub use backups::retained;
pub use checkpoint::LogVerification;
pub use client::{Client, ClientError, Endpoint};
pub use core::Airlock;
pub use error::ApiError;
pub use events::ActionEvent;
pub use exec::{shell_line, ExecOutput, ExecRequest, ExecResponse};
pub use http::{serve, ServeHandle};
pub use ids::now;
pub use listener::Listening;
pub use operators::{Enrollment, NewOperator, OperatorView, PasskeyEnrollment};
pub use peer::{current_uid, peer_of, user_by_name, user_by_uid, Peer, UnixUser};
pub use pipeline::{wait_for_decision, Evidence, EvidenceItem, GrantView, Probe, ScriptRead, Settled};
pub use policy_reload::PolicyStatus;
pub use snapshots::{Plan, PlanItem, VaultSlot};
pub use totp::{code_at as totp_code_at, otpauth_uri, percent_encode};
pub use vault_api::BackupTaken;
pub use world::FsWorld;
