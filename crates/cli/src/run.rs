//! `hayate run`: instantiate a module and call an exported function.
//!
//! [`Host`] is the store's data (limits and the WASI context), [`host_linker`]
//! defines what guests may import (`wasi_snapshot_preview1`), and the entry
//! point is `--invoke NAME` or, without it, the module's `_start` export
//! (a WASI command, whose arguments become its argv).

mod component;
pub(crate) mod wasi;

use crate::options::CommonOptions;
use anyhow::{Context, Result, bail};
use clap::Args;
use hayate::{
    Config, Engine, Extern, ExternType, Func, Instance, Linker, Module, Store, Trap, Val, ValType,
    WasmBacktrace,
};
use hayate_serve::proxy::http::HttpView;
use hayate_serve::proxy::outgoing::Outgoing;
use std::path::Path;
use std::process::ExitCode;

/// The exit code after a trap, as Wasmtime uses (128 + SIGABRT).
const TRAP_EXIT_CODE: u8 = 134;

/// Arguments of `hayate run`.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    options: CommonOptions,
    #[command(flatten)]
    wasi: wasi::WasiOptions,
    /// Accept a precompiled artifact from `hayate compile` (its machine code
    /// is trusted input, like a native library).
    #[arg(long)]
    allow_precompiled: bool,
    /// Call this exported function (default: `_start`, if exported). For a
    /// component, a call in WAVE with its arguments: `'greet("world")'`.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// The module to run (a `.wasm` binary, `.wat` text or, with
    /// `--allow-precompiled`, an artifact), then its arguments: a WASI
    /// command's argv after its name, or the values for `--invoke`'s
    /// parameters (integers in decimal or `0x` hex, floats as decimal
    /// floats: `1.5`, `-0`, `inf`, `nan`). Everything after the module
    /// belongs to the guest, verbatim (`-V`, `--help`, `--`), as in
    /// Wasmtime: give `hayate run` its own options before the module.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "MODULE [ARGS]..."
    )]
    module_and_args: Vec<String>,
}

/// The data of the store `hayate run` creates: the limits from `-W` and
/// the guest's WASI context.
struct Host {
    limits: hayate::StoreLimits,
    wasi: hayate_wasi::WasiCtx,
    /// A component's `wasi:http` requests (`-S http`); `None` refuses them.
    outgoing: Option<Outgoing>,
}

impl HttpView for Host {
    fn wasi(&mut self) -> &mut hayate_wasi::WasiCtx {
        &mut self.wasi
    }

    fn outgoing(&self) -> Option<&Outgoing> {
        self.outgoing.as_ref()
    }
}

/// The linker with everything a guest of `hayate run` may import: WASI
/// preview1.
fn host_linker(engine: &Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    hayate_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    Ok(linker)
}

/// Runs the command; returns the exit code, or an error to print.
pub fn execute(args: RunArgs) -> Result<ExitCode> {
    let mut options = args.options.parse()?;
    let (module_path, guest_args) = args
        .module_and_args
        .split_first()
        .expect("clap requires the module");
    let module_path = Path::new(module_path);
    options.resolve_lazy_compilation(module_path);
    let mut config = Config::new();
    options.configure(&mut config);
    config.allow_precompiled(args.allow_precompiled);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    if let Some(bytes) = component_binary(module_path)? {
        return component::execute(&args, &options, &engine, module_path, &bytes, guest_args);
    }
    let module = load_module(&engine, module_path)?;
    let _handoff = CacheHandoff::after_load(&engine, &module, &options, &args.options, module_path);
    let wasi = args.wasi.build(Some(&module), module_path, guest_args)?;
    let mut store = Store::new(
        &engine,
        Host {
            limits: options.store_limits(),
            wasi,
            outgoing: None,
        },
    );
    options.configure_store(&engine, &mut store, |host| &mut host.limits)?;
    let mut linker = host_linker(&engine)?;
    for (name, path) in args.wasi.preloads()? {
        let preload = load_module(&engine, path)?;
        linker
            .module(&mut store, name, &preload)
            .with_context(|| format!("cannot preload `{}` as `{name}`", path.display()))?;
    }
    if options.unknown_imports_trap {
        linker.define_unknown_imports_as_traps(&module)?;
    }
    check_imports(&linker, &mut store, &module)?;

    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => return instantiation_failed(e, module_path),
    };

    let (name, func) = match &args.invoke {
        Some(name) => match instance.get_func(&mut store, name) {
            Some(func) => {
                // A WASI reactor initialises itself before any other call.
                if name != "_initialize"
                    && let Some(init) = instance.get_func(&mut store, "_initialize")
                    && let Err(e) = init.call(&mut store, &[], &mut [])
                {
                    return finish_with_error(e, "_initialize");
                }
                (name.as_str(), func)
            }
            None => bail!(
                "module has no exported function `{name}` (exported functions: {})",
                exported_funcs(&mut store, instance)
            ),
        },
        None => match instance.get_func(&mut store, "_start") {
            Some(func) => ("_start", func),
            None if guest_args.is_empty() => return Ok(ExitCode::SUCCESS),
            None => bail!("arguments given, but no `--invoke NAME` and no `_start` export"),
        },
    };
    // `_start` takes its arguments through WASI's argv instead.
    let params = if args.invoke.is_none() {
        parse_args(&store, name, func, &[])?
    } else {
        parse_args(&store, name, func, guest_args)?
    };
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    match func.call(&mut store, &params, &mut results) {
        Ok(()) => {
            for val in &results {
                println!("{}", format_val(val));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => finish_with_error(e, name),
    }
}

/// A module compiled lazily after a compile-cache miss: its compilation in
/// the background writes it to the cache when done, which this process may
/// not live to see. If it has not, when `hayate run` ends, a
/// `hayate compile --into-cache` process with the same engine options is
/// started to finish the job (at a lowered priority, detached, its output
/// discarded), so that the next run loads the module whole.
struct CacheHandoff {
    module: Module,
    args: Vec<String>,
}

impl CacheHandoff {
    fn after_load(
        engine: &Engine,
        module: &Module,
        options: &crate::options::Options,
        flags: &CommonOptions,
        path: &Path,
    ) -> Option<CacheHandoff> {
        if !options.cache || options.lazy_compilation != Some(true) {
            return None;
        }
        if engine.cache_stats().misses == 0 {
            return None;
        }
        let path = std::path::absolute(path).ok()?;
        let mut args = vec!["compile".to_string(), "--into-cache".to_string()];
        args.extend(flags.to_args());
        // `auto` was decided by this module; the child decides nothing.
        args.extend(["-C".into(), "lazy-compilation=y".into(), "--".into()]);
        args.push(path.into_os_string().into_string().ok()?);
        Some(CacheHandoff {
            module: module.clone(),
            args,
        })
    }
}

impl Drop for CacheHandoff {
    fn drop(&mut self) {
        if self.module.is_fully_compiled() {
            return;
        }
        use std::os::unix::process::CommandExt as _;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        // Best effort: without it, the next run compiles again.
        let _ = std::process::Command::new(exe)
            .args(&self.args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn();
    }
}

/// The exit code for a call that ended with `e`: the guest's `proc_exit`
/// status, 134 after a trap, or an error to print.
fn finish_with_error(e: hayate::Error, name: &str) -> Result<ExitCode> {
    if let Some(code) = wasi::exit_code(&e) {
        return Ok(code);
    }
    if is_trap(&e) {
        return Ok(report_trap(&e));
    }
    bail!("`{name}` failed: {}", describe(&e))
}

/// The exit code for an instantiation (of a module or a component) that
/// ended with `e`: a start function's `proc_exit` status, 134 after a
/// trap, or an error to print.
fn instantiation_failed(e: hayate::Error, path: &Path) -> Result<ExitCode> {
    if let Some(code) = wasi::exit_code(&e) {
        return Ok(code);
    }
    if is_trap(&e) {
        return Ok(report_trap(&e));
    }
    bail!("cannot instantiate `{}`: {}", path.display(), describe(&e))
}

/// An error that left Wasm, for the terminal: its messages from the
/// outermost to the root (the trap or the host function's error), then
/// the Wasm backtrace it carries.
fn describe(e: &hayate::Error) -> String {
    WasmBacktrace::report(e)
}

/// The binary of the component in `path`, if it holds one (binary, or
/// text that parses to one); `None` for a module or an artifact.
fn component_binary(path: &Path) -> Result<Option<Vec<u8>>> {
    // Only regular files: a pipe (`/dev/stdin`) read here would be gone
    // for the module loader, which reads it whole itself.
    if !path.is_file() {
        return Ok(None);
    }
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    if hayate_component::Component::is_precompiled(&bytes) {
        return Ok(Some(bytes));
    }
    if bytes.starts_with(b"\0asm") {
        let is = hayate_component::Component::is_component(&bytes);
        return Ok(is.then_some(bytes));
    }
    if path.extension().is_some_and(|e| e == "wat")
        && let Ok(binary) = wat::parse_bytes(&bytes)
        && hayate_component::Component::is_component(&binary)
    {
        return Ok(Some(binary.into_owned()));
    }
    Ok(None)
}

fn load_module(engine: &Engine, path: &Path) -> Result<Module> {
    if !path.exists() {
        anyhow::bail!("cannot read `{}`: no such file", path.display());
    }
    Module::from_file(engine, path)
        .with_context(|| format!("cannot load module `{}`", path.display()))
}

/// Fails with the list of every import the linker does not provide.
fn check_imports(linker: &Linker<Host>, store: &mut Store<Host>, module: &Module) -> Result<()> {
    let missing: Vec<String> = module
        .imports()
        .filter(|import| {
            linker
                .get(&mut *store, import.module(), import.name())
                .is_none()
        })
        .map(|import| {
            let kind = match import.ty() {
                ExternType::Func(_) => "function",
                ExternType::Global(_) => "global",
                ExternType::Table(_) => "table",
                ExternType::Memory(_) => "memory",
                ExternType::Tag(_) => "tag",
            };
            format!("{kind} `{}::{}`", import.module(), import.name())
        })
        .collect();
    if !missing.is_empty() {
        bail!(
            "module needs imports that `hayate run` does not provide: {}",
            missing.join(", ")
        );
    }
    Ok(())
}

fn exported_funcs(store: &mut Store<Host>, instance: Instance) -> String {
    let names: Vec<String> = instance
        .exports(&mut *store)
        .filter(|e| matches!(e.clone().into_extern(), Extern::Func(_)))
        .map(|e| e.name().to_string())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn is_trap(e: &hayate::Error) -> bool {
    e.downcast_ref::<Trap>().is_some()
}

/// Prints the trap's message and backtrace to stderr; returns the exit code.
fn report_trap(e: &hayate::Error) -> ExitCode {
    eprintln!("error: {}", describe(e));
    ExitCode::from(TRAP_EXIT_CODE)
}

/// Parses the command-line arguments by the function's parameter types,
/// as Wasmtime does: too few is an error, extra ones are ignored.
fn parse_args(store: &Store<Host>, name: &str, func: Func, args: &[String]) -> Result<Vec<Val>> {
    let ty = func.ty(store);
    let params: Vec<ValType> = ty.params().collect();
    if args.len() < params.len() {
        let types: Vec<String> = params
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect();
        bail!(
            "not enough arguments for `{name}`: it takes {} ({}), but {} were given",
            params.len(),
            types.join(", "),
            args.len()
        );
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| {
            parse_val(ty, arg)
                .with_context(|| format!("argument {} of `{name}`: invalid value `{arg}`", i + 1))
        })
        .collect()
}

/// Parses one argument as a value of type `ty` by Wasmtime's rules:
/// integers in their signed range, in decimal or `0x` hexadecimal (so
/// `4294967295` and `0xffffffff` are not i32s), floats in decimal.
fn parse_val(ty: &ValType, arg: &str) -> Result<Val> {
    let hex = arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X"));
    Ok(match ty {
        ValType::I32 => Val::I32(match hex {
            Some(digits) => i32::from_str_radix(digits, 16).context("expected a 32-bit integer")?,
            None => arg.parse::<i32>().context("expected a 32-bit integer")?,
        }),
        ValType::I64 => Val::I64(match hex {
            Some(digits) => i64::from_str_radix(digits, 16).context("expected a 64-bit integer")?,
            None => arg.parse::<i64>().context("expected a 64-bit integer")?,
        }),
        ValType::F32 => Val::F32(arg.parse::<f32>().context("expected a float")?.to_bits()),
        ValType::F64 => Val::F64(arg.parse::<f64>().context("expected a float")?.to_bits()),
        other => bail!("parameters of type {other} cannot be passed from the command line"),
    })
}

/// Formats a result the way Wasmtime's `run --invoke` prints it.
fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => v.to_string(),
        Val::FuncRef(None) => "<null funcref>".into(),
        Val::ExternRef(None) => "<null externref>".into(),
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::ExternRef(Some(_)) => "<externref>".into(),
        Val::ExnRef(None) => "<null exnref>".into(),
        Val::ExnRef(Some(_)) => "<exnref>".into(),
        Val::AnyRef(None) => "<null anyref>".into(),
        Val::AnyRef(Some(a)) => match a.as_i31() {
            Some(v) => format!("<i31 {v}>"),
            None => "<anyref>".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_args_by_type() {
        assert!(matches!(
            parse_val(&ValType::I32, "-1").unwrap(),
            Val::I32(-1)
        ));
        assert!(parse_val(&ValType::I32, "4294967295").is_err());
        assert!(parse_val(&ValType::I32, "0xffffffff").is_err());
        assert!(matches!(
            parse_val(&ValType::I32, "0x7fffffff").unwrap(),
            Val::I32(i32::MAX)
        ));
        assert!(matches!(
            parse_val(&ValType::I64, "0X10").unwrap(),
            Val::I64(16)
        ));
        assert!(parse_val(&ValType::I32, "0x1ffffffff").is_err());
        assert!(matches!(
            parse_val(&ValType::I64, "-5").unwrap(),
            Val::I64(-5)
        ));
        assert!(
            matches!(parse_val(&ValType::F32, "1.5").unwrap(), Val::F32(b) if b == 1.5f32.to_bits())
        );
        assert!(
            matches!(parse_val(&ValType::F64, "-0").unwrap(), Val::F64(b) if b == (-0.0f64).to_bits())
        );
        assert!(parse_val(&ValType::I32, "1.5").is_err());
        assert!(parse_val(&ValType::I32, "4294967296").is_err());
        assert!(parse_val(&ValType::F32, "x").is_err());
        assert!(parse_val(&ValType::V128, "0").is_err());
    }

    #[test]
    fn formats_results() {
        assert_eq!(format_val(&Val::I32(-3)), "-3");
        assert_eq!(format_val(&Val::F64(2.5f64.to_bits())), "2.5");
        // As Wasmtime 49 prints them.
        let v = 0x0000_0004_0000_0003_0000_0002_0000_0001u128;
        assert_eq!(format_val(&Val::V128(v)), "316912650112397582603894390785");
        assert_eq!(format_val(&Val::FuncRef(None)), "<null funcref>");
        assert_eq!(format_val(&Val::ExternRef(None)), "<null externref>");
    }
}
