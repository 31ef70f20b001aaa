//! Tail calls (`return_call`, `return_call_indirect`): chains of any length
//! run in constant stack, with arguments in registers and on the stack,
//! to defined, imported and host functions, through tables, in every
//! compilation mode; traps, fuel and epochs work in them as in calls.

#[path = "support/modes.rs"]
mod modes;

use hayate::{Config, Engine, Func, Instance, Linker, Module, Store, Trap};

/// Every way code gets compiled (the baseline compiler leaves functions
/// with tail calls to Cranelift).
fn configs() -> Vec<(&'static str, Config)> {
    modes::compilation_modes()
}

/// Runs `f` on a thread with a 256 KiB stack: a chain that used a frame per
/// call would overflow it thousands of times over.
fn on_small_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

const COUNTDOWN: &str = r#"(module
  (type $t (func (param i64 i64) (result i64)))
  (table funcref (elem $direct $indirect))
  ;; Counts n down, adding to acc, with a direct tail call.
  (func $direct (export "direct") (type $t)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call $direct
        (i64.sub (local.get 0) (i64.const 1))
        (i64.add (local.get 1) (local.get 0))))))
  ;; The same through the table.
  (func $indirect (export "indirect") (type $t)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call_indirect (type $t)
        (i64.sub (local.get 0) (i64.const 1))
        (i64.add (local.get 1) (local.get 0))
        (i32.const 1))))))"#;

#[test]
fn a_hundred_million_tail_calls_run_in_constant_stack() {
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, COUNTDOWN).unwrap();
        on_small_stack(|| {
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let direct = i
                .get_typed_func::<(i64, i64), i64>(&mut store, "direct")
                .unwrap();
            let n: i64 = 100_000_000;
            assert_eq!(
                direct.call(&mut store, (n, 0)).unwrap(),
                n * (n + 1) / 2,
                "{mode}"
            );
            let indirect = i
                .get_typed_func::<(i64, i64), i64>(&mut store, "indirect")
                .unwrap();
            let n: i64 = 10_000_000;
            assert_eq!(
                indirect.call(&mut store, (n, 0)).unwrap(),
                n * (n + 1) / 2,
                "{mode}"
            );
        });
    }
}

/// Mutual recursion between functions of different arities, with more
/// arguments than registers (they go on the stack, which the tail call
/// must rearrange), directly and through the table.
const ARITIES: &str = r#"(module
  (type $ten (func (param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type $two (func (param i32 i64) (result i64)))
  (table funcref (elem $ten $two))
  (func $ten (export "ten") (type $ten)
    (if (result i64) (i32.eqz (local.get 0))
      (then (i64.add (local.get 1) (i64.add (local.get 9) (local.get 5))))
      (else (return_call $two
        (i32.sub (local.get 0) (i32.const 1))
        (i64.add (i64.add (local.get 1) (local.get 2))
          (i64.add (i64.add (local.get 3) (local.get 4))
            (i64.add (i64.add (local.get 5) (local.get 6))
              (i64.add (i64.add (local.get 7) (local.get 8)) (local.get 9)))))))))
  (func $two (export "two") (type $two)
    (if (result i64) (i32.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call_indirect (type $ten)
        (i32.sub (local.get 0) (i32.const 1))
        (local.get 1) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
        (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8)
        (i32.const 0))))))"#;

/// What `ARITIES`' `two` computes, step by step.
fn arities_expected(mut n: i32, mut acc: i64) -> i64 {
    loop {
        // In `two`.
        if n == 0 {
            return acc;
        }
        n -= 1;
        // In `ten`, with acc and 1..=8.
        if n == 0 {
            return acc + 8 + 4;
        }
        n -= 1;
        acc += 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8;
    }
}

#[test]
fn tail_calls_between_arities_pass_stack_arguments_right() {
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, ARITIES).unwrap();
        on_small_stack(|| {
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let two = i
                .get_typed_func::<(i32, i64), i64>(&mut store, "two")
                .unwrap();
            for n in [0, 1, 2, 3, 7, 1_000_001, 1_000_000] {
                assert_eq!(
                    two.call(&mut store, (n, 5)).unwrap(),
                    arities_expected(n, 5),
                    "{mode} n={n}"
                );
            }
        });
    }
}

#[test]
fn tail_calls_reach_imported_and_host_functions() {
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let callee = Module::new(
            &engine,
            r#"(module (func (export "add") (param i32 i32) (result i32)
                (i32.add (local.get 0) (local.get 1))))"#,
        )
        .unwrap();
        let caller = Module::new(
            &engine,
            r#"(module
              (import "m" "add" (func $add (param i32 i32) (result i32)))
              (import "host" "mul" (func $mul (param i32 i32) (result i32)))
              (func (export "to_wasm") (param i32) (result i32)
                (return_call $add (local.get 0) (i32.const 10)))
              (func (export "to_host") (param i32) (result i32)
                (return_call $mul (local.get 0) (i32.const 10))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let m = Instance::new(&mut store, &callee, &[]).unwrap();
        let mul = Func::wrap(&mut store, |a: i32, b: i32| a * b);
        let mut linker = Linker::new(&engine);
        linker.instance(&mut store, "m", m).unwrap();
        linker.define(&store, "host", "mul", mul).unwrap();
        let i = linker.instantiate(&mut store, &caller).unwrap();
        let to_wasm = i.get_typed_func::<i32, i32>(&mut store, "to_wasm").unwrap();
        let to_host = i.get_typed_func::<i32, i32>(&mut store, "to_host").unwrap();
        assert_eq!(to_wasm.call(&mut store, 5).unwrap(), 15, "{mode}");
        assert_eq!(to_host.call(&mut store, 5).unwrap(), 50, "{mode}");
    }
}

#[test]
fn indirect_tail_calls_trap_like_indirect_calls() {
    let wat = r#"(module
      (type $t (func (param i32) (result i32)))
      (table 3 funcref)
      (elem (i32.const 0) $f $g)
      (func $f (type $t) (local.get 0))
      (func $g (param i64) (result i64) (local.get 0))
      (func (export "via") (param i32 i32) (result i32)
        (return_call_indirect (type $t) (local.get 0) (local.get 1))))"#;
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let via = i
            .get_typed_func::<(i32, i32), i32>(&mut store, "via")
            .unwrap();
        assert_eq!(via.call(&mut store, (7, 0)).unwrap(), 7, "{mode}");
        let trap = |store: &mut Store<()>, slot| {
            let e = via.call(&mut *store, (7, slot)).unwrap_err();
            *e.downcast_ref::<Trap>().expect("a trap")
        };
        assert_eq!(trap(&mut store, 1), Trap::BadSignature, "{mode}");
        assert_eq!(trap(&mut store, 2), Trap::IndirectCallToNull, "{mode}");
        assert_eq!(trap(&mut store, 3), Trap::TableOutOfBounds, "{mode}");
    }
}

#[test]
fn fuel_and_epochs_stop_endless_tail_calls() {
    let wat = r#"(module (func $spin (export "spin") (param i64) (result i64)
        (return_call $spin (i64.add (local.get 0) (i64.const 1)))))"#;
    let mut fuel = Config::new();
    fuel.consume_fuel(true);
    let engine = Engine::new(&fuel).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    on_small_stack(|| {
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let spin = i.get_typed_func::<i64, i64>(&mut store, "spin").unwrap();
        let e = spin.call(&mut store, 0).unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
        assert_eq!(store.get_fuel().unwrap(), 0);
    });

    let mut epochs = Config::new();
    epochs.epoch_interruption(true);
    let engine = Engine::new(&epochs).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let ticker = engine.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticking = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(5));
                ticker.increment_epoch();
            }
        })
    };
    on_small_stack(|| {
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1);
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let spin = i.get_typed_func::<i64, i64>(&mut store, "spin").unwrap();
        let e = spin.call(&mut store, 0).unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    ticking.join().unwrap();
}

#[test]
fn tail_calls_can_be_turned_off() {
    let mut config = Config::new();
    config.wasm_tail_call(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, r#"(module (func $f (return_call $f)))"#).unwrap_err();
    assert!(err.to_string().contains("tail"), "{err}");
}
