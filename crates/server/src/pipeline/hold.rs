//! Stage 4, when humans must decide: the hold. The same action asked again while it waits gets the
//! same id (the human sees one request, not a pile); a new hold records what the approver will be
//! shown — the snapshot plan, the blast radius, and the evidence the approval will cover.

use airlock_store::{ActionState, TokenRecord};
use serde_json::json;

use super::evidence::gather;
use super::{Facts, Probe};
use crate::api::{Evaluation, SubmitRequest, SubmitResponse};
use crate::snapshots::plan;
use crate::{Airlock, ApiError};

impl Airlock {
    /// The hold already waiting for this exact action, answered again.
    pub(crate) fn existing_hold(
        &self,
        ev: &Evaluation,
        facts: &Facts,
        needed: u32,
    ) -> Result<Option<SubmitResponse>, ApiError> {
        let Some(a) = self
            .store
            .action_by_fingerprint(&ev.fingerprint, &[ActionState::Held])?
        else {
            return Ok(None);
        };
        if a.until.is_none_or(|u| facts.at < u) {
            let got = self.store.approvals(&a.id)?.len() as u32;
            return Ok(Some(self.held_response(
                &a.id,
                needed,
                got,
                facts,
                ev.decision.snapshot,
                None,
            )));
        }
        self.expire(&a.id, ActionState::Held)?;
        Ok(None)
    }

    /// Moves a held or approved action that lapsed to expired.
    pub(crate) fn expire(&self, id: &str, from: ActionState) -> Result<(), ApiError> {
        if self
            .store
            .transition(id, from, ActionState::Expired, crate::now(), None)?
        {
            self.audit("action.expired", Some(id), json!({ "was": from.as_str() }))?;
        }
        Ok(())
    }

    /// Holds the action for `needed` approvals. `superseded` names an approval that no longer
    /// covers the action (its evidence changed) and what changed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn hold(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        ev: &Evaluation,
        facts: &Facts,
        needed: u32,
        probe: &Probe<'_>,
        superseded: Option<(&str, Vec<String>)>,
    ) -> Result<SubmitResponse, ApiError> {
        let evidence = gather(ev, (probe.evidence)(ev));
        let snapshot_plan = ev.decision.snapshot.then(|| {
            plan(
                &ev.assessment,
                &ev.resolved,
                &evidence.relations(),
                &self.config,
                &self.airlock_paths,
                self.config.vault.max_snapshot_bytes,
            )
        });
        let detail = json!({
            "assessment": ev.assessment,
            "resolved": ev.resolved,
            "decision": ev.decision,
            "credentials": ev.credentials,
            "snapshot_plan": snapshot_plan,
            "blast_radius": (probe.blast_radius)(ev),
            "evidence": evidence,
            "grant_match": super::grants::match_digest(&req.kind, &req.input, &facts.environments),
            "supersedes": superseded.as_ref().map(|(id, changes)| json!({ "action": id, "changes": changes })),
        });
        let until = Some(facts.at + self.config.hold_ttl.as_secs() as i64);
        let id = self.record_action(caller, req, ev, facts, ActionState::Held, needed, until, detail)?;
        Ok(self.held_response(&id, needed, 0, facts, ev.decision.snapshot, superseded.map(|s| s.1)))
    }

    /// What a held action's agent is told.
    pub(crate) fn held_response(
        &self,
        id: &str,
        needed: u32,
        got: u32,
        facts: &Facts,
        snapshot: bool,
        changed: Option<Vec<String>>,
    ) -> SubmitResponse {
        let who = if needed > 1 {
            format!("{needed} different humans must each approve it")
        } else {
            "a human must approve it".to_owned()
        };
        let how = if self.config.is_service() {
            format!("(`airlock approve {id}` from an operator's terminal or the approval page)")
        } else {
            format!("(`airlock approve {id}`)")
        };
        let before = match &changed {
            Some(c) => format!(
                "The action's targets changed since it was approved ({}), so that approval does not cover it. ",
                c.join("; ")
            ),
            None => String::new(),
        };
        let message = format!(
            "{before}Airlock held this action for approval (id {id}): `{}` is {} in {}. Why: {}. To let it run, {who} {how}{}. Do not look for another way to do this (another command, tool, token or credential): wait for the approval, then retry exactly the same command from the same directory, and it will be allowed once.",
            facts.summary,
            facts.risk,
            facts.environments.join(", "),
            facts.reasons.join("; "),
            if got > 0 { format!(" ({got} of {needed} approvals so far)") } else { String::new() },
        );
        SubmitResponse {
            id: id.to_owned(),
            decision: "ask".into(),
            risk: facts.risk.clone(),
            summary: facts.summary.clone(),
            reasons: facts.reasons.clone(),
            environments: facts.environments.clone(),
            approvals_needed: needed,
            approvals: got,
            snapshot,
            message,
            grant: false,
        }
    }
}
