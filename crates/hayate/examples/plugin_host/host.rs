//! A plugin host: loads every `.wat`/`.wasm` plugin of a directory, each in
//! its own store with fuel, an epoch deadline, a memory limit and a stack
//! limit, and calls `process(i32) -> i32` on each. A plugin that misbehaves
//! is stopped with an error; the host and the other plugins keep working.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hayate::{
    Config, Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, TypedFunc,
};

/// Budget of one call: instructions, wall time (in 10 ms epoch ticks),
/// memory and stack.
pub const FUEL_PER_CALL: u64 = 50_000_000;
pub const EPOCH_TICKS_PER_CALL: u64 = 200;
pub const MEMORY_LIMIT: usize = 16 << 20;
pub const STACK_LIMIT: usize = 256 << 10;

/// One loaded plugin.
pub struct Plugin {
    pub name: String,
    store: Store<StoreLimits>,
    process: TypedFunc<i32, i32>,
}

/// The host: an engine with interruption enabled, a ticker thread, plugins.
pub struct PluginHost {
    engine: Engine,
    pub plugins: Vec<Plugin>,
    stop_ticker: Arc<AtomicBool>,
}

/// What a call to a plugin produced.
#[derive(Debug)]
pub enum Outcome {
    /// The plugin returned a value.
    Returned(i32),
    /// The plugin was stopped (trap, limit, host error).
    Stopped(String),
    /// A host function panicked while the plugin ran.
    HostPanicked(String),
}

impl PluginHost {
    /// Loads every plugin in `dir`; a plugin that fails to load is reported
    /// in the returned list of errors and skipped.
    pub fn load_dir(dir: &Path) -> hayate::Result<(PluginHost, Vec<String>)> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(STACK_LIMIT);
        let engine = Engine::new(&config)?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.clone();
        let stop = stop_ticker.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                ticker_engine.increment_epoch();
            }
        });
        let mut host = PluginHost {
            engine,
            plugins: Vec::new(),
            stop_ticker,
        };
        let mut errors = Vec::new();
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| hayate::Error::msg(format!("cannot read {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wat" | "wasm")))
            .collect();
        paths.sort();
        for path in paths {
            match host.load(&path) {
                Ok(plugin) => host.plugins.push(plugin),
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        Ok((host, errors))
    }

    fn load(&self, path: &Path) -> hayate::Result<Plugin> {
        let module = Module::from_file(&self.engine, path)?;
        let mut linker = Linker::<StoreLimits>::new(&self.engine);
        linker.func_wrap("host", "bonus", |x: i32| x.wrapping_add(1))?;
        linker.func_wrap("host", "fail", |x: i32| -> hayate::Result<()> {
            Err(hayate::Error::msg(format!("host refused input {x}")))
        })?;
        linker.func_wrap("host", "panic", || -> () {
            panic!("a host function panicked")
        })?;
        let limits = StoreLimitsBuilder::new()
            .memory_size(MEMORY_LIMIT)
            .instances(1)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        store.set_fuel(FUEL_PER_CALL)?;
        store.set_epoch_deadline(EPOCH_TICKS_PER_CALL);
        let instance: Instance = linker.instantiate(&mut store, &module)?;
        let process = instance.get_typed_func::<i32, i32>(&mut store, "process")?;
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        Ok(Plugin {
            name,
            store,
            process,
        })
    }

    /// Calls `process(input)` on every plugin, each with a fresh budget.
    pub fn call_all(&mut self, input: i32) -> Vec<(String, Outcome)> {
        self.plugins
            .iter_mut()
            .map(|p| (p.name.clone(), p.call(input)))
            .collect()
    }
}

impl Plugin {
    /// Calls `process(input)` with a fresh budget of fuel and time.
    pub fn call(&mut self, input: i32) -> Outcome {
        if let Err(e) = self.store.set_fuel(FUEL_PER_CALL) {
            return Outcome::Stopped(e.root_cause().to_string());
        }
        self.store.set_epoch_deadline(EPOCH_TICKS_PER_CALL);
        let (process, store) = (self.process, &mut self.store);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process.call(store, input)));
        match result {
            Ok(Ok(v)) => Outcome::Returned(v),
            Ok(Err(e)) => Outcome::Stopped(e.root_cause().to_string()),
            Err(panic) => Outcome::HostPanicked(
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into()),
            ),
        }
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}
