//! `hayate run` of a component: a `wasi:cli/command` instantiated with
//! WASI 0.2 (the same `--dir`, `--env` and `-S` flags, on the same
//! capability core as preview1) and its `wasi:cli/run` export called.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hayate::{Engine, Store};
use hayate_component::{Component, Linker};

use super::{Host, RunArgs, describe, finish_with_error, is_trap, report_trap, wasi};
use crate::options::Options;

/// Runs component `bytes` (from `path`) with `guest_args` as its argv.
pub(super) fn execute(
    args: &RunArgs,
    options: &Options,
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    guest_args: &[String],
) -> Result<ExitCode> {
    if args.invoke.is_some() {
        bail!("`--invoke` of a component's function is not supported yet; run it as a command");
    }
    if !args.wasi.preloads()?.is_empty() {
        bail!("`--preload` links core modules and does not apply to a component");
    }
    let component = Component::from_binary(engine, bytes)
        .with_context(|| format!("cannot load component `{}`", path.display()))?;
    let wasi = args.wasi.build(None, path, guest_args)?;
    let mut store = Store::new(
        engine,
        Host {
            limits: options.store_limits(),
            wasi,
        },
    );
    options.configure_store(engine, &mut store, |host| &mut host.limits)?;
    let mut linker = Linker::new(engine);
    hayate_wasi::p2::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    let instance = match linker.instantiate(&mut store, &component) {
        Ok(instance) => instance,
        Err(e) => {
            if let Some(code) = wasi::exit_code(&e) {
                return Ok(code);
            }
            if is_trap(&e) {
                return Ok(report_trap(&e));
            }
            bail!("cannot instantiate `{}`: {}", path.display(), describe(&e))
        }
    };
    match hayate_wasi::p2::run(&mut store, &instance) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => finish_with_error(e, "wasi:cli/run"),
    }
}
