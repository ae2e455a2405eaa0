//! The labelled corpus (`tests/corpus/*.toml`): shell, SQL and HTTP cases with their expected risk
//! and key targets, traps included. Every case must classify as labelled; the test prints the
//! per-kind accuracy so that a regression shows where it landed.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use airlock_classify::{classify, Action, ActionKind, Risk};
use common::{has_target, CaseWorld, CWD, HOME};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    kind: ActionKind,
    input: String,
    risk: Risk,
    #[serde(default)]
    targets: Vec<String>,
    cwd: Option<String>,
    #[serde(default)]
    exists: Vec<String>,
    /// Files that exist with this content (scripts, package.json, Makefiles…).
    #[serde(default)]
    files: std::collections::HashMap<String, String>,
    /// Files tracked by git and unmodified.
    #[serde(default)]
    git_clean: Vec<String>,
    /// The class of behaviour the case checks (for per-class reports).
    #[allow(dead_code)]
    class: Option<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

fn load() -> Vec<(String, Case)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable corpus file");
        let parsed: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parsed.case.into_iter().map(|c| (name.clone(), c)));
    }
    cases
}

#[test]
fn corpus_classifies_as_labelled() {
    let cases = load();
    assert!(
        cases.len() >= 600,
        "the corpus must hold at least 600 cases, has {}",
        cases.len()
    );
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (file, c) in &cases {
        let world = CaseWorld {
            exists: c.exists.iter().map(PathBuf::from).collect(),
            files: c.files.clone(),
            git_clean: c.git_clean.iter().map(PathBuf::from).collect(),
        };
        let action = Action::new(c.kind, c.input.clone())
            .with_cwd(c.cwd.as_deref().unwrap_or(CWD))
            .with_home(HOME);
        let a = classify(&action, &world);
        let missing: Vec<&String> = c.targets.iter().filter(|t| !has_target(&a.targets, t)).collect();
        let ok = a.risk == c.risk && missing.is_empty();
        let entry = per_kind.entry(format!("{:?}", c.kind).to_lowercase()).or_default();
        entry.0 += 1;
        if ok {
            entry.1 += 1;
        } else {
            let got: Vec<String> = a.targets.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "[{file}] {:?}\n    expected {} got {} ({:?})\n    missing targets {missing:?}; got {got:?}",
                c.input, c.risk, a.risk, a.reasons
            ));
        }
    }
    for (kind, (total, right)) in &per_kind {
        println!(
            "{kind}: {right}/{total} ({:.1}%)",
            100.0 * *right as f64 / *total as f64
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
