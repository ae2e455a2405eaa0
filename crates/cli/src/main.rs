//! `airlock`: the one binary. Each subcommand wires the library crates together; the decisions live
//! in the libraries.

mod cli;
mod commands;
mod context;
mod exit;
mod render;

use clap::Parser;

// The classifier (in the hook and in the server) allocates many small strings and syntax trees;
// mimalloc serves them markedly faster than the system allocator (README, Benchmarks).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A closed pipe (`airlock log | head`) ends the process quietly, as it does for other tools,
    // instead of a panic in println!.
    // SAFETY: setting a signal's disposition to the default is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    let config = cli.config.as_deref();
    let result = match cli.command {
        cli::Command::Classify(args) => commands::classify::run(args),
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::Init(args) => commands::init::run(args),
        cli::Command::Serve => commands::serve::run(config),
        cli::Command::Pg => commands::serve::pg(config),
        cli::Command::Http => commands::serve::http(config),
        cli::Command::Exec(args) => match commands::exec::run(config, args) {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
        cli::Command::Token(cmd) => commands::token::run(config, cmd),
        cli::Command::Pending(args) => commands::approvals::pending(config, args),
        cli::Command::Approve(args) => commands::approvals::decide(config, args, true),
        cli::Command::Deny(args) => commands::approvals::decide(config, args, false),
        cli::Command::Log(args) => commands::log::run(config, args),
        cli::Command::Policy(cmd) => commands::policy::run(config, cmd),
        cli::Command::Hook(args) => match commands::hook::run(config, args) {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
        cli::Command::Install(args) => commands::install::run(config, args),
        cli::Command::Uninstall(args) => commands::install::remove(config, args),
        cli::Command::Snapshots(args) => commands::vault::snapshots(config, args),
        cli::Command::Restore(args) => commands::vault::restore(config, args),
        cli::Command::Undo(args) => commands::vault::undo(config, args),
        cli::Command::Vault(cmd) => commands::vault::run(config, cmd),
        cli::Command::Backup(cmd) => commands::vault::backup(config, cmd),
        cli::Command::Setup(args) => commands::setup::run(args),
        cli::Command::Service(cmd) => commands::service::run(cmd),
        cli::Command::Doctor(args) => commands::doctor::run(args),
        cli::Command::Secret(cmd) => commands::secret::run(config, cmd),
        cli::Command::Operator(cmd) => commands::operator::run(config, cmd),
        cli::Command::Grants(args) => commands::approvals::grants(config, args),
    };
    std::process::exit(exit::code(result));
}
