//! `hayate compile`: compile a module ahead of time into a precompiled
//! artifact that `hayate run --allow-precompiled` loads without compiling.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use hayate::{Config, Engine, Module};

use crate::options::CommonOptions;

/// Arguments of `hayate compile`.
#[derive(Args)]
pub struct CompileArgs {
    #[command(flatten)]
    options: CommonOptions,
    /// Where to write the artifact (default: the input with extension `.hwasm`).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The module to compile: a `.wasm` binary or `.wat` text.
    module: PathBuf,
}

/// Compiles and writes the artifact.
pub fn execute(args: CompileArgs) -> Result<ExitCode> {
    let options = args.options.parse()?;
    let mut config = Config::new();
    options.configure(&mut config);
    // Always compile: a cached artifact would be the same bytes anyway.
    config.cache_dir(None);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    let module = Module::from_file(&engine, &args.module)
        .with_context(|| format!("cannot compile `{}`", args.module.display()))?;
    let bytes = module
        .serialize()
        .context("cannot serialize the compiled module")?;
    let output = args
        .output
        .unwrap_or_else(|| args.module.with_extension("hwasm"));
    // Write then rename, so a reader never sees a half-written artifact.
    let tmp = output.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, &output)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    Ok(ExitCode::SUCCESS)
}
