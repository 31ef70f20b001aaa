//! In-process measurements through the embedding APIs: the cost of fuel
//! metering and of epoch checks, on Hayate and (with the `peers` feature) on
//! the `wasmtime` crate, each as a ratio to the same kernel without them.

use crate::corpus::Layout;
use crate::measure::median;
use anyhow::{Context, Result, bail};
use std::time::Instant;

/// The kernels (reactor builds) and their sizes: (stem, full, quick).
pub const KERNELS: &[(&str, i32, i32)] = &[
    ("nbody", 1500, 100),
    ("fannkuch", 10, 8),
    ("spectral_norm", 1200, 200),
    ("sieve", 6000, 500),
    ("matmul", 600, 100),
    ("sha256", 48, 2),
    ("base64", 8, 1),
];

/// Which checks a configuration compiles in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    None,
    Fuel,
    Epoch,
}

/// Median seconds of one kernel under each configuration, per engine.
#[derive(Debug)]
pub struct CostRow {
    pub kernel: &'static str,
    /// Hayate: none, fuel, epoch.
    pub hayate: [f64; 3],
    /// Wasmtime: none, fuel, epoch (NaN without the `peers` feature).
    pub wasmtime: [f64; 3],
}

const CONFIGS: [Checks; 3] = [Checks::None, Checks::Fuel, Checks::Epoch];

pub fn interrupt_cost(layout: &Layout, runs: usize, quick: bool) -> Result<Vec<CostRow>> {
    let mut rows = Vec::new();
    for &(stem, full, small) in KERNELS {
        let size = if quick { small } else { full };
        let bytes = std::fs::read(layout.reactor(stem))
            .with_context(|| format!("{stem}.reactor.wasm (run bench/corpus/build.sh)"))?;
        let mut row = CostRow {
            kernel: stem,
            hayate: [f64::NAN; 3],
            wasmtime: [f64::NAN; 3],
        };
        let mut sums = Vec::new();
        for (i, &checks) in CONFIGS.iter().enumerate() {
            let (t, sum) = hayate_kernel(&bytes, checks, size, runs)?;
            row.hayate[i] = t;
            sums.push(sum);
            #[cfg(feature = "peers")]
            {
                let (t, sum) = wasmtime_kernel(&bytes, checks, size, runs)?;
                row.wasmtime[i] = t;
                sums.push(sum);
            }
        }
        if sums.iter().any(|&s| s != sums[0]) {
            bail!("{stem}: checksums differ between engines/configurations: {sums:x?}");
        }
        eprintln!(
            "[interrupt-cost] {stem}: hayate {:?} wasmtime {:?}",
            row.hayate, row.wasmtime
        );
        rows.push(row);
    }
    Ok(rows)
}

/// Median seconds of `bench_run(size)` on Hayate, and its result.
fn hayate_kernel(bytes: &[u8], checks: Checks, size: i32, runs: usize) -> Result<(f64, i64)> {
    let mut config = hayate::Config::new();
    config.consume_fuel(checks == Checks::Fuel);
    config.epoch_interruption(checks == Checks::Epoch);
    let engine = hayate::Engine::new(&config)?;
    let module = hayate::Module::from_binary(&engine, bytes)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = hayate::Store::new(&engine, ());
        match checks {
            Checks::Fuel => store.set_fuel(u64::MAX)?,
            Checks::Epoch => store.set_epoch_deadline(u64::MAX / 2),
            Checks::None => {}
        }
        let instance = hayate::Linker::new(&engine).instantiate(&mut store, &module)?;
        let f = instance.get_typed_func::<i32, i64>(&mut store, "bench_run")?;
        let start = Instant::now();
        result = f.call(&mut store, size)?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&times), result))
}

/// Median seconds of `bench_run(size)` on Wasmtime, and its result.
#[cfg(feature = "peers")]
fn wasmtime_kernel(bytes: &[u8], checks: Checks, size: i32, runs: usize) -> Result<(f64, i64)> {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(checks == Checks::Fuel);
    config.epoch_interruption(checks == Checks::Epoch);
    let engine = wasmtime::Engine::new(&config).map_err(wt)?;
    let module = wasmtime::Module::from_binary(&engine, bytes).map_err(wt)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = wasmtime::Store::new(&engine, ());
        match checks {
            Checks::Fuel => store.set_fuel(u64::MAX).map_err(wt)?,
            Checks::Epoch => store.set_epoch_deadline(u64::MAX / 2),
            Checks::None => {}
        }
        let instance = wasmtime::Linker::new(&engine)
            .instantiate(&mut store, &module)
            .map_err(wt)?;
        let f = instance
            .get_typed_func::<i32, i64>(&mut store, "bench_run")
            .map_err(wt)?;
        let start = Instant::now();
        result = f.call(&mut store, size).map_err(wt)?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&times), result))
}

/// Wasmtime's error as an `anyhow` one.
#[cfg(feature = "peers")]
fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("wasmtime: {e:?}")
}
