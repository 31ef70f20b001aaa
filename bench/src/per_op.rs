//! Kernels timed per operation, Hayate and Wasmtime side by side in one
//! process: each kernel is an export `name(n: i32) -> i32` of one module
//! that loops `n` times; the result is the median nanoseconds per
//! iteration over the runs, and both engines must return the same value.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::measure::median;

/// What the kernels need enabled in Wasmtime (read only with `peers`).
#[cfg_attr(not(feature = "peers"), allow(dead_code))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Proposals {
    pub exceptions: bool,
    pub gc: bool,
}

/// One kernel's median nanoseconds per iteration.
#[derive(Debug)]
pub struct Row {
    pub kernel: &'static str,
    pub hayate: f64,
    /// NaN without the `peers` feature.
    pub wasmtime: f64,
}

/// Runs each of `kernels` (export name, iterations) of `module` `runs`
/// times per engine; with `fresh_store`, each run in a store of its own.
pub fn run(
    module: &str,
    kernels: &[(&'static str, i32)],
    runs: usize,
    fresh_store: bool,
    proposals: Proposals,
) -> Result<Vec<Row>> {
    #[cfg(not(feature = "peers"))]
    let _ = proposals;
    if kernels.is_empty() {
        bail!("no kernels");
    }
    let mut rows = Vec::new();
    for &(name, n) in kernels {
        let (hayate, h_result) = hayate_run(module, name, n, runs, fresh_store)?;
        #[allow(unused_mut)]
        let mut row = Row {
            kernel: name,
            hayate,
            wasmtime: f64::NAN,
        };
        #[cfg(feature = "peers")]
        {
            let (t, w_result) = wasmtime_run(module, name, n, runs, fresh_store, proposals)?;
            if w_result != h_result {
                bail!("{name}: results differ: Hayate {h_result}, Wasmtime {w_result}");
            }
            row.wasmtime = t;
        }
        let _ = h_result;
        rows.push(row);
    }
    Ok(rows)
}

fn hayate_run(module: &str, name: &str, n: i32, runs: usize, fresh: bool) -> Result<(f64, i32)> {
    let engine = hayate::Engine::default();
    let module = hayate::Module::new(&engine, module)?;
    let mut store = hayate::Store::new(&engine, ());
    let mut instance = hayate::Instance::new(&mut store, &module, &[])?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        if fresh {
            store = hayate::Store::new(&engine, ());
            instance = hayate::Instance::new(&mut store, &module, &[])?;
        }
        let run = instance.get_typed_func::<i32, i32>(&mut store, name)?;
        let start = Instant::now();
        result = run.call(&mut store, n)?;
        times.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    Ok((median(&times), result))
}

#[cfg(feature = "peers")]
fn wasmtime_run(
    module: &str,
    name: &str,
    n: i32,
    runs: usize,
    fresh: bool,
    proposals: Proposals,
) -> Result<(f64, i32)> {
    let wt = |e: wasmtime::Error| anyhow::anyhow!("{e}");
    let mut config = wasmtime::Config::new();
    config.wasm_exceptions(proposals.exceptions);
    if proposals.gc {
        config.wasm_gc(true).wasm_function_references(true);
    }
    let engine = wasmtime::Engine::new(&config).map_err(wt)?;
    let module = wasmtime::Module::new(&engine, module).map_err(wt)?;
    let mut store = wasmtime::Store::new(&engine, ());
    let mut instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        if fresh {
            store = wasmtime::Store::new(&engine, ());
            instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
        }
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .map_err(wt)?;
        let start = Instant::now();
        result = run.call(&mut store, n).map_err(wt)?;
        times.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    Ok((median(&times), result))
}

/// The rows as a Markdown table: nanoseconds per iteration and the ratio.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| kernel | Hayate (ns) | Wasmtime 49 (ns) | Hayate / Wasmtime |\n|---|--:|--:|--:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.2}× |\n",
            r.kernel,
            r.hayate,
            r.wasmtime,
            r.hayate / r.wasmtime
        ));
    }
    out
}
