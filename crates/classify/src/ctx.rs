//! State shared by every classifier while it walks one action: where paths resolve, how deep the
//! nesting is, and what has been found so far.

use std::path::{Component, Path, PathBuf};

use crate::assessment::Findings;
use crate::limits::{MAX_NESTING, MAX_PARSED_BYTES, MAX_WORK};
use crate::selfprotect::protected_reason;
use crate::{PathState, Risk, Target, TargetKind, World};

pub(crate) struct Ctx<'a> {
    pub world: &'a dyn World,
    pub cwd: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub protected: &'a [PathBuf],
    depth: usize,
    work: usize,
    /// Bytes of text handed to a parser so far (nested levels re-read what they nest).
    parsed: usize,
    pub found: Findings,
    /// Shell variables assigned literal values earlier in the same command line.
    pub vars: std::collections::HashMap<String, String>,
    /// The environment assignments of the command being judged (`CURL_HOME=… curl`, `env X=1 …`).
    pub env: Vec<(String, crate::arg::Arg)>,
    /// Names a SQL statement defines with WITH, while it is judged.
    pub sql_ctes: Vec<String>,
    /// The SQL dialect being judged (for per-dialect built-in functions).
    pub sql_dialect: &'static str,
    /// Shell variables that hold a path `mktemp` made (`tmp=$(mktemp -d)`).
    pub temp_vars: Vec<String>,
    /// Files written earlier in the same command line (resolved path → their new content, when
    /// known): a script written and then run is judged by what it will contain.
    pub written: std::collections::HashMap<String, Option<String>>,
    /// Copies of and links to known programs made earlier in the line (`cp /bin/rm ./x`).
    pub program_aliases: std::collections::HashMap<String, String>,
    /// Shell functions defined in the line (their bodies are judged where they are defined).
    pub functions: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        world: &'a dyn World,
        cwd: Option<PathBuf>,
        home: Option<PathBuf>,
        protected: &'a [PathBuf],
    ) -> Ctx<'a> {
        Ctx {
            world,
            cwd,
            home,
            protected,
            depth: 0,
            work: 0,
            parsed: 0,
            found: Findings::default(),
            vars: std::collections::HashMap::new(),
            env: Vec::new(),
            sql_ctes: Vec::new(),
            sql_dialect: "postgres",
            temp_vars: Vec::new(),
            written: std::collections::HashMap::new(),
            program_aliases: std::collections::HashMap::new(),
            functions: Vec::new(),
        }
    }

    pub(crate) fn op(&mut self, risk: Risk, summary: &str, reason: impl Into<String>) {
        self.found.op(risk, summary, reason);
    }

    pub(crate) fn target(&mut self, kind: TargetKind, value: impl Into<String>) {
        self.found.target(Target::new(kind, value));
    }

    /// The rule packs, or None after recording why the action cannot be judged without them.
    pub(crate) fn packs(&mut self, summary: &str) -> Option<&'static crate::packs::Packs> {
        match crate::packs::packs() {
            Ok(p) => Some(p),
            Err(e) => {
                self.op(
                    Risk::Unknown,
                    summary,
                    format!("Airlock's rule packs failed to load: {e}"),
                );
                None
            }
        }
    }

    /// Enters one level of nested interpretation (`bash -c`, `eval`, a decoded payload, SQL inside
    /// psql). Returns false, after recording an unknown finding, when the input nests too deeply or
    /// the walk has done too much work: the classifier never recurses without bound.
    pub(crate) fn enter(&mut self, what: &str) -> bool {
        self.work += 1;
        if self.depth >= MAX_NESTING || self.work > MAX_WORK {
            self.op(
                Risk::Unknown,
                what,
                "the action nests commands too deeply to be judged; Airlock refuses what it cannot see through",
            );
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Charges `bytes` of text about to be parsed; false, after recording an unknown finding, once
    /// the action has had more text parsed than a budget allows. Each level of `eval eval …`
    /// re-reads the rest of the line, so without this a long chain costs its depth times its size.
    pub(crate) fn charge_parse(&mut self, bytes: usize) -> bool {
        self.parsed = self.parsed.saturating_add(bytes);
        if self.parsed > MAX_PARSED_BYTES {
            self.op(
                Risk::Unknown,
                "(input too large)",
                "the action nests too much text to judge; Airlock refuses what it cannot see through",
            );
            return false;
        }
        true
    }

    /// Counts one unit of work (a command, a statement); false once the budget is spent.
    pub(crate) fn tick(&mut self) -> bool {
        self.work += 1;
        if self.work == MAX_WORK + 1 {
            self.op(
                Risk::Unknown,
                "(input too large)",
                "the action has too many parts to judge; Airlock refuses what it cannot see through",
            );
        }
        self.work <= MAX_WORK
    }

    /// Classifies text that is only partly known (it holds `$VAR` or `$(…)` expanded before it
    /// runs). A destructive finding stands whatever the unknown part turns out to be; anything
    /// milder becomes unknown, because the unknown part could change the command itself.
    pub(crate) fn partially_known(&mut self, summary: &str, what: &str, classify: impl FnOnce(&mut Ctx<'a>)) {
        let saved = std::mem::take(&mut self.found);
        classify(self);
        let inner = std::mem::replace(&mut self.found, saved);
        if inner.risk() == Some(Risk::Destructive) {
            self.found.absorb(inner);
        } else {
            self.found.absorb_targets(inner);
            self.op(
                Risk::Unknown,
                summary,
                format!("{what} is only known at run time, and its value could change what runs"),
            );
        }
    }

    /// Makes a path as written absolute: `~` against home, relative against cwd, `.`/`..` folded.
    /// A glob keeps only the part before its first wildcard component (what a snapshot would copy).
    pub(crate) fn resolve_path(&self, raw: &str) -> String {
        let mut raw = raw.to_owned();
        if let Some(home) = &self.home {
            if raw == "~" {
                raw = home.display().to_string();
            } else if let Some(rest) = raw.strip_prefix("~/") {
                raw = home.join(rest).display().to_string();
            }
        }
        let mut path = PathBuf::new();
        let p = Path::new(&raw);
        if p.is_relative() {
            if let Some(cwd) = &self.cwd {
                path.push(cwd);
            }
        }
        for comp in p.components() {
            let text = comp.as_os_str().to_string_lossy();
            if text.contains(['*', '?', '[']) {
                break;
            }
            match comp {
                Component::CurDir => {}
                Component::ParentDir => {
                    if !path.pop() {
                        path.push("..");
                    }
                }
                other => path.push(other.as_os_str()),
            }
        }
        let s = path.display().to_string();
        if s.is_empty() {
            ".".to_owned()
        } else {
            s
        }
    }

    /// Records a path the action touches with `risk`. Writing to a protected path is destructive.
    pub(crate) fn path_target(&mut self, raw: &str, risk: Risk, summary: &str) -> String {
        let resolved = self.resolve_path(raw);
        if risk != Risk::Read {
            if let Some(reason) = protected_reason(&resolved, self.protected) {
                self.op(Risk::Destructive, summary, reason);
            }
        }
        self.target(TargetKind::Path, resolved.clone());
        resolved
    }

    /// Records that the action overwrites `raw`: destructive when something is (or may be) there.
    pub(crate) fn overwrite(&mut self, raw: &str, dynamic: bool, summary: &str) {
        if is_sink(raw) {
            return;
        }
        let resolved = self.path_target(raw, Risk::Write, summary);
        let temp_var = self
            .temp_vars
            .iter()
            .any(|v| raw.contains(&format!("${v}")) || raw.contains(&format!("${{{v}}}")));
        if dynamic && (fresh_name(raw) || temp_var) {
            self.op(
                Risk::Write,
                summary,
                format!("creates {raw}, a new file whose name is made unique when it runs (a date, a temp name)"),
            );
            return;
        }
        let state = if dynamic {
            PathState::Unknown
        } else {
            self.world.path_state(Path::new(&resolved))
        };
        match state {
            PathState::File => self.op(
                Risk::Destructive,
                summary,
                format!("overwrites the existing file {resolved}"),
            ),
            PathState::Unknown => self.op(
                Risk::Destructive,
                summary,
                format!("overwrites {resolved}, which may already hold data (could not check)"),
            ),
            PathState::Missing | PathState::Dir => self.op(Risk::Write, summary, format!("creates {resolved}")),
        }
    }
}

/// A name completed at run time by something that makes it new: a date, a temp name, the PID.
fn fresh_name(raw: &str) -> bool {
    [
        "$(date",
        "`date",
        "$(mktemp",
        "$$",
        "$RANDOM",
        "${RANDOM}",
        "$(uuidgen",
        "$EPOCHSECONDS",
        "${EPOCHSECONDS}",
    ]
    .iter()
    .any(|m| raw.contains(m))
}

/// Device files that swallow or echo output: writing to them changes nothing.
pub(crate) fn is_sink(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/zero" | "/dev/fd/1" | "/dev/fd/2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoWorld;

    fn ctx() -> Ctx<'static> {
        Ctx::new(&NoWorld, Some("/work/p".into()), Some("/home/a".into()), &[])
    }

    #[test]
    fn resolves_relative_home_and_dot_dot() {
        let c = ctx();
        assert_eq!(c.resolve_path("build"), "/work/p/build");
        assert_eq!(c.resolve_path("./build/"), "/work/p/build");
        assert_eq!(c.resolve_path("../q/x"), "/work/q/x");
        assert_eq!(c.resolve_path("~/.ssh"), "/home/a/.ssh");
        assert_eq!(c.resolve_path("/etc/../var"), "/var");
    }

    #[test]
    fn globs_resolve_to_their_fixed_prefix() {
        let c = ctx();
        assert_eq!(c.resolve_path("logs/*.log"), "/work/p/logs");
        assert_eq!(c.resolve_path("*"), "/work/p");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut c = ctx();
        let mut entered = 0;
        while c.enter("x") {
            entered += 1;
        }
        assert_eq!(entered, MAX_NESTING);
        assert_eq!(c.found.risk(), Some(Risk::Unknown));
    }

    #[test]
    fn parsed_text_is_bounded_over_all_levels() {
        let mut c = ctx();
        assert!(c.charge_parse(MAX_PARSED_BYTES / 2));
        assert!(c.charge_parse(MAX_PARSED_BYTES / 2));
        assert_eq!(c.found.risk(), None);
        assert!(!c.charge_parse(1));
        assert_eq!(c.found.risk(), Some(Risk::Unknown));
    }
}
