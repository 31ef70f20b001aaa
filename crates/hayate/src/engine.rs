//! `Engine`: compiler, settings and the engine-wide type registry, shared by
//! every module and store made from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hayate_environ::FuncType as EnvFuncType;
use hayate_environ::VMSharedTypeIndex;
use hayate_environ::artifact::ArtifactHeader;
use hayate_runtime::{InstanceAllocator, PoolingAllocator, TypeRegistry};

use crate::cache::{Cache, CacheStats};
use crate::config::{Config, InstanceAllocationStrategy};
use crate::error::{Error, Result};

/// A compilation and runtime environment. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

#[repr(align(128))]
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    /// The code generator, behind the compiler seam; `None` in a build
    /// without the `compiler` feature, which only loads precompiled code.
    pub(crate) compiler: Option<Box<dyn hayate_environ::Compiler>>,
    /// The compiler of functions compiled on first call, when it is not
    /// `compiler` (see `new_compiler`) nor the baseline compiler's fallback.
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    pub(crate) first_tier_compiler: Option<Box<dyn hayate_environ::Compiler>>,
    /// The baseline compiler, which first-tier compilations try first
    /// (`Config::baseline_compilation`); its fallback compiles what it
    /// declines.
    #[cfg(feature = "compiler")]
    pub(crate) baseline_compiler: Option<hayate_baseline::BaselineCompiler>,
    /// Engine-wide function type ids, owned by the runtime.
    pub(crate) types: TypeRegistry,
    /// A number no other engine of the process has, to tell which engine
    /// a public type's ids belong to (an address can be reused).
    pub(crate) serial: u64,
    pub(crate) epoch: AtomicU64,
    pub(crate) host_trampolines: crate::vm::HostTrampolines,
    /// The artifact header this engine writes and expects.
    pub(crate) header: Arc<ArtifactHeader>,
    /// The compile cache, if configured.
    pub(crate) cache: Option<Cache>,
    /// Held by the compilation in the background of a lazily compiled
    /// module (`lazy::start_background_compilation`): one at a time per
    /// engine, so that loading many modules does not start as many
    /// compilations of each on all cores at once.
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    pub(crate) background_compilation: std::sync::Mutex<()>,
    /// Where instances get their memory.
    pub(crate) allocator: InstanceAllocator,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an engine with `config`.
    pub fn new(config: &Config) -> Result<Engine> {
        crate::vm::init();
        let compiler = new_compiler(config, false)?;
        let first_tier_compiler = new_compiler(config, true)?;
        #[cfg(feature = "compiler")]
        let (first_tier_compiler, baseline_compiler) =
            with_baseline_compiler(config, first_tier_compiler)?;
        let header = Arc::new(crate::serialize::host_header(config, compiler.as_deref()));
        let allocator = match config.allocation_strategy {
            InstanceAllocationStrategy::OnDemand => InstanceAllocator::on_demand(),
            InstanceAllocationStrategy::Pooling(pool) => {
                let pool =
                    PoolingAllocator::new(pool, config.tunables.bounds_checks).map_err(|e| {
                        Error::msg(format!(
                            "failed to reserve the pooling allocator's slots: {e}"
                        ))
                    })?;
                InstanceAllocator::Pooling(Arc::new(pool))
            }
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                header,
                allocator,
                cache: config
                    .cache_dir
                    .clone()
                    .map(|dir| Cache::new(dir, config.cache_max_size)),
                background_compilation: std::sync::Mutex::new(()),
                config: config.clone(),
                compiler,
                first_tier_compiler,
                #[cfg(feature = "compiler")]
                baseline_compiler,
                types: TypeRegistry::default(),
                serial: {
                    static NEXT: AtomicU64 = AtomicU64::new(0);
                    NEXT.fetch_add(1, Ordering::Relaxed)
                },
                epoch: AtomicU64::new(0),
                host_trampolines: Default::default(),
            }),
        })
    }

    /// The engine's compiler, or an error saying this build has none.
    pub(crate) fn compiler(&self) -> Result<&dyn hayate_environ::Compiler> {
        self.inner.compiler.as_deref().ok_or_else(|| {
            Error::msg(
                "this build of Hayate has no compiler (the `compiler` feature is off): load precompiled modules with `Module::deserialize`",
            )
        })
    }

    /// The baseline compiler, if functions compiled on first call try it
    /// first.
    #[cfg(feature = "compiler")]
    pub(crate) fn baseline_compiler(&self) -> Option<&hayate_baseline::BaselineCompiler> {
        self.inner.baseline_compiler.as_ref()
    }

    /// The compiler of functions compiled lazily, on first call (after the
    /// baseline compiler, which declines some).
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    pub(crate) fn first_tier_compiler(&self) -> Result<&dyn hayate_environ::Compiler> {
        #[cfg(feature = "compiler")]
        if let Some(baseline) = &self.inner.baseline_compiler {
            return Ok(baseline.fallback());
        }
        match &self.inner.first_tier_compiler {
            Some(compiler) => Ok(&**compiler),
            None => self.compiler(),
        }
    }

    /// The target triple of the code this engine runs, e.g.
    /// `x86_64-unknown-linux-gnu` (the compiler's target; the host's
    /// without a compiler).
    pub fn target(&self) -> &str {
        &self.inner.header.target
    }

    /// The compiler's fingerprint: backend and version, target, every code
    /// generator flag, the CPU (ISA) flags it uses and the settings the code
    /// depends on, as `key = value` lines under `[shared]`, `[isa]` and
    /// `[hayate]` headers; `None` in a build without a compiler.
    /// Precompiled modules load only into engines with the same one.
    pub fn compiler_fingerprint(&self) -> Option<&str> {
        let f = &self.inner.header.compiler_fingerprint;
        (!f.is_empty()).then_some(f.as_str())
    }

    /// The settings this engine was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Advances the engine's epoch by one tick. Callable from any thread;
    /// guests of stores whose deadline this reaches are interrupted (with
    /// `Config::epoch_interruption`).
    pub fn increment_epoch(&self) {
        self.inner
            .epoch
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The current epoch.
    #[inline]
    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Hits and misses of the compile cache (all zero without one; see
    /// `Config::cache_dir`).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner
            .cache
            .as_ref()
            .map_or(CacheStats::default(), Cache::stats)
    }

    /// Compiles the module `wasm` (binary format) whole and writes it to
    /// the compile cache, unless the cache has it or another process is
    /// compiling it for the cache; returns whether this call wrote it.
    ///
    /// A lazily compiled module is written to the cache by its compilation
    /// in the background, which a process that ends early never finishes:
    /// `hayate run` hands such a module to a `hayate compile --into-cache`
    /// process, which calls this, so that the next run loads it whole.
    /// Fails if the engine has no cache, the module is invalid, or the
    /// entry cannot be written.
    #[cfg(feature = "compiler")]
    pub fn fill_cache(&self, wasm: &[u8]) -> Result<bool> {
        let cache = self.inner.cache.as_ref().ok_or_else(|| {
            Error::msg("this engine has no compile cache (see `Config::cache_dir`)")
        })?;
        cache.fill(self, wasm)
    }

    /// Compiles `bytes` (a module in the binary format or, with the `wat`
    /// feature, the text format) and returns its precompiled artifact:
    /// exactly the bytes [`Module::serialize`](crate::Module::serialize)
    /// returns for the module compiled by this engine, which
    /// [`Module::deserialize`](crate::Module::deserialize) loads without
    /// compiling into an engine with the same settings on a compatible
    /// host. The code is not loaded (nor looked up in or stored to the
    /// compile cache), so this suits cross-process build steps.
    #[cfg(feature = "compiler")]
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "wat")]
        let parsed;
        #[cfg(feature = "wat")]
        let bytes = if bytes.starts_with(b"\0asm") {
            bytes
        } else {
            parsed = wat::parse_bytes(bytes).map_err(|e| Error::msg(e.to_string()))?;
            &parsed[..]
        };
        let info =
            hayate_environ::ModuleInfo::parse(bytes, self.config().features).map_err(Error::new)?;
        let compiled = self
            .compiler()?
            .compile_module(&hayate_environ::ModuleInput::new(&info, bytes))
            .map_err(Error::new)?;
        Ok(crate::serialize::serialize_compiled(
            &self.inner.header,
            &info,
            &compiled,
        ))
    }

    /// Whether `bytes` start like a precompiled artifact, and of what.
    /// Only the format is recognised: whether this engine can load it is
    /// checked by [`Module::deserialize`](crate::Module::deserialize),
    /// which says what differs. Hayate has no components yet, so the
    /// answer is `Some(Precompiled::Module)` or `None`.
    pub fn detect_precompiled(&self, bytes: &[u8]) -> Option<Precompiled> {
        crate::Module::is_precompiled(bytes).then_some(Precompiled::Module)
    }

    /// [`Engine::detect_precompiled`] for the start of the file at `path`.
    pub fn detect_precompiled_file(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Option<Precompiled>> {
        use std::io::Read;
        let path = path.as_ref();
        let mut magic = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| {
                f.take(hayate_environ::artifact::MAGIC.len() as u64)
                    .read_to_end(&mut magic)
            })
            .map_err(|e| Error::msg(format!("failed to read {}: {e}", path.display())))?;
        Ok(self.detect_precompiled(&magic))
    }

    /// A value that hashes equally for engines whose precompiled artifacts
    /// are interchangeable: the Hayate build, target, CPU features,
    /// compiler settings and the other settings artifacts record. Use it
    /// in the key of a store of precompiled modules shared by processes.
    pub fn precompile_compatibility_hash(&self) -> impl std::hash::Hash + '_ {
        CompatibilityHash(&self.inner.header)
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// This engine's serial number (see `EngineInner::serial`).
    pub(crate) fn serial(&self) -> u64 {
        self.inner.serial
    }

    /// The engine-wide ids of a module's types, registering new ones.
    pub(crate) fn register_module_types(&self, info: &hayate_environ::ModuleInfo) -> Box<[u32]> {
        self.inner
            .types
            .register_module(&info.types, &info.rec_groups)
            .into_iter()
            .map(|id| id.as_u32())
            .collect()
    }

    /// The type with id `id`, in engine form.
    pub(crate) fn sub_type(&self, id: VMSharedTypeIndex) -> &hayate_environ::SubType {
        self.inner.types.sub_type(id)
    }

    /// Whether `actual <: expected` for two engine-form value types.
    pub(crate) fn is_val_subtype(
        &self,
        actual: hayate_environ::WasmValType,
        expected: hayate_environ::WasmValType,
    ) -> bool {
        self.inner.types.is_val_subtype(actual, expected)
    }

    /// The engine-wide id of `ty` (see `hayate_runtime::type_registry`).
    pub(crate) fn register_type(&self, ty: &EnvFuncType) -> VMSharedTypeIndex {
        self.inner.types.register(ty)
    }

    /// The function type with engine-wide id `id` (no lock, no copy).
    #[inline]
    pub(crate) fn lookup_type(&self, id: VMSharedTypeIndex) -> &Arc<EnvFuncType> {
        self.inner.types.lookup(id)
    }

    /// Whether a function of type `actual` may be used where `expected` is
    /// required: the registry's one signature check.
    pub(crate) fn is_subtype(
        &self,
        actual: VMSharedTypeIndex,
        expected: VMSharedTypeIndex,
    ) -> bool {
        self.inner.types.is_subtype(actual, expected)
    }
}

/// What kind of precompiled artifact some bytes are, as told by
/// [`Engine::detect_precompiled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precompiled {
    /// A core module, from [`Engine::precompile_module`] or
    /// [`Module::serialize`](crate::Module::serialize).
    Module,
    /// A component. Hayate cannot make or load one yet; the variant exists
    /// so that matches written for Wasmtime compile.
    Component,
}

/// The settings recorded in an engine's artifact header, hashed.
struct CompatibilityHash<'a>(&'a ArtifactHeader);

impl std::hash::Hash for CompatibilityHash<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let h = self.0;
        h.hayate_version.hash(state);
        h.target.hash(state);
        h.compiler_fingerprint.hash(state);
        h.isa_flags.hash(state);
        h.wasm_features.hash(state);
        h.tunables.hash(state);
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

/// The Cranelift backend for `config`, behind the compiler seam; with
/// `first_tier`, the one for functions compiled on first call (`None` if
/// that is the engine's compiler): Cranelift without optimisation while the
/// whole module is compiled in the background or behind the baseline
/// compiler.
#[cfg(feature = "compiler")]
fn new_compiler(
    config: &Config,
    first_tier: bool,
) -> Result<Option<Box<dyn hayate_environ::Compiler>>> {
    use hayate_cranelift::{CompilerSettings, OptLevel};
    let lazy = config.tunables.lazy_compilation;
    let unoptimised_first_tier =
        lazy && (config.background_compilation || config.baseline_compilation);
    if first_tier && !(unoptimised_first_tier && config.optimize) {
        return Ok(None);
    }
    let settings = CompilerSettings {
        // The first tier runs until better code takes over: Cranelift's
        // optimiser would cost it more than it saves.
        opt_level: match (config.optimize && !first_tier, config.optimize_size) {
            (false, _) => OptLevel::None,
            (true, false) => OptLevel::Speed,
            (true, true) => OptLevel::SpeedAndSize,
        },
        tunables: config.tunables,
        parallel: config.parallel_compilation,
        ..CompilerSettings::default()
    };
    let compiler: Box<dyn hayate_environ::Compiler> =
        Box::new(hayate_cranelift::Compiler::new(settings).map_err(Error::new)?);
    match config.strategy {
        crate::config::Strategy::Llvm if !first_tier => with_llvm(config, compiler).map(Some),
        _ => Ok(Some(compiler)),
    }
}

/// The LLVM compiler in front of `cranelift`, which compiles what it
/// declines and every trampoline.
#[cfg(feature = "llvm")]
fn with_llvm(
    config: &Config,
    cranelift: Box<dyn hayate_environ::Compiler>,
) -> Result<Box<dyn hayate_environ::Compiler>> {
    if config.tunables.lazy_compilation {
        return Err(Error::msg(
            "the LLVM strategy compiles whole modules ahead of time: it cannot be combined with lazy compilation",
        ));
    }
    // Partitions of the module compile on every core, or on one.
    let threads = match config.parallel_compilation {
        true => std::thread::available_parallelism().map_or(1, |n| n.get()),
        false => 1,
    };
    match hayate_llvm::LlvmCompiler::new(cranelift) {
        // LLVM runs in a child process: a crash of it on a hostile module
        // must not take the host down.
        Ok(llvm) => Ok(Box::new(crate::isolated::IsolatedCompiler::new(Box::new(
            llvm.with_threads(threads),
        )))),
        Err(_) => Err(Error::msg(
            "the LLVM strategy is only available on x86-64 hosts",
        )),
    }
}

#[cfg(all(feature = "compiler", not(feature = "llvm")))]
fn with_llvm(
    _config: &Config,
    _cranelift: Box<dyn hayate_environ::Compiler>,
) -> Result<Box<dyn hayate_environ::Compiler>> {
    Err(Error::msg(
        "this build of Hayate has no LLVM backend: build it with the `llvm` feature (needs LLVM 19)",
    ))
}

/// The first-tier compiler on its own, or the baseline compiler in front
/// of it.
#[cfg(feature = "compiler")]
type FirstTier = (
    Option<Box<dyn hayate_environ::Compiler>>,
    Option<hayate_baseline::BaselineCompiler>,
);

/// The baseline compiler in front of `first_tier` (the first-tier
/// compiler, which becomes its fallback), if `config` asks for it and the
/// host has one (x86-64); otherwise `first_tier` as it was. The engine
/// calls only `compile_baseline` and compiles what it declines with the
/// fallback.
#[cfg(feature = "compiler")]
fn with_baseline_compiler(
    config: &Config,
    first_tier: Option<Box<dyn hayate_environ::Compiler>>,
) -> Result<FirstTier> {
    if !(config.tunables.lazy_compilation && config.baseline_compilation) {
        return Ok((first_tier, None));
    }
    // Without a first tier of its own (no optimisation configured), the
    // engine's compiler is unoptimised already.
    let fallback = match first_tier {
        Some(compiler) => compiler,
        None => new_compiler(config, false)?.expect("a compiler was asked for"),
    };
    Ok(match hayate_baseline::BaselineCompiler::new(fallback) {
        Ok(baseline) => (None, Some(baseline)),
        Err(fallback) => (Some(fallback), None),
    })
}

/// No compiler in this build.
#[cfg(not(feature = "compiler"))]
fn new_compiler(
    _config: &Config,
    _first_tier: bool,
) -> Result<Option<Box<dyn hayate_environ::Compiler>>> {
    Ok(None)
}
