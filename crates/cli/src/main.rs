//! `airlock`: the one binary. Each subcommand wires the library crates together; the decisions live
//! in the libraries.

mod cli;
mod commands;
mod exit;
mod render;
mod world;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Classify(args) => commands::classify::run(args),
    };
    std::process::exit(exit::code(result));
}
