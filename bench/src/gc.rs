//! The cost of GC allocation, Hayate and Wasmtime side by side: small
//! structures allocated and dropped, a list kept alive while it grows,
//! and arrays allocated and filled, as nanoseconds per object.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::measure::median;

const MODULE: &str = r#"(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $ints (array (mut i32)))
  ;; `n` two-field structures, none kept.
  (func (export "garbage") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (struct.get $node $v (struct.new $node (local.get $n) (ref.null $node)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; A list of `n` nodes, all kept until the end, then summed.
  (func (export "list") (param $n i32) (result i32)
    (local $head (ref null $node)) (local $sum i32)
    (loop $l
      (local.set $head (struct.new $node (local.get $n) (local.get $head)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (block $done
      (loop $s
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $s)))
    (local.get $sum))
  ;; `n` arrays of 16 i32s, each filled by array.new.
  (func (export "arrays") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (array.len (array.new $ints (local.get $n) (i32.const 16)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
)"#;

const KERNELS: &[(&str, i32)] = &[
    ("garbage", 10_000_000),
    ("list", 1_000_000),
    ("arrays", 5_000_000),
];

/// One kernel's median nanoseconds per object.
#[derive(Debug)]
pub struct GcRow {
    pub kernel: &'static str,
    pub hayate: f64,
    /// NaN without the `peers` feature.
    pub wasmtime: f64,
}

/// Runs every kernel `runs` times per engine, each in a fresh store.
pub fn gc_cost(runs: usize) -> Result<Vec<GcRow>> {
    let mut rows = Vec::new();
    for &(name, n) in KERNELS {
        let (hayate, h_sum) = hayate_run(name, n, runs)?;
        #[allow(unused_mut)]
        let mut row = GcRow {
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
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = hayate::Store::new(&engine, ());
        let instance = hayate::Instance::new(&mut store, &module, &[])?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, name)?;
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
    config.wasm_gc(true).wasm_function_references(true);
    let engine = wasmtime::Engine::new(&config).map_err(wt)?;
    let module = wasmtime::Module::new(&engine, MODULE).map_err(wt)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .map_err(wt)?;
        let start = Instant::now();
        result = run.call(&mut store, n).map_err(wt)?;
        times.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    Ok((median(&times), result))
}

/// The rows as a Markdown table: ns per object and the ratio.
pub fn table(rows: &[GcRow]) -> String {
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
