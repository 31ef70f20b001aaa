//! `hayate run` of a component: a `wasi:cli/command` instantiated with
//! WASI 0.2 (the same `--dir`, `--env` and `-S` flags, on the same
//! capability core as preview1, and `wasi:http` with `-S http`) and its
//! `wasi:cli/run` export called.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hayate::{Engine, Store};
use hayate_component::{Component, Linker};

use hayate_serve::proxy::outgoing::OutgoingRuntime;

use super::{Host, RunArgs, finish_with_error, instantiation_failed};
use crate::options::Options;

/// The longest one `wasi:http` request may take (Wasmtime's default
/// connect and first-byte timeouts are 10 minutes each).
const HTTP_DEADLINE: Duration = Duration::from_secs(600);

/// Runs component `bytes` (from `path`) with `guest_args` as its argv.
pub(super) fn execute(
    args: &RunArgs,
    options: &Options,
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    guest_args: &[String],
) -> Result<ExitCode> {
    if !args.wasi.preloads()?.is_empty() {
        bail!("`--preload` links core modules and does not apply to a component");
    }
    let component = Component::from_binary(engine, bytes)
        .with_context(|| format!("cannot load component `{}`", path.display()))?;
    let wasi = args.wasi.build(None, path, guest_args)?;
    let http = args.wasi.http()?;
    if !http
        && let Some(name) = component
            .import_names()
            .find(|n| n.starts_with("wasi:http/"))
    {
        bail!(
            "cannot instantiate `{}`: the component imports `{name}`, which `hayate run` \
             provides with `-S http`",
            path.display()
        );
    }
    let requests = http
        .then(|| OutgoingRuntime::new(HTTP_DEADLINE))
        .transpose()
        .context("cannot start the runtime for `wasi:http` requests")?;
    let mut store = Store::new(
        engine,
        Host {
            limits: options.store_limits(),
            wasi,
            outgoing: requests.as_ref().map(OutgoingRuntime::outgoing),
        },
    );
    options.configure_store(engine, &mut store, |host| &mut host.limits)?;
    let mut linker = Linker::new(engine);
    hayate_wasi::p2::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    if http {
        hayate_serve::proxy::http::add_to_linker(&mut linker)?;
    }
    let instance = match linker.instantiate(&mut store, &component) {
        Ok(instance) => instance,
        Err(e) => return instantiation_failed(e, path),
    };
    if let Some(call) = &args.invoke {
        return invoke(&mut store, &instance, call);
    }
    match hayate_wasi::p2::run(&mut store, &instance) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => finish_with_error(e, "wasi:cli/run"),
    }
}

/// `--invoke 'name(args)'`: calls the component's exported function with
/// arguments in WAVE and prints its result in WAVE (`()` for none), as
/// Wasmtime does.
fn invoke(
    store: &mut Store<Host>,
    instance: &hayate_component::Instance,
    call: &str,
) -> Result<ExitCode> {
    let (name, params) = hayate_component::wave::parse_call(call, |name| {
        let func = instance.get_func(&mut *store, name)?;
        Some(func.ty()?.params.iter().map(|(_, t)| t.clone()).collect())
    })
    .with_context(|| format!("while interpreting parameters in invoke \"{call}\""))?;
    let func = instance
        .get_func(&mut *store, &name)
        .with_context(|| format!("no exported function `{name}` in the component"))?;
    let has_result = func.ty().is_some_and(|t| t.result.is_some());
    let mut results = vec![hayate_component::Val::Bool(false); usize::from(has_result)];
    if let Err(e) = func.call(&mut *store, &params, &mut results) {
        return finish_with_error(e, &name);
    }
    match results.first() {
        Some(v) => println!("{}", hayate_component::wave::to_string(v)?),
        None => println!("()"),
    }
    Ok(ExitCode::SUCCESS)
}
