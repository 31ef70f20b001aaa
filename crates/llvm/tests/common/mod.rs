//! What the LLVM tier's integration tests share: compiling a module with
//! the tier in this process (not through the engine's child process) to
//! read its statistics, and running a module under both tiers. Each test
//! binary uses part of it.
#![allow(dead_code)]

use hayate::{Config, Engine, Instance, Module, Store, Strategy, Trap, Val};
use hayate_environ::{CompiledModule, ModuleInfo, ModuleInput, features_for};
use hayate_llvm::{LlvmCompiler, LlvmModuleStats};

/// Compiles `wasm` with the LLVM tier (Cranelift behind it, `tune`d) in
/// this process: the module, which functions LLVM took, and why it
/// declined the others.
pub fn llvm_compile(
    wasm: &[u8],
    tune: impl FnOnce(LlvmCompiler) -> LlvmCompiler,
) -> (CompiledModule, LlvmModuleStats) {
    let info = ModuleInfo::parse(wasm, features_for(None)).expect("a valid module");
    let cranelift =
        hayate_cranelift::Compiler::new(hayate_cranelift::CompilerSettings::default()).unwrap();
    let llvm = tune(LlvmCompiler::new(Box::new(cranelift)).expect("an x86-64 host"));
    llvm.compile_module_with_stats(&ModuleInput::new(&info, wasm))
        .expect("compiles")
}

/// [`llvm_compile`]'s statistics, with the default settings.
pub fn llvm_stats(wasm: &[u8]) -> LlvmModuleStats {
    llvm_compile(wasm, |llvm| llvm).1
}

pub fn engine(strategy: Strategy) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy);
    Engine::new(&config).expect("engine")
}

/// Calls `export` of `wat` with `args` under `strategy`: its results, or
/// the error it ended with.
pub fn call_raw(
    strategy: Strategy,
    wat: &str,
    export: &str,
    args: &[Val],
) -> Result<Vec<Val>, hayate::Error> {
    let engine = engine(strategy);
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let func = instance
        .get_func(&mut store, export)
        .expect("export exists");
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    func.call(&mut store, args, &mut results).map(|()| results)
}

/// Calls `export` of `wat` with `args` under `strategy`: its results, or
/// the trap.
pub fn call(strategy: Strategy, wat: &str, export: &str, args: &[Val]) -> Result<Vec<Val>, String> {
    call_raw(strategy, wat, export, args).map_err(|e| match e.downcast_ref::<Trap>() {
        Some(trap) => format!("trap: {trap:?}"),
        None => format!("error: {e}"),
    })
}

/// The bits of a value, for comparing NaNs exactly.
pub fn bits(v: &Val) -> String {
    format!("{v:?}")
}

/// Runs `export` under both tiers and checks they agree; returns the
/// LLVM tier's outcome.
pub fn same(wat: &str, export: &str, args: &[Val]) -> Result<Vec<Val>, String> {
    let llvm = call(Strategy::Llvm, wat, export, args);
    let cranelift = call(Strategy::Cranelift, wat, export, args);
    let show = |r: &Result<Vec<Val>, String>| match r {
        Ok(v) => v.iter().map(bits).collect::<Vec<_>>().join(", "),
        Err(e) => e.clone(),
    };
    assert_eq!(
        show(&llvm),
        show(&cranelift),
        "{export}({args:?}): LLVM and Cranelift disagree"
    );
    llvm
}

/// Calls `export` of `wat` with `args` under the LLVM tier, which must
/// trap: the trap, and the error as printed with its backtrace.
pub fn llvm_trap(wat: &str, export: &str, args: &[Val]) -> (Option<Trap>, String) {
    let e = call_raw(Strategy::Llvm, wat, export, args).expect_err("the call traps");
    (e.downcast_ref::<Trap>().copied(), format!("{e:?}"))
}

/// The Wasm frames of the trap `export` of `wat` ends with under
/// `strategy`, innermost first: (function index, module offset).
pub fn trap_frames(
    strategy: Strategy,
    wat: &str,
    export: &str,
    args: &[Val],
) -> Vec<(u32, Option<usize>)> {
    let e = call_raw(strategy, wat, export, args).expect_err("the call traps");
    frames_of(&e)
}

/// The Wasm frames `error` crossed, innermost first: (function index,
/// module offset).
pub fn frames_of(error: &hayate::Error) -> Vec<(u32, Option<usize>)> {
    let backtrace = error
        .downcast_ref::<hayate::WasmBacktrace>()
        .expect("a Wasm backtrace");
    backtrace
        .frames()
        .iter()
        .map(|f| (f.func_index(), f.module_offset()))
        .collect()
}

/// `wat` compiled by `engine` (which allows precompiled modules), then
/// serialised and loaded back from its artifact.
pub fn through_artifact(engine: &Engine, wat: &str) -> Module {
    let bytes = Module::new(engine, wat).unwrap().serialize().unwrap();
    Module::new(engine, &bytes).unwrap()
}

/// An LLVM engine that allows precompiled modules, and `wat` loaded back
/// from its artifact ([`through_artifact`]).
pub fn llvm_artifact(wat: &str) -> (Engine, Module) {
    let mut config = Config::new();
    config.strategy(Strategy::Llvm).allow_precompiled(true);
    let engine = Engine::new(&config).unwrap();
    let module = through_artifact(&engine, wat);
    (engine, module)
}
