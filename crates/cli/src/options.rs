//! Options shared by the commands that compile and run modules, spelled as
//! Wasmtime 49 spells them: `-W KEY[=VAL]` for WebAssembly semantics and
//! limits, `-O KEY[=VAL]` for optimisation and memory layout, `-C KEY[=VAL]`
//! for code generation, and `--profile`. Each flag takes a comma-separated
//! list (`-W fuel=10,timeout=1s`); `-W help` (and `-O help`, `-C help`)
//! lists the keys. Parsing is separate from applying so the errors name the
//! offending flag, and every key Wasmtime has but Hayate cannot honour is
//! an error saying so, never silently ignored.

mod args;
pub mod keys;
mod tables;

use std::time::Duration;

use anyhow::{Result, bail};
use hayate::{
    BoundsChecks, Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingConfig,
    ProfilingStrategy, Store, StoreLimits, StoreLimitsBuilder, Strategy,
};

pub use args::{list_arg, optional_arg, repeated_arg, strings};
use keys::Item;
pub use tables::{CODEGEN, OPTIMIZE, WASM};

/// `-W`, `-O`, `-C` and `--profile` (their `clap::Args` is in `args.rs`).
#[derive(Debug, Default, Clone)]
pub struct CommonOptions {
    /// `-W` lists.
    wasm: Vec<String>,
    /// `-O` lists.
    optimize: Vec<String>,
    /// `-C` lists.
    codegen: Vec<String>,
    /// `--profile`.
    profile: Option<String>,
}

/// A WebAssembly proposal that can be turned on and off.
#[derive(Debug, Clone, Copy)]
pub struct Proposal {
    /// Its `-W` key.
    pub name: &'static str,
    /// The `Config` method that turns it on or off.
    pub toggle: fn(&mut Config, bool) -> &mut Config,
    /// Whether `-W all-proposals` covers it (the ones Wasmtime's covers;
    /// Wasmtime cannot turn the others off at all).
    pub in_all: bool,
}

/// Every proposal Hayate implements, by `-W` key.
pub const PROPOSALS: &[Proposal] = &[
    Proposal {
        name: "bulk-memory",
        toggle: Config::wasm_bulk_memory,
        in_all: true,
    },
    Proposal {
        name: "multi-memory",
        toggle: Config::wasm_multi_memory,
        in_all: true,
    },
    Proposal {
        name: "multi-value",
        toggle: Config::wasm_multi_value,
        in_all: true,
    },
    Proposal {
        name: "reference-types",
        toggle: Config::wasm_reference_types,
        in_all: true,
    },
    Proposal {
        name: "simd",
        toggle: Config::wasm_simd,
        in_all: true,
    },
    Proposal {
        name: "extended-const",
        toggle: Config::wasm_extended_const,
        in_all: true,
    },
    Proposal {
        name: "memory64",
        toggle: Config::wasm_memory64,
        in_all: true,
    },
    Proposal {
        name: "relaxed-simd",
        toggle: Config::wasm_relaxed_simd,
        in_all: true,
    },
    Proposal {
        name: "gc",
        toggle: Config::wasm_gc,
        in_all: true,
    },
    Proposal {
        name: "exceptions",
        toggle: Config::wasm_exceptions,
        in_all: true,
    },
    Proposal {
        name: "function-references",
        toggle: Config::wasm_function_references,
        in_all: true,
    },
    Proposal {
        name: "tail-call",
        toggle: Config::wasm_tail_call,
        in_all: true,
    },
    Proposal {
        name: "mutable-global",
        toggle: Config::wasm_mutable_global,
        in_all: false,
    },
    Proposal {
        name: "sign-extension",
        toggle: Config::wasm_sign_extension,
        in_all: false,
    },
    Proposal {
        name: "nontrapping-float-to-int",
        toggle: Config::wasm_nontrapping_float_to_int,
        in_all: false,
    },
];

/// The parsed options.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// Fuel the guest may consume (`-W fuel=N`).
    pub fuel: Option<u64>,
    /// Wall-clock limit, enforced with epochs (`-W timeout=DURATION`).
    pub timeout: Option<Duration>,
    /// Epoch checks in compiled code even without a timeout.
    pub epoch_interruption: bool,
    /// Most bytes of any one linear memory.
    pub max_memory_size: Option<usize>,
    /// Most elements of any one table.
    pub max_table_elements: Option<u64>,
    /// Most instances.
    pub max_instances: Option<usize>,
    /// Most tables.
    pub max_tables: Option<usize>,
    /// Most linear memories.
    pub max_memories: Option<usize>,
    /// Wasm stack limit in bytes.
    pub max_wasm_stack: Option<usize>,
    /// `-W all-proposals`, applied before the single proposals.
    pub all_proposals: Option<bool>,
    /// Whether function imports nothing provides trap when called
    /// (`-W unknown-imports-trap`) instead of refusing the module.
    pub unknown_imports_trap: bool,
    /// Single proposals turned on or off, in command-line order.
    pub proposals: Vec<(&'static str, bool)>,
    /// Whether to use the compile cache (`-C cache=n` turns it off).
    pub cache: bool,
    /// Whether to compile on all cores.
    pub parallel_compilation: bool,
    /// Whether to compile functions on first call (`-C lazy-compilation`);
    /// `None` is `auto`, which [`Options::resolve_lazy_compilation`]
    /// decides by the module.
    pub lazy_compilation: Option<bool>,
    /// `-C baseline-compilation`; `None` keeps the engine's default.
    pub baseline_compilation: Option<bool>,
    /// `-C compiler`; `None` keeps the default, Cranelift.
    pub compiler: Option<Strategy>,
    /// How hard Cranelift optimises (`-O opt-level`); `None` keeps the
    /// default, speed.
    pub opt_level: Option<OptLevel>,
    /// Guard pages or explicit checks (`-O memory-reservation`,
    /// `-O memory-guard-size`); `None` keeps the default.
    pub bounds_checks: Option<BoundsChecks>,
    /// `-O table-lazy-init`.
    pub table_lazy_init: Option<bool>,
    /// `-O memory-init-cow`.
    pub memory_init_cow: Option<bool>,
    /// `-O pooling-allocator` and its limits.
    pub pooling: Option<PoolingConfig>,
    /// `--profile`.
    pub profiler: Option<ProfilingStrategy>,
}

impl CommonOptions {
    /// Parses every `-W`, `-O` and `-C` flag and `--profile`.
    pub fn parse(&self) -> Result<Options> {
        let mut o = Options {
            cache: true,
            parallel_compilation: true,
            ..Default::default()
        };
        for item in WASM.items(&self.wasm)? {
            o.wasm(item)?;
        }
        let mut keys = OptimizeKeys::default();
        for item in OPTIMIZE.items(&self.optimize)? {
            o.optimize_item(item, &mut keys)?;
        }
        o.bounds_checks = keys.bounds_checks()?;
        if keys.pooling {
            o.pooling = Some(keys.pool);
        } else if let Some(key) = keys.pooling_limits.first() {
            bail!("`-O {key}` configures the pooling allocator: add `-O pooling-allocator`");
        }
        for item in CODEGEN.items(&self.codegen)? {
            o.codegen(item)?;
        }
        o.profiler = match self.profile.as_deref() {
            None => None,
            Some("perfmap") => Some(ProfilingStrategy::PerfMap),
            Some("none") => Some(ProfilingStrategy::None),
            Some(other @ ("jitdump" | "vtune" | "guest")) => bail!(
                "`--profile={other}` is not implemented by Hayate yet (`--profile=perfmap` is)"
            ),
            Some(other) => match keys::closest(other, ["perfmap", "none"].into_iter()) {
                Some(similar) => {
                    bail!("unknown profiling strategy `{other}`; a similar one exists: `{similar}`")
                }
                None => bail!("unknown profiling strategy `{other}` (Hayate has `perfmap`)"),
            },
        };
        Ok(o)
    }
}

/// What the `-O` keys that are only checked once all are read asked for.
#[derive(Default)]
struct OptimizeKeys {
    /// `-O memory-reservation`.
    reservation: Option<usize>,
    /// `-O memory-guard-size`.
    guard: Option<usize>,
    /// `-O pooling-allocator`.
    pooling: bool,
    /// The pooling limits given.
    pool: PoolingConfig,
    /// The keys of the pooling limits given.
    pooling_limits: Vec<&'static str>,
}

/// The reservation and the guard region of a 32-bit memory with guard pages.
const GUARD_PAGES_BYTES: usize = 4 << 30;

impl OptimizeKeys {
    /// Hayate lays memories out in one of two ways; these keys may name
    /// either, but nothing in between.
    fn bounds_checks(&self) -> Result<Option<BoundsChecks>> {
        let mode = |bytes: Option<usize>| match bytes {
            None => Ok(None),
            Some(0) => Ok(Some(BoundsChecks::Explicit)),
            Some(GUARD_PAGES_BYTES) => Ok(Some(BoundsChecks::GuardPages)),
            Some(_) => Err(()),
        };
        let explain = "Hayate lays memories out in one of two ways: \
            `-O memory-reservation=4GiB,memory-guard-size=4GiB` (guard pages, the default) \
            or `-O memory-reservation=0,memory-guard-size=0` (explicit bounds checks, \
            memories reserve only what they use)";
        match (mode(self.reservation), mode(self.guard)) {
            (Err(()), _) => bail!(
                "`-O memory-reservation={}` cannot be honoured: {explain}",
                self.reservation.unwrap_or_default()
            ),
            (_, Err(())) => bail!(
                "`-O memory-guard-size={}` cannot be honoured: {explain}",
                self.guard.unwrap_or_default()
            ),
            (Ok(Some(a)), Ok(Some(b))) if a != b => {
                bail!("`-O memory-reservation` and `-O memory-guard-size` disagree: {explain}")
            }
            (Ok(a), Ok(b)) => Ok(a.or(b)),
        }
    }
}

impl Options {
    fn wasm(&mut self, item: Item<'_>) -> Result<()> {
        match item.key {
            "fuel" => self.fuel = Some(item.number()?),
            "timeout" => self.timeout = Some(item.duration()?),
            "epoch-interruption" => self.epoch_interruption = item.bool()?,
            "max-memory-size" => self.max_memory_size = Some(item.size()?),
            "max-table-elements" => self.max_table_elements = Some(item.number()?),
            "max-instances" => self.max_instances = Some(item.number()?),
            "max-tables" => self.max_tables = Some(item.number()?),
            "max-memories" => self.max_memories = Some(item.number()?),
            "max-wasm-stack" => self.max_wasm_stack = Some(item.size()?),
            "all-proposals" => self.all_proposals = Some(item.bool()?),
            "unknown-imports-trap" => self.unknown_imports_trap = item.bool()?,
            // Relaxed SIMD results are deterministic in Hayate whatever is
            // asked: deterministic is always among the allowed results.
            "relaxed-simd-deterministic" => {
                item.bool()?;
            }
            "unknown-exports-allow" => {
                if !item.bool()? {
                    bail!(
                        "`-W unknown-exports-allow=n` is not supported: `hayate run` never \
                         checks a module's exports, so unknown exports are always allowed"
                    );
                }
            }
            name => match PROPOSALS.iter().find(|p| p.name == name) {
                Some(p) => self.proposals.push((p.name, item.bool()?)),
                None => unreachable!("`-W {name}` is in the table but not handled"),
            },
        }
        Ok(())
    }

    fn optimize_item(&mut self, item: Item<'_>, o: &mut OptimizeKeys) -> Result<()> {
        let p = &mut o.pool;
        match item.key {
            "opt-level" => self.opt_level = Some(opt_level(&item)?),
            "memory-reservation" => o.reservation = Some(item.size()?),
            "memory-guard-size" => o.guard = Some(item.size()?),
            "table-lazy-init" => self.table_lazy_init = Some(item.bool()?),
            "memory-init-cow" => self.memory_init_cow = Some(item.bool()?),
            "pooling-allocator" => o.pooling = item.bool()?,
            "pooling-total-core-instances" => p.max_instances = item.number()?,
            "pooling-total-memories" => p.max_memories = item.number()?,
            "pooling-total-tables" => p.max_tables = item.number()?,
            "pooling-max-memories-per-module" => p.max_memories_per_instance = item.number()?,
            "pooling-max-tables-per-module" => p.max_tables_per_instance = item.number()?,
            "pooling-table-elements" => p.max_table_elements = item.number()?,
            "pooling-max-core-instance-size" => p.max_vmctx_size = item.size()?,
            "pooling-memory-keep-resident" => p.memory_keep_resident = item.size()?,
            "pooling-max-memory-size" => {
                let bytes = item.size()? as u64;
                if !bytes.is_multiple_of(WASM_PAGE) {
                    bail!(
                        "`-O pooling-max-memory-size={}`: must be a multiple of the 64 KiB \
                         WebAssembly page",
                        item.required()?
                    );
                }
                p.max_memory_pages = bytes / WASM_PAGE;
            }
            name => unreachable!("`-O {name}` is in the table but not handled"),
        }
        if item.key.starts_with("pooling-") && item.key != "pooling-allocator" {
            o.pooling_limits.push(item.key);
        }
        Ok(())
    }

    fn codegen(&mut self, item: Item<'_>) -> Result<()> {
        match item.key {
            "cache" => self.cache = item.bool()?,
            "parallel-compilation" => self.parallel_compilation = item.bool()?,
            "lazy-compilation" => {
                self.lazy_compilation = match item.value {
                    Some("auto") => None,
                    _ => Some(item.bool()?),
                }
            }
            "baseline-compilation" => self.baseline_compilation = Some(item.bool()?),
            "opt-level" => self.opt_level = Some(opt_level(&item)?),
            "compiler" => {
                self.compiler = Some(match item.choice(&["cranelift", "llvm", "winch"])? {
                    "winch" => bail!(
                        "`-C compiler=winch` is not supported: Hayate compiles with Cranelift or LLVM"
                    ),
                    "llvm" => Strategy::Llvm,
                    _ => Strategy::Cranelift,
                });
            }
            name => unreachable!("`-C {name}` is in the table but not handled"),
        }
        Ok(())
    }
}

/// The size of a WebAssembly page.
const WASM_PAGE: u64 = 65536;

/// `opt-level=0|1|2|s`, as Wasmtime maps them: 0 turns Cranelift's
/// optimiser off, 1 and 2 optimise for speed, s for speed and size.
fn opt_level(item: &Item<'_>) -> Result<OptLevel> {
    Ok(match item.choice(&["0", "1", "2", "s"])? {
        "0" => OptLevel::None,
        "s" => OptLevel::SpeedAndSize,
        _ => OptLevel::Speed,
    })
}

/// `-C lazy-compilation=auto` compiles lazily Wasm binaries of at least
/// this many bytes: below it, compiling everything on all cores takes a
/// few tens of milliseconds, and lazy compilation saves next to nothing
/// (QuickJS, 0.8 MB, starts 18% sooner lazily; see BENCHMARKS.md).
pub const LAZY_AUTO_MIN_BYTES: u64 = 512 << 10;

impl Options {
    /// Decides `-C lazy-compilation=auto` for the module at `path`: lazily
    /// if it is a Wasm binary of at least [`LAZY_AUTO_MIN_BYTES`] (not a
    /// precompiled artifact or text). Unreadable files decide nothing here;
    /// loading them reports the error.
    pub fn resolve_lazy_compilation(&mut self, path: &std::path::Path) {
        if self.lazy_compilation.is_some() {
            return;
        }
        // LLVM compiles whole modules, ahead of time.
        if self.compiler == Some(Strategy::Llvm) {
            self.lazy_compilation = Some(false);
            return;
        }
        let large_binary = (|| {
            use std::io::Read as _;
            // Only regular files: reading a pipe's first bytes here would
            // take them from the module.
            let meta = std::fs::metadata(path).ok()?;
            if !meta.is_file() || meta.len() < LAZY_AUTO_MIN_BYTES {
                return Some(false);
            }
            let mut magic = [0u8; 4];
            std::fs::File::open(path)
                .ok()?
                .read_exact(&mut magic)
                .ok()?;
            Some(magic == *b"\0asm")
        })();
        self.lazy_compilation = Some(large_binary == Some(true));
    }

    /// Applies the engine-level settings.
    pub fn configure(&self, config: &mut Config) {
        config.consume_fuel(self.fuel.is_some());
        config.epoch_interruption(self.timeout.is_some() || self.epoch_interruption);
        config.parallel_compilation(self.parallel_compilation);
        config.lazy_compilation(self.lazy_compilation == Some(true));
        if let Some(baseline) = self.baseline_compilation {
            config.baseline_compilation(baseline);
        }
        if let Some(level) = self.opt_level {
            config.cranelift_opt_level(level);
        }
        if let Some(compiler) = self.compiler {
            config.strategy(compiler);
        }
        if let Some(stack) = self.max_wasm_stack {
            config.max_wasm_stack(stack);
        }
        if let Some(all) = self.all_proposals {
            for p in PROPOSALS.iter().filter(|p| p.in_all) {
                (p.toggle)(config, all);
            }
        }
        for (name, enable) in &self.proposals {
            let p = PROPOSALS.iter().find(|p| p.name == *name).expect("known");
            (p.toggle)(config, *enable);
        }
        if let Some(checks) = self.bounds_checks {
            config.bounds_checks(checks);
        }
        if let Some(lazy) = self.table_lazy_init {
            config.table_lazy_init(lazy);
        }
        if let Some(cow) = self.memory_init_cow {
            config.memory_init_cow(cow);
        }
        if let Some(pool) = self.pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if let Some(profiler) = self.profiler {
            config.profiler(profiler);
        }
        config.cache_dir(if self.cache {
            Config::default_cache_dir()
        } else {
            None
        });
    }

    /// The store limits the flags ask for.
    pub fn store_limits(&self) -> StoreLimits {
        let mut b = StoreLimitsBuilder::new();
        if let Some(bytes) = self.max_memory_size {
            b = b.memory_size(bytes);
        }
        if let Some(n) = self.max_table_elements {
            b = b.table_elements(n);
        }
        if let Some(n) = self.max_instances {
            b = b.instances(n);
        }
        if let Some(n) = self.max_tables {
            b = b.tables(n);
        }
        if let Some(n) = self.max_memories {
            b = b.memories(n);
        }
        b.build()
    }

    /// Applies the store-level settings: fuel, limiter, and a timeout
    /// thread that ends the epoch once the time is up.
    pub fn configure_store<T: 'static>(
        &self,
        engine: &Engine,
        store: &mut Store<T>,
        limits: fn(&mut T) -> &mut StoreLimits,
    ) -> Result<()> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        store.limiter(move |data| limits(data));
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
            });
        } else if self.epoch_interruption {
            // Checks compiled in, but nothing ever ends the epoch.
            store.set_epoch_deadline(u64::MAX);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
