//! The `hayate` command line: run WebAssembly modules and `.wast` scripts.
//!
//! Each subcommand lives in its own module and holds only command-line
//! concerns (argument parsing, printing, exit codes); everything an embedder
//! would also need comes from the `hayate` and `hayate-wast` crates.
#![forbid(unsafe_code)]

mod compile;
mod options;
mod run;
mod serve;
mod settings;
mod wast;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Hayate: a fast, safe WebAssembly runtime.
#[derive(Parser)]
#[command(name = "hayate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Instantiate a module and call one of its exported functions.
    Run(run::RunArgs),
    /// Compile a module ahead of time into a precompiled artifact.
    Compile(compile::CompileArgs),
    /// Run `.wast` spec test scripts.
    Wast(wast::WastArgs),
    /// Print the host's CPU features and the compiler settings in effect.
    Settings(settings::SettingsArgs),
    /// Serve HTTP: each request runs a CGI handler in a fresh instance.
    Serve(serve::ServeArgs),
}

/// The process's arguments, with `run` put in front of them when they do
/// not start with a subcommand, so that `hayate app.wasm ARGS` and
/// `hayate --dir . app.wasm` run the module as Wasmtime's CLI does.
/// `hayate`, `hayate --help` and `hayate --version` stay as they are.
fn args_with_default_subcommand() -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = Cli::command();
    let starts_with_subcommand = match args.get(1).and_then(|a| a.to_str()) {
        None => true,
        Some("-h" | "--help" | "-V" | "--version" | "help") => true,
        Some(first) => command
            .get_subcommands()
            .any(|c| c.get_name() == first || c.get_all_aliases().any(|a| a == first)),
    };
    if !starts_with_subcommand {
        args.insert(1, "run".into());
    }
    args
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args_with_default_subcommand()) {
        Ok(cli) => cli,
        // `--help` and `--version` print as clap formats them.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `hayate` alone: the usage, on stderr.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        // A bad flag is one line, like every other error of `hayate`, with
        // the closest known option when there is one.
        Err(e) => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or("invalid arguments");
            let similar = message
                .lines()
                .filter_map(|l| l.trim().strip_prefix("tip: a similar "))
                .next();
            match similar {
                Some(tip) => eprintln!("{first}; a similar {tip} (see `hayate --help`)"),
                None => eprintln!("{first} (see `hayate --help`)"),
            }
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Compile(args) => compile::execute(args),
        Command::Wast(args) => wast::execute(args),
        Command::Settings(args) => settings::execute(args),
        Command::Serve(args) => serve::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
