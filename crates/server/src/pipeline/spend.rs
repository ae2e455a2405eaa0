//! Stage 4, after humans said yes: the approval of this exact action is spent — once. Before it is,
//! the evidence is gathered again: if a path now leads elsewhere, a script says something else or
//! a SQL name resolves to another relation (or cannot be resolved at all), the approval does not
//! cover what would run, so it is refused and the action is held afresh.

use airlock_store::{ActionRecord, ActionState, TokenRecord};
use serde_json::json;

use super::evidence::{gather, Evidence};
use super::{Facts, Probe};
use crate::api::{Evaluation, SubmitRequest, SubmitResponse};
use crate::snapshots::Plan;
use crate::{Airlock, ApiError};

impl Airlock {
    /// Lets an approved twin of this action through once, after its snapshot; None when there is no
    /// live approval for it.
    pub(crate) fn spend_approval(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        ev: &Evaluation,
        facts: &Facts,
        probe: &Probe<'_>,
        needed_now: u32,
    ) -> Result<Option<SubmitResponse>, ApiError> {
        let Some(a) = self
            .store
            .action_by_fingerprint(&ev.fingerprint, &[ActionState::Approved])?
        else {
            return Ok(None);
        };
        if a.until.is_none_or(|u| facts.at >= u) {
            self.expire(&a.id, ActionState::Approved)?;
            return Ok(None);
        }
        let approved: Evidence = serde_json::from_value(a.detail["evidence"].clone()).unwrap_or_default();
        let now = gather(ev, (probe.evidence)(ev));
        // Evidence that could not be established covers nothing, even when it reads the same.
        let unresolved = now.unresolved();
        if now.digest != approved.digest || !unresolved.is_empty() {
            let mut changes = now.changes_since(&approved);
            if changes.is_empty() {
                changes = unresolved;
            }
            if self
                .store
                .transition(&a.id, ActionState::Approved, ActionState::Expired, facts.at, None)?
            {
                self.audit(
                    "action.evidence_changed",
                    Some(&a.id),
                    json!({ "changes": changes, "approved": approved.digest, "now": now.digest }),
                )?;
            }
            // Held again as the action now stands: a target that moved to production needs what
            // production needs.
            return self
                .hold(caller, req, ev, facts, needed_now, probe, Some((&a.id, changes)))
                .map(Some);
        }
        if !self
            .store
            .transition(&a.id, ActionState::Approved, ActionState::Consumed, facts.at, None)?
        {
            // Another retry won the race: this one finds no approval left.
            return Ok(None);
        }
        let by: Vec<String> = self.store.approvals(&a.id)?.into_iter().map(|x| x.operator).collect();
        let snapshot_note = match self.snapshot_before_run(&a) {
            Ok(note) => note,
            Err(why) => return Ok(Some(self.snapshot_refusal(&a, facts, &by, &why))),
        };
        self.audit(
            "action.consumed",
            Some(&a.id),
            json!({ "agent": caller.agent, "approved_by": by }),
        )?;
        Ok(Some(SubmitResponse {
            id: a.id.clone(),
            decision: "allow".into(),
            risk: facts.risk.clone(),
            summary: facts.summary.clone(),
            reasons: facts.reasons.clone(),
            environments: facts.environments.clone(),
            approvals_needed: a.approvals_needed,
            approvals: by.len() as u32,
            snapshot: a.snapshot,
            grant: true,
            message: format!(
                "Approved by {} (approval {}); allowed this once.{snapshot_note}",
                by.join(", "),
                a.id
            ),
        }))
    }

    /// Takes the snapshots an action's plan calls for and records them; the note for the agent.
    pub(crate) fn snapshot_before_run(&self, a: &ActionRecord) -> Result<String, String> {
        if !a.snapshot {
            return Ok(String::new());
        }
        let planned: Plan = serde_json::from_value(a.detail["snapshot_plan"].clone()).unwrap_or_default();
        let ids = self.take_snapshots(&a.id, &planned)?;
        let record = || -> Result<(), ApiError> {
            self.store.set_snapshots(&a.id, &ids)?;
            self.audit(
                "action.snapshotted",
                Some(&a.id),
                json!({ "snapshots": ids, "not_copied": planned.over_cap, "no_source": planned.uncovered }),
            )?;
            Ok(())
        };
        record().map_err(|e| e.to_string())?;
        Ok(if ids.is_empty() {
            String::new()
        } else {
            format!(
                " Snapshot{} {} taken first; `airlock undo {}` restores it.",
                if ids.len() > 1 { "s" } else { "" },
                ids.join(", "),
                a.id
            )
        })
    }

    fn snapshot_refusal(&self, a: &ActionRecord, facts: &Facts, by: &[String], why: &str) -> SubmitResponse {
        let _ = self.audit("action.snapshot_failed", Some(&a.id), json!({ "why": why }));
        SubmitResponse {
            id: a.id.clone(),
            decision: "deny".into(),
            risk: facts.risk.clone(),
            summary: facts.summary.clone(),
            reasons: vec![why.to_owned()],
            environments: facts.environments.clone(),
            approvals_needed: a.approvals_needed,
            approvals: by.len() as u32,
            snapshot: true,
            grant: false,
            message: format!(
                "Airlock refused this approved action because the snapshot that must precede it failed: {why}. Tell the user; do not run it another way."
            ),
        }
    }
}
