//! Hayate's optimising tier: WebAssembly to x86-64 through LLVM 19, for
//! modules compiled ahead of time (`Strategy::Llvm`, `hayate compile -C
//! compiler=llvm`), where compile time is paid once.
//!
//! # How it fits
//!
//! It implements the compiler seam like Cranelift does, and its code is a
//! drop-in for Cranelift's: the same VMContext layout, builtins, trap
//! codes and trap table, stack-limit check, frame pointers and calling
//! convention, so the runtime cannot tell the two apart and modules from
//! either call each other. A module's functions are cut into partitions
//! of consecutive functions (`plan.rs`), each translated into an LLVM
//! module of its own (so LLVM inlines across the functions of a
//! partition), optimised and compiled to an ELF object in memory on one
//! of several threads, and read back into one body per function
//! (`emit.rs`); the shared linker lays them out with the fallback's
//! bodies. What it does not handle it declines, function by function, to
//! a fallback compiler (Cranelift), which also compiles every trampoline
//! and functions compiled one at a time (lazy compilation): relaxed SIMD,
//! references and tables beyond `call_indirect`, exceptions, GC, tail
//! calls, atomics, 64-bit and shared memories, and calls with reference
//! values in a signature LLVM cannot give the Wasm convention. Other calls
//! LLVM cannot make in the Wasm convention (more than four integer or
//! eight float parameters, several results) go through the fallback's
//! per-signature call adapters (`translate/call.rs`), whose frames the
//! runtime walks past; a `call_indirect` to a function of its own
//! instance skips the adapter, dispatching on the element's defined
//! index to a direct call of the function's LLVM code. Fuel and epoch
//! checks are emitted where Cranelift emits them
//! (`translate/interrupts.rs`).
//!
//! # Hostile modules
//!
//! - LLVM's scheduling and register allocation take time quadratic in a
//!   basic block's length: functions above [`MAX_FUNCTION_BYTES`] go to
//!   the fallback, so compile time stays linear in the module's size.
//! - LLVM runs on a thread with a large stack (its code generator
//!   recurses over a block's instructions), and the engine runs this
//!   compiler in a child process (`hayate`'s `isolated.rs`): LLVM 19
//!   crashes on some inputs (a block of a few thousand values live across
//!   a call), and such a crash must be a compile error, not the host's
//!   end. The fork happens under [`pause_for_fork`], so the child never
//!   copies LLVM's state half-built by another thread.
//! - A frame larger than the stack left is probed page by page before
//!   the stack-limit check runs; the probe that meets the guard page is a
//!   fault near the stack pointer, which the runtime's signal handler
//!   turns into `StackOverflow`.
//!
//! # Soundness of the optimisation
//!
//! The IR has no undefined behaviour for any input (see `translate`):
//! traps are explicit branches to calls of `noreturn` functions that may
//! read and write all memory, so LLVM can neither drop a store before a
//! trap nor move an access across one; shifts are masked, conversions
//! are tested before they run. A linear-memory access is either
//! bounds-checked before it happens (explicit bounds checks) or, with
//! guard pages, unchecked and volatile: LLVM keeps each such access and
//! its order with the other accesses, global stores and calls, so the
//! fault of an out-of-bounds one leaves what the program did before it
//! (`translate/memory.rs`); the runtime takes any memory fault of this
//! tier's code for an out-of-bounds access (`guard_page_faults`). Volatile
//! accesses are not vectorised. The exception is a function's accesses to
//! its own shadow-stack frame (clang's `$fp + K`): once the frame's range
//! is checked where the frame opens, with a checked copy of the body for
//! a frame that fails, they cannot fault and are ordinary, through a
//! pointer alias analysis cannot relate to the other heap accesses, which
//! keeps them in order with the volatile ones (`translate/frame.rs`).
//! Given that, every
//! transformation LLVM's standard pipeline makes preserves the program's
//! meaning, and the passes run are exactly `default<O3>`: the function
//! simplification pipeline (SROA and `mem2reg` turn locals into SSA
//! values; early CSE, GVN and instruction combining; jump threading and
//! CFG simplification; correlated-value propagation and constraint
//! elimination, which remove bounds checks implied by earlier ones), the
//! inliner over the call graph, loop passes (LICM hoists the memory
//! length and base out of loops, since type-based alias analysis says
//! heap stores cannot change them; loop rotation, unrolling, induction
//! variable simplification, and the loop and SLP vectorisers), and
//! interprocedural passes on internal functions (argument promotion,
//! dead-argument elimination, function specialisation). Two points need
//! care beyond "no UB":
//!
//! - Floating point: no fast-math flags are set, so LLVM keeps IEEE
//!   semantics, rounding and signed zeros. LLVM may return a signalling
//!   NaN unchanged where an operation with an identity constant is folded
//!   (`x * 1.0`), while Wasm requires a quiet NaN; such constants, and
//!   constants not yet folded to a literal (a lane of a vector constant),
//!   are hidden behind an empty `asm` when they are an operand, so the
//!   operation runs (`translate/float.rs`). After inlining, a constant
//!   passed as an argument can still meet such an operation; a
//!   signalling NaN input then comes back signalling.
//! - No library calls: functions carry `no-builtins`, so no loop becomes
//!   a `memset` or `memcpy` call, and the reader of the object refuses
//!   any reference to a symbol it does not know.
//!
//! Code generation uses the CPU features the fallback reports (so the
//! artifact header's CPU checks cover this code too), position-
//! independent code (jump tables and constant pools are addressed
//! relative to the code) and frame pointers. Stack frames larger than a
//! page are probed downward, page by page.
//!
//! # Backtraces
//!
//! Each instruction carries a debug location whose line is its Wasm
//! operator's module offset (`translate/locations.rs`); LLVM keeps them
//! through optimisation and records the calls it inlines. The object's
//! line table becomes each function's address map and its inlined
//! subroutines the function's inline map (`dwarf.rs`), so a backtrace
//! names every Wasm function, inlined or not, at the offsets Cranelift's
//! code gives. Three differences remain: a load LLVM folds into the
//! instruction using its value (`add eax, [mem]`) faults with that
//! instruction's offset; an instruction LLVM made of two with different
//! offsets (two paths' calls of one function merged into one call) has
//! no offset; and where Cranelift turns a branch to a lone `unreachable`
//! into a conditional trap at the branch, this tier gives the
//! `unreachable`'s own offset.

#![deny(unsafe_code)]

mod dwarf;
mod emit;
mod gep;
mod plan;
mod translate;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hayate_environ::{
    Architecture, CompileError, CompileJob, CompiledBody, CompiledModule, Compiler,
    DefinedFuncIndex, FuncType, ModuleInput, RelocationTarget, Target, Tunables, TypeIndex,
    VMOffsets,
};
use inkwell::OptimizationLevel;
use inkwell::context::Context;
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target as LlvmTarget, TargetMachine, TargetTriple,
};

pub use plan::PARTITION_BYTES;
use plan::{CallGraph, Plan};
use translate::{Error, FuncTranslator, ModuleEnv};

/// The version of LLVM this tier links.
pub const LLVM_VERSION: &str = "19.1";

/// The LLVM compiler, with the compiler it hands everything else to.
#[derive(Debug)]
pub struct LlvmCompiler {
    fallback: Box<dyn Compiler>,
    /// LLVM's `+feature,-feature` list from the fallback's CPU flags.
    features: String,
    /// Threads compiling partitions at once.
    threads: usize,
    /// Wasm bytes of function bodies per partition.
    partition_bytes: usize,
}

/// The bodies LLVM compiled, by function.
pub type LlvmBodies = std::collections::HashMap<DefinedFuncIndex, CompiledBody>;

/// What compiling one partition gave: the functions that failed to
/// translate and why, those with a frame copy, those with a checked
/// copy, and the bodies.
#[derive(Default)]
struct CompiledPartition {
    failed: Vec<(DefinedFuncIndex, String)>,
    frame_copies: Vec<DefinedFuncIndex>,
    checked: Vec<DefinedFuncIndex>,
    dispatching_call_sites: usize,
    bodies: LlvmBodies,
}

impl CompiledPartition {
    /// Takes the outcome of translating function `index` (or its checked
    /// copy): what it gave, or `None` if it uses something this tier
    /// does not handle, which declines the function (recorded once).
    /// Other errors are the compilation's.
    fn translated<T>(
        &mut self,
        index: DefinedFuncIndex,
        outcome: Result<T, Error>,
    ) -> Result<Option<T>, CompileError> {
        match outcome {
            Ok(value) => Ok(Some(value)),
            Err(Error::Compile(CompileError::Unsupported(why))) => {
                if !self.failed.iter().any(|(failed, _)| *failed == index) {
                    self.failed.push((index, why));
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The largest function body, in bytes of Wasm, this tier compiles;
/// larger ones go to the fallback. LLVM's instruction scheduling and
/// register allocation take time quadratic in a basic block's length, so
/// without a bound a hostile function of a megabyte would compile for
/// hours; with it, compile time stays linear in the module's size. The
/// largest function of CPython 3.12 (its interpreter loop) has 104 KiB.
pub const MAX_FUNCTION_BYTES: usize = 128 * 1024;

/// Stack of each thread LLVM runs on: reserved, and touched only as deep
/// as LLVM recurses. A function of [`MAX_FUNCTION_BYTES`] needs far less.
const LLVM_STACK: usize = 256 << 20;

/// Held shared by every thread of this process while it runs LLVM, and
/// exclusively by [`pause_for_fork`]'s caller. LLVM keeps process-wide
/// state that it builds lazily under locks (function-local statics, the
/// pass registry); a child forked while another thread is midway through
/// building it would wait forever for a thread it does not have.
static LLVM_RUNNING: RwLock<()> = RwLock::new(());

fn llvm_running() -> RwLockReadGuard<'static, ()> {
    LLVM_RUNNING.read().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until no thread of this process runs LLVM, and keeps every
/// thread out of it until the guard drops. Hold it across a `fork` whose
/// child runs LLVM (the engine's isolated compiler does): the child then
/// starts with LLVM's state whole.
pub fn pause_for_fork() -> RwLockWriteGuard<'static, ()> {
    LLVM_RUNNING.write().unwrap_or_else(PoisonError::into_inner)
}

/// What one module's compilation with LLVM produced.
#[derive(Debug, Default)]
pub struct LlvmModuleStats {
    /// Functions LLVM compiled (their entry, or a copy).
    pub compiled: usize,
    /// Of those, the functions whose entry the fallback compiles (code
    /// outside this tier reaches them, and their signature has no Wasm
    /// convention LLVM can express), LLVM compiling a copy its own code
    /// calls (see `plan.rs`).
    pub copies: Vec<DefinedFuncIndex>,
    /// Functions it declined to the fallback.
    pub declined: usize,
    /// LLVM modules the compiled functions were cut into.
    pub partitions: usize,
    /// The compiled functions whose accesses to their shadow-stack frame
    /// cannot fault once the frame is checked at its opening, with a
    /// checked copy of the body for frames that fail (see
    /// `translate/frame.rs`).
    pub frame_copies: Vec<DefinedFuncIndex>,
    /// The functions with a checked copy: the frame copies, and the
    /// callees that only a checked copy's function calls, once (see
    /// `translate/frame.rs`); in index order.
    pub checked: Vec<DefinedFuncIndex>,
    /// The `call_indirect` sites that dispatch to direct calls of this
    /// tier's code when the element is their own instance's (see
    /// `plan::IndirectTargets`).
    pub dispatching_call_sites: usize,
    /// Why, for the functions that failed to translate (the others were
    /// declined for their calling convention, see `plan.rs`).
    pub reasons: Vec<(DefinedFuncIndex, String)>,
}

impl LlvmCompiler {
    /// An LLVM compiler for the host, declining to `fallback`, whose
    /// target and settings it shares; `fallback` back if the host or
    /// target is not x86-64.
    pub fn new(fallback: Box<dyn Compiler>) -> Result<LlvmCompiler, Box<dyn Compiler>> {
        if fallback.target().architecture != Architecture::X86_64
            || Architecture::host() != Some(Architecture::X86_64)
        {
            return Err(fallback);
        }
        static INIT: Once = Once::new();
        let _running = llvm_running();
        INIT.call_once(|| LlvmTarget::initialize_x86(&InitializationConfig::default()));
        let features = llvm_features(&fallback.isa_flags());
        Ok(LlvmCompiler {
            fallback,
            features,
            threads: 1,
            partition_bytes: PARTITION_BYTES,
        })
    }

    /// Compiles up to `threads` partitions at once (at least one).
    pub fn with_threads(mut self, threads: usize) -> LlvmCompiler {
        self.threads = threads.max(1);
        self
    }

    /// Cuts modules into partitions of about `bytes` of Wasm function
    /// bodies each (the default is [`PARTITION_BYTES`]). Smaller
    /// partitions compile on more threads; larger ones let LLVM inline
    /// across more functions. The code depends on this size, not on the
    /// number of threads.
    pub fn with_partition_bytes(mut self, bytes: usize) -> LlvmCompiler {
        self.partition_bytes = bytes.max(1);
        self
    }

    /// The compiler that compiles what this one declines, and every
    /// trampoline.
    pub fn fallback(&self) -> &dyn Compiler {
        &*self.fallback
    }

    fn target_machine(&self) -> Result<TargetMachine, CompileError> {
        let triple = TargetTriple::create("x86_64-unknown-linux-gnu");
        let target = LlvmTarget::from_triple(&triple)
            .map_err(|e| CompileError::Codegen(format!("LLVM target: {e}")))?;
        target
            .create_target_machine(
                &triple,
                "x86-64",
                &self.features,
                OptimizationLevel::Aggressive,
                RelocMode::PIC,
                CodeModel::Small,
            )
            .ok_or_else(|| CompileError::Codegen("LLVM made no target machine".into()))
    }

    /// Compiles the functions of `module` this tier takes with LLVM, on up
    /// to `threads` threads: a body for each, the rest left to the
    /// fallback. The plan is settled first, translating without compiling: each
    /// round declines the functions that failed to translate (and those
    /// the plan must decline with them) and translates again. Then every
    /// partition is translated, optimised and compiled.
    fn compile_llvm_bodies(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<(LlvmBodies, LlvmModuleStats), CompileError> {
        let _running = llvm_running();
        let info = module.info;
        let n = info.function_bodies.len();
        let tunables = self.tunables();
        let mut stats = LlvmModuleStats {
            declined: n,
            ..LlvmModuleStats::default()
        };
        if tunables.lazy_compilation || n == 0 {
            return Ok((LlvmBodies::new(), stats));
        }
        let graph = CallGraph::new(info, module.wasm)?;
        let mut declined = BTreeSet::new();
        for (index, body) in info.function_bodies.iter() {
            if body.len() > MAX_FUNCTION_BYTES {
                declined.insert(index);
                stats.reasons.push((
                    index,
                    format!(
                        "a body of {} bytes, above the tier's limit of {MAX_FUNCTION_BYTES}",
                        body.len()
                    ),
                ));
            }
        }
        let plan = loop {
            let plan = Plan::new(info, &graph, &declined, self.partition_bytes);
            let failed = on_threads(plan.partitions().len(), threads, |p| {
                self.compile_partition(module, &plan, p, false)
                    .map(|partition| partition.failed)
            })?;
            let failed: Vec<_> = failed.into_iter().flatten().collect();
            if failed.is_empty() {
                break plan;
            }
            declined.extend(failed.iter().map(|(index, _)| *index));
            stats.reasons.extend(failed);
        };
        let compiled = on_threads(plan.partitions().len(), threads, |p| {
            match self.compile_partition(module, &plan, p, true)? {
                partition if !partition.failed.is_empty() => Err(CompileError::Codegen(format!(
                    "LLVM tier: {} functions failed to translate the second time",
                    partition.failed.len()
                ))),
                partition => Ok(partition),
            }
        })?;
        let mut bodies = LlvmBodies::new();
        for partition in compiled {
            bodies.extend(partition.bodies);
            stats.frame_copies.extend(partition.frame_copies);
            stats.checked.extend(partition.checked);
            stats.dispatching_call_sites += partition.dispatching_call_sites;
        }
        stats.checked.sort();
        stats.compiled = plan.compiled_count();
        stats.declined = n - stats.compiled;
        stats.partitions = plan.partitions().len();
        stats.copies = (0..n)
            .map(|i| DefinedFuncIndex::from_u32(i as u32))
            .filter(|d| plan.is_copy(*d))
            .collect();
        let bodies = (0..n)
            .map(|i| DefinedFuncIndex::from_u32(i as u32))
            .filter(|d| plan.compiles(*d))
            .map(|d| {
                let mut body = bodies.remove(&d).unwrap_or_default();
                // With guard pages its heap accesses fault unrecorded
                // (see `translate/memory.rs`).
                body.guard_page_faults = tunables.bounds_checks.guard_pages();
                (d, body)
            })
            .collect();
        Ok((bodies, stats))
    }

    /// Translates partition `p` of `plan` into an LLVM module; then, if
    /// every function translated and `compile` says so, optimises and
    /// compiles it.
    fn compile_partition(
        &self,
        module: &ModuleInput<'_>,
        plan: &Plan,
        p: usize,
        compile: bool,
    ) -> Result<CompiledPartition, CompileError> {
        let cx = Context::create();
        let llvm_module = cx.create_module("wasm");
        let mut env = ModuleEnv::new(&cx, &llvm_module, module, plan, self.tunables());
        let mut partition = CompiledPartition::default();
        for &index in &plan.partitions()[p] {
            let translated = FuncTranslator::translate(&mut env, index);
            if partition.translated(index, translated)? == Some(true) {
                partition.frame_copies.push(index);
            }
        }
        while let Some(index) = env.next_untranslated_checked() {
            let translated = FuncTranslator::translate_checked(&mut env, index);
            if partition.translated(index, translated)?.is_some() {
                partition.checked.push(index);
            }
        }
        partition.dispatching_call_sites = env.dispatching_call_sites;
        env.finish();
        if partition.failed.is_empty() && compile {
            let machine = self.target_machine()?;
            let object = emit::emit(&llvm_module, &machine)?;
            partition.bodies = emit::read_object(&object, module.info)?;
        }
        Ok(partition)
    }

    /// Compiles `module` and says how many functions LLVM took.
    pub fn compile_module_with_stats(
        &self,
        module: &ModuleInput<'_>,
    ) -> Result<(CompiledModule, LlvmModuleStats), CompileError> {
        self.compile_module_with_stats_on(module, self.threads)
    }

    fn compile_module_with_stats_on(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<(CompiledModule, LlvmModuleStats), CompileError> {
        let (mut llvm, stats) = self.compile_llvm_bodies(module, threads)?;
        // A copy follows the fallback's entry in the function's body: this
        // tier's calls to it land that far into the body.
        let mut entries = std::collections::HashMap::new();
        let mut copy_at = std::collections::HashMap::new();
        for &index in &stats.copies {
            let entry = self.fallback.compile_function(module, index)?;
            if let Some(copy) = llvm.get(&index) {
                copy_at.insert(index, i64::from(copy_offset(&entry, copy)));
            }
            entries.insert(index, entry);
        }
        for body in llvm.values_mut() {
            for reloc in &mut body.relocations {
                if let RelocationTarget::Function(target) = reloc.target
                    && let Some(at) = copy_at.get(&target)
                {
                    reloc.addend += at;
                }
            }
        }
        let mut jobs = CompileJob::for_module(module.info);
        let adapters: BTreeSet<TypeIndex> = llvm
            .values()
            .flat_map(|body| &body.relocations)
            .filter_map(|r| match r.target {
                RelocationTarget::CallAdapter(ty) => Some(ty),
                _ => None,
            })
            .collect();
        jobs.extend(adapters.into_iter().map(CompileJob::CallAdapter));
        let bodies = jobs
            .iter()
            .map(|job| match job {
                CompileJob::Function(index) => match (entries.remove(index), llvm.remove(index)) {
                    (Some(entry), Some(copy)) => Ok(followed_by(entry, copy)),
                    (Some(body), None) | (None, Some(body)) => Ok(body),
                    (None, None) => self.fallback.compile_function(module, *index),
                },
                other => self.fallback.compile_job(module, *other),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let compiled = hayate_environ::link::link(self.target().architecture, &jobs, bodies)?;
        Ok((compiled, stats))
    }
}

/// Runs `work` on every index below `count`, on up to `threads` threads
/// with [`LLVM_STACK`] bytes of stack each (LLVM's code generator recurses
/// over a basic block's instructions: a block of a few ten thousand
/// instructions overflows the 8 MiB of a main thread, and far less on an
/// embedder's small thread). The results come in index order; the first
/// error by index is returned, so the outcome does not depend on the
/// threads' timing.
fn on_threads<T: Send>(
    count: usize,
    threads: usize,
    work: impl Fn(usize) -> Result<T, CompileError> + Sync,
) -> Result<Vec<T>, CompileError> {
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return done;
            }
            done.push((i, work(i)));
        }
    };
    let mut results: Vec<(usize, Result<T, CompileError>)> = std::thread::scope(|scope| {
        let workers = (0..threads.clamp(1, count.max(1)))
            .map(|_| {
                std::thread::Builder::new()
                    .name("hayate-llvm".into())
                    .stack_size(LLVM_STACK)
                    .spawn_scoped(scope, worker)
            })
            .collect::<Vec<_>>();
        let mut results = Vec::with_capacity(count);
        let mut no_thread = None;
        for spawned in workers {
            match spawned {
                Ok(handle) => results.extend(
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                ),
                Err(e) => no_thread = Some(e),
            }
        }
        // Workers that did start took every index; with none, report why.
        if results.len() < count
            && let Some(e) = no_thread
        {
            return Err(CompileError::Codegen(format!("no thread for LLVM: {e}")));
        }
        Ok(results)
    })?;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Where `copy` starts in the body [`followed_by`] makes of `entry` and
/// it: after `entry`'s code, at `copy`'s alignment.
fn copy_offset(entry: &CompiledBody, copy: &CompiledBody) -> u32 {
    let at = entry
        .code
        .len()
        .next_multiple_of(copy.alignment.max(1) as usize);
    u32::try_from(at).expect("a function body under 4 GiB")
}

/// `entry`'s code, then `copy`'s at [`copy_offset`] (the gap filled with
/// the architecture's trapping byte), as one body.
fn followed_by(mut entry: CompiledBody, copy: CompiledBody) -> CompiledBody {
    let shift = copy_offset(&entry, &copy);
    entry
        .code
        .resize(shift as usize, Architecture::X86_64.padding_byte());
    entry.code.extend_from_slice(&copy.code);
    entry.alignment = entry.alignment.max(copy.alignment);
    entry
        .relocations
        .extend(copy.relocations.into_iter().map(|mut r| {
            r.offset += shift;
            r
        }));
    entry
        .traps
        .extend(copy.traps.into_iter().map(|(o, t)| (o + shift, t)));
    entry
        .address_map
        .extend(copy.address_map.into_iter().map(|(o, w)| (o + shift, w)));
    entry.inlined.extend(copy.inlined.into_iter().map(|mut r| {
        r.start += shift;
        r.end += shift;
        r
    }));
    entry
        .exception_sites
        .extend(copy.exception_sites.iter().map(|s| s.moved_by(shift)));
    entry
        .stack_maps
        .extend(copy.stack_maps.iter().map(|s| s.moved_by(shift)));
    entry.guard_page_faults |= copy.guard_page_faults;
    entry
}

/// LLVM's feature list for the fallback's CPU flags (Cranelift's
/// `has_*` names); flags LLVM has no name for are left out, so LLVM
/// uses no feature the artifact header does not record.
fn llvm_features(flags: &[(String, String)]) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("has_sse3", "sse3"),
        ("has_ssse3", "ssse3"),
        ("has_cmpxchg16b", "cx16"),
        ("has_sse41", "sse4.1"),
        ("has_sse42", "sse4.2"),
        ("has_popcnt", "popcnt"),
        ("has_avx", "avx"),
        ("has_avx2", "avx2"),
        ("has_fma", "fma"),
        ("has_bmi1", "bmi"),
        ("has_bmi2", "bmi2"),
        ("has_lzcnt", "lzcnt"),
        ("has_avx512f", "avx512f"),
        ("has_avx512vl", "avx512vl"),
        ("has_avx512dq", "avx512dq"),
        ("has_avx512bitalg", "avx512bitalg"),
        ("has_avx512vbmi", "avx512vbmi"),
    ];
    let on = |flag: &str| {
        flags
            .iter()
            .any(|(f, v)| f == flag && (v == "1" || v == "true"))
    };
    NAMES
        .iter()
        .map(|(flag, llvm)| format!("{}{llvm}", if on(flag) { '+' } else { '-' }))
        .collect::<Vec<_>>()
        .join(",")
}

impl Compiler for LlvmCompiler {
    fn target(&self) -> &Target {
        self.fallback.target()
    }

    fn tunables(&self) -> &Tunables {
        self.fallback.tunables()
    }

    fn isa_flags(&self) -> Vec<(String, String)> {
        self.fallback.isa_flags()
    }

    fn fingerprint(&self) -> String {
        format!(
            "hayate-llvm 2 (LLVM {LLVM_VERSION}, {}, {})\n{}",
            emit::PIPELINE,
            self.features,
            self.fallback.fingerprint()
        )
    }

    /// One function at a time (lazy compilation) goes to the fallback:
    /// this tier compiles whole modules.
    fn compile_function(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_function(module, index)
    }

    fn compile_array_to_wasm(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_array_to_wasm(module, index)
    }

    fn compile_wasm_to_array(
        &self,
        offsets: &VMOffsets,
        ty: &FuncType,
    ) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_wasm_to_array(offsets, ty)
    }

    fn compile_call_adapter(&self, ty: &FuncType) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_call_adapter(ty)
    }

    fn compile_module(&self, module: &ModuleInput<'_>) -> Result<CompiledModule, CompileError> {
        self.compile_module_with_stats(module).map(|(m, _)| m)
    }

    fn compile_module_on(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<CompiledModule, CompileError> {
        self.compile_module_with_stats_on(module, threads)
            .map(|(m, _)| m)
    }
}
