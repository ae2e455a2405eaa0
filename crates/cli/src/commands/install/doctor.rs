//! The agent checks of `airlock doctor`: for each agent, whether Airlock's hook is in the settings
//! the agent really loads (every layer, with the trust Codex and Gemini CLI require), whether it
//! fails closed, and (for a service install) whether it runs the root-owned binary. An agent this
//! machine does not have is reported as absent, not as a failure.

use std::path::Path;

use airlock_hooks::{installed, settings_path, Agent, Scope};

use super::activation::{inert, Places};
use super::detect;
use crate::commands::doctor::Check;

/// One layer that holds Airlock's hook, and what is wrong with it.
struct Finding {
    path: String,
    problems: Vec<String>,
    fix: Option<String>,
}

fn layers(project: &Path, places: &Places) -> [Scope; 3] {
    [Scope::System, places.user(), Scope::Project(project.to_path_buf())]
}

fn examine(agent: Agent, scope: &Scope, places: &Places, service: bool) -> Option<Finding> {
    let path = settings_path(agent, scope);
    let text = std::fs::read_to_string(&path).ok()?;
    let path_text = path.display().to_string();
    let found = match installed(agent, &text) {
        Ok(found) => found?,
        Err(e) => {
            return Some(Finding {
                path: path_text,
                problems: vec![format!("cannot be read: {e}")],
                fix: Some("fix the file, then run airlock install again".into()),
            })
        }
    };
    let mut problems = found.problems;
    let mut fix = None;
    if service && !found.command.starts_with(airlock_config::SystemPaths::BINARY) {
        problems.push(format!(
            "the hook does not run the root-owned {}, so something the agent can change could answer for Airlock",
            airlock_config::SystemPaths::BINARY
        ));
    }
    if let Some(i) = inert(agent, scope, places) {
        problems.push(format!("inert: {}", i.why));
        fix = Some(i.fix);
    }
    Some(Finding {
        path: path_text,
        problems,
        fix,
    })
}

fn agent_check(agent: Agent, project: &Path, places: &Places, service: bool) -> Check {
    let findings: Vec<Finding> = layers(project, places)
        .iter()
        .filter_map(|s| examine(agent, s, places, service))
        .collect();
    let reinstall = format!("airlock install {} --user", agent.name());
    if let Some(good) = findings.iter().find(|f| f.problems.is_empty()) {
        return Check::pass(agent.name(), format!("hooked, failing closed, in {}", good.path));
    }
    let Some(present) = detect::found(agent, places) else {
        if findings.is_empty() {
            return Check::pass(
                agent.name(),
                format!("not on this machine ({})", detect::looked_for(agent, places)),
            );
        }
        return report(agent, &findings, reinstall);
    };
    if findings.is_empty() {
        return Check::fail(
            agent.name(),
            format!("{present}, but no Airlock hook in any settings it loads"),
            reinstall,
        );
    }
    report(agent, &findings, reinstall)
}

fn report(agent: Agent, findings: &[Finding], reinstall: String) -> Check {
    let detail = findings
        .iter()
        .map(|f| format!("{}: {}", f.path, f.problems.join("; ")))
        .collect::<Vec<_>>()
        .join(" | ");
    let fix = findings.iter().find_map(|f| f.fix.clone()).unwrap_or(reinstall);
    Check::fail(agent.name(), format!("the hook would not block: {detail}"), fix)
}

/// One check per agent.
pub fn doctor_checks(project: &Path) -> Vec<Check> {
    let Ok(places) = Places::from_env() else {
        return vec![Check::fail(
            "agents",
            "HOME is not set",
            "run airlock doctor as the agent's user",
        )];
    };
    let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let service = airlock_config::SystemPaths::installed();
    Agent::ALL
        .into_iter()
        .map(|a| agent_check(a, &project, &places, service))
        .collect()
}
