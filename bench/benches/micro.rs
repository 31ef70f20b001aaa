//! In-process microbenchmarks: Hayate against the `wasmtime` crate, each
//! with its default configuration, on the same modules.
//!
//! `cargo bench -p hayate-bench --features peers --ignore-rust-version
//! --bench micro`; `hayate-bench report` copies the medians into
//! BENCHMARKS.md. Groups are listed in `src/micro_names.rs`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../src/micro_names.rs"]
#[allow(dead_code)]
mod micro_names;

/// 1 MiB of data in 16 active segments, a 10,000-entry funcref table filled
/// by an element segment over 100 functions, and the exports the other
/// benchmarks call.
fn big_module() -> String {
    let mut wat = String::from("(module\n");
    wat.push_str("  (import \"host\" \"f\" (func $host))\n");
    wat.push_str("  (memory (export \"memory\") 32)\n");
    for seg in 0..16u32 {
        let chunk: String = (0..65536u32)
            .map(|i| char::from(b'a' + ((i * 7 + seg) % 26) as u8))
            .collect();
        wat.push_str(&format!(
            "  (data (i32.const {}) \"{chunk}\")\n",
            seg * 65536
        ));
    }
    for n in 0..100 {
        wat.push_str(&format!("  (func $f{n} (result i32) i32.const {n})\n"));
    }
    wat.push_str("  (table 10000 funcref)\n  (elem (i32.const 0) func");
    for i in 0..10000 {
        wat.push_str(&format!(" $f{}", i % 100));
    }
    wat.push_str(")\n");
    wat.push_str("  (func (export \"empty\"))\n");
    wat.push_str(
        "  (func (export \"call_host\") (param $n i32)
    (loop $l
      call $host
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))\n",
    );
    wat.push(')');
    wat
}

const GROW_WAT: &str = r#"(module
  (memory 1)
  (func (export "grow") (param $n i32) (result i32)
    (local $r i32)
    (loop $l
      (local.set $r (memory.grow (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $r))"#;

/// Grows per fresh instance, well below the 65,536-page limit.
const GROWS_PER_INSTANCE: u64 = 8192;

fn hayate(c: &mut Criterion) {
    use hayate::{Engine, Linker, Module, Store};
    let engine = Engine::default();
    let big = Module::new(&engine, big_module()).unwrap();
    let grow = Module::new(&engine, GROW_WAT).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("host", "f", || {}).unwrap();

    c.benchmark_group("instantiate")
        .bench_function("hayate", |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, ());
                black_box(linker.instantiate(&mut store, &big).unwrap());
            })
        });
    {
        use hayate::{Config, InstanceAllocationStrategy, PoolingConfig};
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig::default()));
        let engine = Engine::new(&config).unwrap();
        let big = Module::new(&engine, big_module()).unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker.func_wrap("host", "f", || {}).unwrap();
        c.benchmark_group("instantiate_pooling")
            .bench_function("hayate", |b| {
                b.iter(|| {
                    let mut store = Store::new(&engine, ());
                    black_box(linker.instantiate(&mut store, &big).unwrap());
                })
            });
    }
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &big).unwrap();
    let empty = instance
        .get_typed_func::<(), ()>(&mut store, "empty")
        .unwrap();
    c.benchmark_group("call_empty")
        .bench_function("hayate", |b| b.iter(|| empty.call(&mut store, ()).unwrap()));
    let call_host = instance
        .get_typed_func::<i32, ()>(&mut store, "call_host")
        .unwrap();
    c.benchmark_group("host_call")
        .bench_function("hayate", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let n = left.min(1 << 30);
                    call_host.call(&mut store, n as i32).unwrap();
                    left -= n;
                }
                start.elapsed()
            })
        });
    c.benchmark_group("memory_grow")
        .bench_function("hayate", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(GROWS_PER_INSTANCE);
                    let mut store = Store::new(&engine, ());
                    let instance = Linker::new(&engine).instantiate(&mut store, &grow).unwrap();
                    let f = instance
                        .get_typed_func::<i32, i32>(&mut store, "grow")
                        .unwrap();
                    let start = Instant::now();
                    let r = f.call(&mut store, n as i32).unwrap();
                    total += start.elapsed();
                    assert_eq!(r as u64, n, "memory.grow failed");
                    left -= n;
                }
                total
            })
        });
}

fn wasmtime(c: &mut Criterion) {
    use wasmtime::{Engine, Linker, Module, Store};
    let engine = Engine::default();
    let big = Module::new(&engine, big_module()).unwrap();
    let grow = Module::new(&engine, GROW_WAT).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("host", "f", || {}).unwrap();

    c.benchmark_group("instantiate")
        .bench_function("wasmtime", |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, ());
                black_box(linker.instantiate(&mut store, &big).unwrap());
            })
        });
    {
        use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(
            PoolingAllocationConfig::default(),
        ));
        let engine = Engine::new(&config).unwrap();
        let big = Module::new(&engine, big_module()).unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker.func_wrap("host", "f", || {}).unwrap();
        c.benchmark_group("instantiate_pooling")
            .bench_function("wasmtime", |b| {
                b.iter(|| {
                    let mut store = Store::new(&engine, ());
                    black_box(linker.instantiate(&mut store, &big).unwrap());
                })
            });
    }
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &big).unwrap();
    let empty = instance
        .get_typed_func::<(), ()>(&mut store, "empty")
        .unwrap();
    c.benchmark_group("call_empty")
        .bench_function("wasmtime", |b| {
            b.iter(|| empty.call(&mut store, ()).unwrap())
        });
    let call_host = instance
        .get_typed_func::<i32, ()>(&mut store, "call_host")
        .unwrap();
    c.benchmark_group("host_call")
        .bench_function("wasmtime", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let n = left.min(1 << 30);
                    call_host.call(&mut store, n as i32).unwrap();
                    left -= n;
                }
                start.elapsed()
            })
        });
    c.benchmark_group("memory_grow")
        .bench_function("wasmtime", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(GROWS_PER_INSTANCE);
                    let mut store = Store::new(&engine, ());
                    let instance = Linker::new(&engine).instantiate(&mut store, &grow).unwrap();
                    let f = instance
                        .get_typed_func::<i32, i32>(&mut store, "grow")
                        .unwrap();
                    let start = Instant::now();
                    let r = f.call(&mut store, n as i32).unwrap();
                    total += start.elapsed();
                    assert_eq!(r as u64, n, "memory.grow failed");
                    left -= n;
                }
                total
            })
        });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = hayate, wasmtime }
criterion_main!(benches);
