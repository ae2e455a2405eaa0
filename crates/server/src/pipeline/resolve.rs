//! Stage 2: targets to resources and environments. A path is judged where it really leads: when a
//! target is (or runs through) a symbolic link, its real path is a target too, so `build/` swapped
//! for a link into production data resolves to production, and snapshots copy the real data.

use std::path::Path;

use airlock_classify::{Assessment, Target as ClassTarget, TargetKind};
use airlock_config::{Resolved, Resolver};
use airlock_store::TokenRecord;

use crate::api::SubmitRequest;
use crate::{Airlock, ApiError};

fn risk_rank(r: &str) -> u8 {
    match r {
        "read" => 0,
        "write" => 1,
        _ => 2,
    }
}

/// Adds the real path of every path (or working tree) target that is or passes through a link.
pub(crate) fn follow_links(assessment: &mut Assessment) {
    let mut real = Vec::new();
    for t in assessment
        .targets
        .iter()
        .filter(|t| matches!(t.kind, TargetKind::Path | TargetKind::Worktree))
    {
        let Ok(canonical) = std::fs::canonicalize(&t.value) else {
            continue;
        };
        let canonical = canonical.display().to_string();
        if canonical != t.value && !assessment.targets.iter().any(|o| o.value == canonical) {
            real.push(ClassTarget {
                kind: t.kind,
                value: canonical,
            });
        }
    }
    assessment.targets.extend(real);
}

impl Airlock {
    /// The resources and environments the action reaches.
    pub(crate) fn resolve(
        &self,
        req: &SubmitRequest,
        assessment: &Assessment,
        cwd: &str,
    ) -> Result<Vec<Resolved>, ApiError> {
        Ok(match &req.resource {
            Some(name) => {
                let r = self
                    .config
                    .resources
                    .iter()
                    .find(|r| &r.name == name)
                    .ok_or_else(|| ApiError::BadRequest(format!("no [[resource]] is named {name:?}")))?;
                vec![Resolved {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    environment: r.environment.clone(),
                    via: "the gateway connection's database".into(),
                }]
            }
            None => Resolver::new(&self.config, self.airlock_paths.clone(), Vec::new()).resolve(
                assessment,
                Some(Path::new(cwd)),
                req.kind == "sql",
            ),
        })
    }

    /// Why the caller's token may not submit this, if it may not: an environment outside its scope,
    /// or a risk above its ceiling.
    pub(crate) fn scope_refusal(
        &self,
        caller: &TokenRecord,
        resolved: &[Resolved],
        assessment: &Assessment,
    ) -> Option<String> {
        let risk_name = assessment.risk.as_str();
        if let Some(max) = &caller.max_risk {
            if risk_rank(risk_name) > risk_rank(max) {
                return Some(format!(
                    "this token may submit {max} actions at most, and the action is {risk_name}"
                ));
            }
        }
        if caller.environments.is_empty() {
            return None;
        }
        resolved
            .iter()
            .find(|r| !caller.environments.contains(&r.environment))
            .map(|r| {
                format!(
                    "this token may reach {} only, and the action reaches {} ({}, via {})",
                    caller.environments.join(", "),
                    r.environment,
                    r.name,
                    r.via
                )
            })
    }
}
