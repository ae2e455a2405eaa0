//! The pipeline every action goes through, one stage per module, in the order they run:
//!
//! 1. [`classify`]: what the action will do (the classifier), which credentials it carries, and
//!    which scripts it runs (their content is part of what an approval covers);
//! 2. [`resolve`]: its targets — real paths, not links — to configured resources and environments,
//!    and whether the caller's token may reach them;
//! 3. [`decide`]: policy (Cedar), after scope and foreign credentials; the action's fingerprint;
//! 4. for a decision that asks a human: [`spend`] an approval of this exact action (its evidence
//!    checked again), or a standing [`grants`] grant, or the [`hold`] that already waits, or a new
//!    hold with its [`evidence`] and blast radius;
//! 5. [`snapshot`]: before an approved destructive action runs, what it will destroy goes to the
//!    vault;
//! 6. [`record`]: the action and its decision into the state and the audit chain.
//!
//! [`wait`] lets a caller wait for the humans' decision on a hold.

mod classify;
mod decide;
mod evidence;
mod findings;
mod grants;
mod hold;
mod record;
mod resolve;
mod snapshot;
mod spend;
mod wait;

pub use wait::{settle as wait_for_decision, Settled};

pub use classify::ScriptRead;
pub use evidence::{Evidence, EvidenceItem};
pub use grants::GrantView;
pub(crate) use grants::MAX_GRANT_SECS;

use airlock_policy::Outcome;
use airlock_store::{ActionState, TokenRecord};

use crate::api::{Evaluation, SubmitRequest, SubmitResponse};
use crate::{now, Airlock, ApiError};

/// What a caller can measure about an action that the server cannot see itself: the Postgres
/// gateway measures a statement's blast radius and the relations it resolves to in its session.
pub struct Probe<'a> {
    /// Called only when the action is newly held.
    pub blast_radius: &'a dyn Fn(&Evaluation) -> Option<serde_json::Value>,
    /// Evidence the server cannot gather (SQL relations and their OIDs); called when an action is
    /// held and again when its approval is spent.
    pub evidence: &'a dyn Fn(&Evaluation) -> Vec<EvidenceItem>,
}

impl Probe<'_> {
    /// No measurement beyond what the server sees.
    pub const NONE: Probe<'static> = Probe {
        blast_radius: &|_| None,
        evidence: &|_| Vec::new(),
    };
}

/// What every answer about one evaluated action repeats.
pub(crate) struct Facts {
    pub summary: String,
    pub environments: Vec<String>,
    pub risk: String,
    pub reasons: Vec<String>,
    pub at: i64,
}

impl Facts {
    fn of(req: &SubmitRequest, ev: &Evaluation) -> Facts {
        let mut reasons = ev.assessment.reasons.clone();
        reasons.extend(ev.decision.reasons.iter().cloned());
        Facts {
            summary: airlock_classify::redact(&req.input),
            environments: crate::core::dedup(ev.resolved.iter().map(|r| r.environment.clone())),
            risk: ev.assessment.risk.as_str().to_owned(),
            reasons,
            at: now(),
        }
    }
}

impl Airlock {
    /// Decides an action for an agent and records it. A held action that humans approved is let
    /// through exactly once, and only for the same fingerprint and the same evidence.
    pub fn submit(&self, caller: &TokenRecord, req: SubmitRequest) -> Result<SubmitResponse, ApiError> {
        self.submit_with(caller, req, &Probe::NONE)
    }

    /// [`submit`](Self::submit), with what the caller's `probe` measures.
    pub fn submit_with(
        &self,
        caller: &TokenRecord,
        req: SubmitRequest,
        probe: &Probe<'_>,
    ) -> Result<SubmitResponse, ApiError> {
        if req.input.len() > airlock_classify::MAX_INPUT_BYTES {
            return Err(ApiError::BadRequest("the action is larger than Airlock accepts".into()));
        }
        let ev = self.evaluate(caller, &req, None)?;
        let facts = Facts::of(&req, &ev);
        if let Some(peer) = req.peer.as_ref().filter(|_| self.config.is_service()) {
            self.store.note_agent_user(peer.uid, &peer.label(), facts.at)?;
        }
        match ev.decision.outcome {
            Outcome::Allow => self.record_outcome(caller, &req, &ev, &facts, ActionState::Allowed),
            Outcome::Deny => self.record_outcome(caller, &req, &ev, &facts, ActionState::Denied),
            Outcome::Ask { approvals } => {
                if let Some(answer) = self.spend_approval(caller, &req, &ev, &facts, probe, approvals)? {
                    return Ok(answer);
                }
                if let Some(answer) = self.use_grant(caller, &req, &ev, &facts)? {
                    return Ok(answer);
                }
                if let Some(answer) = self.existing_hold(&ev, &facts, approvals)? {
                    return Ok(answer);
                }
                self.hold(caller, &req, &ev, &facts, approvals, probe, None)
            }
        }
    }
}
