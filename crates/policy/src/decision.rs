use serde::{Deserialize, Serialize};

/// What may happen to an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub enum Outcome {
    Allow,
    /// Held until this many distinct humans approve.
    Ask {
        approvals: u32,
    },
    Deny,
}

impl Outcome {
    fn rank(self) -> u32 {
        match self {
            Outcome::Allow => 0,
            Outcome::Ask { approvals } => approvals,
            Outcome::Deny => u32::MAX,
        }
    }

    /// Deny beats ask beats allow; between asks, more approvals win.
    #[must_use]
    pub fn strictest(self, other: Outcome) -> Outcome {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// The policy's answer, with the policies that decided it and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// A snapshot of what the action touches must precede it.
    pub snapshot: bool,
    /// The ids (`@id`) of the policies that decided, per resource (`policy → resource`).
    pub policies: Vec<String>,
    pub reasons: Vec<String>,
}

impl Decision {
    pub(crate) fn deny(reason: impl Into<String>) -> Decision {
        Decision {
            outcome: Outcome::Deny,
            snapshot: false,
            policies: Vec::new(),
            reasons: vec![reason.into()],
        }
    }

    /// Combines the decisions for several resources of one action.
    #[must_use]
    pub fn combine(mut self, other: Decision) -> Decision {
        self.outcome = self.outcome.strictest(other.outcome);
        self.snapshot |= other.snapshot;
        for p in other.policies {
            if !self.policies.contains(&p) {
                self.policies.push(p);
            }
        }
        for r in other.reasons {
            if !self.reasons.contains(&r) {
                self.reasons.push(r);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_beats_ask_beats_allow() {
        assert_eq!(
            Outcome::Allow.strictest(Outcome::Ask { approvals: 1 }),
            Outcome::Ask { approvals: 1 }
        );
        assert_eq!(
            Outcome::Ask { approvals: 2 }.strictest(Outcome::Ask { approvals: 1 }),
            Outcome::Ask { approvals: 2 }
        );
        assert_eq!(Outcome::Ask { approvals: 2 }.strictest(Outcome::Deny), Outcome::Deny);
        assert_eq!(Outcome::Deny.strictest(Outcome::Allow), Outcome::Deny);
    }
}
