//! Human-readable output. Colour only when stdout is a terminal and NO_COLOR is unset.

use std::io::IsTerminal;

use airlock_classify::{Assessment, Risk};

struct Style {
    color: bool,
}

impl Style {
    fn detect() -> Style {
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn risk(&self, r: Risk) -> String {
        let label = r.as_str().to_uppercase();
        if !self.color {
            return label;
        }
        let code = match r {
            Risk::Read => "32",
            Risk::Write => "33",
            Risk::Destructive => "1;31",
            Risk::Unknown => "1;35",
        };
        format!("\x1b[{code}m{label}\x1b[0m")
    }
}

pub fn explain(input: &str, a: &Assessment) -> String {
    let style = Style::detect();
    let mut out = String::new();
    out.push_str(&format!(
        "{}  {}\n",
        style.risk(a.risk),
        one_line(&airlock_classify::redact(input))
    ));
    for r in &a.reasons {
        out.push_str(&format!("  why: {r}\n"));
    }
    if a.risk.needs_approval_by_default() {
        out.push_str("  (the default policy holds this for a human's approval)\n");
    }
    if !a.operations.is_empty() {
        out.push_str("  operations:\n");
        for op in &a.operations {
            out.push_str(&format!(
                "    {:<11} {}\n      {}\n",
                op.risk.as_str(),
                op.summary,
                op.reason
            ));
        }
    }
    if !a.targets.is_empty() {
        out.push_str("  targets:\n");
        for t in &a.targets {
            out.push_str(&format!("    {:<11} {}\n", t.kind.as_str(), t.value));
        }
    }
    out
}

fn one_line(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() > 120 {
        format!("{}…", flat.chars().take(119).collect::<String>())
    } else {
        flat
    }
}

/// A byte count for people: `512 B`, `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
