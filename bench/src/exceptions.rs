//! The cost of exception handling, Hayate and Wasmtime side by side: a
//! throw caught in the throwing function, one frame up and ten frames up,
//! and the cost of calls inside a `try_table` when nothing is thrown
//! (which must be none), as nanoseconds per iteration.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::measure::median;

/// The kernels: each export `run(n) -> i32` loops `n` times.
const MODULE: &str = r#"(module
  (tag $e (param i32))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $throw_at (param $depth i32) (param $v i32)
    (if (i32.eqz (local.get $depth)) (then (throw $e (local.get $v))))
    (call $throw_at (i32.sub (local.get $depth) (i32.const 1)) (local.get $v)))
  (func (export "local") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (throw $e (local.get $n)))
          (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func $caught_at (param $n i32) (param $depth i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (call $throw_at (local.get $depth) (local.get $n)))
          (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "one_frame") (param i32) (result i32)
    (call $caught_at (local.get 0) (i32.const 0)))
  (func (export "ten_frames") (param i32) (result i32)
    (call $caught_at (local.get 0) (i32.const 9)))
  (func (export "calls_in_try") (param $n i32) (result i32)
    (local $sum i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (loop $l
          (local.set $sum (call $leaf (local.get $sum)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $sum))))
  (func (export "calls") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (call $leaf (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
)"#;

/// Kernels and their iteration counts.
const KERNELS: &[(&str, i32)] = &[
    ("local", 2_000_000),
    ("one_frame", 1_000_000),
    ("ten_frames", 500_000),
    ("calls_in_try", 100_000_000),
    ("calls", 100_000_000),
];

/// One kernel's median nanoseconds per iteration.
#[derive(Debug)]
pub struct ExnRow {
    pub kernel: &'static str,
    pub hayate: f64,
    /// NaN without the `peers` feature.
    pub wasmtime: f64,
}

/// Runs every kernel `runs` times per engine.
pub fn exceptions_cost(runs: usize) -> Result<Vec<ExnRow>> {
    let mut rows = Vec::new();
    for &(name, n) in KERNELS {
        let (hayate, h_sum) = hayate_run(name, n, runs)?;
        #[allow(unused_mut)]
        let mut row = ExnRow {
            kernel: name,
            hayate,
            wasmtime: f64::NAN,
        };
        #[cfg(feature = "peers")]
        {
            let (t, w_sum) = wasmtime_run(name, n, runs)?;
            if w_sum != h_sum {
                bail!("{name}: results differ: Hayate {h_sum}, Wasmtime {w_sum}");
            }
            row.wasmtime = t;
        }
        let _ = h_sum;
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("no kernels");
    }
    Ok(rows)
}

fn hayate_run(name: &str, n: i32, runs: usize) -> Result<(f64, i32)> {
    let engine = hayate::Engine::default();
    let module = hayate::Module::new(&engine, MODULE)?;
    let mut store = hayate::Store::new(&engine, ());
    let instance = hayate::Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, name)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let start = Instant::now();
        result = run.call(&mut store, n)?;
        times.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    Ok((median(&times), result))
}

#[cfg(feature = "peers")]
fn wasmtime_run(name: &str, n: i32, runs: usize) -> Result<(f64, i32)> {
    let wt = |e: wasmtime::Error| anyhow::anyhow!("{e}");
    let mut config = wasmtime::Config::new();
    config.wasm_exceptions(true);
    let engine = wasmtime::Engine::new(&config).map_err(wt)?;
    let module = wasmtime::Module::new(&engine, MODULE).map_err(wt)?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, name)
        .map_err(wt)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let start = Instant::now();
        result = run.call(&mut store, n).map_err(wt)?;
        times.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    Ok((median(&times), result))
}

/// The rows as a Markdown table: ns per iteration and the ratio.
pub fn table(rows: &[ExnRow]) -> String {
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
