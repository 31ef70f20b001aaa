//! `Config`: the settings an `Engine` is built with.

use std::path::PathBuf;

pub use hayate_environ::BoundsChecks;
use hayate_environ::{SpecVersion, Tunables, WasmFeatures, features_for};
pub use hayate_runtime::PoolingConfig;

/// How compiled code is made visible to profilers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// No profiler support.
    None,
    /// Append every compiled function to `/tmp/perf-<pid>.map` for `perf`.
    PerfMap,
}

/// How hard Cranelift optimises, for [`Config::cranelift_opt_level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimisations: the fastest compilation.
    None,
    /// Optimise for speed (the default).
    Speed,
    /// Optimise for speed and code size (Cranelift's `speed_and_size`).
    SpeedAndSize,
}

/// Which compiler makes an engine's code, for [`Config::strategy`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The default compiler: Cranelift.
    #[default]
    Auto,
    /// Cranelift: fast compilation, good code.
    Cranelift,
    /// LLVM 19 for whole modules, ahead of time: slower compilation,
    /// faster code. Functions it does not handle are compiled by
    /// Cranelift (see the `hayate-llvm` crate). Needs a build with the
    /// `llvm` feature, and cannot be combined with lazy compilation.
    Llvm,
}

/// Where instances get their VMContext, memories and tables from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceAllocationStrategy {
    /// Allocations for every instance, without limits (the default). A
    /// few released memory reservations (with guard pages, 8 GiB of
    /// address space each) are kept per thread, reset, for the next
    /// memories, so instantiating in a loop maps nothing; the rest are
    /// unmapped.
    #[default]
    OnDemand,
    /// Slots reserved once, when the engine is made, with these limits,
    /// and reused (reset) when instances' stores are dropped. Each engine
    /// reserves its own pool: address space for every slot up front
    /// (with guard pages 8 GiB per memory slot), memory only for the pages
    /// instances touch.
    Pooling(PoolingConfig),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) spec: Option<SpecVersion>,
    pub(crate) features: WasmFeatures,
    pub(crate) max_wasm_stack: usize,
    /// What compiled code assumes: bounds checks, fuel, epochs.
    pub(crate) tunables: Tunables,
    pub(crate) parallel_compilation: bool,
    pub(crate) background_compilation: bool,
    pub(crate) baseline_compilation: bool,
    pub(crate) optimize: bool,
    /// With `optimize`: also optimise for size (`OptLevel::SpeedAndSize`).
    pub(crate) optimize_size: bool,
    pub(crate) profiler: ProfilingStrategy,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) allow_precompiled: bool,
    pub(crate) cache_max_size: u64,
    pub(crate) memory_init_cow: bool,
    pub(crate) table_lazy_init: bool,
    pub(crate) allocation_strategy: InstanceAllocationStrategy,
    pub(crate) gc_stress: bool,
    pub(crate) strategy: Strategy,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            spec: None,
            features: features_for(None),
            max_wasm_stack: 512 * 1024,
            tunables: Tunables {
                bounds_checks: BoundsChecks::GuardPages,
                consume_fuel: false,
                epoch_interruption: false,
                lazy_compilation: false,
            },
            parallel_compilation: true,
            background_compilation: true,
            baseline_compilation: true,
            optimize: true,
            optimize_size: false,
            profiler: match std::env::var("HAYATE_PROFILE").as_deref() {
                Ok("perfmap") => ProfilingStrategy::PerfMap,
                _ => ProfilingStrategy::None,
            },
            cache_dir: None,
            cache_max_size: crate::cache::DEFAULT_MAX_SIZE,
            memory_init_cow: true,
            table_lazy_init: true,
            allocation_strategy: InstanceAllocationStrategy::OnDemand,
            allow_precompiled: false,
            gc_stress: false,
            strategy: Strategy::Auto,
        }
    }
}

impl Config {
    /// The default settings: every feature Hayate implements, 512 KiB of
    /// Wasm stack, guard pages, optimised parallel compilation.
    pub fn new() -> Config {
        Config::default()
    }

    /// Enables exactly the features of a spec version (`None`: every feature
    /// Hayate implements).
    pub fn spec_version(&mut self, version: Option<SpecVersion>) -> &mut Self {
        self.spec = version;
        self.features = features_for(version);
        self
    }

    /// The most stack, in bytes, Wasm code may use before it traps with
    /// `StackOverflow`.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// How memory accesses are bounds-checked.
    pub fn bounds_checks(&mut self, checks: BoundsChecks) -> &mut Self {
        self.tunables.bounds_checks = checks;
        self
    }

    /// Whether function bodies compile in parallel on all cores.
    pub fn parallel_compilation(&mut self, enable: bool) -> &mut Self {
        self.parallel_compilation = enable;
        self
    }

    /// Whether the code generator optimises.
    pub fn optimize(&mut self, enable: bool) -> &mut Self {
        self.optimize = enable;
        self
    }

    /// The Cranelift optimisation level, as in Wasmtime: `None`, `Speed`
    /// (the default) or `SpeedAndSize`, each handed to Cranelift as its
    /// `opt_level` setting. [`Config::optimize`] is the older switch:
    /// `optimize(false)` is `OptLevel::None`, and `optimize(true)` turns
    /// optimisation back on at the level last chosen here (`Speed` unless
    /// `SpeedAndSize` was). Precompiled artifacts record the level and load
    /// only into an engine with the same one.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.optimize = level != OptLevel::None;
        self.optimize_size = level == OptLevel::SpeedAndSize;
        self
    }

    /// Which compiler makes the code (default [`Strategy::Auto`], which
    /// is Cranelift). Precompiled artifacts record the compiler and load
    /// only into an engine with the same one.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }

    /// Meters execution with fuel: compiled code charges one unit per
    /// instruction executed and traps with `OutOfFuel` when the store's fuel
    /// (see `Store::set_fuel`) runs out. Deterministic: the same call with the
    /// same fuel always stops at the same instruction.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.tunables.consume_fuel = enable;
        self
    }

    /// Checks the engine's epoch against the store's deadline at every
    /// function entry and loop header, so `Engine::increment_epoch` from any
    /// thread can interrupt a running guest. Stores start with a deadline of
    /// zero ticks: set one with `Store::set_epoch_deadline` before calling.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.tunables.epoch_interruption = enable;
        self
    }

    /// Lazy compilation (default off): a module compiled by `Module::new`
    /// (or loaded from the binary format in any other way that compiles)
    /// is validated at once, but each function is compiled only when it is
    /// first called, so a large program starts running after compiling what
    /// it uses rather than all of it. Traps, backtraces, fuel, epochs and
    /// the stack limit work as in eagerly compiled code; a module that fails
    /// validation still fails before anything runs. `Module::serialize`
    /// compiles every function. Calls through function references check for
    /// a function not compiled yet, so code of such an engine (precompiled
    /// artifacts too) is made for it alone.
    ///
    /// Meanwhile the whole module is compiled in the background (see
    /// [`Config::background_compilation`]).
    pub fn lazy_compilation(&mut self, enable: bool) -> &mut Self {
        self.tunables.lazy_compilation = enable;
        self
    }

    /// With lazy compilation, also compile the whole module in the
    /// background (default on): on all cores but one, at a lowered
    /// priority, while the module runs. When it is done, calls switch to it
    /// (its calls between functions are direct, which functions compiled
    /// one at a time cannot have), `Module::is_fully_compiled` turns true,
    /// and it is written to the compile cache if the engine has one, so the
    /// next load of the module is a fully compiled one. Meanwhile the
    /// functions compiled on first call are compiled by the baseline
    /// compiler ([`Config::baseline_compilation`]) and then by Cranelift
    /// without optimisation, or by the latter alone; either is faster to
    /// compile and runs only until then. Off, only the functions called are
    /// ever compiled: by the baseline compiler if it is on (its code then
    /// stays, and Cranelift compiles what it declines without
    /// optimisation), otherwise by Cranelift at the configured level.
    pub fn background_compilation(&mut self, enable: bool) -> &mut Self {
        self.background_compilation = enable;
        self
    }

    /// With lazy compilation, compile functions on first call with the
    /// baseline compiler (default on): one pass per function, no
    /// optimisation, far faster to compile than Cranelift and a few times
    /// slower to run. Functions it does not handle (see the
    /// `hayate-baseline` crate) are compiled by Cranelift as before. With
    /// background compilation, each function it took is also compiled
    /// again by unoptimised Cranelift on a thread of its own once the
    /// program stops calling new functions for a moment (a second tier,
    /// which replaces it), until the whole module's optimised code takes
    /// over; without, baseline code is what runs. x86-64 only; elsewhere
    /// this setting changes nothing.
    pub fn baseline_compilation(&mut self, enable: bool) -> &mut Self {
        self.baseline_compilation = enable;
        self
    }

    /// Profiler support (default: `PerfMap` when the environment variable
    /// `HAYATE_PROFILE=perfmap` is set, otherwise none).
    pub fn profiler(&mut self, strategy: ProfilingStrategy) -> &mut Self {
        self.profiler = strategy;
        self
    }

    /// Caches compiled modules in `dir` (`None`, the default, turns the
    /// cache off). `Module::new` and friends then look a module up by the
    /// hash of its bytes and of the engine's settings and Hayate build, and
    /// load it without compiling or validating it again when found; the
    /// directory may be shared by concurrent processes. See
    /// [`Config::default_cache_dir`] for the usual place, and
    /// [`Engine::cache_stats`](crate::Engine::cache_stats) for hits and
    /// misses.
    ///
    /// Entries are precompiled code: anyone who can write `dir` can make
    /// this program run their code, so it must be as private as the
    /// program itself.
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// Bounds the cache directory's size in bytes (default 512 MiB): after
    /// storing an entry, the least recently used entries are deleted until
    /// the cache fits again.
    pub fn cache_max_size(&mut self, bytes: u64) -> &mut Self {
        self.cache_max_size = bytes;
        self
    }

    /// The user's cache directory for Hayate: `$XDG_CACHE_HOME/hayate`, or
    /// `~/.cache/hayate` (`None` if neither `XDG_CACHE_HOME` nor `HOME` is
    /// an absolute path).
    pub fn default_cache_dir() -> Option<PathBuf> {
        crate::cache::default_dir()
    }

    /// Whether data segments are mapped into new instances' memories from
    /// a copy-on-write image made once per module (the default, on Linux)
    /// instead of copied at each instantiation. Memories whose segments
    /// cannot be imaged (imported, computed offsets, out of bounds) are
    /// copied either way; the result is the same.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.memory_init_cow = enable;
        self
    }

    /// Where instances get their memory: on demand (the default), or from
    /// the slots of a pooling allocator, which makes instantiation a matter
    /// of microseconds. With pooling, instantiation fails with a clear error
    /// once every slot is in use or when a module needs more than a slot
    /// holds (see [`PoolingConfig`]).
    pub fn allocation_strategy(&mut self, strategy: InstanceAllocationStrategy) -> &mut Self {
        self.allocation_strategy = strategy;
        self
    }

    /// Lets [`Module::from_file`](crate::Module::from_file) load precompiled
    /// artifacts (off by default). An artifact's machine code runs as is:
    /// turning this on declares every file this engine loads to be as
    /// trusted as a native library (see `Module::deserialize`).
    pub fn allow_precompiled(&mut self, allow: bool) -> &mut Self {
        self.allow_precompiled = allow;
        self
    }

    /// Whether funcref tables filled by constant element segments are
    /// initialised lazily, element by element on first access (the
    /// default), instead of entirely at instantiation. Either way the
    /// tables hold the same values.
    pub fn table_lazy_init(&mut self, enable: bool) -> &mut Self {
        self.table_lazy_init = enable;
        self
    }

    /// The validator feature set in effect.
    pub fn features(&self) -> WasmFeatures {
        self.features
    }

    fn wasm_feature(&mut self, feature: WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(feature, enable);
        self
    }

    /// Configures whether the WebAssembly [SIMD proposal] (the 128-bit
    /// `v128` type and its instructions, part of WebAssembly 2.0) is
    /// enabled. On by default.
    ///
    /// [SIMD proposal]: https://github.com/WebAssembly/simd
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::SIMD, enable)
    }

    /// Configures whether the WebAssembly [bulk memory operations proposal]
    /// (`memory.copy`, `memory.fill`, passive segments, `memory.init`,
    /// `table.init`, `table.copy` and the `drop` instructions, part of
    /// WebAssembly 2.0) is enabled. On by default.
    ///
    /// [bulk memory operations proposal]: https://github.com/WebAssembly/bulk-memory-operations
    pub fn wasm_bulk_memory(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::BULK_MEMORY, enable)
    }

    /// Configures whether the WebAssembly [reference types proposal]
    /// (`funcref` and `externref` values, several tables, `table.get`,
    /// `table.set`, `table.grow`, `table.size`, `table.fill`, part of
    /// WebAssembly 2.0) is enabled. On by default.
    ///
    /// As in Wasmtime, this does not depend on [`Config::wasm_bulk_memory`]:
    /// either may be turned off alone, and the validator then refuses the
    /// instructions of that proposal only.
    ///
    /// [reference types proposal]: https://github.com/WebAssembly/reference-types
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::REFERENCE_TYPES, enable)
    }

    /// Configures whether the WebAssembly [multi-value proposal] (functions
    /// and blocks with several results, blocks with parameters, part of
    /// WebAssembly 2.0) is enabled. On by default.
    ///
    /// [multi-value proposal]: https://github.com/WebAssembly/multi-value
    pub fn wasm_multi_value(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::MULTI_VALUE, enable)
    }

    /// Configures whether the WebAssembly [multi-memory proposal] (several
    /// linear memories in one module) is enabled. On by default.
    ///
    /// [multi-memory proposal]: https://github.com/WebAssembly/multi-memory
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::MULTI_MEMORY, enable)
    }

    /// Configures whether the WebAssembly [extended constant expressions
    /// proposal] (`i32.add`, `i32.sub`, `i32.mul` and their `i64` forms in
    /// global initialisers and segment offsets, part of WebAssembly 3.0)
    /// is enabled. On by default, as in Wasmtime.
    ///
    /// [extended constant expressions proposal]: https://github.com/WebAssembly/extended-const
    pub fn wasm_extended_const(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::EXTENDED_CONST, enable)
    }

    /// Configures whether the WebAssembly [memory64 proposal] (linear
    /// memories and tables indexed by 64-bit numbers, part of WebAssembly
    /// 3.0) is enabled. On by default. Accesses to a 64-bit memory are
    /// checked against its current size explicitly (no guard region can
    /// cover a 64-bit address).
    ///
    /// [memory64 proposal]: https://github.com/WebAssembly/memory64
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::MEMORY64, enable)
    }

    /// Configures whether the WebAssembly [relaxed SIMD proposal] (vector
    /// operators whose results may differ between hosts, part of
    /// WebAssembly 3.0) is enabled. On by default. Hayate gives each the
    /// same result on every host, the deterministic one of the 3.0
    /// specification: see `hayate_cranelift`'s `relaxed_simd` module for
    /// the list (in short: swizzle, truncation, min, max and `q15mulr` as
    /// their non-relaxed forms, `madd` rounded after the multiplication
    /// and the addition, `laneselect` bit by bit, dot products signed).
    ///
    /// [relaxed SIMD proposal]: https://github.com/WebAssembly/relaxed-simd
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::RELAXED_SIMD, enable)
    }

    /// Configures whether the WebAssembly [typed function references
    /// proposal] (`call_ref`, `return_call_ref`, `ref.as_non_null`,
    /// `br_on_null`, `br_on_non_null`, non-nullable and concrete reference
    /// types, table initialisers; part of WebAssembly 3.0) is enabled. On
    /// by default.
    ///
    /// [typed function references proposal]: https://github.com/WebAssembly/function-references
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::FUNCTION_REFERENCES, enable)
    }

    /// Configures whether the WebAssembly [GC proposal] (structures,
    /// arrays, `i31`, recursive types and declared subtyping, casts, as in
    /// WebAssembly 3.0) is enabled. On by default. Objects live in the
    /// store's GC heap, bounded by `ResourceLimiter::memory_growing` and
    /// at most 512 MiB; a mark-and-sweep collector with precise roots
    /// (Cranelift's stack maps) reclaims unreachable ones, cycles
    /// included (see ARCHITECTURE.md, "The GC heap").
    ///
    /// [GC proposal]: https://github.com/WebAssembly/gc
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::GC, enable)
    }

    /// A debugging aid for the GC heap: every allocation from Wasm
    /// collects first, and the memory of collected objects is kept,
    /// overwritten with a poison byte (`0xdb`), until the store drops, so
    /// that a reference the collector failed to find reads that poison
    /// instead of another object. Very slow and memory-hungry; off by
    /// default.
    pub fn gc_stress(&mut self, enable: bool) -> &mut Self {
        self.gc_stress = enable;
        self
    }

    /// Configures whether the WebAssembly [exception-handling proposal]
    /// (tags, `throw`, `throw_ref`, `try_table` and `exnref`, as in
    /// WebAssembly 3.0; not the legacy `try`/`catch` instructions) is
    /// enabled. On by default. Code that throws nothing pays nothing: a
    /// throw finds its handler by walking the frames.
    ///
    /// [exception-handling proposal]: https://github.com/WebAssembly/exception-handling
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::EXCEPTIONS, enable)
    }

    /// Configures whether the WebAssembly [tail-call proposal]
    /// (`return_call` and `return_call_indirect`, part of WebAssembly 3.0)
    /// is enabled. On by default, as in Wasmtime. A chain of tail calls
    /// runs in constant stack however long it is.
    ///
    /// [tail-call proposal]: https://github.com/WebAssembly/tail-call
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::TAIL_CALL, enable)
    }

    /// Configures whether the WebAssembly [sign-extension operators
    /// proposal] (`i32.extend8_s` and friends, part of WebAssembly 2.0) is
    /// enabled. On by default. Wasmtime has no switch for it: it is always
    /// on there.
    ///
    /// [sign-extension operators proposal]: https://github.com/WebAssembly/sign-extension-ops
    pub fn wasm_sign_extension(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::SIGN_EXTENSION, enable)
    }

    /// Configures whether the WebAssembly [non-trapping float-to-int
    /// conversions proposal] (`i32.trunc_sat_f32_s` and friends, part of
    /// WebAssembly 2.0) is enabled. On by default. Wasmtime has no switch
    /// for it: it is always on there.
    ///
    /// [non-trapping float-to-int conversions proposal]: https://github.com/WebAssembly/nontrapping-float-to-int-conversions
    pub fn wasm_nontrapping_float_to_int(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::SATURATING_FLOAT_TO_INT, enable)
    }

    /// Configures whether the WebAssembly [import/export of mutable globals
    /// proposal] (part of WebAssembly 1.0 as published) is enabled. On by
    /// default. Wasmtime has no switch for it: it is always on there.
    ///
    /// [import/export of mutable globals proposal]: https://github.com/WebAssembly/mutable-global
    pub fn wasm_mutable_global(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::MUTABLE_GLOBAL, enable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_toggles_flip_one_bit_each() {
        type Toggle = fn(&mut Config, bool) -> &mut Config;
        let toggles: [(Toggle, WasmFeatures); 12] = [
            (Config::wasm_relaxed_simd, WasmFeatures::RELAXED_SIMD),
            (Config::wasm_memory64, WasmFeatures::MEMORY64),
            (Config::wasm_extended_const, WasmFeatures::EXTENDED_CONST),
            (Config::wasm_tail_call, WasmFeatures::TAIL_CALL),
            (Config::wasm_simd, WasmFeatures::SIMD),
            (Config::wasm_bulk_memory, WasmFeatures::BULK_MEMORY),
            (Config::wasm_reference_types, WasmFeatures::REFERENCE_TYPES),
            (Config::wasm_multi_value, WasmFeatures::MULTI_VALUE),
            (Config::wasm_multi_memory, WasmFeatures::MULTI_MEMORY),
            (Config::wasm_sign_extension, WasmFeatures::SIGN_EXTENSION),
            (
                Config::wasm_nontrapping_float_to_int,
                WasmFeatures::SATURATING_FLOAT_TO_INT,
            ),
            (Config::wasm_mutable_global, WasmFeatures::MUTABLE_GLOBAL),
        ];
        let all = Config::new().features();
        for (toggle, bit) in toggles {
            assert!(all.contains(bit), "{bit:?} is on by default");
            let mut config = Config::new();
            toggle(&mut config, false);
            assert_eq!(config.features(), all - bit);
            toggle(&mut config, true);
            assert_eq!(config.features(), all);
        }
    }
}
