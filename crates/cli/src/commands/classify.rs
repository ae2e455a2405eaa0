//! `airlock classify`: one action explained, or a stream of JSON lines judged in order.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;

use airlock_classify::{classify, Action, ActionKind, Assessment};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{ClassifyArgs, Kind};
use crate::render;
use airlock_server::FsWorld;

fn kind(k: Kind) -> ActionKind {
    match k {
        Kind::Shell => ActionKind::Shell,
        Kind::Sql => ActionKind::Sql,
        Kind::Http => ActionKind::Http,
    }
}

fn action(kind: ActionKind, input: String, cwd: Option<PathBuf>, default_cwd: &Option<PathBuf>) -> Action {
    let mut a = Action::new(kind, input);
    a.cwd = cwd.or_else(|| default_cwd.clone());
    a.home = std::env::var_os("HOME").map(PathBuf::from);
    a
}

pub fn run(args: ClassifyArgs) -> Result<()> {
    let default_cwd = match args.cwd {
        Some(dir) => Some(dir),
        None => std::env::current_dir().ok(),
    };
    let kind = kind(args.kind);
    match args.input {
        Some(input) => {
            let a = classify(&action(kind, input.clone(), None, &default_cwd), &FsWorld);
            let text = if args.json {
                format!(
                    "{}\n",
                    serde_json::to_string(&a).context("could not encode the result as JSON")?
                )
            } else {
                render::explain(&input, &a)
            };
            io::stdout()
                .write_all(text.as_bytes())
                .context("could not write to stdout")?;
            Ok(())
        }
        None => lines(kind, &default_cwd),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    input: String,
    #[serde(default)]
    cwd: Option<PathBuf>,
}

#[derive(Serialize)]
struct LineError {
    error: String,
    line: usize,
}

/// One JSON result per input line, in order; a bad line gets an error object and the stream goes on.
fn lines(kind: ActionKind, default_cwd: &Option<PathBuf>) -> Result<()> {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.context("could not read stdin")?;
        let json = match serde_json::from_str::<Line>(&line) {
            Ok(l) => {
                let a: Assessment = classify(&action(kind, l.input, l.cwd, default_cwd), &FsWorld);
                serde_json::to_string(&a)
            }
            Err(e) => serde_json::to_string(&LineError {
                error: format!("line {} is not a JSON object {{\"input\": \"…\"}}: {e}", n + 1),
                line: n + 1,
            }),
        }
        .context("could not encode the result as JSON")?;
        writeln!(out, "{json}").context("could not write to stdout")?;
    }
    out.flush().context("could not write to stdout")
}
