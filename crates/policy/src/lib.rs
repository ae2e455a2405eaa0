//! # airlock-policy
//!
//! Decides what may happen to an action, with policies written in Cedar. One Cedar request is
//! made per resolved resource: principal = the agent, action = the risk class (`read`, `write`,
//! `destroy`, `unknown`), resource = the resource with its environment and kind. The outcomes
//! combine: deny beats ask beats allow; the largest number of approvals and any snapshot
//! requirement win.
//!
//! "Ask" is a permit carrying annotations: `@approvals("2")` (two distinct humans must approve) and
//! `@snapshot("required")` (copy what the action touches into the vault first). A permit carrying
//! `@exception("why")` is a written exception to those holds: when it is satisfied, its own
//! annotations decide (none: allow), so a team can lift a default hold without editing the default
//! rules — a `forbid` still wins. Errors read as sentences with the line and column they point at.
//!
//! ```
//! use airlock_classify::Risk;
//! use airlock_policy::{Outcome, Policy, Subject, Target};
//!
//! let policy = Policy::default_policy();
//! let agent = Subject { name: "claude".into(), operator: false };
//! let prod_db = Target { name: "shop-db".into(), kind: "postgres".into(), environment: "production".into() };
//! let d = policy.decide(&agent, Risk::Destructive, &[prod_db], &Default::default());
//! assert_eq!(d.outcome, Outcome::Ask { approvals: 2 });
//! assert!(d.snapshot);
//! ```

mod decision;
mod engine;
mod errors;

pub use decision::{Decision, Outcome};
pub use engine::{ActionDetails, Policy, PolicyError, Subject, Target, DEFAULT_POLICY, SCHEMA};
