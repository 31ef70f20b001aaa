//! Lazy compilation, the embedding side (`Config::lazy_compilation`): a
//! module loaded with only its wasm-to-array trampolines, and the compiler
//! the runtime calls on a function's first use (the runtime side, how calls
//! find the code, is `hayate_runtime::lazy`).

use std::sync::Arc;

use hayate_environ::{CompileJob, DefinedFuncIndex, EntityRef, ModuleInfo, RelocationTarget};
use hayate_runtime::LateCode;
use hayate_runtime::lazy::LazyCompiler;

use crate::engine::Engine;

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
    fn compile_here(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String> {
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
        let code =
            LateCode::new(&compiled, self.info.clone(), &[def]).map_err(|e| e.to_string())?;
        crate::vm::register_late_with_profiler(&self.engine, &code);
        Ok(code)
    }
}

impl LazyCompiler for ModuleCompiler {
    fn compile(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String> {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("hayate-lazy-compile".into())
                .stack_size(COMPILE_STACK)
                .spawn_scoped(s, || self.compile_here(def))
                .map_err(|e| format!("cannot start a compiler thread: {e}"))?
                .join()
                .map_err(|_| format!("compiling function {} panicked", def.index()))?
        })
    }
}
