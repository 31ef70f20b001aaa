//! The engine compiles with LLVM in forked child processes. A child
//! copies LLVM's process-wide state as it is at the fork; these tests
//! fork while other threads of this process run LLVM themselves, which
//! once left a child waiting forever on a lazily built table another
//! thread was midway through building.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

mod common;

use hayate::{Config, Engine, Instance, Module, Store, Strategy};

/// A module with a call to a libm-named import, so LLVM's library-function
/// tables are consulted while it compiles.
const WAT: &str = r#"(module
  (import "env" "sqrt" (func $sqrt (param f64) (result f64)))
  (func $sum (export "sum") (param i32) (result i64) (local i64)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get 0)))
      (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func (export "root") (param f64) (result f64) (call $sqrt (local.get 0))))"#;

/// Compiles in this process, as an embedder using `hayate-llvm` directly
/// would, until `stop`.
fn compile_in_process_until(stop: &AtomicBool) -> usize {
    let wasm = wat::parse_str(WAT).unwrap();
    let mut rounds = 0;
    while !stop.load(Ordering::Relaxed) {
        assert_eq!(common::llvm_stats(&wasm).compiled, 2);
        rounds += 1;
    }
    rounds
}

/// Compiles through the engine (in children) `n` times, and runs each.
fn compile_in_children(n: usize) {
    let mut config = Config::new();
    config.strategy(Strategy::Llvm);
    let engine = Engine::new(&config).unwrap();
    for i in 0..n {
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = hayate::Linker::new(&engine);
        linker.func_wrap("env", "sqrt", |x: f64| x.sqrt()).unwrap();
        let instance: Instance = linker.instantiate(&mut store, &module).unwrap();
        let sum = instance
            .get_typed_func::<i32, i64>(&mut store, "sum")
            .unwrap();
        assert_eq!(
            sum.call(&mut store, i as i32).unwrap(),
            (i * (i + 1) / 2) as i64
        );
    }
}

#[test]
fn forks_while_other_threads_run_llvm_finish() {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        let rounds = std::thread::scope(|scope| {
            let in_process = [(); 2].map(|()| scope.spawn(|| compile_in_process_until(&stop)));
            let children = [(); 2].map(|()| scope.spawn(|| compile_in_children(40)));
            for child in children {
                child.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            in_process.map(|t| t.join().unwrap())
        });
        done.send(rounds).unwrap();
    });
    // Minutes, not seconds: a deadlock never finishes, a loaded machine
    // only finishes late.
    let rounds = finished
        .recv_timeout(Duration::from_secs(600))
        .expect("compiling in children while this process ran LLVM deadlocked");
    assert!(rounds.iter().all(|&r| r > 0), "{rounds:?}");
}
