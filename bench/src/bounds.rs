//! The cost of bounds checks on 64-bit memories (memory64). A 32-bit
//! memory needs no check in compiled code: its reservation covers every
//! address an access can form, and guard pages fault. A 64-bit address
//! cannot be covered that way, so each access is checked. The same
//! kernels run on a 32-bit memory and on a 64-bit one, on Hayate and (with
//! the `peers` feature) Wasmtime, and each engine's 64-bit time is given
//! as a multiple of its 32-bit time.
//!
//! `cargo run --release -p hayate-bench --features peers -- bounds-cost [--runs 5]`

use anyhow::{Result, bail};
use std::time::Instant;

use crate::measure::median;

/// The kernels: name and module text, where `ADDR` is the memory's index
/// type (`i32` or `i64`) and `MEM` its declaration prefix (`` or `i64`).
/// Each has `run(reps) -> i64`, a checksum, after `init` filled memory.
const KERNELS: &[(&str, &str)] = &[
    (
        // Sequential 32-bit loads over 16 MiB.
        "sum",
        r#"(func (export "run") (param $reps i32) (result i64)
             (local $i ADDR) (local $sum i64) (local $r i32)
             (loop $rep
               (local.set $i (ADDR.const 0))
               (loop $l
                 (local.set $sum (i64.add (local.get $sum) (i64.load32_u (local.get $i))))
                 (local.set $i (ADDR.add (local.get $i) (ADDR.const 4)))
                 (br_if $l (ADDR.lt_u (local.get $i) (ADDR.const 16777216))))
               (local.set $r (i32.add (local.get $r) (i32.const 1)))
               (br_if $rep (i32.lt_u (local.get $r) (local.get $reps))))
             (local.get $sum))"#,
    ),
    (
        // A copy of 8 MiB in 64-bit words, with a constant offset.
        "copy",
        r#"(func (export "run") (param $reps i32) (result i64)
             (local $i ADDR) (local $r i32)
             (loop $rep
               (local.set $i (ADDR.const 0))
               (loop $l
                 (i64.store offset=8388608 (local.get $i)
                   (i64.add (i64.load (local.get $i)) (i64.extend_i32_u (local.get $r))))
                 (local.set $i (ADDR.add (local.get $i) (ADDR.const 8)))
                 (br_if $l (ADDR.lt_u (local.get $i) (ADDR.const 8388608))))
               (local.set $r (i32.add (local.get $r) (i32.const 1)))
               (br_if $rep (i32.lt_u (local.get $r) (local.get $reps))))
             (i64.load offset=8388608 (ADDR.const 4096)))"#,
    ),
    (
        // Pseudo-random 32-bit loads in 16 MiB (a linear congruential
        // sequence of indices).
        "gather",
        r#"(func (export "run") (param $reps i32) (result i64)
             (local $x i32) (local $n i32) (local $sum i64)
             (local.set $n (i32.mul (local.get $reps) (i32.const 4194304)))
             (loop $l
               (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245))
                                      (i32.const 12345)))
               (local.set $sum (i64.add (local.get $sum)
                 (i64.load32_u (ADDR_FROM_I32 (i32.and (local.get $x) (i32.const 16777212))))))
               (local.set $n (i32.sub (local.get $n) (i32.const 1)))
               (br_if $l (local.get $n)))
             (local.get $sum))"#,
    ),
    (
        // A histogram of 4 MiB of bytes: a byte load, then a load and a
        // store in a table of counts 12 MiB further on.
        "histogram",
        r#"(func (export "run") (param $reps i32) (result i64)
             (local $i ADDR) (local $slot ADDR) (local $r i32) (local $sum i64)
             (loop $rep
               (local.set $i (ADDR.const 0))
               (loop $l
                 (local.set $slot (ADDR.shl (ADDR_LOAD8 (local.get $i)) (ADDR.const 2)))
                 (i32.store offset=12582912 (local.get $slot)
                   (i32.add (i32.load offset=12582912 (local.get $slot)) (i32.const 1)))
                 (local.set $i (ADDR.add (local.get $i) (ADDR.const 1)))
                 (br_if $l (ADDR.lt_u (local.get $i) (ADDR.const 4194304))))
               (local.set $r (i32.add (local.get $r) (i32.const 1)))
               (br_if $rep (i32.lt_u (local.get $r) (local.get $reps))))
             (local.set $i (ADDR.const 0))
             (loop $s
               (local.set $sum (i64.add (local.get $sum)
                 (i64.mul (i64.load32_u offset=12582912 (local.get $i))
                          (i64.extend_i32_u (i32.wrap_ADDR (local.get $i))))))
               (local.set $i (ADDR.add (local.get $i) (ADDR.const 4)))
               (br_if $s (ADDR.lt_u (local.get $i) (ADDR.const 1024))))
             (local.get $sum))"#,
    ),
];

/// Fills the first 16 MiB with a pattern (the same for both index types).
const INIT: &str = r#"(func (export "init")
     (local $i ADDR)
     (loop $l
       (i32.store (local.get $i) (i32.mul (i32.wrap_ADDR (local.get $i)) (i32.const 2654435761)))
       (local.set $i (ADDR.add (local.get $i) (ADDR.const 4)))
       (br_if $l (ADDR.lt_u (local.get $i) (ADDR.const 16777216)))))"#;

/// Repetitions of each kernel per measurement.
const REPS: i32 = 64;

/// The module text of `kernel` for a memory indexed by `addr`.
fn module(kernel: &str, addr: &str) -> String {
    let (mem, from_i32, load8, wrap) = match addr {
        "i64" => ("i64 ", "i64.extend_i32_u", "i64.load8_u", "i32.wrap_i64"),
        // `i32.add (i32.const 0)` stands for "no conversion".
        _ => (
            "",
            "i32.add (i32.const 0)",
            "i32.load8_u",
            "i32.add (i32.const 0)",
        ),
    };
    let text = format!("(module (memory (export \"m\") {mem}512) {INIT} {kernel})");
    text.replace("ADDR_FROM_I32", from_i32)
        .replace("ADDR_LOAD8", load8)
        .replace("i32.wrap_ADDR", wrap)
        .replace("ADDR", addr)
}

/// One kernel's median seconds on 32- and 64-bit memories, per engine.
#[derive(Debug)]
pub struct BoundsRow {
    pub kernel: &'static str,
    /// Hayate: 32-bit, 64-bit.
    pub hayate: [f64; 2],
    /// Wasmtime: 32-bit, 64-bit (NaN without the `peers` feature).
    pub wasmtime: [f64; 2],
}

/// Runs every kernel `runs` times per engine and index type.
pub fn bounds_cost(runs: usize) -> Result<Vec<BoundsRow>> {
    let mut rows = Vec::new();
    for &(name, kernel) in KERNELS {
        let mut row = BoundsRow {
            kernel: name,
            hayate: [f64::NAN; 2],
            wasmtime: [f64::NAN; 2],
        };
        let mut sums = Vec::new();
        for (i, addr) in ["i32", "i64"].into_iter().enumerate() {
            let text = module(kernel, addr);
            let (t, sum) = hayate_run(&text, runs)?;
            row.hayate[i] = t;
            sums.push(sum);
            #[cfg(feature = "peers")]
            {
                let (t, sum) = wasmtime_run(&text, runs)?;
                row.wasmtime[i] = t;
                sums.push(sum);
            }
        }
        if sums.iter().any(|&s| s != sums[0]) {
            bail!("{name}: checksums differ between engines or index types: {sums:x?}");
        }
        rows.push(row);
    }
    Ok(rows)
}

fn hayate_run(text: &str, runs: usize) -> Result<(f64, i64)> {
    let engine = hayate::Engine::default();
    let module = hayate::Module::new(&engine, text)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = hayate::Store::new(&engine, ());
        let instance = hayate::Instance::new(&mut store, &module, &[])?;
        instance
            .get_typed_func::<(), ()>(&mut store, "init")?
            .call(&mut store, ())?;
        let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
        let start = Instant::now();
        result = run.call(&mut store, REPS)?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&times), result))
}

#[cfg(feature = "peers")]
fn wasmtime_run(text: &str, runs: usize) -> Result<(f64, i64)> {
    let wt = |e: wasmtime::Error| anyhow::anyhow!("{e}");
    let mut config = wasmtime::Config::new();
    config.wasm_memory64(true);
    let engine = wasmtime::Engine::new(&config).map_err(wt)?;
    let module = wasmtime::Module::new(&engine, text).map_err(wt)?;
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..runs {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
        instance
            .get_typed_func::<(), ()>(&mut store, "init")
            .map_err(wt)?
            .call(&mut store, ())
            .map_err(wt)?;
        let run = instance
            .get_typed_func::<i32, i64>(&mut store, "run")
            .map_err(wt)?;
        let start = Instant::now();
        result = run.call(&mut store, REPS).map_err(wt)?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&times), result))
}

/// The rows as a Markdown table: seconds and the 64-bit/32-bit ratio.
pub fn table(rows: &[BoundsRow]) -> String {
    let mut out = String::from(
        "| kernel | Hayate 32-bit (s) | Hayate 64-bit (s) | Hayate 64/32 | Wasmtime 32-bit (s) | Wasmtime 64-bit (s) | Wasmtime 64/32 |\n\
         |---|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.2}× | {:.3} | {:.3} | {:.2}× |\n",
            r.kernel,
            r.hayate[0],
            r.hayate[1],
            r.hayate[1] / r.hayate[0],
            r.wasmtime[0],
            r.wasmtime[1],
            r.wasmtime[1] / r.wasmtime[0],
        ));
    }
    out
}
