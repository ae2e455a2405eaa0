//! Stage 3: the decision. The token's scope and foreign credentials refuse before policy is asked;
//! otherwise Cedar decides (deny beats ask beats allow; an `@exception` permit lifts a hold). The
//! fingerprint names the action as asked: who, what, where.

use airlock_policy::{ActionDetails, Decision, Outcome, Subject, Target};
use airlock_store::TokenRecord;

use crate::api::{Evaluation, SubmitRequest};
use crate::ids::digest;
use crate::{Airlock, ApiError};

fn refusal(policy: &str, reason: String) -> Decision {
    Decision {
        outcome: Outcome::Deny,
        snapshot: false,
        policies: vec![policy.into()],
        reasons: vec![reason],
    }
}

impl Airlock {
    /// Runs classify, resolve and decide without recording anything (what `policy explain` shows,
    /// and the first half of every submission).
    pub fn evaluate(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        own_token: Option<&str>,
    ) -> Result<Evaluation, ApiError> {
        let cwd = req.cwd.clone().unwrap_or_else(|| "/".into());
        let (mut assessment, credentials, scripts) = self.assess(req, own_token)?;
        super::resolve::follow_links(&mut assessment);
        let resolved = self.resolve(req, &assessment, &cwd)?;
        let scope = self.scope_refusal(caller, &resolved, &assessment);
        let decision = if let Some(why) = &scope {
            refusal("token scope", why.clone())
        } else if !credentials.is_empty() {
            let kinds: Vec<String> = credentials
                .iter()
                .map(|c| format!("a {} ({})", c.kind, c.prefix))
                .collect();
            refusal(
                "credentials",
                format!(
                    "the action carries {}, which Airlock did not issue to this agent; agents use their Airlock token only",
                    kinds.join(" and ")
                ),
            )
        } else {
            let subject = Subject {
                name: caller.agent.clone(),
                operator: caller.operator,
            };
            let targets: Vec<Target> = resolved
                .iter()
                .map(|r| Target {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    environment: r.environment.clone(),
                })
                .collect();
            let details = ActionDetails {
                kind: req.kind.clone(),
                cwd: cwd.clone(),
                source: req.source.clone(),
                summary: airlock_classify::redact(&req.input),
            };
            self.policy().decide(&subject, assessment.risk, &targets, &details)
        };
        // The action as asked: who, what, where. What it reaches (resources, environments, inodes,
        // script contents) is its evidence, checked again when an approval is spent.
        let fingerprint = digest(&["airlock-action-v2", &caller.agent, &req.kind, &req.input, &cwd]);
        Ok(Evaluation {
            assessment,
            resolved,
            credentials,
            scope,
            decision,
            fingerprint,
            scripts,
        })
    }
}
