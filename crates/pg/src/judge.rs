//! Decisions on statements: the quick path (policy allows outright: forward, and batch the audit
//! entry) runs inline; everything else goes through the control plane's `submit`, which holds,
//! refuses, or spends an approval and takes the snapshot first. For a statement that is held or
//! spends an approval, the evidence (what its names mean in the client's session) and the blast
//! radius are measured here, through [`Measured`].

use std::collections::HashMap;
use std::sync::Arc;

use airlock_classify::{find_credentials, Risk};
use airlock_policy::Outcome;
use airlock_server::{now, Airlock, Evaluation, SubmitRequest, SubmitResponse};
use airlock_store::TokenRecord;

use crate::audit::{AuditBatcher, Entry};
use crate::measure::Measured;
use crate::probe::SessionView;
use crate::shape::shape;

/// Shapes a session remembers before it starts over.
const MAX_SHAPES: usize = 1024;

/// SQLSTATE of Airlock's refusals, as PostgreSQL reports a missing privilege.
pub const REFUSED: &str = "42501";
/// SQLSTATE of a statement canceled (by the client, or by its statement_timeout) while it waited.
pub const CANCELED: &str = "57014";

/// Who is asking, on which resource.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenRecord,
    pub resource: String,
    pub session: u64,
}

/// What to do with a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it on. `once`: an approval let it through, so a prepared statement may run once only.
    Forward { once: bool },
    /// Send, instead, a statement that fails with this SQLSTATE and text.
    Refuse {
        code: &'static str,
        message: String,
        detail: String,
        hint: String,
    },
}

impl Verdict {
    pub fn refuse(message: String, detail: String, hint: &str) -> Verdict {
        Verdict::Refuse {
            code: REFUSED,
            message,
            detail,
            hint: hint.to_owned(),
        }
    }
}

/// What the quick path concluded.
pub enum Quick {
    Done(Verdict),
    /// The full decision is needed; `asks`: policy wants a human (so the statement will be held or
    /// spend an approval, and its evidence must be measured).
    Decide {
        asks: bool,
    },
}

/// What the full decision concluded.
pub enum Decided {
    Done(Verdict),
    /// Held for approval (id), with the refusal the client gets while it is.
    Held {
        id: String,
        verdict: Verdict,
    },
}

pub struct Judge {
    airlock: Arc<Airlock>,
    audit: AuditBatcher,
}

const DONT_WORK_AROUND: &str =
    "Tell the user what you wanted to do and why. Do not try to reach the same result another way (another statement, tool or credential).";

impl Judge {
    pub fn new(airlock: Arc<Airlock>) -> Judge {
        Judge {
            audit: AuditBatcher::start(airlock.clone()),
            airlock,
        }
    }

    pub fn airlock(&self) -> &Airlock {
        &self.airlock
    }

    pub fn audit(&self) -> &AuditBatcher {
        &self.audit
    }

    fn request(caller: &Caller, sql: &str) -> SubmitRequest {
        SubmitRequest {
            kind: "sql".into(),
            input: sql.to_owned(),
            cwd: Some(format!("postgres:{}", caller.resource)),
            source: "pg-gateway".into(),
            resource: Some(caller.resource.clone()),
            ..SubmitRequest::default()
        }
    }

    /// The verdict when policy allows the statement outright (no I/O but a queued audit entry);
    /// else what [`decide`](Self::decide) will need. `shapes` are the session's allowed statement
    /// shapes and their risk (see [`crate::shape`]).
    pub fn quick(&self, caller: &Caller, sql: &str, shapes: &mut HashMap<String, Risk>) -> Quick {
        if self.audit.is_broken() {
            return Quick::Done(Verdict::refuse(
                "Airlock cannot write its audit log, so it lets nothing through".into(),
                String::new(),
                "Ask an operator to check the Airlock state file (disk full? permissions?).",
            ));
        }
        let shape = self.airlock.policy_ignores_text().then(|| shape(sql)).flatten();
        if let Some(risk) = shape.as_ref().and_then(|s| shapes.get(s)) {
            if find_credentials(sql, None).is_empty() {
                self.allowed(caller, sql, *risk);
                return Quick::Done(Verdict::Forward { once: false });
            }
        }
        let Ok(ev) = self.airlock.evaluate(&caller.token, &Self::request(caller, sql), None) else {
            return Quick::Decide { asks: true };
        };
        match ev.decision.outcome {
            Outcome::Allow => {}
            Outcome::Ask { .. } => return Quick::Decide { asks: true },
            Outcome::Deny => return Quick::Decide { asks: false },
        }
        self.allowed(caller, sql, ev.assessment.risk);
        if let Some(s) = shape {
            // The shape is remembered only if, with every literal an unknown parameter, it is
            // judged the same: then no literal value can change the judgement (the classifier
            // calls a WHERE that turns on a parameter unknown, never a read or a write).
            let same = self
                .airlock
                .evaluate(&caller.token, &Self::request(caller, &s), None)
                .is_ok_and(|e| e.assessment.risk == ev.assessment.risk && e.decision.outcome == Outcome::Allow);
            if same && ev.credentials.is_empty() {
                if shapes.len() >= MAX_SHAPES {
                    shapes.clear();
                }
                shapes.insert(s, ev.assessment.risk);
            }
        }
        Quick::Done(Verdict::Forward { once: false })
    }

    /// Records an EXECUTE of a statement judged when it was prepared.
    pub fn executed(&self, caller: &Caller, sql: &str) {
        self.audit.push(Entry::Executed {
            at: now(),
            session: caller.session,
            sql: sql.to_owned(),
        });
    }

    fn allowed(&self, caller: &Caller, sql: &str, risk: Risk) {
        self.audit.push(Entry::Allowed {
            at: now(),
            session: caller.session,
            sql: sql.to_owned(),
            risk,
        });
    }

    /// The full decision: blocking (the state file, the database's catalog, perhaps a snapshot).
    /// `view` is how the client's session reads names (or why that is not known), for the
    /// evidence and the blast radius of a statement that is held or spends an approval.
    pub fn decide(&self, caller: &Caller, sql: &str, view: &Result<SessionView, String>) -> Decided {
        let measured = Measured::new(&self.airlock.config, &caller.resource, sql, view);
        let blast_radius = |ev: &Evaluation| Some(measured.blast_radius(ev));
        let evidence = |_: &Evaluation| measured.evidence();
        let probe = airlock_server::Probe {
            blast_radius: &blast_radius,
            evidence: &evidence,
        };
        match self
            .airlock
            .submit_with(&caller.token, Self::request(caller, sql), &probe)
        {
            Ok(answer) => Self::answered(answer, &measured.unresolved()),
            Err(e) => Decided::Done(Verdict::refuse(
                format!("Airlock could not record a decision on this statement, so it did not run: {e}"),
                String::new(),
                DONT_WORK_AROUND,
            )),
        }
    }

    /// The verdict for the control plane's answer; `unresolved`: what the statement's evidence
    /// could not establish (then no approval can let it run as sent, and the client is told why).
    fn answered(answer: SubmitResponse, unresolved: &[String]) -> Decided {
        match answer.decision.as_str() {
            "allow" => Decided::Done(Verdict::Forward { once: true }),
            "ask" => Decided::Held {
                verdict: Verdict::refuse(
                    format!(
                        "{}Airlock held this statement for approval (id {}): it is {} in {}",
                        superseded(&answer.message),
                        answer.id,
                        answer.risk,
                        answer.environments.join(", ")
                    ),
                    if unresolved.is_empty() {
                        answer.reasons.join("; ")
                    } else {
                        format!(
                            "{}. No approval can let it run as sent, because what its names mean could not be established: {}",
                            answer.reasons.join("; "),
                            unresolved.join("; ")
                        )
                    },
                    &format!(
                        "A human must run `airlock approve {}`{}. Then send exactly the same statement again on this database and it runs once. Do not look for another way to do this.",
                        answer.id,
                        if answer.approvals_needed > 1 {
                            format!(" ({} different people)", answer.approvals_needed)
                        } else {
                            String::new()
                        }
                    ),
                ),
                id: answer.id,
            },
            _ => Decided::Done(Verdict::refuse(
                format!(
                    "Airlock refused this statement: {}",
                    answer.reasons.last().cloned().unwrap_or_default()
                ),
                answer.reasons.join("; "),
                DONT_WORK_AROUND,
            )),
        }
    }
}

/// What the control plane said about an approval that no longer covers the statement (its
/// targets changed), to put before the new hold's message; empty when there was none.
fn superseded(message: &str) -> String {
    match message.split_once("Airlock held this action") {
        Some((before, _)) if !before.trim().is_empty() => format!("{} ", before.trim()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_superseded_approval_is_explained_first() {
        assert_eq!(superseded("Airlock held this action for approval (id x)"), "");
        assert_eq!(
            superseded("The action's targets changed since it was approved (t is table other.t (oid 2) — was table public.t (oid 1)), so that approval does not cover it. Airlock held this action …"),
            "The action's targets changed since it was approved (t is table other.t (oid 2) — was table public.t (oid 1)), so that approval does not cover it. "
        );
    }
}
