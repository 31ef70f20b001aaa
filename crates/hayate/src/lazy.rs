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
//! With the baseline compiler (`Config::baseline_compilation`) the first
//! tier is its code where it takes a function, and a tier in between
//! ([`TierUp`]) compiles those functions again with unoptimised Cranelift.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak, mpsc};
use std::time::{Duration, Instant};

use hayate_environ::{CompileJob, DefinedFuncIndex, EntityRef, ModuleInfo, RelocationTarget};
use hayate_runtime::code_arena::CodeArena;
use hayate_runtime::lazy::LazyCompiler;
use hayate_runtime::{LateCode, ModuleRuntimeInfo};

use crate::engine::Engine;
use crate::module::Module;

/// Host stack for compiling: compiling runs on a thread of its own, not
/// on the stack of the Wasm code that called the function, whose depth the
/// guest chooses.
const COMPILE_STACK: usize = 8 << 20;

/// Which compiler a first-tier compilation asks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    /// The baseline compiler if the engine has one, else the first-tier
    /// compiler.
    Baseline,
    /// The first-tier compiler (Cranelift).
    Cranelift,
}

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
    /// Where functions the baseline compiler took go next.
    tier_up: Arc<TierUp>,
}

/// The second tier of functions the baseline compiler took: each is
/// compiled again by Cranelift (unoptimised, which compiles in a fraction
/// of the optimiser's time and runs several times faster than baseline
/// code), in the order they were first called, on a thread of its own, and
/// replaces its baseline code as soon as it is done
/// (`LazyFunctions::replace`). The whole module's optimised code, seconds
/// later, replaces both. Only while the whole module is compiled in the
/// background: without it, baseline code is what was asked for.
#[derive(Debug, Default)]
pub(crate) struct TierUp {
    /// The module whose functions are replaced; set once it exists.
    owner: OnceLock<Weak<ModuleRuntimeInfo>>,
    /// The tier-up thread's queue, started on first use; dropping it ends
    /// the thread.
    queue: Mutex<Option<mpsc::Sender<DefinedFuncIndex>>>,
}

impl TierUp {
    /// Names the module whose functions this tier replaces.
    pub(crate) fn attach(&self, module: &Arc<ModuleRuntimeInfo>) {
        let _ = self.owner.set(Arc::downgrade(module));
    }

    /// Queues `def` for its second tier, compiled by `compiler`.
    fn push(&self, def: DefinedFuncIndex, compiler: &Arc<FunctionCompiler>) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.is_none() {
            let Some(owner) = self.owner.get().cloned() else {
                return;
            };
            let (send, jobs) = mpsc::channel::<DefinedFuncIndex>();
            let compiler = compiler.clone();
            let started = std::thread::Builder::new()
                .name("hayate-tier-up".into())
                .stack_size(COMPILE_STACK)
                .spawn(move || tier_up_thread(&owner, &compiler, jobs));
            if started.is_err() {
                // Baseline code only runs slower.
                return;
            }
            *queue = Some(send);
        }
        if let Some(queue) = queue.as_ref() {
            let _ = queue.send(def);
        }
    }
}

/// Compiles the queued functions' second tier and installs each, until the
/// module is gone or fully compiled. A failed compilation only leaves the
/// baseline code in place.
fn tier_up_thread(
    owner: &Weak<ModuleRuntimeInfo>,
    compiler: &FunctionCompiler,
    jobs: mpsc::Receiver<DefinedFuncIndex>,
) {
    for def in jobs {
        compiler.wait_until_first_tier_is_quiet();
        let Some(module) = owner.upgrade() else {
            return;
        };
        let Some(lazy) = &module.lazy else {
            return;
        };
        if lazy.is_fully_compiled() {
            return;
        }
        let compiled = catch_unwind(AssertUnwindSafe(|| compiler.compile(def, Tier::Cranelift)));
        if let Ok(Ok((code, _))) = compiled {
            let _ = lazy.replace(code);
        }
    }
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
    /// When the last first-tier compilation ended, in milliseconds since
    /// `created`.
    last_first_tier: AtomicU64,
    created: Instant,
}

/// How long first-tier compilations must have paused before the second
/// tier compiles: a program starting up calls new functions all the time,
/// and the second tier would take the other core from it (the background
/// compilation, niced, gives way); once it settles into running what it
/// has, the second tier makes that faster.
const FIRST_TIER_QUIET: Duration = Duration::from_millis(20);

impl ModuleCompiler {
    pub(crate) fn new(engine: &Engine, info: Arc<ModuleInfo>, wasm: Arc<[u8]>) -> ModuleCompiler {
        let packed = engine.config().profiler == crate::config::ProfilingStrategy::None;
        ModuleCompiler {
            shared: Arc::new(FunctionCompiler {
                engine: engine.clone(),
                info,
                wasm,
                arena: if packed { CodeArena::new().ok() } else { None },
                last_first_tier: AtomicU64::new(0),
                created: Instant::now(),
            }),
            worker: Mutex::new(None),
            tier_up: Arc::default(),
        }
    }

    /// The second tier of this module's functions, to attach to the
    /// module once it exists.
    pub(crate) fn tier_up(&self) -> Arc<TierUp> {
        self.tier_up.clone()
    }

    /// Starts the compiler thread.
    fn start_worker(&self) -> Result<mpsc::Sender<Job>, String> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let shared = self.shared.clone();
        let tier_up = self.tier_up.clone();
        let second_tier = shared.engine.config().background_compilation;
        std::thread::Builder::new()
            .name("hayate-lazy-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn(move || {
                for (def, reply) in jobs {
                    let result =
                        catch_unwind(AssertUnwindSafe(|| shared.compile(def, Tier::Baseline)))
                            .unwrap_or_else(|_| {
                                Err(format!("compiling function {} panicked", def.index()))
                            });
                    shared
                        .last_first_tier
                        .store(shared.elapsed_ms(), Ordering::Release);
                    let result = result.map(|(code, baseline)| {
                        if baseline && second_tier {
                            tier_up.push(def, &shared);
                        }
                        code
                    });
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| format!("cannot start a compiler thread: {e}"))?;
        Ok(queue)
    }
}

impl FunctionCompiler {
    fn elapsed_ms(&self) -> u64 {
        self.created.elapsed().as_millis() as u64
    }

    /// Sleeps until no first-tier compilation has ended for
    /// [`FIRST_TIER_QUIET`].
    fn wait_until_first_tier_is_quiet(&self) {
        let quiet = FIRST_TIER_QUIET.as_millis() as u64;
        loop {
            let last = self.last_first_tier.load(Ordering::Acquire);
            let idle = self.elapsed_ms().saturating_sub(last);
            if idle >= quiet {
                return;
            }
            std::thread::sleep(Duration::from_millis(quiet - idle));
        }
    }

    /// Compiles `def` (and its entry trampoline if it escapes) into a
    /// module whose only function is `def`, on this thread; and whether the
    /// baseline compiler compiled the function.
    fn compile(&self, def: DefinedFuncIndex, tier: Tier) -> Result<(Arc<LateCode>, bool), String> {
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
        let mut baseline = false;
        for job in &jobs {
            let body = match (job, self.engine.baseline_compiler(), tier) {
                (CompileJob::Function(_), Some(b), Tier::Baseline) => {
                    b.compile_or_fall_back(&input, def).map(|(body, taken)| {
                        baseline = taken;
                        body
                    })
                }
                _ => compiler.compile_job(&input, *job),
            };
            bodies.push(body.map_err(|e| e.to_string())?);
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
                    RelocationTarget::CallAdapter(ty) => {
                        return Err(format!("a call through the adapter of type {}", ty.index()));
                    }
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
        Ok((code, baseline))
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
        let key = module.inner.cache_key.get().map(String::as_str);
        cache.store_compiled(engine, key, wasm, &runtime.info, &compiled);
    }
    let all: Vec<DefinedFuncIndex> = (0..runtime.info.num_defined_funcs() as usize)
        .map(DefinedFuncIndex::new)
        .collect();
    let code = LateCode::new(&compiled, runtime.info.clone(), &all).map_err(|e| e.to_string())?;
    crate::vm::register_late_with_profiler(engine, &code);
    lazy.install(code)
}
