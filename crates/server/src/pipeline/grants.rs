//! Standing grants: an approver may let *this* action through for *this* agent in *this* project
//! for N hours ("yes, and don't ask me again today"). A grant is made when a held action is
//! released and every approval that released it asked for one (the shortest window wins, so a
//! two-person rule is never widened by one person). Listed and revocable (`airlock grants`).

use std::path::Path;

use airlock_store::{ActionRecord, ActionState, GrantRecord, TokenRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Facts;
use crate::api::{Evaluation, SubmitRequest, SubmitResponse};
use crate::auth::Caller;
use crate::ids::{action_id, digest};
use crate::snapshots::plan;
use crate::{now, Airlock, ApiError};

/// The longest window a grant may have.
pub(crate) const MAX_GRANT_SECS: u64 = 7 * 86_400;

/// A grant as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub agent: String,
    pub project: String,
    pub summary: String,
    pub granted_by: String,
    pub source_action: Option<String>,
    pub created_at: i64,
    pub until: i64,
    pub revoked_at: Option<i64>,
    pub live: bool,
}

impl From<&GrantRecord> for GrantView {
    fn from(g: &GrantRecord) -> GrantView {
        GrantView {
            id: g.id.clone(),
            agent: g.agent.clone(),
            project: g.project.clone(),
            summary: g.summary.clone(),
            granted_by: g.granted_by.clone(),
            source_action: g.source_action.clone(),
            created_at: g.created_at,
            until: g.until,
            revoked_at: g.revoked_at,
            live: g.revoked_at.is_none() && g.until > now(),
        }
    }
}

/// What a grant matches besides the agent and the project: the action's kind, exact text, and the
/// environments it reaches.
pub(crate) fn match_digest(kind: &str, input: &str, environments: &[String]) -> String {
    let mut envs = environments.to_vec();
    envs.sort();
    digest(&["airlock-grant-v1", kind, input, &envs.join("\n")])
}

/// The project a directory belongs to: the nearest enclosing git work tree, else the directory.
fn project_of(cwd: &str) -> String {
    let start = Path::new(cwd);
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(start)
        .display()
        .to_string()
}

impl Airlock {
    /// Lets the action through under a live grant (after its snapshot, when policy wants one); None
    /// when no grant covers it.
    pub(crate) fn use_grant(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        ev: &Evaluation,
        facts: &Facts,
    ) -> Result<Option<SubmitResponse>, ApiError> {
        let digest = match_digest(&req.kind, &req.input, &facts.environments);
        let cwd = req.cwd.clone().unwrap_or_else(|| "/".into());
        let Some(grant) = self
            .store
            .live_grants(&caller.agent, &digest, facts.at)?
            .into_iter()
            .find(|g| Path::new(&cwd).starts_with(&g.project))
        else {
            return Ok(None);
        };
        let snapshot_plan = ev.decision.snapshot.then(|| {
            plan(
                &ev.assessment,
                &ev.resolved,
                &[],
                &self.config,
                &self.airlock_paths,
                self.config.vault.max_snapshot_bytes,
            )
        });
        let detail = json!({
            "assessment": ev.assessment,
            "resolved": ev.resolved,
            "decision": ev.decision,
            "snapshot_plan": snapshot_plan,
            "grant": grant.id,
        });
        let id = self.record_action(caller, req, ev, facts, ActionState::Allowed, 0, None, detail)?;
        let record = self
            .store
            .action(&id)?
            .ok_or_else(|| ApiError::Internal("an action just recorded is gone".into()))?;
        let note = match self.snapshot_before_run(&record) {
            Ok(n) => n,
            Err(why) => {
                self.audit("action.snapshot_failed", Some(&id), json!({ "why": why }))?;
                return Ok(Some(SubmitResponse {
                    id,
                    decision: "deny".into(),
                    risk: facts.risk.clone(),
                    summary: facts.summary.clone(),
                    reasons: vec![why.clone()],
                    environments: facts.environments.clone(),
                    approvals_needed: 0,
                    approvals: 0,
                    snapshot: true,
                    grant: false,
                    message: format!(
                        "Airlock refused this action: the snapshot that must precede it failed: {why}. Tell the user."
                    ),
                }));
            }
        };
        self.audit(
            "action.granted",
            Some(&id),
            json!({ "grant": grant.id, "granted_by": grant.granted_by, "until": grant.until }),
        )?;
        Ok(Some(SubmitResponse {
            id,
            decision: "allow".into(),
            risk: facts.risk.clone(),
            summary: facts.summary.clone(),
            reasons: facts.reasons.clone(),
            environments: facts.environments.clone(),
            approvals_needed: 0,
            approvals: 0,
            snapshot: ev.decision.snapshot,
            grant: true,
            message: format!(
                "Allowed under grant {} from {} (until {}).{note}",
                grant.id, grant.granted_by, grant.until
            ),
        }))
    }

    /// Makes a grant for a released action when every approval asked for one.
    pub(crate) fn grant_on_release(&self, a: &ActionRecord) -> Result<Option<GrantRecord>, ApiError> {
        let approvals: Vec<serde_json::Value> = self
            .store
            .audit(Some(&a.id))?
            .into_iter()
            .filter(|e| e.kind == "action.approved")
            .map(|e| e.detail)
            .collect();
        let windows: Vec<u64> = approvals.iter().filter_map(|d| d["grant_secs"].as_u64()).collect();
        if windows.is_empty() || windows.len() < approvals.len() {
            return Ok(None);
        }
        let secs = windows.into_iter().min().unwrap_or(0).min(MAX_GRANT_SECS);
        // Recorded when the action was held: the summary is redacted, the digest is of the text.
        let Some(match_digest) = a.detail["grant_match"].as_str().map(str::to_owned) else {
            return Ok(None);
        };
        let at = now();
        let g = GrantRecord {
            id: action_id().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?,
            agent: a.agent.clone(),
            match_digest,
            project: project_of(&a.cwd),
            summary: a.summary.clone(),
            granted_by: approvals
                .iter()
                .filter_map(|d| d["operator"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
            source_action: Some(a.id.clone()),
            created_at: at,
            until: at + secs as i64,
            revoked_at: None,
        };
        self.store.insert_grant(&g)?;
        self.audit(
            "grant.created",
            Some(&a.id),
            json!({ "grant": g.id, "agent": g.agent, "project": g.project, "until": g.until, "granted_by": g.granted_by }),
        )?;
        Ok(Some(g))
    }

    /// Every grant (overseers).
    pub fn grants(&self, caller: &Caller) -> Result<Vec<GrantView>, ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        Ok(self.store.grants()?.iter().map(GrantView::from).collect())
    }

    /// Ends a grant now (overseers).
    pub fn revoke_grant(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        if !self.store.revoke_grant(id, now())? {
            return Err(ApiError::NotFound(format!("no live grant {id}")));
        }
        self.audit("grant.revoked", None, json!({ "grant": id }))?;
        Ok(())
    }
}
