use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Airlock sits between coding agents and your infrastructure: it knows what an action will do and
/// holds anything destructive until a human approves it.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Say what an action will do: read, write, destructive, or unknown, with its targets and why.
    ///
    /// With INPUT, classifies it and explains the result. Without INPUT, reads JSON lines
    /// {"input": "…", "cwd": "…"} from stdin and writes one JSON result per line, in order.
    Classify(ClassifyArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A shell command line.
    Shell,
    /// SQL (PostgreSQL dialect).
    Sql,
    /// An HTTP request: "METHOD URL", header lines, a blank line, the body; or a JSON object.
    Http,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// What kind of action INPUT is.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The action. Omit it to read JSON lines from stdin.
    pub input: Option<String>,
    /// Print one JSON object instead of the explanation.
    #[arg(long)]
    pub json: bool,
    /// Directory the action runs in (relative paths resolve against it). Default: the current one.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
}
