//! Fuel, epoch deadlines, resource limits and stack limits.

use std::time::Duration;

use hayate::{
    Config, Engine, Instance, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline,
};

const LOOP: &str = r#"(module
    (func (export "spin") (loop $l (br $l)))
    (func (export "count") (param i32) (result i32) (local i32)
      (loop $l
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
      (local.get 1)))"#;

fn engine(f: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    f(&mut config);
    Engine::new(&config).unwrap()
}

#[test]
fn fuel_is_exact_and_deterministic() {
    let engine = engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(&engine, LOOP).unwrap();
    let mut left = Vec::new();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let count = i.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
        assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
        left.push(store.get_fuel().unwrap());
    }
    assert!(left[0] < 1_000_000 - 1000, "fuel was charged: {left:?}");
    assert!(
        left.iter().all(|l| *l == left[0]),
        "deterministic: {left:?}"
    );
    // More iterations cost more fuel, linearly.
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000).unwrap();
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let count = i.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
    count.call(&mut store, 2000).unwrap();
    let used_2000 = 1_000_000 - store.get_fuel().unwrap();
    let used_1000 = 1_000_000 - left[0];
    assert!(
        used_2000 > used_1000 && used_2000 < 2 * used_1000 + 50,
        "{used_1000} {used_2000}"
    );
}

#[test]
fn running_out_of_fuel_traps_and_store_recovers() {
    let engine = engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(&engine, LOOP).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000).unwrap();
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = i.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::OutOfFuel),
        "{err}"
    );
    assert_eq!(store.get_fuel().unwrap(), 0);
    store.set_fuel(100_000).unwrap();
    let count = i.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
    assert_eq!(count.call(&mut store, 10).unwrap(), 10);
}

#[test]
fn fuel_requires_config() {
    let mut store = Store::new(&Engine::default(), ());
    assert!(store.set_fuel(1).is_err());
    assert!(store.get_fuel().is_err());
}

#[test]
fn epoch_deadline_interrupts_a_loop_from_another_thread() {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(&engine, LOOP).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = i.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let ticker = engine.clone();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        ticker.increment_epoch();
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::Interrupt),
        "{err}"
    );
    handle.join().unwrap();
}

#[test]
fn epoch_callback_can_extend_then_stop() {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(&engine, LOOP).unwrap();
    let mut store = Store::new(&engine, 0u32);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(|mut ctx| {
        *ctx.data_mut() += 1;
        if *ctx.data() < 3 {
            Ok(UpdateDeadline::Continue(0))
        } else {
            Err(hayate::Error::msg("budget exhausted"))
        }
    });
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = i.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let err = spin.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("budget exhausted"), "{err:#}");
    assert_eq!(*store.data(), 3);
}

const GROW: &str = r#"(module (memory (export "m") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

#[test]
fn limiter_refuses_memory_growth() {
    let engine = Engine::default();
    let module = Module::new(&engine, GROW).unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(3 << 16).build(),
    );
    store.limiter(|l: &mut StoreLimits| l);
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    let m = i.get_memory(&mut store, "m").unwrap();
    assert!(m.grow(&mut store, 1).is_err());
    assert_eq!(m.size(&store), 3);
}

#[test]
fn limiter_refuses_large_initial_memory_and_too_many_instances() {
    let engine = Engine::default();
    let big = Module::new(&engine, r#"(module (memory 100))"#).unwrap();
    let small = Module::new(&engine, r#"(module)"#).unwrap();
    let limits = StoreLimitsBuilder::new()
        .memory_size(1 << 20)
        .instances(2)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let err = Instance::new(&mut store, &big, &[]).unwrap_err();
    assert!(err.to_string().contains("resource limit exceeded"), "{err}");
    Instance::new(&mut store, &small, &[]).unwrap();
    Instance::new(&mut store, &small, &[]).unwrap();
    let err = Instance::new(&mut store, &small, &[]).unwrap_err();
    assert!(err.to_string().contains("instance count"), "{err}");
}

#[test]
fn max_wasm_stack_is_honoured() {
    let wat = r#"(module (func $r (export "r") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let depth_ok = |stack: usize, depth: i32| {
        let engine = engine(|c| {
            c.max_wasm_stack(stack);
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let r = i.get_typed_func::<i32, i32>(&mut store, "r").unwrap();
        match r.call(&mut store, depth) {
            Ok(v) => {
                assert_eq!(v, depth);
                true
            }
            Err(e) => {
                assert_eq!(
                    e.downcast_ref::<Trap>().copied(),
                    Some(Trap::StackOverflow),
                    "{e}"
                );
                false
            }
        }
    };
    assert!(depth_ok(512 << 10, 1000));
    assert!(!depth_ok(64 << 10, 100_000));
    assert!(!depth_ok(512 << 10, 10_000_000));
}

#[test]
fn small_host_thread_stacks_trap_instead_of_aborting() {
    // An embedder calling from a thread with a small stack (musl's default
    // C threads have 128 KiB): the Wasm stack limit shrinks to what the
    // thread has, down to trapping at the first call, with or without a
    // host function in the recursion, in every allocation configuration.
    let wat = r#"(module
        (import "host" "call_back" (func $cb (param i32)))
        (func $r (export "r") (call $r))
        (func $via_host (export "via_host") (param i32)
          (call $cb (i32.add (local.get 0) (i32.const 1)))))"#;
    for (pooling, explicit_bounds) in [(false, false), (true, false), (false, true)] {
        let engine = engine(|c| {
            if pooling {
                c.allocation_strategy(hayate::InstanceAllocationStrategy::Pooling(
                    hayate::PoolingConfig {
                        max_instances: 8,
                        ..hayate::PoolingConfig::default()
                    },
                ));
            }
            if explicit_bounds {
                c.bounds_checks(hayate::BoundsChecks::Explicit);
            }
        });
        let module = Module::new(&engine, wat).unwrap();
        for kib in [48, 64, 100, 136, 200] {
            let (engine, module) = (engine.clone(), module.clone());
            let result = std::thread::Builder::new()
                .stack_size(kib << 10)
                .spawn(move || {
                    let mut store = Store::new(&engine, ());
                    let mut linker = hayate::Linker::new(&engine);
                    linker
                        .func_wrap(
                            "host",
                            "call_back",
                            |mut caller: hayate::Caller<'_, ()>,
                             depth: i32|
                             -> hayate::Result<()> {
                                let f = caller
                                    .get_export("via_host")
                                    .and_then(|e| e.into_func())
                                    .unwrap();
                                f.typed::<i32, ()>(&caller)?.call(&mut caller, depth)
                            },
                        )
                        .unwrap();
                    let i = linker.instantiate(&mut store, &module).unwrap();
                    let r = i.get_typed_func::<(), ()>(&mut store, "r").unwrap();
                    let direct = r
                        .call(&mut store, ())
                        .unwrap_err()
                        .downcast_ref::<Trap>()
                        .copied();
                    let via = i.get_typed_func::<i32, ()>(&mut store, "via_host").unwrap();
                    let e = via.call(&mut store, 0).unwrap_err();
                    (direct, e.downcast_ref::<Trap>().copied(), e.to_string())
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(result.0, Some(Trap::StackOverflow), "{kib} KiB");
            assert_eq!(
                result.1,
                Some(Trap::StackOverflow),
                "{kib} KiB: {}",
                result.2
            );
        }
    }
}
