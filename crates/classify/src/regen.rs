//! Deletions that lose nothing: build outputs and caches of the toolchain the project uses (per
//! `packs/regenerable.toml`), the user's temporary files, and files git can restore as they are.

use std::path::Path;

use crate::ctx::Ctx;
use crate::glob::glob_match;
use crate::{GitState, PathState};

/// Why deleting `raw` (a path as written) loses nothing, if it does not.
pub(crate) fn restorable(raw: &str, ctx: &Ctx<'_>) -> Option<String> {
    // `$HOME/…` names the same place as `~/…`.
    let home_form = ["$HOME/", "${HOME}/"]
        .iter()
        .find_map(|h| raw.strip_prefix(h))
        .map(|r| format!("~/{r}"));
    let raw = home_form.as_deref().unwrap_or(raw);
    if let Some(why) = temporary(raw, ctx) {
        return Some(why);
    }
    let full = absolute(raw, ctx)?;
    if let Some(why) = regenerable(&full, ctx) {
        return Some(why);
    }
    // A glob or a dynamic name is not a path git could be asked about.
    if raw.contains(['*', '?', '[', '$']) {
        return None;
    }
    (ctx.world.git_state(Path::new(&full)) == GitState::Clean)
        .then(|| format!("{full} is tracked by git and unmodified: git checkout restores it"))
}

/// The path made absolute without cutting a glob in its last component (`*.pyc` stays).
fn absolute(raw: &str, ctx: &Ctx<'_>) -> Option<String> {
    let trimmed = raw.trim_end_matches('/');
    let (dir, last) = match trimmed.rsplit_once('/') {
        Some(("", last)) => ("/", last),
        Some((d, l)) => (d, l),
        None => (".", trimmed),
    };
    if dir.contains(['*', '?', '[']) || last.is_empty() {
        return None;
    }
    let base = ctx.resolve_path(dir);
    Some(if base == "/" {
        format!("/{last}")
    } else {
        format!("{base}/{last}")
    })
}

fn temporary(raw: &str, ctx: &Ctx<'_>) -> Option<String> {
    let var_is_temp = |name: &str| ctx.temp_vars.iter().any(|v| v == name);
    let var = raw
        .trim_start_matches('"')
        .strip_prefix("${")
        .map(|r| r.split(['}', ':']).next().unwrap_or_default())
        .or_else(|| {
            raw.strip_prefix('$').map(|r| {
                r.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or_default()
            })
        });
    if raw.starts_with("$(mktemp") || var.is_some_and(|v| v == "TMPDIR" || var_is_temp(v)) {
        return Some(format!(
            "{raw} is a temporary path the action made or the user's temp directory"
        ));
    }
    // The shared /tmp holds other programs' sockets, locks and data: only what is the user's own
    // counts, by name (the user's name, a PID suffix) or as made by mktemp or a test runner.
    let full = ctx.resolve_path(raw);
    let raw_full = absolute(raw, ctx).unwrap_or(full);
    let name = ["/tmp/", "/var/tmp/"]
        .iter()
        .find_map(|t| raw_full.strip_prefix(t))
        .and_then(|rest| rest.split('/').next())
        .filter(|n| !n.is_empty())?;
    let user = ctx
        .home
        .as_ref()
        .and_then(|h| h.file_name())
        .map(|u| u.to_string_lossy().into_owned())
        .filter(|u| u.len() >= 3);
    let own = user.as_deref().is_some_and(|u| name.contains(u))
        || name.ends_with("-$$")
        || [
            "tmp.*",
            "pytest-of-*",
            "pip-*",
            "npm-*",
            "go-build*",
            "rust*",
            "cargo-install*",
            "tmp*-*",
        ]
        .iter()
        .any(|p| glob_match(p, name));
    own.then(|| format!("{raw_full} is the user's own temporary file or directory"))
}

fn regenerable(full: &str, ctx: &Ctx<'_>) -> Option<String> {
    let packs = crate::packs::packs().ok()?;
    let comps: Vec<&str> = full.split('/').filter(|c| !c.is_empty()).collect();
    // The part of `full` under the user's home directory, for `home = true` entries.
    let in_home = ctx
        .home
        .as_deref()
        .and_then(Path::to_str)
        .and_then(|h| full.strip_prefix(h))
        .and_then(|r| r.strip_prefix('/'));
    for r in &packs.regenerable {
        if r.home {
            let is_under = |name: &String| {
                in_home.is_some_and(|rest| {
                    rest.strip_prefix(name.as_str())
                        .is_some_and(|t| t.is_empty() || t.starts_with('/'))
                })
            };
            if r.names.iter().any(is_under) {
                return Some(r.reason.clone());
            }
            continue;
        }
        for name in &r.names {
            // A name of several components ("storage/framework/cache") matches as many in a row.
            for (start, window) in comps.windows(name.split('/').count()).enumerate() {
                if !window
                    .iter()
                    .zip(name.split('/'))
                    .all(|(c, p)| *c == p || glob_match(p, c))
                {
                    continue;
                }
                let parent = format!("/{}", comps[..start].join("/"));
                let beside_ok = r.beside.is_empty()
                    || r.beside.iter().any(|b| {
                        let p = format!("{}/{b}", parent.trim_end_matches('/'));
                        matches!(ctx.world.path_state(Path::new(&p)), PathState::File | PathState::Dir)
                    });
                if beside_ok {
                    return Some(r.reason.clone());
                }
            }
        }
    }
    None
}
