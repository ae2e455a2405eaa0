use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::{Risk, Target};

/// One effect found in an action: `rm -rf build`, `DROP TABLE users`, `mutation volumeDelete`…
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// A short rendering of what runs (the command, statement or call), secrets redacted.
    pub summary: String,
    pub risk: Risk,
    /// Why this risk, written for the human who may have to approve it.
    pub reason: String,
}

/// What an action will do: its overall risk, each operation found, what it touches, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub risk: Risk,
    pub operations: Vec<Operation>,
    pub targets: Vec<Target>,
    /// The reasons behind the overall risk (those of the operations that reach it).
    pub reasons: Vec<String>,
}

impl Assessment {
    /// An assessment of a single finding, used for inputs rejected before any parsing.
    pub(crate) fn single(risk: Risk, summary: &str, reason: impl Into<String>) -> Assessment {
        let mut findings = Findings::default();
        findings.op(risk, summary, reason);
        findings.finish()
    }

    /// Whether any target has this kind and value.
    pub fn has_target(&self, kind: crate::TargetKind, value: &str) -> bool {
        self.targets.iter().any(|t| t.kind == kind && t.value == value)
    }
}

/// Accumulates operations and targets while a classifier walks an input.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    operations: Vec<Operation>,
    targets: Vec<Target>,
    /// The last summary redacted and its result: one command often records several operations
    /// with the same summary.
    last_summary: Option<(String, String)>,
}

const MAX_SUMMARY: usize = 160;

impl Findings {
    pub(crate) fn op(&mut self, risk: Risk, summary: &str, reason: impl Into<String>) {
        // Summaries and reasons quote the action: secrets in it never leave the classifier.
        let summary = match &self.last_summary {
            Some((raw, done)) if raw == summary => done.clone(),
            _ => {
                let done = shorten(&crate::redact::redact_cow(summary));
                self.last_summary = Some((summary.to_owned(), done.clone()));
                done
            }
        };
        let reason = reason.into();
        let masked = match crate::redact::redact_cow(&reason) {
            Cow::Borrowed(_) => None,
            Cow::Owned(masked) => Some(masked),
        };
        let op = Operation {
            summary,
            risk,
            reason: masked.unwrap_or(reason),
        };
        if !self.operations.contains(&op) {
            self.operations.push(op);
        }
    }

    pub(crate) fn target(&mut self, target: Target) {
        if target.value.is_empty() {
            return;
        }
        if !self.targets.contains(&target) {
            self.targets.push(target);
        }
    }

    pub(crate) fn risk(&self) -> Option<Risk> {
        self.operations.iter().map(|o| o.risk).reduce(Risk::combine)
    }

    /// Moves everything found by a nested classification into this one.
    pub(crate) fn absorb(&mut self, other: Findings) {
        for op in other.operations {
            if !self.operations.contains(&op) {
                self.operations.push(op);
            }
        }
        for t in other.targets {
            self.target(t);
        }
    }

    /// Moves only the targets of a nested classification into this one.
    pub(crate) fn absorb_targets(&mut self, other: Findings) {
        for t in other.targets {
            self.target(t);
        }
    }

    pub(crate) fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub(crate) fn finish(self) -> Assessment {
        // An input with no operation at all (an empty command, a comment) changes nothing.
        let risk = self.risk().unwrap_or(Risk::Read);
        let mut reasons: Vec<String> = Vec::new();
        for op in self.operations.iter().filter(|o| o.risk == risk) {
            if !reasons.contains(&op.reason) {
                reasons.push(op.reason.clone());
            }
        }
        if reasons.is_empty() {
            reasons.push("nothing in the input changes anything".to_owned());
        }
        Assessment {
            risk,
            operations: self.operations,
            targets: self.targets,
            reasons,
        }
    }
}

fn shorten(s: &str) -> String {
    let one_line: Cow<'_, str> = if s.contains(char::is_control) {
        Cow::Owned(s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    };
    let trimmed = one_line.trim();
    if trimmed.len() <= MAX_SUMMARY || trimmed.chars().count() <= MAX_SUMMARY {
        return trimmed.to_owned();
    }
    let mut out: String = trimmed.chars().take(MAX_SUMMARY - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetKind;

    #[test]
    fn overall_risk_is_the_most_alarming_operation_and_reasons_follow_it() {
        let mut f = Findings::default();
        f.op(Risk::Read, "ls", "lists files");
        f.op(Risk::Destructive, "rm -rf x", "deletes x");
        f.op(Risk::Unknown, "eval $X", "dynamic");
        let a = f.finish();
        assert_eq!(a.risk, Risk::Destructive);
        assert_eq!(a.reasons, vec!["deletes x".to_owned()]);
        assert_eq!(a.operations.len(), 3);
    }

    #[test]
    fn empty_findings_are_a_read() {
        let a = Findings::default().finish();
        assert_eq!(a.risk, Risk::Read);
    }

    #[test]
    fn targets_are_deduplicated_and_empty_values_dropped() {
        let mut f = Findings::default();
        f.target(Target::new(TargetKind::Path, "/a"));
        f.target(Target::new(TargetKind::Path, "/a"));
        f.target(Target::new(TargetKind::Path, ""));
        assert_eq!(f.finish().targets.len(), 1);
    }

    #[test]
    fn summaries_are_single_line_and_bounded() {
        let mut f = Findings::default();
        f.op(Risk::Read, &format!("a\nb{}", "x".repeat(500)), "r");
        let a = f.finish();
        assert!(!a.operations[0].summary.contains('\n'));
        assert!(a.operations[0].summary.chars().count() <= MAX_SUMMARY);
    }
}
