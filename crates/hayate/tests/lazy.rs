//! Lazy compilation (`Config::lazy_compilation`): functions are compiled on
//! first call, through every way of calling one, and behave exactly as
//! eagerly compiled ones (results, traps and backtraces, fuel, epochs, the
//! stack limit); validation stays eager. Meanwhile the whole module is
//! compiled in the background, installed and written to the compile cache.
//! The spec suites also run under lazy compilation (`hayate-wast`'s
//! `spec_v2_lazy`, `spec_simd_lazy`).

use hayate::{Config, Engine, Instance, Linker, Module, ProfilingStrategy, Store, Trap, Val};

fn engine(lazy: bool, edit: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.lazy_compilation(lazy);
    edit(&mut config);
    Engine::new(&config).unwrap()
}

const CHAIN: &str = r#"(module $chain
    (table $t 4 funcref)
    (elem (table $t) (i32.const 0) func $double $boom $fact)
    (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $boom (param i32) (result i32) unreachable)
    (func $fact (export "fact") (param i64) (result i64)
      (if (result i64) (i64.eqz (local.get 0))
        (then (i64.const 1))
        (else (i64.mul (local.get 0)
                (call $fact (i64.sub (local.get 0) (i64.const 1)))))))
    (func $via_table (export "via_table") (param i32 i32) (result i32)
      (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
    (func $outer (export "outer") (param i32) (result i32)
      (call $middle (local.get 0)))
    (func $middle (param i32) (result i32)
      (call $via_table (i32.const 1) (local.get 0)))
    (func (export "ref") (result funcref) (ref.func $double))
    (func $never (export "never") (result i32) (i32.const 99)))"#;

#[test]
fn every_way_of_calling_compiles_the_callee() {
    let engine = engine(true, |_| {});
    let module = Module::new(&engine, CHAIN).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    // From the host, then recursion through direct calls.
    let fact = i.get_typed_func::<i64, i64>(&mut store, "fact").unwrap();
    assert_eq!(
        fact.call(&mut store, 20).unwrap(),
        2_432_902_008_176_640_000
    );
    // Through a table, to a function compiled only then.
    let via = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via.call(&mut store, (0, 21)).unwrap(), 42);
    // A reference taken with `ref.func` and called by the host.
    let r = i
        .get_typed_func::<(), Option<hayate::Func>>(&mut store, "ref")
        .unwrap();
    let double = r.call(&mut store, ()).unwrap().unwrap();
    let mut out = [Val::I32(0)];
    double.call(&mut store, &[Val::I32(5)], &mut out).unwrap();
    assert!(matches!(out[0], Val::I32(10)));
    // A second instance reuses the compiled code.
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let via = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via.call(&mut store, (0, 4)).unwrap(), 8);
    // The table's third function is `fact`: (i64) -> i64.
    assert_eq!(
        via.call(&mut store, (2, 4))
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::BadSignature)
    );
    let never = i.get_typed_func::<(), i32>(&mut store, "never").unwrap();
    assert_eq!(never.call(&mut store, ()).unwrap(), 99);
}

#[test]
fn traps_and_backtraces_match_eager_compilation() {
    let run = |lazy: bool| {
        let engine = engine(lazy, |_| {});
        let module = Module::new(&engine, CHAIN).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let outer = i.get_typed_func::<i32, i32>(&mut store, "outer").unwrap();
        let err = outer.call(&mut store, 3).unwrap_err();
        let trap = *err.downcast_ref::<Trap>().unwrap();
        let bt = err.downcast_ref::<hayate::WasmBacktrace>().unwrap();
        let frames: Vec<_> = bt
            .frames
            .iter()
            .map(|f| (f.func_index, f.func_name.clone(), f.module_offset))
            .collect();
        (trap, frames)
    };
    let lazy = run(true);
    assert_eq!(lazy, run(false));
    assert_eq!(lazy.0, Trap::UnreachableCodeReached);
    let names: Vec<_> = lazy.1.iter().map(|f| f.1.as_deref()).collect();
    assert_eq!(names, BOOM_FRAMES);
}

/// The frames of `outer`'s trap in [`CHAIN`], innermost first.
const BOOM_FRAMES: [Option<&str>; 4] = [
    Some("boom"),
    Some("via_table"),
    Some("middle"),
    Some("outer"),
];

#[test]
fn fuel_epochs_and_the_stack_limit_work_in_lazy_code() {
    let spin = r#"(module
        (func $count (export "count") (param i32) (result i32)
          (local i32)
          (block (loop
            (br_if 1 (i32.eqz (local.get 0)))
            (local.set 1 (call $step (local.get 1)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br 0)))
          (local.get 1))
        (func $step (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        (func (export "forever") (loop (br 0)))
        (func $deep (export "deep") (param i32) (result i32)
          (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#;
    // The same fuel is used, to the unit, lazily or not.
    let used = |lazy: bool| {
        let engine = engine(lazy, |c| {
            c.consume_fuel(true);
        });
        let module = Module::new(&engine, spin).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let count = i.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
        assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
        let used = 1_000_000 - store.get_fuel().unwrap();
        let forever = i.get_typed_func::<(), ()>(&mut store, "forever").unwrap();
        let err = forever.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
        used
    };
    assert_eq!(used(true), used(false));

    let engine = engine(true, |c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(&engine, spin).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let forever = i.get_typed_func::<(), ()>(&mut store, "forever").unwrap();
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                std::thread::sleep(std::time::Duration::from_millis(5));
                engine.increment_epoch();
            }
        })
    };
    let err = forever.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
    ticker.join().unwrap();

    // Unbounded recursion through a lazily compiled function: a trap, on
    // a host thread with a small stack too.
    let engine = engine.clone();
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let engine = self::engine(true, |c| {
                c.max_wasm_stack(128 << 10);
            });
            let module = Module::new(&engine, spin).unwrap();
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let deep = i.get_typed_func::<i32, i32>(&mut store, "deep").unwrap();
            let err = deep.call(&mut store, 0).unwrap_err();
            assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
            drop(engine);
        })
        .unwrap()
        .join()
        .unwrap();
    drop(engine);
}

#[test]
fn validation_stays_eager() {
    let engine = engine(true, |_| {});
    // The second function's body is invalid; nothing is ever called.
    let err = Module::new(
        &engine,
        r#"(module (func (export "ok")) (func (result i32) (i64.const 1)))"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");
}

#[test]
fn imported_functions_and_shared_tables_across_instances() {
    let engine = engine(true, |_| {});
    let provider = Module::new(
        &engine,
        r#"(module
            (table (export "t") 2 funcref)
            (elem (i32.const 0) $seven $eight)
            (func $seven (export "seven") (result i32) (i32.const 7))
            (func $eight (result i32) (i32.const 8)))"#,
    )
    .unwrap();
    let user = Module::new(
        &engine,
        r#"(module
            (import "p" "seven" (func $seven (result i32)))
            (import "p" "t" (table 2 funcref))
            (func (export "sum") (result i32)
              (i32.add (call $seven)
                (call_indirect (result i32) (i32.const 1)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let p = linker.instantiate(&mut store, &provider).unwrap();
    linker.instance(&mut store, "p", p).unwrap();
    let u = linker.instantiate(&mut store, &user).unwrap();
    let sum = u.get_typed_func::<(), i32>(&mut store, "sum").unwrap();
    assert_eq!(sum.call(&mut store, ()).unwrap(), 15);
}

#[test]
fn functions_compile_once_across_threads() {
    let engine = engine(true, |_| {});
    let module = Module::new(&engine, CHAIN).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut store = Store::new(&engine, ());
                let i = Instance::new(&mut store, &module, &[]).unwrap();
                let fact = i.get_typed_func::<i64, i64>(&mut store, "fact").unwrap();
                for n in 0..50 {
                    fact.call(&mut store, n % 20).unwrap();
                }
            });
        }
    });
}

#[test]
fn lazy_modules_serialize_whole_and_reload() {
    let engine = engine(true, |_| {});
    let module = Module::new(&engine, CHAIN).unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: just serialized by this engine.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &loaded, &[]).unwrap();
    let via = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via.call(&mut store, (0, 21)).unwrap(), 42);
    // An engine without lazy compilation makes other code: refused.
    let eager = self::engine(false, |_| {});
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize(&eager, &bytes) }.unwrap_err();
    assert!(err.to_string().contains("lazy compilation"), "{err}");
}

#[test]
fn the_perf_map_lists_functions_as_they_are_compiled() {
    let engine = engine(true, |c| {
        // The whole module compiled in the background would list them all.
        c.profiler(ProfilingStrategy::PerfMap)
            .background_compilation(false);
    });
    // A map left by an earlier process with the same id (ids are reused)
    // would list what this one never compiled.
    let map = format!("/tmp/perf-{}.map", std::process::id());
    let _ = std::fs::remove_file(&map);
    let module = Module::new(&engine, CHAIN).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let listed = |name: &str| {
        std::fs::read_to_string(&map)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("chain") && l.contains(name))
    };
    let fact = i.get_typed_func::<i64, i64>(&mut store, "fact").unwrap();
    fact.call(&mut store, 3).unwrap();
    assert!(listed("fact"), "compiled functions are listed");
    assert!(!listed("never"), "functions never called are not compiled");
    let never = i.get_typed_func::<(), i32>(&mut store, "never").unwrap();
    never.call(&mut store, ()).unwrap();
    assert!(listed("never"));
}

/// Waits (polling) until the module's compilation in the background is
/// installed; generous, for a loaded machine.
fn wait_until_fully_compiled(module: &Module) {
    let start = std::time::Instant::now();
    while !module.is_fully_compiled() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the background compilation never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn the_whole_module_compiled_in_the_background_takes_over() {
    let engine = engine(true, |_| {});
    let module = Module::new(&engine, CHAIN).unwrap();
    let mut store = Store::new(&engine, ());
    let first = Instance::new(&mut store, &module, &[]).unwrap();
    // References filled in and functions compiled before the switch.
    let via = first
        .get_typed_func::<(i32, i32), i32>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via.call(&mut store, (0, 21)).unwrap(), 42);
    wait_until_fully_compiled(&module);
    // Old and new code side by side: the first instance's references were
    // filled in before, a second instance's after.
    let mut store2 = Store::new(&engine, ());
    let second = Instance::new(&mut store2, &module, &[]).unwrap();
    for (store, i) in [(&mut store, first), (&mut store2, second)] {
        let fact = i.get_typed_func::<i64, i64>(&mut *store, "fact").unwrap();
        assert_eq!(fact.call(&mut *store, 10).unwrap(), 3_628_800);
        let via = i
            .get_typed_func::<(i32, i32), i32>(&mut *store, "via_table")
            .unwrap();
        assert_eq!(via.call(&mut *store, (0, 4)).unwrap(), 8);
        let never = i.get_typed_func::<(), i32>(&mut *store, "never").unwrap();
        assert_eq!(never.call(&mut *store, ()).unwrap(), 99);
        // Traps and backtraces in the installed code.
        let outer = i.get_typed_func::<i32, i32>(&mut *store, "outer").unwrap();
        let err = outer.call(&mut *store, 3).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        let bt = err.downcast_ref::<hayate::WasmBacktrace>().unwrap();
        let names: Vec<_> = bt.frames.iter().map(|f| f.func_name.as_deref()).collect();
        assert_eq!(names, BOOM_FRAMES);
    }
}

#[test]
fn without_background_compilation_only_called_functions_compile() {
    let engine = engine(true, |c| {
        c.background_compilation(false);
    });
    let module = Module::new(&engine, CHAIN).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let fact = i.get_typed_func::<i64, i64>(&mut store, "fact").unwrap();
    assert_eq!(fact.call(&mut store, 5).unwrap(), 120);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!module.is_fully_compiled());
    // Eagerly compiled modules are whole from the start.
    let eager = Module::new(&self::engine(false, |_| {}), CHAIN).unwrap();
    assert!(eager.is_fully_compiled());
}

#[test]
fn background_compilation_fills_the_compile_cache() {
    let dir = std::env::temp_dir().join(format!("hayate-lazy-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cached_engine = || {
        engine(true, |c| {
            c.cache_dir(Some(dir.clone()));
        })
    };
    let first = cached_engine();
    let module = Module::new(&first, CHAIN).unwrap();
    assert_eq!(first.cache_stats().misses, 1);
    wait_until_fully_compiled(&module);
    // Written before it was installed: the next engine loads it whole.
    let second = cached_engine();
    let loaded = Module::new(&second, CHAIN).unwrap();
    assert_eq!(second.cache_stats().hits, 1);
    assert!(loaded.is_fully_compiled());
    let mut store = Store::new(&second, ());
    let i = Instance::new(&mut store, &loaded, &[]).unwrap();
    let via = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via.call(&mut store, (0, 21)).unwrap(), 42);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn background_compilations_of_one_engine_take_turns_and_all_finish() {
    let engine = engine(true, |_| {});
    let modules: Vec<Module> = (0..4)
        .map(|i| {
            let wat = format!(
                r#"(module (func (export "f") (result i32) i32.const {i})
                           (func (export "g") (result i32) call 0))"#
            );
            Module::new(&engine, wat).unwrap()
        })
        .collect();
    // Dropped at once: its turn comes, and it gives up without harm.
    drop(Module::new(&engine, CHAIN).unwrap());
    for (i, module) in modules.iter().enumerate() {
        wait_until_fully_compiled(module);
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
        assert_eq!(g.call(&mut store, ()).unwrap(), i as i32);
    }
}
