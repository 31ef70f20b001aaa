//! How the embedding API scales with threads: each workload runs on one
//! thread, then on `threads` at once, every thread with stores of its own
//! on one shared engine and pre-linked module, and the total throughput of
//! the many is given as a multiple of the one's (the ideal is `threads`).
//! With the `peers` feature the same workloads run on the `wasmtime` crate
//! side by side.
//!
//! `cargo run --release -p hayate-bench -- scaling [--threads 2] [--seconds 1] [--rounds 3] [--only TEXT]`
//! (`--only` runs the workloads whose name contains TEXT; each rate is the
//! median of `--rounds` alternated measurements)

use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::Result;

/// The guest: a memory with a data segment, a table, a global, a host
/// import and the function the workloads call.
const GUEST: &str = r#"(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (memory 1)
  (data (i32.const 16) "hello")
  (table 4 funcref)
  (elem (i32.const 0) $f)
  (global $g (mut i32) (i32.const 0))
  (func $f (export "f") (param i32) (result i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.add (local.get 0) (i32.load8_u (i32.const 16)))))"#;

/// A guest shaped like CPython 3.12's `python.wasm` (11,450 functions,
/// 24,171 data segments holding 7 MB, a table of 11,802 functions, 1,654
/// import bytes): this many functions, segments of this many bytes, and
/// the same host import and handler `f` as [`GUEST`]. It measures the
/// per-request cost of a large module: instantiating it from a pre-linked
/// module with the pooling allocator and calling a trivial handler.
fn large_guest() -> String {
    const FUNCTIONS: usize = 11_000;
    const SEGMENTS: usize = 24_000;
    const SEGMENT_BYTES: usize = 300;
    let pages = (16 + SEGMENTS * SEGMENT_BYTES).div_ceil(65536);
    let mut wat = format!(
        "(module\n(import \"host\" \"twice\" (func $twice (param i32) (result i32)))\n\
         (memory {pages})\n(table {FUNCTIONS} funcref)\n(global $g (mut i32) (i32.const 0))\n"
    );
    let filler = "p".repeat(SEGMENT_BYTES);
    wat += "(data (i32.const 16) \"hello\")\n";
    for i in 1..SEGMENTS {
        wat += &format!(
            "(data (i32.const {}) \"{filler}\")\n",
            16 + i * SEGMENT_BYTES
        );
    }
    for i in 0..FUNCTIONS {
        wat += &format!(
            "(func $f{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))\n"
        );
    }
    wat += "(elem (i32.const 0) func";
    for i in 0..FUNCTIONS {
        wat += &format!(" $f{i}");
    }
    wat += ")\n";
    wat += r#"(func (export "f") (param i32) (result i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.add (local.get 0) (i32.load8_u (i32.const 16)))))"#;
    wat
}

/// Pages of the pooling allocator's memory slots: room for the large guest.
const POOL_PAGES: u64 = 128;

/// The workloads, by name.
pub const WORKLOADS: [&str; 6] = [
    "instantiate + call (on-demand)",
    "instantiate + call (pooling)",
    "instantiate + call, CPython-sized module (pooling)",
    "untyped Func::call",
    "TypedFunc::call",
    "Func::ty",
];

/// One workload's throughput on one thread and on many.
#[derive(Debug)]
pub struct Row {
    pub runtime: &'static str,
    pub workload: &'static str,
    /// Operations per second on one thread.
    pub one: f64,
    /// Total operations per second on `threads` threads.
    pub many: f64,
}

/// Runs `op` (given the thread's state from `setup`) as often as it can
/// in `time` on each of `threads` threads started together; total ops/s.
fn throughput<S>(
    threads: usize,
    time: Duration,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) + Sync,
) -> f64 {
    let barrier = Barrier::new(threads);
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut state = setup();
                    op(&mut state);
                    barrier.wait();
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < time {
                        for _ in 0..64 {
                            op(&mut state);
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / time.as_secs_f64()
}

/// How long each throughput is measured, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// One measurement's length.
    pub time: Duration,
    /// Measurements of each thread count, alternated (one thread, then
    /// many, and again), whose medians are reported: the machine's speed
    /// drifts, and alternating lets both counts see the same drift.
    pub rounds: usize,
}

fn measure<S>(
    runtime: &'static str,
    workload: &'static str,
    threads: usize,
    timing: Timing,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) + Sync,
) -> Row {
    let (mut ones, mut manys) = (Vec::new(), Vec::new());
    for _ in 0..timing.rounds.max(1) {
        ones.push(throughput(1, timing.time, &setup, &op));
        manys.push(throughput(threads, timing.time, &setup, &op));
    }
    Row {
        runtime,
        workload,
        one: crate::measure::median(&ones),
        many: crate::measure::median(&manys),
    }
}

/// The workloads on one runtime, whose embedding API (`$krate`: `hayate`
/// or `wasmtime`) agrees with the other's for everything they use; `$pre`
/// makes a pre-linked guest from its text, with the pooling allocator or
/// not.
macro_rules! workloads {
    ($runtime:literal, $krate:ident, $pre:expr, $threads:expr, $time:expr, $only:expr) => {{
        use $krate::{Store, Val};
        let (pre, threads, time, only) = ($pre, $threads, $time, $only);
        let mut rows = Vec::new();
        let large = large_guest();
        for (pooling, guest, workload) in [
            (false, GUEST, WORKLOADS[0]),
            (true, GUEST, WORKLOADS[1]),
            (true, large.as_str(), WORKLOADS[2]),
        ] {
            if !workload.contains(only) {
                continue;
            }
            let pre = pre(pooling, guest)?;
            let engine = pre.module().engine().clone();
            rows.push(measure(
                $runtime,
                workload,
                threads,
                time,
                || (),
                |()| {
                    let mut store = Store::new(&engine, ());
                    let instance = pre.instantiate(&mut store).unwrap();
                    let f = instance
                        .get_typed_func::<i32, i32>(&mut store, "f")
                        .unwrap();
                    assert_eq!(f.call(&mut store, 1).unwrap(), 'h' as i32 + 1);
                },
            ));
        }
        let pre = pre(false, GUEST)?;
        let engine = pre.module().engine().clone();
        let setup = || {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            let f = instance.get_func(&mut store, "f").unwrap();
            (store, f)
        };
        rows.extend(WORKLOADS[3].contains(only).then(|| {
            measure(
                $runtime,
                WORKLOADS[3],
                threads,
                time,
                setup,
                |(store, f)| {
                    let mut out = [Val::I32(0)];
                    f.call(&mut *store, &[Val::I32(1)], &mut out).unwrap();
                },
            )
        }));
        rows.extend(WORKLOADS[4].contains(only).then(|| {
            measure(
                $runtime,
                WORKLOADS[4],
                threads,
                time,
                || {
                    let (store, f) = setup();
                    let f = f.typed::<i32, i32>(&store).unwrap();
                    (store, f)
                },
                |(store, f)| {
                    f.call(&mut *store, 1).unwrap();
                },
            )
        }));
        rows.extend(WORKLOADS[5].contains(only).then(|| {
            measure(
                $runtime,
                WORKLOADS[5],
                threads,
                time,
                setup,
                |(store, f)| {
                    assert_eq!(f.ty(&*store).params().len(), 1);
                },
            )
        }));
        rows
    }};
}

/// Every workload whose name contains `only` on Hayate (and Wasmtime with
/// `peers`).
pub fn run(threads: usize, time: Timing, only: &str) -> Result<Vec<Row>> {
    let rows = hayate_rows(threads, time, only)?;
    #[cfg(feature = "peers")]
    let rows = {
        let mut rows = rows;
        rows.extend(wasmtime_rows(threads, time, only)?);
        rows
    };
    Ok(rows)
}

fn hayate_rows(threads: usize, time: Timing, only: &str) -> Result<Vec<Row>> {
    use hayate::{Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingConfig};
    let pre = |pooling: bool, guest: &str| -> Result<hayate::InstancePre<()>> {
        let mut config = Config::new();
        if pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
                max_instances: 64,
                max_memories: 64,
                max_tables: 64,
                max_memory_pages: POOL_PAGES,
                max_table_elements: 20_000,
                ..PoolingConfig::default()
            }));
        }
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, guest)?;
        let mut linker = Linker::new(&engine);
        linker.func_wrap("host", "twice", |x: i32| x * 2)?;
        linker.instantiate_pre(&module)
    };
    Ok(workloads!("hayate", hayate, pre, threads, time, only))
}

#[cfg(feature = "peers")]
fn wasmtime_rows(threads: usize, time: Timing, only: &str) -> Result<Vec<Row>> {
    use wasmtime::{
        Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig,
    };
    let wt = |e: wasmtime::Error| anyhow::anyhow!("wasmtime: {e:?}");
    let pre = |pooling: bool, guest: &str| -> Result<wasmtime::InstancePre<()>> {
        let mut config = Config::new();
        if pooling {
            let mut p = PoolingAllocationConfig::default();
            p.total_core_instances(64)
                .total_memories(64)
                .total_tables(64)
                .max_memory_size((POOL_PAGES as usize) << 16)
                .table_elements(20_000);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
        }
        let engine = Engine::new(&config).map_err(wt)?;
        let module = Module::new(&engine, guest).map_err(wt)?;
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("host", "twice", |x: i32| x * 2)
            .map_err(wt)?;
        linker.instantiate_pre(&module).map_err(wt)
    };
    Ok(workloads!("wasmtime", wasmtime, pre, threads, time, only))
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row], threads: usize) -> String {
    let mut out = format!(
        "| runtime | workload | 1 thread (ops/s) | {threads} threads (ops/s) | scaling |\n\
         |---|---|--:|--:|--:|\n"
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {:.0} | {:.0} | {:.2}× |\n",
            r.runtime,
            r.workload,
            r.one,
            r.many,
            r.many / r.one
        );
    }
    out
}
