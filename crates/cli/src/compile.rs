//! `hayate compile`: compile a module or a component ahead of time into a
//! precompiled artifact that `hayate run --allow-precompiled` loads
//! without compiling.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use hayate::{Config, Engine, Module};

use crate::options::{CommonOptions, Options};

/// Arguments of `hayate compile`.
#[derive(Args)]
pub struct CompileArgs {
    #[command(flatten)]
    options: CommonOptions,
    /// Where to write the artifact (default: the input with extension `.hwasm`).
    #[arg(short, long, value_name = "FILE", conflicts_with = "into_cache")]
    output: Option<PathBuf>,
    /// Compile into the compile cache (~/.cache/hayate) instead, for a
    /// `hayate run` with the same options, unless it is there already.
    /// Runs at a lowered priority; `hayate run` starts it by itself when
    /// it ends before its compilation in the background of a lazily
    /// compiled module is done.
    #[arg(long)]
    into_cache: bool,
    /// The module or component to compile: a `.wasm` binary or `.wat` text.
    module: PathBuf,
}

/// Compiles and writes the artifact.
pub fn execute(args: CompileArgs) -> Result<ExitCode> {
    let mut options = args.options.parse()?;
    if args.into_cache {
        return into_cache(&mut options, &args.module);
    }
    let mut config = Config::new();
    options.configure(&mut config);
    // Always compile: a cached artifact would be the same bytes anyway.
    config.cache_dir(None);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    let bytes = match component_source(&args.module) {
        // A component: its core modules' artifacts, with the component.
        Some(source) => hayate_component::Component::precompile(&engine, &source)
            .with_context(|| format!("cannot compile `{}`", args.module.display()))?,
        None => Module::from_file(&engine, &args.module)
            .with_context(|| format!("cannot compile `{}`", args.module.display()))?
            .serialize()
            .context("cannot serialize the compiled module")?,
    };
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

/// The bytes of the file at `path` if it holds a component (binary, or
/// text that parses to one).
fn component_source(path: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let binary = match bytes.starts_with(b"\0asm") {
        true => bytes,
        false => wat::parse_bytes(&bytes).ok()?.into_owned(),
    };
    hayate_component::Component::is_component(&binary).then_some(binary)
}

/// `--into-cache`: what `hayate run` with the same options would store.
fn into_cache(options: &mut Options, path: &Path) -> Result<ExitCode> {
    if !options.cache {
        bail!("`--into-cache` with `-C cache=n`: there is no cache to compile into");
    }
    // Compiling for later: leave the cores to what runs now.
    let _ = rustix::process::setpriority_process(None, 10);
    options.resolve_lazy_compilation(path);
    let mut config = Config::new();
    options.configure(&mut config);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let wasm = if bytes.starts_with(b"\0asm") {
        bytes
    } else {
        wat::parse_bytes(&bytes)
            .map_err(|mut e| {
                e.set_path(path);
                anyhow::anyhow!("{e}")
            })?
            .into_owned()
    };
    engine
        .fill_cache(&wasm)
        .with_context(|| format!("cannot compile `{}` into the cache", path.display()))?;
    Ok(ExitCode::SUCCESS)
}
