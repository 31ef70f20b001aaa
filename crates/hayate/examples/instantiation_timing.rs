//! A quick in-process timing of instantiation (not a benchmark suite): a
//! module with 1 MiB of data segments and a 10,000-entry funcref table,
//! instantiated in a fresh store and dropped, on demand (copying data or
//! with copy-on-write images) and with the pooling allocator.
//!
//! `cargo run --release -p hayate --example instantiation_timing`

use std::time::{Duration, Instant};

use hayate::{Config, Engine, Instance, InstanceAllocationStrategy, Module, PoolingConfig, Store};

fn module_wat() -> String {
    let mut wat = String::from("(module (memory (export \"m\") 32) (table 10000 funcref)\n");
    for f in 0..10 {
        wat.push_str(&format!("(func $f{f} (result i32) i32.const {f})\n"));
    }
    // 16 segments of 64 KiB: 1 MiB of data.
    for s in 0..16 {
        let byte = format!("\\{:02x}", s + 1);
        wat.push_str(&format!(
            "(data (i32.const {}) \"{}\")\n",
            s * 65536,
            byte.repeat(65536)
        ));
    }
    wat.push_str("(elem (i32.const 0)");
    for i in 0..10_000 {
        wat.push_str(&format!(" $f{}", i % 10));
    }
    wat.push_str(")\n");
    wat.push_str(
        "(func (export \"call\") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))",
    );
    wat
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(name: &str, config: &Config, wasm: &[u8]) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, wasm).unwrap();
    // Check it works, and warm up.
    for _ in 0..50 {
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let f = i.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        assert_eq!(f.call(&mut store, 9_999).unwrap(), 9);
        assert_eq!(
            i.get_memory(&mut store, "m").unwrap().data(&store)[65536 * 15],
            16
        );
    }
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut inst = Vec::new();
        let mut total = Vec::new();
        for _ in 0..400 {
            let t0 = Instant::now();
            let mut store = Store::new(&engine, ());
            let t1 = Instant::now();
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let t2 = Instant::now();
            std::hint::black_box(i);
            drop(store);
            let t3 = Instant::now();
            inst.push(t2 - t1);
            total.push(t3 - t0);
        }
        runs.push((median(inst), median(total)));
    }
    runs.sort();
    let (inst, total) = runs[runs.len() / 2];
    println!(
        "{name:<34} instantiate {:>9.1} µs   store+instantiate+drop {:>9.1} µs",
        inst.as_secs_f64() * 1e6,
        total.as_secs_f64() * 1e6
    );
}

fn main() {
    let wasm = wat::parse_str(module_wat()).unwrap();
    let mut copy = Config::new();
    copy.memory_init_cow(false);
    measure("on-demand, data copied", &copy, &wasm);
    measure("on-demand, copy-on-write image", &Config::new(), &wasm);
    let mut pooling = Config::new();
    pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
        max_instances: 100,
        max_memories: 100,
        max_tables: 100,
        ..PoolingConfig::default()
    }));
    measure("pooling, copy-on-write image", &pooling, &wasm);
    let mut pooling_copy = pooling.clone();
    pooling_copy.memory_init_cow(false);
    measure("pooling, data copied", &pooling_copy, &wasm);
}
