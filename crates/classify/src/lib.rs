//! # airlock-classify
//!
//! Knows what an agent's action will do before it runs. An [`Action`] (a shell command line, SQL
//! text, or an HTTP request) goes in; an [`Assessment`] comes out: a [`Risk`] (`read < write <
//! destructive`, or `unknown` when the effect cannot be determined), each [`Operation`] found, the
//! [`Target`]s it touches, and the reasons.
//!
//! It sees through what agents actually run: real parsers for bash (brush-parser), SQL
//! (sqlparser) and GraphQL (graphql-parser); wrappers (`sudo`, `timeout`, `ssh HOST`, `kubectl
//! exec`…), nested shells and `eval`, base64 payloads piped into `sh`, interpreter one-liners,
//! SQL inside `psql -c` and heredocs, and HTTP calls inside `curl`. Tool knowledge lives in data:
//! one rule pack per tool family (see `packs/README.md`).
//!
//! The crate does no I/O. A caller that can look at the filesystem passes a [`World`] so that
//! overwrites of existing files and the content of scripts can be judged; with [`NoWorld`] the
//! classifier assumes the worst.
//!
//! ```
//! use airlock_classify::{classify, Action, NoWorld, Risk, TargetKind};
//!
//! let curl = r#"curl -X POST https://backboard.railway.app/graphql/v2 -H 'Content-Type: application/json' -d '{"query":"mutation { volumeDelete(volumeId: \"vol_9f3\") }"}'"#;
//! let a = classify(&Action::shell(curl), &NoWorld);
//! assert_eq!(a.risk, Risk::Destructive);
//! assert!(a.has_target(TargetKind::Host, "backboard.railway.app"));
//! assert!(a.has_target(TargetKind::Object, "vol_9f3"));
//!
//! let a = classify(&Action::sql("SELECT 'DROP TABLE users' -- DROP TABLE users"), &NoWorld);
//! assert_eq!(a.risk, Risk::Read);
//! ```

mod action;
mod arg;
mod assessment;
mod clients;
mod credentials;
mod ctx;
mod glob;
mod http;
mod interp;
mod limits;
mod nesting;
mod options;
mod packs;
mod redact;
mod regen;
mod risk;
mod safeguard;
mod script;
mod selfprotect;
mod shell;
mod sql;
mod target;
mod tool;

pub use action::{Action, ActionKind, GitState, NoWorld, PathState, World};
pub use assessment::{Assessment, Operation};
pub use credentials::{find_credentials, is_airlock_token, token_checksum, Credential};
pub use glob::glob_match;
pub use limits::MAX_INPUT_BYTES;
pub use packs::{check_packs, pack_examples, pack_names, ExampleSpec, PackError};
pub use redact::redact;
pub use risk::{ParseRiskError, Risk};
pub use script::ScriptLanguage;
pub use selfprotect::protected_reason;
pub use target::{Target, TargetKind};

use ctx::Ctx;

/// Classifies one action.
///
/// Never panics and always answers: input it cannot read or that exceeds the limits is `unknown`.
pub fn classify(action: &Action, world: &dyn World) -> Assessment {
    if action.input.len() > MAX_INPUT_BYTES {
        return Assessment::single(
            Risk::Unknown,
            "(oversized input)",
            format!(
                "the action is {} bytes, over the {} byte limit; Airlock refuses what it cannot read in full",
                action.input.len(),
                MAX_INPUT_BYTES
            ),
        );
    }
    if let Err(e) = packs::check_packs() {
        return Assessment::single(
            Risk::Unknown,
            "(rule packs)",
            format!("Airlock's rule packs failed to load: {e}"),
        );
    }
    let mut ctx = Ctx::new(world, action.cwd.clone(), action.home.clone(), &action.protected_paths);
    match action.kind {
        ActionKind::Shell => shell::classify(&action.input, &mut ctx),
        ActionKind::Sql => sql::classify_into(&action.input, &mut ctx),
        ActionKind::Http => http::classify_raw(&action.input, &mut ctx),
        ActionKind::Tool => tool::classify_into(&action.input, &mut ctx),
    }
    ctx.found.finish()
}

/// Classifies the content of a script file that an action runs (see [`ScriptLanguage::detect`]).
///
/// Paths in the script resolve against `cwd`, as they would when it runs there.
pub fn classify_script(
    content: &str,
    language: ScriptLanguage,
    cwd: Option<&std::path::Path>,
    world: &dyn World,
) -> Assessment {
    if content.len() > MAX_INPUT_BYTES {
        return Assessment::single(Risk::Unknown, "(oversized script)", "the script is over the size limit");
    }
    let mut ctx = Ctx::new(world, cwd.map(Into::into), None, &[]);
    script::classify_into(content, language, &mut ctx);
    ctx.found.finish()
}
