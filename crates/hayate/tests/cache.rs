//! The compile cache: hits and misses, keys that follow settings, damaged
//! entries, least-recently-used eviction and concurrent writers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hayate::{CacheStats, Config, Engine, Instance, Module, Store};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hayate-cache-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn engine(dir: &Path) -> Engine {
    Engine::new(Config::new().cache_dir(Some(dir.to_path_buf()))).unwrap()
}

fn wat(n: i32) -> String {
    format!(r#"(module (func (export "f") (result i32) i32.const {n}))"#)
}

fn run(engine: &Engine, module: &Module) -> i32 {
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    let f = i.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    f.call(&mut store, ()).unwrap()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("v1"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn miss_then_hit_across_engines() {
    let dir = temp_dir("hit");
    let e1 = engine(&dir);
    let m = Module::new(&e1, wat(1)).unwrap();
    assert_eq!(e1.cache_stats(), CacheStats { hits: 0, misses: 1 });
    assert_eq!(run(&e1, &m), 1);
    assert_eq!(entries(&dir).len(), 1);

    let m = Module::new(&e1, wat(1)).unwrap();
    assert_eq!(e1.cache_stats(), CacheStats { hits: 1, misses: 1 });
    assert_eq!(run(&e1, &m), 1);

    // A new engine (as in a new process) finds it too.
    let e2 = engine(&dir);
    let m = Module::new(&e2, wat(1)).unwrap();
    assert_eq!(e2.cache_stats(), CacheStats { hits: 1, misses: 0 });
    assert_eq!(run(&e2, &m), 1);

    // Another module misses.
    let m = Module::new(&e2, wat(2)).unwrap();
    assert_eq!(e2.cache_stats(), CacheStats { hits: 1, misses: 1 });
    assert_eq!(run(&e2, &m), 2);
    assert_eq!(entries(&dir).len(), 2);

    // Other settings are another key.
    let fuel = Engine::new(
        Config::new()
            .cache_dir(Some(dir.clone()))
            .consume_fuel(true),
    )
    .unwrap();
    Module::new(&fuel, wat(1)).unwrap();
    assert_eq!(fuel.cache_stats(), CacheStats { hits: 0, misses: 1 });
    assert_eq!(entries(&dir).len(), 3);

    // Without a cache nothing is counted.
    assert_eq!(Engine::default().cache_stats(), CacheStats::default());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_modules_are_not_cached() {
    let dir = temp_dir("invalid");
    let e = engine(&dir);
    assert!(Module::new(&e, b"\0asm\x01\0\0\0\x01").is_err());
    assert!(entries(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_entries_are_recompiled_and_replaced() {
    let dir = temp_dir("damaged");
    let e = engine(&dir);
    Module::new(&e, wat(3)).unwrap();
    let [entry] = entries(&dir).try_into().unwrap();
    let good = std::fs::read(&entry).unwrap();

    std::fs::write(&entry, &good[..good.len() / 2]).unwrap();
    let m = Module::new(&e, wat(3)).unwrap();
    assert_eq!(run(&e, &m), 3);
    assert_eq!(e.cache_stats(), CacheStats { hits: 0, misses: 2 });
    assert_eq!(std::fs::read(&entry).unwrap(), good, "rewritten whole");

    let mut flipped = good.clone();
    flipped[100] ^= 1;
    std::fs::write(&entry, &flipped).unwrap();
    let m = Module::new(&e, wat(3)).unwrap();
    assert_eq!(run(&e, &m), 3);
    assert_eq!(e.cache_stats(), CacheStats { hits: 0, misses: 3 });

    Module::new(&e, wat(3)).unwrap();
    assert_eq!(e.cache_stats(), CacheStats { hits: 1, misses: 3 });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn least_recently_used_entries_are_evicted() {
    let dir = temp_dir("lru");
    let size = {
        let e = engine(&dir);
        Module::new(&e, wat(0)).unwrap();
        let [entry] = entries(&dir).try_into().unwrap();
        let size = std::fs::metadata(&entry).unwrap().len();
        std::fs::remove_file(entry).unwrap();
        size
    };
    // Room for two entries and three quarters.
    let e = Engine::new(
        Config::new()
            .cache_dir(Some(dir.clone()))
            .cache_max_size(size * 11 / 4),
    )
    .unwrap();
    let pause = || std::thread::sleep(Duration::from_millis(20));
    Module::new(&e, wat(10)).unwrap(); // A
    pause();
    Module::new(&e, wat(11)).unwrap(); // B
    pause();
    Module::new(&e, wat(10)).unwrap(); // A again: now the most recent
    assert_eq!(e.cache_stats(), CacheStats { hits: 1, misses: 2 });
    pause();
    Module::new(&e, wat(12)).unwrap(); // C: evicts B, the least recently used
    assert_eq!(entries(&dir).len(), 2);
    Module::new(&e, wat(10)).unwrap();
    Module::new(&e, wat(12)).unwrap();
    assert_eq!(e.cache_stats(), CacheStats { hits: 3, misses: 3 });
    Module::new(&e, wat(11)).unwrap();
    assert_eq!(e.cache_stats(), CacheStats { hits: 3, misses: 4 });

    // A bound smaller than one entry keeps just the newest.
    let tiny = Engine::new(Config::new().cache_dir(Some(dir.clone())).cache_max_size(1)).unwrap();
    Module::new(&tiny, wat(13)).unwrap();
    assert_eq!(entries(&dir).len(), 1);
    Module::new(&tiny, wat(13)).unwrap();
    assert_eq!(tiny.cache_stats(), CacheStats { hits: 1, misses: 1 });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_writers_leave_one_whole_entry() {
    let dir = temp_dir("concurrent");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let e = engine(&dir);
                for _ in 0..3 {
                    let m = Module::new(&e, wat(42)).unwrap();
                    assert_eq!(run(&e, &m), 42);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = entries(&dir);
    assert_eq!(all.len(), 1, "{all:?}");
    let e = engine(&dir);
    Module::new(&e, wat(42)).unwrap();
    assert_eq!(e.cache_stats(), CacheStats { hits: 1, misses: 0 });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn default_dir_follows_xdg() {
    // Only checks the shape: the environment is the test runner's.
    if let Some(d) = Config::default_cache_dir() {
        assert!(d.is_absolute());
        assert!(d.ends_with("hayate"));
    }
}
