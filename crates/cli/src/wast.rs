//! `hayate wast`: run `.wast` scripts and report every failed directive.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use hayate::{Config, SpecVersion};
use hayate_wast::WastRunner;
use std::path::PathBuf;
use std::process::ExitCode;

/// A WebAssembly specification version whose feature set to enable.
#[derive(Clone, Copy, ValueEnum)]
enum Spec {
    /// WebAssembly 1.0.
    #[value(name = "1.0")]
    V1,
    /// WebAssembly 2.0.
    #[value(name = "2.0")]
    V2,
    /// WebAssembly 3.0.
    #[value(name = "3.0")]
    V3,
}

/// Arguments of `hayate wast`.
#[derive(Args)]
pub struct WastArgs {
    /// Enable exactly the features of this spec version (default: every
    /// feature Hayate implements).
    #[arg(long, value_enum)]
    spec: Option<Spec>,
    /// The scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs every script, prints each failure as `file:line:col: reason`, and
/// ends with `N passed, M failed`. Fails (exit code 1) if any directive did.
pub fn execute(args: WastArgs) -> Result<ExitCode> {
    let mut config = Config::new();
    config.spec_version(args.spec.map(|s| match s {
        Spec::V1 => SpecVersion::V1,
        Spec::V2 => SpecVersion::V2,
        Spec::V3 => SpecVersion::V3,
    }));
    let runner = WastRunner::new(&config).context("cannot create the engine")?;
    hayate_wast::install_panic_hook();

    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        let report = runner
            .run_file(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        for failure in &report.failures {
            println!("{failure}");
        }
        passed += report.passed;
        failed += report.failed;
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
