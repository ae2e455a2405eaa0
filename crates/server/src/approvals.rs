//! The humans' side of a hold: what waits, one action, approve, deny, the log. Who may do what is
//! decided in `auth`; a release may also make a standing grant (`pipeline::grants`).

use airlock_store::{ActionRecord, ActionState, ApprovalRecord, AuditEntry};
use serde_json::json;

use crate::api::{ActionView, ApproveRequest};
use crate::auth::Caller;
use crate::ids::now;
use crate::snapshots::Plan;
use crate::{Airlock, ApiError};

impl Airlock {
    /// Held actions still waiting: all of them for administrators and operators, a caller's own
    /// otherwise.
    pub fn pending(&self, caller: &Caller) -> Result<Vec<ActionView>, ApiError> {
        let all = self.is_overseer(caller)?;
        if !all && caller.peer.is_none() {
            // Local mode without an operator token.
            self.require_admin(caller)?;
        }
        let at = now();
        let mut out = Vec::new();
        for a in self.store.actions_in(&[ActionState::Held])? {
            if a.until.is_some_and(|u| at >= u) {
                self.store
                    .transition(&a.id, ActionState::Held, ActionState::Expired, at, None)?;
                self.audit("action.expired", Some(&a.id), json!({ "was": "held" }))?;
                continue;
            }
            if all || caller.peer.as_ref().is_some_and(|p| Some(p.uid) == a.peer_uid) {
                out.push(self.view(&a)?);
            }
        }
        Ok(out)
    }

    /// One action: administrators and operators see any, agents their own only.
    pub fn action(&self, caller: &Caller, id: &str) -> Result<ActionView, ApiError> {
        let a = self
            .store
            .action(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no action {id}")))?;
        let own = caller.token.as_ref().is_some_and(|t| t.agent == a.agent && !t.operator)
            || caller.peer.as_ref().is_some_and(|p| Some(p.uid) == a.peer_uid);
        if !own && !self.is_overseer(caller)? {
            return Err(ApiError::NotFound(format!("no action {id}")));
        }
        self.view(&a)
    }

    fn held_action(&self, id: &str) -> Result<ActionRecord, ApiError> {
        self.store
            .action(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no action {id}; `airlock pending` lists the held ones")))
    }

    /// Records one operator's approval; the action becomes usable once enough distinct operators
    /// approved, for `approval_ttl`.
    pub fn approve(&self, caller: &Caller, id: &str, req: ApproveRequest) -> Result<ActionView, ApiError> {
        let at = now();
        let a = self.held_action(id)?;
        let who = match self.approver(caller, req.totp.as_ref(), &a) {
            Ok(w) => w,
            Err(e) => {
                self.audit(
                    "approval.refused",
                    Some(id),
                    json!({ "caller": caller.peer.as_ref().map(crate::peer::Peer::label), "token": caller.token.as_ref().map(|t| &t.id), "why": e.to_string() }),
                )?;
                return Err(e);
            }
        };
        if a.state != ActionState::Held {
            return Err(ApiError::Conflict(format!(
                "action {id} is {}, not held; nothing to approve",
                a.state.as_str()
            )));
        }
        if a.until.is_some_and(|u| at >= u) {
            self.store
                .transition(id, ActionState::Held, ActionState::Expired, at, None)?;
            self.audit("action.expired", Some(id), json!({ "was": "held" }))?;
            return Err(ApiError::Conflict(format!(
                "action {id} waited too long and expired; the agent must ask again"
            )));
        }
        let planned: Plan = serde_json::from_value(a.detail["snapshot_plan"].clone()).unwrap_or_default();
        if !planned.over_cap.is_empty() && !req.without_snapshot {
            let big: Vec<String> = planned
                .over_cap
                .iter()
                .map(|i| format!("{} ({} bytes)", i.path, i.bytes))
                .collect();
            return Err(ApiError::Conflict(format!(
                "no snapshot will be taken of {}: larger than vault.max_snapshot_bytes. If you accept that it cannot be undone, approve with --without-snapshot",
                big.join(", ")
            )));
        }
        let record = ApprovalRecord {
            action_id: id.to_owned(),
            operator: who.name.clone(),
            token_id: who.proof.clone(),
            reason: req.reason.clone(),
            at,
        };
        if !self.store.add_approval(&record)? {
            return Err(ApiError::Conflict(format!(
                "{} already approved action {id}; it needs a different person",
                who.name
            )));
        }
        let count = self.store.approvals(id)?.len() as u32;
        let grant_secs = req.grant_secs.map(|s| s.min(crate::pipeline::MAX_GRANT_SECS));
        self.audit("action.approved", Some(id), json!({ "operator": who.name, "proof": who.proof, "reason": req.reason, "approvals": count, "needed": a.approvals_needed, "without_snapshot": req.without_snapshot, "grant_secs": grant_secs }))?;
        if count >= a.approvals_needed {
            let until = at + self.config.approval_ttl.as_secs() as i64;
            if self
                .store
                .transition(id, ActionState::Held, ActionState::Approved, at, Some(until))?
            {
                self.audit("action.released", Some(id), json!({ "until": until }))?;
                self.grant_on_release(&a)?;
            }
        }
        self.view(&self.held_action(id)?)
    }

    /// A human refuses a held action (with the same proof an approval needs).
    pub fn deny(&self, caller: &Caller, id: &str, req: ApproveRequest) -> Result<ActionView, ApiError> {
        let a = self.held_action(id)?;
        let who = self.approver(caller, req.totp.as_ref(), &a)?;
        if !self
            .store
            .transition(id, ActionState::Held, ActionState::Rejected, now(), None)?
        {
            return Err(ApiError::Conflict(format!(
                "action {id} is {}, not held; nothing to deny",
                a.state.as_str()
            )));
        }
        self.audit(
            "action.rejected",
            Some(id),
            json!({ "operator": who.name, "proof": who.proof, "reason": req.reason }),
        )?;
        self.view(&self.held_action(id)?)
    }

    /// The audit log (administrators and operators).
    pub fn log(&self, caller: &Caller, action: Option<&str>) -> Result<Vec<AuditEntry>, ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        Ok(self.store.audit(action)?)
    }
}
