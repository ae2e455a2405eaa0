//! Scores the classifier on labelled case files (the corpus format, with an optional `class`):
//! per class, recall on destructive/unknown cases (held) and the false-alarm rate on safe ones
//! (read/write cases that would be held), plus exact-risk accuracy.
//!
//! `cargo run --release -p airlock-classify --example evaluate -- FILE.toml… [--misses]`

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use airlock_classify::{classify, Action, ActionKind, GitState, PathState, Risk, World};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    kind: ActionKind,
    input: String,
    risk: Risk,
    #[serde(default)]
    class: Option<String>,
    cwd: Option<String>,
    #[serde(default)]
    exists: Vec<String>,
    #[serde(default)]
    files: HashMap<String, String>,
    #[serde(default)]
    git_clean: Vec<String>,
    #[allow(dead_code)]
    note: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    targets: Vec<String>,
}

struct CaseWorld<'a> {
    case: &'a Case,
}

impl World for CaseWorld<'_> {
    fn git_state(&self, path: &Path) -> GitState {
        let c = self.case;
        let all: Vec<PathBuf> = c
            .exists
            .iter()
            .chain(c.files.keys())
            .chain(&c.git_clean)
            .map(PathBuf::from)
            .filter(|f| f.starts_with(path))
            .collect();
        if c.git_clean.is_empty() || all.is_empty() {
            return GitState::Unknown;
        }
        if all.iter().all(|f| c.git_clean.iter().any(|g| Path::new(g) == f)) {
            GitState::Clean
        } else {
            GitState::Dirty
        }
    }

    fn path_state(&self, path: &Path) -> PathState {
        let listed = self
            .case
            .exists
            .iter()
            .map(PathBuf::from)
            .chain(self.case.files.keys().map(PathBuf::from))
            .chain(self.case.git_clean.iter().map(PathBuf::from));
        let mut state = PathState::Missing;
        for f in listed {
            if f == path {
                return PathState::File;
            }
            if f.starts_with(path) {
                state = PathState::Dir;
            }
        }
        state
    }

    fn read_script(&self, path: &Path) -> Option<String> {
        self.case.files.get(path.to_str()?).cloned()
    }
}

#[derive(Default)]
struct Tally {
    held_cases: usize,
    caught: usize,
    safe_cases: usize,
    false_alarms: usize,
    exact: usize,
}

fn held(r: Risk) -> bool {
    matches!(r, Risk::Destructive | Risk::Unknown)
}

fn main() {
    let mut show_misses = false;
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--misses" {
            show_misses = true;
        } else {
            files.push(a);
        }
    }
    let mut per_class: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let parsed: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        for c in &parsed.case {
            let action = Action::new(c.kind, c.input.clone())
                .with_cwd(c.cwd.as_deref().unwrap_or("/work/proj"))
                .with_home("/home/agent");
            let a = classify(&action, &CaseWorld { case: c });
            let class = c.class.clone().unwrap_or_else(|| "(none)".into());
            for t in [per_class.entry(class.clone()).or_default(), &mut total] {
                if held(c.risk) {
                    t.held_cases += 1;
                    t.caught += usize::from(held(a.risk));
                } else {
                    t.safe_cases += 1;
                    t.false_alarms += usize::from(held(a.risk));
                }
                t.exact += usize::from(a.risk == c.risk);
            }
            if show_misses && held(a.risk) != held(c.risk) {
                println!(
                    "{} [{class}] expected {} got {}: {}\n    why: {}",
                    if held(c.risk) { "MISS" } else { "FALSE ALARM" },
                    c.risk.as_str(),
                    a.risk.as_str(),
                    c.input.replace('\n', "\\n"),
                    a.reasons.join("; ")
                );
            }
        }
    }
    println!(
        "{:<16} {:>6} {:>14} {:>18} {:>10}",
        "class", "cases", "recall", "false alarms", "exact"
    );
    let row = |name: &str, t: &Tally| {
        let pct = |a: usize, b: usize| {
            if b == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}%", 100.0 * a as f64 / b as f64)
            }
        };
        println!(
            "{:<16} {:>6} {:>6}/{:<3} {:>6} {:>6}/{:<3} {:>6} {:>10}",
            name,
            t.held_cases + t.safe_cases,
            t.caught,
            t.held_cases,
            pct(t.caught, t.held_cases),
            t.false_alarms,
            t.safe_cases,
            pct(t.false_alarms, t.safe_cases),
            pct(t.exact, t.held_cases + t.safe_cases)
        );
    };
    for (name, t) in &per_class {
        row(name, t);
    }
    row("TOTAL", &total);
}
