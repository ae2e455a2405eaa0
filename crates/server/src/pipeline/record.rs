//! Stage 6: the action and its decision into the state and the audit chain — before the agent
//! hears the answer, so that nothing runs unrecorded.

use airlock_store::{ActionRecord, ActionState, TokenRecord};
use serde_json::json;

use super::Facts;
use crate::api::{Evaluation, SubmitRequest, SubmitResponse};
use crate::ids::action_id;
use crate::{Airlock, ApiError};

impl Airlock {
    /// Inserts the action in `state` and appends `action.decided`; returns its new id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_action(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        ev: &Evaluation,
        facts: &Facts,
        state: ActionState,
        approvals_needed: u32,
        until: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<String, ApiError> {
        let id = action_id().map_err(|e| ApiError::Internal(format!("no randomness for an id: {e}")))?;
        let record = ActionRecord {
            id: id.clone(),
            fingerprint: ev.fingerprint.clone(),
            agent: caller.agent.clone(),
            token_id: caller.id.clone(),
            kind: req.kind.clone(),
            summary: facts.summary.clone(),
            cwd: req.cwd.clone().unwrap_or_default(),
            source: req.source.clone(),
            risk: facts.risk.clone(),
            detail,
            approvals_needed,
            snapshot: ev.decision.snapshot,
            state,
            created_at: facts.at,
            updated_at: facts.at,
            until,
            snapshots: Vec::new(),
            peer_uid: req.peer.as_ref().map(|p| p.uid),
        };
        self.store.insert_action(&record)?;
        let decision = match state {
            ActionState::Held => "ask",
            ActionState::Denied => "deny",
            _ => "allow",
        };
        self.audit(
            "action.decided",
            Some(&id),
            json!({ "agent": caller.agent, "token": caller.id, "unix_user": req.peer.as_ref().map(crate::peer::Peer::label), "source": req.source, "kind": req.kind, "summary": facts.summary, "risk": facts.risk, "environments": facts.environments, "decision": decision, "policies": ev.decision.policies, "reasons": facts.reasons }),
        )?;
        Ok(id)
    }

    /// Records an action policy allowed or refused outright, and answers.
    pub(crate) fn record_outcome(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        ev: &Evaluation,
        facts: &Facts,
        state: ActionState,
    ) -> Result<SubmitResponse, ApiError> {
        let detail = json!({
            "assessment": ev.assessment,
            "resolved": ev.resolved,
            "decision": ev.decision,
            "credentials": ev.credentials,
        });
        let id = self.record_action(caller, req, ev, facts, state, 0, None, detail)?;
        let allowed = state == ActionState::Allowed;
        let message = if allowed {
            "Allowed by Airlock.".to_owned()
        } else {
            format!(
                "Airlock refused this action: {}. Do not try to reach the same result another way (another command, tool or credential); tell the user what you wanted to do and why.",
                facts.reasons.last().cloned().unwrap_or_default()
            )
        };
        Ok(SubmitResponse {
            id,
            decision: if allowed { "allow" } else { "deny" }.into(),
            risk: facts.risk.clone(),
            summary: facts.summary.clone(),
            reasons: facts.reasons.clone(),
            environments: facts.environments.clone(),
            approvals_needed: 0,
            approvals: 0,
            snapshot: ev.decision.snapshot,
            message,
            grant: allowed && self.config.hooks.allowed == airlock_config::Allowed::Allow,
        })
    }
}
