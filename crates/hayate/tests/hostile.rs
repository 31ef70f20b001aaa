//! The CLI's hostile guests that need no WASI (`crates/cli/tests/hostile`),
//! run through the embedding API in every configuration an embedder can
//! pick: on-demand and pooling allocation, guard pages and explicit bounds
//! checks, copy-on-write images on and off, lazy tables on and off. In each
//! the host survives, the guest ends as its header says (or, in the pool,
//! is refused for not fitting its slots), and the process's resident memory
//! grows by no more than [`RSS_GROWTH_BOUND`] while the instance is alive.
//!
//! This file holds one test, so no other test of this binary runs beside it
//! and charges its memory here.

#[path = "../../cli/tests/support/guests.rs"]
mod guests;

use std::path::PathBuf;

use hayate::{
    BoundsChecks, Config, Engine, Instance, InstanceAllocationStrategy, Module, PoolingConfig,
    Store,
};

/// Resident memory a hostile guest may add (the largest legitimate use,
/// `table_grow_huge.wat`'s 80 MB of table it grew, plus slack).
const RSS_GROWTH_BOUND: u64 = 160 << 20;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

fn configs() -> Vec<(&'static str, Config)> {
    let mut out = Vec::new();
    out.push(("default", Config::new()));
    let mut c = Config::new();
    c.bounds_checks(BoundsChecks::Explicit);
    out.push(("explicit bounds", c));
    let mut c = Config::new();
    c.memory_init_cow(false).table_lazy_init(false);
    out.push(("no CoW, eager tables", c));
    let mut c = Config::new();
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
        max_instances: 2,
        max_memories: 8,
        max_tables: 32,
        max_memories_per_instance: 4,
        max_tables_per_instance: 32,
        max_memory_pages: 65536,
        max_table_elements: 10_000_000,
        ..PoolingConfig::default()
    }));
    out.push(("pooling", c));
    out
}

/// `(file, export to call, text the trap must contain or None for success)`
/// for each non-WASI guest with an `--invoke` header.
fn cases() -> Vec<(PathBuf, String, Option<String>)> {
    let mut out = Vec::new();
    for guest in guests::guests(&guests::dir(env!("CARGO_MANIFEST_DIR"))) {
        // Guests that need flags other than `--invoke` (a timeout) or WASI
        // are the CLI's alone.
        let ([flag, export], false) = (guest.flags.as_slice(), guest.uses_wasi()) else {
            continue;
        };
        if flag != "--invoke" {
            continue;
        }
        let trap = match guest.expect {
            guests::Expect::Trap(text) => Some(text),
            guests::Expect::Exit(code) => {
                assert_eq!(code, 0, "{}", guest.name());
                None
            }
        };
        out.push((guest.path, export.clone(), trap));
    }
    out
}

#[test]
fn hostile_guests_are_contained_in_every_configuration() {
    let cases = cases();
    assert!(cases.len() >= 6, "{cases:?}");
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        for (path, export, trap) in &cases {
            let file = path.file_name().unwrap().to_string_lossy();
            let before = resident_bytes();
            let module = Module::from_file(&engine, path).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = match Instance::new(&mut store, &module, &[]) {
                Ok(i) => i,
                Err(e) if name == "pooling" => {
                    // Refused for not fitting the pool's slots: contained.
                    assert!(
                        e.downcast_ref::<hayate::Trap>().copied().is_none(),
                        "{file} ({name}): {e}"
                    );
                    continue;
                }
                Err(e) => panic!("{file} ({name}): {e}"),
            };
            let f = instance
                .get_typed_func::<(), ()>(&mut store, export)
                .unwrap();
            let result = f.call(&mut store, ());
            let grown = resident_bytes().saturating_sub(before);
            match (trap, &result) {
                (None, Ok(())) => {}
                (Some(text), Err(e)) if format!("{e:#}").contains(text.as_str()) => {}
                _ => panic!("{file} ({name}): {result:?}, expected {trap:?}"),
            }
            assert!(
                grown <= RSS_GROWTH_BOUND,
                "{file} ({name}): resident memory grew by {} MiB",
                grown >> 20
            );
            eprintln!("{file} ({name}): +{} MiB", grown >> 20);
        }
    }
}
