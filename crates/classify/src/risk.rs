use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much an action can change.
///
/// `Read < Write < Destructive` is the scale of effect. `Unknown` sits outside it: the effect could not
/// be determined, and callers must treat it like `Destructive` (Airlock fails closed).
///
/// When several operations are combined, the more alarming answer wins. A known destructive part
/// outranks an unknown one (the action is destructive whatever the unknown part does), and an unknown
/// part outranks reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Changes nothing persistent.
    Read,
    /// Changes data in a bounded, targeted way.
    Write,
    /// Removes or overwrites data wholesale or irreversibly.
    Destructive,
    /// The effect cannot be determined; treat like destructive.
    Unknown,
}

impl Risk {
    /// Every risk, in the order used for reports.
    pub const ALL: [Risk; 4] = [Risk::Read, Risk::Write, Risk::Destructive, Risk::Unknown];

    fn alarm(self) -> u8 {
        match self {
            Risk::Read => 0,
            Risk::Write => 1,
            Risk::Unknown => 2,
            Risk::Destructive => 3,
        }
    }

    /// The more alarming of two risks.
    #[must_use]
    pub fn combine(self, other: Risk) -> Risk {
        if other.alarm() > self.alarm() {
            other
        } else {
            self
        }
    }

    /// Whether the default policy holds an action of this risk for a human.
    pub fn needs_approval_by_default(self) -> bool {
        matches!(self, Risk::Destructive | Risk::Unknown)
    }

    /// The lowercase name used in JSON and rule packs.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Read => "read",
            Risk::Write => "write",
            Risk::Destructive => "destructive",
            Risk::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `read`, `write`, `destructive`, `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk {0:?}: expected read, write, destructive or unknown")]
pub struct ParseRiskError(pub String);

impl FromStr for Risk {
    type Err = ParseRiskError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Risk::Read),
            "write" => Ok(Risk::Write),
            "destructive" => Ok(Risk::Destructive),
            "unknown" => Ok(Risk::Unknown),
            other => Err(ParseRiskError(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_outranks_unknown_which_outranks_write() {
        assert_eq!(Risk::Write.combine(Risk::Unknown), Risk::Unknown);
        assert_eq!(Risk::Unknown.combine(Risk::Destructive), Risk::Destructive);
        assert_eq!(Risk::Destructive.combine(Risk::Read), Risk::Destructive);
        assert_eq!(Risk::Read.combine(Risk::Read), Risk::Read);
    }

    #[test]
    fn parses_its_own_names() {
        for r in Risk::ALL {
            assert_eq!(r.as_str().parse::<Risk>(), Ok(r));
        }
        assert!("delete".parse::<Risk>().is_err());
    }
}
