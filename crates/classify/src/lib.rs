//! # airlock-classify
//!
//! Knows what an agent's action will do before it runs. An [`Action`] (a shell command line, SQL
//! text, or an HTTP request) goes in; an [`Assessment`] comes out: a [`Risk`] (`read < write <
//! destructive`, or `unknown` when the effect cannot be determined), each [`Operation`] found, the
//! [`Target`]s it touches, and the reasons.
//!
//! It judges by meaning, with general mechanisms rather than examples:
//!
//! - **Real parsers**: bash (brush-parser), SQL (sqlparser, PostgreSQL first, SQLite and MySQL
//!   tried before refusing), GraphQL (graphql-parser), Python and JavaScript/TypeScript
//!   (tree-sitter: imports and aliases resolved, literal arguments and options read), with a
//!   lexer for Perl, Ruby and PHP.
//! - **One option grammar for every tool** (`options/`): clusters whose last letter takes a value
//!   (`curl -fsSLX DELETE`), glued values, `--opt=value`, per subcommand, from the rule packs and
//!   from option data converted from the Fig autocomplete specs (`fig/`).
//! - **Every expansion context**: `$(…)` inside `$(( … ))` and `${x:-…}`, brace expansion, IFS
//!   and arrays, globs in a program's name, copies and links of known programs (through the
//!   [`World`]), scripts written or edited earlier in the same line.
//! - **Wrappers and payloads**: `sudo`, `timeout`, `ssh`, `docker run/exec`, `kubectl exec`,
//!   app consoles (`manage.py shell -c`, `rails runner`), hosted SQL shells fed by stdin, base64
//!   and rot13 payloads piped into `sh`, interpreter code, SQL in `psql -c`, HTTP in `curl`.
//! - **Configuration that runs code**: `git -c core.fsmonitor=…`, `!` aliases, `GIT_SSH_COMMAND`,
//!   editors and pagers, `BASH_ENV`, `PSQLRC`, `NODE_OPTIONS`, `PGOPTIONS`, curl config files.
//! - **Task runners** (`npm run`, `make`, `just`) judged by the recipe the [`World`] shows.
//! - **Semantics**: safeguards switched off (backups, protection, versioning, row security) are
//!   destructive; SQL that grants power or reaches the server is never a plain write; WHERE
//!   clauses that keep every row are unbounded; DELETE is destructive on any host; help and dry
//!   runs only print; deleting regenerable outputs or files git restores is a write.
//! - **Data**: tool knowledge lives in rule packs, one per family (see `packs/README.md`), with a
//!   subcommand verb lexicon for programs no pack knows.
//!
//! The crate does no I/O. A caller that can look at the filesystem passes a [`World`] (path state,
//! script content, git state, program identity) so that overwrites, scripts, recipes and
//! regenerable or restorable targets can be judged; with [`NoWorld`] the classifier assumes the
//! worst. Input is bounded (size, nesting estimated before any recursive parser sees it, work),
//! so that any input answers, on a 2 MiB thread stack, as `unknown` at worst.
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
mod patch;
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
pub use http::{bracket_nesting, words as identifier_words};
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
