//! Lazy compilation, the embedding side (`Config::lazy_compilation`): a
//! module loaded with only its wasm-to-array trampolines, the compiler the
//! runtime calls on a function's first use (the runtime side, how calls
//! find the code, is `hayate_runtime::lazy`), and the whole module's
//! compilation in the background (`Config::background_compilation`), which
//! is installed when done and written to the compile cache.

use std::sync::Arc;

use hayate_environ::{CompileJob, DefinedFuncIndex, EntityRef, ModuleInfo, RelocationTarget};
use hayate_runtime::LateCode;
use hayate_runtime::code_arena::CodeArena;
use hayate_runtime::lazy::LazyCompiler;

use crate::engine::Engine;
use crate::module::Module;

/// Host stack for compiling one function: compiling runs on a thread of
/// its own, not on the stack of the Wasm code that called the function,
/// whose depth the guest chooses.
const COMPILE_STACK: usize = 8 << 20;

/// Compiles the functions of one module on first call.
#[derive(Debug)]
pub(crate) struct ModuleCompiler {
    engine: Engine,
    info: Arc<ModuleInfo>,
    wasm: Arc<[u8]>,
}

impl ModuleCompiler {
    pub(crate) fn new(engine: &Engine, info: Arc<ModuleInfo>, wasm: Arc<[u8]>) -> ModuleCompiler {
        ModuleCompiler {
            engine: engine.clone(),
            info,
            wasm,
        }
    }

    /// Compiles `def` (and its entry trampoline if it escapes) into a
    /// module whose only function is `def`, on this thread.
    fn compile_here(
        &self,
        def: DefinedFuncIndex,
        arena: Option<&CodeArena>,
    ) -> Result<Arc<LateCode>, String> {
        let compiler = self.engine.compiler().map_err(|e| e.to_string())?;
        let input = hayate_environ::ModuleInput::lazy(&self.info, &self.wasm);
        let mut jobs = vec![CompileJob::Function(def)];
        if self.info.is_escaping(def) {
            jobs.push(CompileJob::ArrayToWasm(def));
        }
        let mut bodies = Vec::with_capacity(jobs.len());
        for job in &jobs {
            bodies.push(
                compiler
                    .compile_job(&input, *job)
                    .map_err(|e| e.to_string())?,
            );
        }
        // Linked as function 0 of a module of one: the trampoline's call
        // to the function is the one call between them (the function's own
        // calls go through the lazy entries).
        let first = DefinedFuncIndex::new(0);
        for body in &mut bodies {
            for r in &mut body.relocations {
                match &mut r.target {
                    RelocationTarget::Function(f) if *f == def => *f = first,
                    RelocationTarget::Function(f) => {
                        return Err(format!("a direct call to function {}", f.index()));
                    }
                    RelocationTarget::FloatLibcall(_) => {}
                }
            }
        }
        let link_jobs: Vec<CompileJob> = jobs
            .iter()
            .map(|job| match job {
                CompileJob::Function(_) => CompileJob::Function(first),
                CompileJob::ArrayToWasm(_) => CompileJob::ArrayToWasm(first),
                other => *other,
            })
            .collect();
        let compiled =
            hayate_environ::link::link(compiler.target().architecture, &link_jobs, bodies)
                .map_err(|e| e.to_string())?;
        let code = match arena {
            Some(arena) => LateCode::new_in(arena, &compiled, self.info.clone(), &[def]),
            None => LateCode::new(&compiled, self.info.clone(), &[def]),
        }
        .map_err(|e| e.to_string())?;
        crate::vm::register_late_with_profiler(&self.engine, &code);
        Ok(code)
    }
}

impl LazyCompiler for ModuleCompiler {
    fn compile(
        &self,
        def: DefinedFuncIndex,
        arena: Option<&CodeArena>,
    ) -> Result<Arc<LateCode>, String> {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("hayate-lazy-compile".into())
                .stack_size(COMPILE_STACK)
                .spawn_scoped(s, || self.compile_here(def, arena))
                .map_err(|e| format!("cannot start a compiler thread: {e}"))?
                .join()
                .map_err(|_| format!("compiling function {} panicked", def.index()))?
        })
    }
}

/// Starts compiling the whole of `module` (a lazily compiled one) on other
/// threads at a lowered priority; when done, the code is written to the
/// engine's compile cache if it has one, then installed
/// (`LazyFunctions::install`). The thread keeps the module alive until
/// then. Failures only leave the module lazily compiled.
pub(crate) fn start_background_compilation(module: &Module) {
    let module = module.clone();
    // A thread that cannot start only leaves the module lazily compiled.
    let _ = std::thread::Builder::new()
        .name("hayate-background-compile".into())
        .stack_size(COMPILE_STACK)
        .spawn(move || {
            hayate_runtime::lazy::lower_thread_priority();
            let _ = compile_whole(&module);
        });
}

/// All cores but the one running the module.
fn background_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |p| p.get().saturating_sub(1).max(1))
}

fn compile_whole(module: &Module) -> Result<(), String> {
    let engine = module.engine();
    let runtime = &module.inner.runtime;
    let (Some(wasm), Some(lazy)) = (&module.inner.lazy_wasm, &runtime.lazy) else {
        return Err("the module is not compiled lazily".into());
    };
    let compiler = engine.compiler().map_err(|e| e.to_string())?;
    let input = hayate_environ::ModuleInput::new(&runtime.info, wasm);
    let compiled = compiler
        .compile_module_on(&input, background_threads())
        .map_err(|e| e.to_string())?;
    if let Some(cache) = &engine.inner.cache {
        cache.store_compiled(engine, wasm, &runtime.info, &compiled);
    }
    let all: Vec<DefinedFuncIndex> = (0..runtime.info.num_defined_funcs() as usize)
        .map(DefinedFuncIndex::new)
        .collect();
    let code = LateCode::new(&compiled, runtime.info.clone(), &all).map_err(|e| e.to_string())?;
    crate::vm::register_late_with_profiler(engine, &code);
    lazy.install(code)
}
