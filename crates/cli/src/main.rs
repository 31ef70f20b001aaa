//! The `hayate` command line: run WebAssembly modules and `.wast` scripts.
//!
//! Each subcommand lives in its own module and holds only command-line
//! concerns (argument parsing, printing, exit codes); everything an embedder
//! would also need comes from the `hayate` and `hayate-wast` crates.
#![forbid(unsafe_code)]

mod compile;
mod options;
mod run;
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
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` print as clap formats them.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // A bad flag is one line, like every other error of `hayate`.
        Err(e) => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (see `hayate --help`)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Compile(args) => compile::execute(args),
        Command::Wast(args) => wast::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
