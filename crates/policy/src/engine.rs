use std::str::FromStr;

use airlock_classify::Risk;
use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityUid, PolicySet, Request, Schema, ValidationMode,
    Validator,
};
use serde_json::json;

use crate::{Decision, Outcome};

/// The Cedar schema every policy is validated against.
pub const SCHEMA: &str = include_str!("schema.cedarschema");
/// The policy `airlock init` writes and that applies when no policy file is configured.
pub const DEFAULT_POLICY: &str = include_str!("default.cedar");

/// A policy file that does not parse or does not fit the schema.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy does not parse: {0}")]
    Parse(String),
    #[error("the policy does not fit Airlock's schema:\n{0}")]
    Invalid(String),
    #[error("policy annotation {annotation} on {policy} must be {expected}, not {value:?}")]
    Annotation {
        policy: String,
        annotation: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// Who asks: the agent behind the token.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: String,
    pub operator: bool,
}

/// A resolved resource the action touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub kind: String,
    pub environment: String,
}

/// The action's details, given to policies as `context`.
#[derive(Clone, Debug, Default)]
pub struct ActionDetails {
    pub kind: String,
    pub cwd: String,
    pub source: String,
    pub summary: String,
}

/// A validated policy set with its schema.
pub struct Policy {
    schema: Schema,
    set: PolicySet,
    /// Decisions already made, when no policy reads anything but `context.kind`, `.cwd` and
    /// `.source` (then the summary cannot change a decision, and the Postgres gateway's thousands of
    /// statements per second need not each build a Cedar request).
    memo: Option<std::sync::Mutex<std::collections::HashMap<String, Decision>>>,
}

const MEMO_LIMIT: usize = 4096;

/// Whether a decision can depend on more than the memo key holds: any use of `context` other than
/// its `kind`, `cwd` and `source` attributes.
fn reads_more_context(text: &str) -> bool {
    let rest = text
        .replace("context.kind", "")
        .replace("context.cwd", "")
        .replace("context.source", "");
    rest.contains("context")
}

fn action_name(risk: Risk) -> &'static str {
    match risk {
        Risk::Read => "read",
        Risk::Write => "write",
        Risk::Destructive => "destroy",
        Risk::Unknown => "unknown",
    }
}

fn schema() -> Schema {
    // The schema is compiled in and covered by tests: failing here is a build defect.
    Schema::from_cedarschema_str(SCHEMA)
        .expect("the embedded Cedar schema is valid")
        .0
}

impl Policy {
    /// Parses and validates policy text against the schema, annotations included.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let set = PolicySet::from_str(text).map_err(|e| {
            let errors: Vec<String> = e.iter().map(|pe| crate::errors::sentence(text, pe)).collect();
            PolicyError::Parse(errors.join("\n"))
        })?;
        let schema = schema();
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::default());
        if !result.validation_passed() {
            let errors: Vec<String> = result
                .validation_errors()
                .map(|e| format!("  - {}", crate::errors::sentence(text, e)))
                .collect();
            return Err(PolicyError::Invalid(errors.join("\n")));
        }
        for p in set.policies() {
            let name = p.annotation("id").map_or_else(|| p.id().to_string(), str::to_owned);
            if let Some(v) = p.annotation("approvals") {
                if v.parse::<u32>().map_or(true, |n| n == 0) {
                    return Err(PolicyError::Annotation {
                        policy: name,
                        annotation: "@approvals",
                        expected: "a whole number of at least 1",
                        value: v.to_owned(),
                    });
                }
            }
            if p.annotation("exception").is_some_and(|v| v.trim().is_empty()) {
                return Err(PolicyError::Annotation {
                    policy: name,
                    annotation: "@exception",
                    expected: "a sentence saying why the exception holds",
                    value: String::new(),
                });
            }
            if let Some(v) = p.annotation("snapshot") {
                if v != "required" && v != "none" {
                    return Err(PolicyError::Annotation {
                        policy: name,
                        annotation: "@snapshot",
                        expected: "\"required\" or \"none\"",
                        value: v.to_owned(),
                    });
                }
            }
        }
        let memo = (!set.policies().any(|p| reads_more_context(&p.to_string())))
            .then(|| std::sync::Mutex::new(std::collections::HashMap::new()));
        Ok(Policy { schema, set, memo })
    }

    /// Whether a decision depends only on who, what risk, which resource, and the action's kind,
    /// cwd and source: never on its text. Callers may then reuse a decision for texts of one shape.
    pub fn ignores_text(&self) -> bool {
        self.memo.is_some()
    }

    /// Airlock's default policy.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the embedded default policy is valid")
    }

    /// Decides an action of `risk` by `subject` touching `targets`. With no target the action is
    /// judged against an unresolved resource in the `unknown` environment.
    pub fn decide(&self, subject: &Subject, risk: Risk, targets: &[Target], details: &ActionDetails) -> Decision {
        let fallback = [Target {
            name: "(unresolved)".into(),
            kind: "unknown".into(),
            environment: "unknown".into(),
        }];
        let targets = if targets.is_empty() { &fallback[..] } else { targets };
        targets
            .iter()
            .map(|t| self.decide_one(subject, risk, t, details))
            .reduce(Decision::combine)
            .unwrap_or_else(|| Decision::deny("no resource to decide on"))
    }

    fn decide_one(&self, subject: &Subject, risk: Risk, target: &Target, details: &ActionDetails) -> Decision {
        let key = self.memo.as_ref().map(|_| {
            [
                subject.name.as_str(),
                if subject.operator { "1" } else { "0" },
                action_name(risk),
                &target.name,
                &target.kind,
                &target.environment,
                &details.kind,
                &details.cwd,
                &details.source,
            ]
            .join("\0")
        });
        if let (Some(memo), Some(key)) = (&self.memo, &key) {
            if let Some(d) = memo.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
                return d.clone();
            }
        }
        match self.authorize(subject, risk, target, details) {
            Ok(d) => {
                if let (Some(memo), Some(key)) = (&self.memo, key) {
                    let mut memo = memo.lock().unwrap_or_else(|p| p.into_inner());
                    if memo.len() >= MEMO_LIMIT {
                        memo.clear();
                    }
                    memo.insert(key, d.clone());
                }
                d
            }
            // A request the engine cannot evaluate is refused, never waved through.
            Err(e) => Decision::deny(format!("the policy could not be evaluated for {}: {e}", target.name)),
        }
    }

    fn authorize(
        &self,
        subject: &Subject,
        risk: Risk,
        target: &Target,
        details: &ActionDetails,
    ) -> Result<Decision, String> {
        let principal = EntityUid::from_type_name_and_id(
            "Agent".parse().map_err(|e| format!("{e}"))?,
            subject.name.parse().map_err(|e| format!("{e}"))?,
        );
        let action = EntityUid::from_type_name_and_id(
            "Action".parse().map_err(|e| format!("{e}"))?,
            action_name(risk).parse().map_err(|e| format!("{e}"))?,
        );
        let resource = EntityUid::from_type_name_and_id(
            "Resource".parse().map_err(|e| format!("{e}"))?,
            target.name.parse().map_err(|e| format!("{e}"))?,
        );
        let entities = json!([
            { "uid": { "type": "Agent", "id": subject.name }, "attrs": { "name": subject.name, "operator": subject.operator }, "parents": [] },
            { "uid": { "type": "Resource", "id": target.name }, "attrs": { "name": target.name, "kind": target.kind, "environment": target.environment }, "parents": [] },
        ]);
        let entities = Entities::from_json_value(entities, Some(&self.schema)).map_err(|e| e.to_string())?;
        let context = Context::from_json_value(
            json!({ "kind": details.kind, "cwd": details.cwd, "source": details.source, "summary": details.summary }),
            Some((&self.schema, &action)),
        )
        .map_err(|e| e.to_string())?;
        let request =
            Request::new(principal, action, resource, context, Some(&self.schema)).map_err(|e| e.to_string())?;
        let response = Authorizer::new().is_authorized(&request, &self.set, &entities);
        let errors: Vec<String> = response.diagnostics().errors().map(ToString::to_string).collect();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.set
                    .annotation(id, "id")
                    .map_or_else(|| id.to_string(), str::to_owned)
            })
            .collect();
        let on = format!("{} ({}, {})", target.name, target.kind, target.environment);
        let policies: Vec<String> = ids.iter().map(|id| format!("{id} → {on}")).collect();
        if response.decision() == CedarDecision::Deny {
            let reason = if ids.is_empty() {
                format!("no policy permits a {} action on {on}", action_name(risk))
            } else {
                format!("forbidden by {} on {on}", ids.join(", "))
            };
            return Ok(Decision {
                outcome: Outcome::Deny,
                snapshot: false,
                policies,
                reasons: vec![reason],
            });
        }
        // A satisfied `@exception` permit is a written exception to the default holds: its own
        // annotations decide (forbids still win: Cedar denied above). Without one, the strictest
        // annotations of all satisfied permits decide.
        let satisfied: Vec<_> = response.diagnostics().reason().collect();
        let exceptions: Vec<_> = satisfied
            .iter()
            .filter(|id| self.set.annotation(id, "exception").is_some())
            .copied()
            .collect();
        let deciding = if exceptions.is_empty() { &satisfied } else { &exceptions };
        let mut approvals = 0u32;
        let mut snapshot = false;
        for id in deciding {
            if let Some(n) = self.set.annotation(id, "approvals").and_then(|v| v.parse::<u32>().ok()) {
                approvals = approvals.max(n);
            }
            snapshot |= self.set.annotation(id, "snapshot") == Some("required");
        }
        let why: Vec<String> = exceptions
            .iter()
            .map(|id| {
                format!(
                    "exception {} ({})",
                    self.set
                        .annotation(id, "id")
                        .map_or_else(|| id.to_string(), str::to_owned),
                    self.set.annotation(id, "exception").unwrap_or_default()
                )
            })
            .collect();
        let (outcome, reason) = if !why.is_empty() && approvals == 0 {
            (Outcome::Allow, format!("allowed by {} on {on}", why.join(", ")))
        } else if approvals == 0 {
            (Outcome::Allow, format!("allowed by {} on {on}", ids.join(", ")))
        } else {
            (
                Outcome::Ask { approvals },
                format!("{} requires approval by {approvals} human(s) on {on}", ids.join(", ")),
            )
        };
        Ok(Decision {
            outcome,
            snapshot,
            policies,
            reasons: vec![reason],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_only_when_no_policy_reads_the_summary() {
        assert!(Policy::default_policy().memo.is_some());
        let reads_summary = format!(
            "{DEFAULT_POLICY}\n@id(\"no-drop\") forbid (principal, action, resource) when {{ context.summary like \"*DROP*\" }};"
        );
        let p = Policy::parse(&reads_summary).unwrap();
        assert!(p.memo.is_none());
        let details = |s: &str| ActionDetails {
            kind: "sql".into(),
            cwd: "/".into(),
            source: "t".into(),
            summary: s.into(),
        };
        let t = [target("staging", "postgres")];
        assert_eq!(
            p.decide(&agent(), Risk::Read, &t, &details("SELECT 1")).outcome,
            Outcome::Allow
        );
        assert_eq!(
            p.decide(&agent(), Risk::Read, &t, &details("SELECT 'DROP'")).outcome,
            Outcome::Deny
        );
        let memo = Policy::default_policy();
        let first = memo.decide(&agent(), Risk::Destructive, &t, &details("a"));
        assert_eq!(memo.decide(&agent(), Risk::Destructive, &t, &details("b")), first);
    }

    #[test]
    fn an_exception_lifts_the_default_hold_but_never_a_forbid() {
        let text = format!(
            "{DEFAULT_POLICY}\n@id(\"clean-builds\")\n@exception(\"rebuilding is cheap\")\npermit (principal, action == Action::\"destroy\", resource)\nwhen {{ resource.environment == \"development\" && context.summary like \"cargo clean*\" }};"
        );
        let p = Policy::parse(&text).unwrap();
        let details = |s: &str| ActionDetails {
            kind: "shell".into(),
            cwd: "/w".into(),
            source: "t".into(),
            summary: s.into(),
        };
        let dev = [target("development", "path")];
        let d = p.decide(&agent(), Risk::Destructive, &dev, &details("cargo clean"));
        assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
        assert!(d.reasons[0].contains("rebuilding is cheap"), "{d:?}");
        assert!(!d.snapshot);
        // Anything else stays held, and an exception cannot reach past a forbid.
        assert_eq!(
            p.decide(&agent(), Risk::Destructive, &dev, &details("rm -rf src"))
                .outcome,
            Outcome::Ask { approvals: 1 }
        );
        let own = [target("development", "airlock")];
        assert_eq!(
            p.decide(&agent(), Risk::Destructive, &own, &details("cargo clean"))
                .outcome,
            Outcome::Deny
        );
        let empty = format!("{DEFAULT_POLICY}\n@exception(\"\")\npermit (principal, action, resource);");
        assert!(Policy::parse(&empty).is_err());
    }

    fn agent() -> Subject {
        Subject {
            name: "claude".into(),
            operator: false,
        }
    }

    fn target(env: &str, kind: &str) -> Target {
        Target {
            name: format!("{kind}-in-{env}"),
            kind: kind.into(),
            environment: env.into(),
        }
    }

    fn decide(risk: Risk, env: &str, kind: &str) -> Decision {
        Policy::default_policy().decide(&agent(), risk, &[target(env, kind)], &ActionDetails::default())
    }

    #[test]
    fn default_policy_matches_the_design() {
        assert_eq!(decide(Risk::Read, "production", "postgres").outcome, Outcome::Allow);
        assert_eq!(decide(Risk::Write, "staging", "postgres").outcome, Outcome::Allow);
        assert_eq!(
            decide(Risk::Write, "production", "postgres").outcome,
            Outcome::Ask { approvals: 1 }
        );
        let d = decide(Risk::Destructive, "staging", "postgres");
        assert_eq!(d.outcome, Outcome::Ask { approvals: 1 });
        assert!(d.snapshot);
        assert_eq!(
            decide(Risk::Destructive, "production", "postgres").outcome,
            Outcome::Ask { approvals: 2 }
        );
        assert_eq!(
            decide(Risk::Unknown, "unknown", "api").outcome,
            Outcome::Ask { approvals: 2 }
        );
        assert_eq!(decide(Risk::Write, "development", "airlock").outcome, Outcome::Deny);
        assert_eq!(decide(Risk::Read, "development", "vault").outcome, Outcome::Deny);
        assert_eq!(decide(Risk::Read, "development", "airlock").outcome, Outcome::Allow);
    }

    #[test]
    fn several_resources_combine_to_the_strictest() {
        let p = Policy::default_policy();
        let d = p.decide(
            &agent(),
            Risk::Destructive,
            &[target("staging", "path"), target("production", "postgres")],
            &ActionDetails::default(),
        );
        assert_eq!(d.outcome, Outcome::Ask { approvals: 2 });
        assert!(d.policies.iter().any(|p| p.starts_with("destructive-in-production")));
    }

    #[test]
    fn names_with_quotes_and_odd_characters_are_entities_not_syntax() {
        let t = Target {
            name: "db\"; forbid".into(),
            kind: "postgres".into(),
            environment: "staging".into(),
        };
        let d = Policy::default_policy().decide(&agent(), Risk::Read, &[t], &ActionDetails::default());
        assert_eq!(d.outcome, Outcome::Allow);
    }

    #[test]
    fn bad_policies_are_rejected_with_the_reason() {
        assert!(matches!(
            Policy::parse("permit(principal, action, resource"),
            Err(PolicyError::Parse(_))
        ));
        let typo = "permit(principal, action, resource) when { resource.enviroment == \"x\" };";
        assert!(matches!(Policy::parse(typo), Err(PolicyError::Invalid(_))));
        let bad = "@approvals(\"two\") permit(principal, action, resource);";
        assert!(matches!(Policy::parse(bad), Err(PolicyError::Annotation { .. })));
    }
}
