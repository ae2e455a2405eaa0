//! What a notification says: one event about one action, with the action as operators see it
//! (its summary is the redacted one the store keeps, never the raw payload).

use airlock_store::{ActionRecord, ApprovalRecord};
use serde::Serialize;

/// The action, as a notification shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionSummary {
    pub id: String,
    pub state: String,
    pub agent: String,
    pub kind: String,
    /// Secrets masked, as recorded.
    pub summary: String,
    pub risk: String,
    pub environments: Vec<String>,
    pub reasons: Vec<String>,
    pub approvals_needed: u32,
    pub approved_by: Vec<String>,
    pub created_at: i64,
    pub until: Option<i64>,
}

/// One notification: the webhook's JSON body, and what the other kinds are written from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `held`, `approved` (one operator's approval), `released` (enough approvals), `rejected`,
    /// `expired`.
    pub event: String,
    pub action: ActionSummary,
    /// The action on the approval page (which still asks for a passkey), when the page is on.
    pub url: Option<String>,
    /// When it happened, and the audit entry that recorded it.
    pub at: i64,
    pub seq: i64,
}

/// The notification event for an audit entry's kind about `action`, if it is one people are told
/// about. `action.decided` is news only when the action was held (it then needs approvals).
pub fn event_name(kind: &str, action: &ActionRecord) -> Option<&'static str> {
    Some(match kind {
        "action.decided" if action.approvals_needed > 0 => "held",
        "action.approved" => "approved",
        "action.released" => "released",
        "action.rejected" => "rejected",
        "action.expired" => "expired",
        _ => return None,
    })
}

fn strings(v: &serde_json::Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
}

impl ActionSummary {
    pub fn new(a: &ActionRecord, approvals: &[ApprovalRecord]) -> ActionSummary {
        let mut environments: Vec<String> = Vec::new();
        for r in a.detail["resolved"].as_array().into_iter().flatten() {
            if let Some(e) = r["environment"].as_str() {
                if !environments.iter().any(|x| x == e) {
                    environments.push(e.to_owned());
                }
            }
        }
        let reasons = strings(&a.detail["assessment"]["reasons"])
            .chain(strings(&a.detail["decision"]["reasons"]))
            .collect();
        ActionSummary {
            id: a.id.clone(),
            state: a.state.as_str().to_owned(),
            agent: a.agent.clone(),
            kind: a.kind.clone(),
            summary: a.summary.clone(),
            risk: a.risk.clone(),
            environments,
            reasons,
            approvals_needed: a.approvals_needed,
            approved_by: approvals.iter().map(|x| x.operator.clone()).collect(),
            created_at: a.created_at,
            until: a.until,
        }
    }
}

impl Notice {
    /// A one-line title: `Held: destructive shell action in production (2 approvals needed)`.
    pub fn title(&self) -> String {
        let a = &self.action;
        let envs = if a.environments.is_empty() {
            String::new()
        } else {
            format!(" in {}", a.environments.join(", "))
        };
        let what = format!("{} {} action{envs}", a.risk, a.kind);
        match self.event.as_str() {
            "held" => format!(
                "Held: {what} ({} approval{} needed)",
                a.approvals_needed,
                if a.approvals_needed == 1 { "" } else { "s" }
            ),
            "approved" => format!(
                "Approved by {} ({} of {}): {what}",
                a.approved_by.last().map(String::as_str).unwrap_or("an operator"),
                a.approved_by.len(),
                a.approvals_needed
            ),
            "released" => format!("Released: {what}, approved by {}", a.approved_by.join(", ")),
            "rejected" => format!("Denied: {what}"),
            _ => format!("Expired without a decision: {what}"),
        }
    }

    /// The summary, cut to `max` characters.
    pub fn short_summary(&self, max: usize) -> String {
        let s = &self.action.summary;
        match s.char_indices().nth(max) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.clone(),
        }
    }
}

#[cfg(test)]
pub(crate) fn sample(event: &str) -> Notice {
    Notice {
        event: event.into(),
        action: ActionSummary {
            id: "ab12cd34".into(),
            state: "held".into(),
            agent: "claude".into(),
            kind: "shell".into(),
            summary: "rm -rf /srv/prod/data".into(),
            risk: "destructive".into(),
            environments: vec!["production".into()],
            reasons: vec!["deletes files".into()],
            approvals_needed: 2,
            approved_by: vec![],
            created_at: 1000,
            until: Some(2000),
        },
        url: Some("https://airlock.example/actions/ab12cd34".into()),
        at: 1000,
        seq: 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_store::ActionState;

    fn record(needed: u32) -> ActionRecord {
        ActionRecord {
            id: "a1".into(),
            fingerprint: "f".into(),
            agent: "claude".into(),
            token_id: "t".into(),
            kind: "shell".into(),
            summary: "curl -H 'Authorization: Bearer ****' https://x".into(),
            cwd: "/".into(),
            source: "hook".into(),
            risk: "destructive".into(),
            detail: serde_json::json!({
                "resolved": [{ "environment": "production" }, { "environment": "production" }, { "environment": "staging" }],
                "assessment": { "reasons": ["deletes"] }, "decision": { "reasons": ["policy"] }
            }),
            approvals_needed: needed,
            snapshot: true,
            state: ActionState::Held,
            created_at: 1,
            updated_at: 1,
            until: None,
            snapshots: vec![],
            peer_uid: None,
        }
    }

    #[test]
    fn only_holds_and_decisions_are_news() {
        assert_eq!(event_name("action.decided", &record(2)), Some("held"));
        assert_eq!(
            event_name("action.decided", &record(0)),
            None,
            "allowed or denied outright"
        );
        assert_eq!(event_name("action.released", &record(2)), Some("released"));
        assert_eq!(event_name("action.consumed", &record(2)), None);
        let s = ActionSummary::new(&record(2), &[]);
        assert_eq!(s.environments, ["production", "staging"]);
        assert_eq!(s.reasons, ["deletes", "policy"]);
    }

    #[test]
    fn titles_say_what_happened() {
        assert_eq!(
            sample("held").title(),
            "Held: destructive shell action in production (2 approvals needed)"
        );
        let mut n = sample("approved");
        n.action.approved_by = vec!["alice".into()];
        assert!(n.title().starts_with("Approved by alice (1 of 2)"));
        assert!(sample("expired").title().starts_with("Expired"));
        assert_eq!(sample("held").short_summary(5), "rm -r…");
    }
}
