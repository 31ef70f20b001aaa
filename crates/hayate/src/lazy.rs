//! Lazy compilation, the embedding side (`Config::lazy_compilation`): a
//! module loaded with only its wasm-to-array trampolines, the compiler the
//! runtime calls on a function's first use (the runtime side, how calls
//! find the code, is `hayate_runtime::lazy`), and the whole module's
//! compilation in the background (`Config::background_compilation`), which
//! is installed when done and written to the compile cache.
//!
//! Two tiers, then: functions compiled on first call (unoptimised while the
//! background compilation runs, `Engine::first_tier_compiler`), one at a
//! time on the module's compiler thread and packed into a code arena; and
//! the whole module compiled at once, optimised, whose code replaces them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use hayate_environ::{CompileJob, DefinedFuncIndex, EntityRef, ModuleInfo, RelocationTarget};
use hayate_runtime::LateCode;
use hayate_runtime::code_arena::CodeArena;
use hayate_runtime::lazy::LazyCompiler;

use crate::engine::Engine;
use crate::module::Module;

/// Host stack for compiling: compiling runs on a thread of its own, not
/// on the stack of the Wasm code that called the function, whose depth the
/// guest chooses.
const COMPILE_STACK: usize = 8 << 20;

/// A function to compile, and where to send the result.
type Job = (
    DefinedFuncIndex,
    mpsc::SyncSender<Result<Arc<LateCode>, String>>,
);

/// Compiles the functions of one module on first call, on a thread of its
/// own that lives as long as the module (started on first use): a thread
/// kept warm, rather than one started per function, which cost more than
/// compiling a small function.
#[derive(Debug)]
pub(crate) struct ModuleCompiler {
    shared: Arc<FunctionCompiler>,
    /// The compiler thread's queue; dropping it ends the thread.
    worker: Mutex<Option<mpsc::Sender<Job>>>,
}

/// What compiling one function needs.
#[derive(Debug)]
struct FunctionCompiler {
    engine: Engine,
    info: Arc<ModuleInfo>,
    wasm: Arc<[u8]>,
    /// Where the code goes, packed (none where the host cannot, or where a
    /// profiler reading `/tmp/perf-PID.map` needs each function in an
    /// anonymous mapping of its own: it names code only there).
    arena: Option<CodeArena>,
}

impl ModuleCompiler {
    pub(crate) fn new(engine: &Engine, info: Arc<ModuleInfo>, wasm: Arc<[u8]>) -> ModuleCompiler {
        let packed = engine.config().profiler == crate::config::ProfilingStrategy::None;
        ModuleCompiler {
            shared: Arc::new(FunctionCompiler {
                engine: engine.clone(),
                info,
                wasm,
                arena: if packed { CodeArena::new().ok() } else { None },
            }),
            worker: Mutex::new(None),
        }
    }

    /// Starts the compiler thread.
    fn start_worker(&self) -> Result<mpsc::Sender<Job>, String> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("hayate-lazy-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn(move || {
                for (def, reply) in jobs {
                    let result = catch_unwind(AssertUnwindSafe(|| shared.compile(def)))
                        .unwrap_or_else(|_| {
                            Err(format!("compiling function {} panicked", def.index()))
                        });
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| format!("cannot start a compiler thread: {e}"))?;
        Ok(queue)
    }
}

impl FunctionCompiler {
    /// Compiles `def` (and its entry trampoline if it escapes) into a
    /// module whose only function is `def`, on this thread.
    fn compile(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String> {
        let compiler = self
            .engine
            .first_tier_compiler()
            .map_err(|e| e.to_string())?;
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
        let code = match &self.arena {
            Some(arena) => LateCode::new_in(arena, &compiled, self.info.clone(), &[def]),
            None => LateCode::new(&compiled, self.info.clone(), &[def]),
        }
        .map_err(|e| e.to_string())?;
        crate::vm::register_late_with_profiler(&self.engine, &code);
        Ok(code)
    }
}

impl LazyCompiler for ModuleCompiler {
    fn compile(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
            if worker.is_none() {
                *worker = Some(self.start_worker()?);
            }
            let queue = worker.as_ref().expect("the worker was just started");
            if queue.send((def, reply)).is_err() {
                // The thread is gone; the next call starts another.
                *worker = None;
                return Err("the compiler thread has ended".into());
            }
        }
        answer
            .recv()
            .map_err(|_| "the compiler thread has ended".to_string())?
    }
}

/// Starts compiling the whole of `module` (a lazily compiled one) on other
/// threads at a lowered priority; when done, the code is written to the
/// engine's compile cache if it has one, then installed
/// (`LazyFunctions::install`). One such compilation runs at a time per
/// engine; the others wait their turn, and give up if their module has
/// been dropped meanwhile. The thread keeps the module alive until then.
/// Failures only leave the module lazily compiled.
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
    let _one_at_a_time = engine
        .inner
        .background_compilation
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    // Dropped by everyone else while waiting its turn (no other handle,
    // no instance): nobody would run the code, and the cache gets it from
    // the next load that misses.
    if Arc::strong_count(&module.inner) == 1 && Arc::strong_count(&module.inner.runtime) == 1 {
        return Err("the module was dropped".into());
    }
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
