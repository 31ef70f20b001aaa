//! The LLVM tier against hostile modules: frames far larger than the
//! stack the thread has, and small host stacks. Each must end in a
//! `StackOverflow` trap, never in a crash of the host process.

mod common;

use hayate::{Config, Engine, Func, Instance, Module, Store, Strategy, Trap, Val};

/// A module whose `big` function reads `values` mutable v128 globals
/// onto the operand stack, calls the host (which could change them all)
/// and adds up what it read: LLVM spills every value, a frame of about
/// `16 * values` bytes. Floating-point additions, which LLVM may not
/// reassociate, keep it from summing before the calls. A call every 64 values keeps LLVM's scheduling
/// regions short, so the function compiles quickly.
fn huge_frame_module(values: usize) -> String {
    let mut wat = String::from("(module (import \"host\" \"touch\" (func $touch))\n");
    for i in 0..values {
        wat.push_str(&format!("(global (mut v128) (v128.const f64x2 {i} 0))\n"));
    }
    wat.push_str("(func (export \"big\") (result i64)\n");
    for i in 0..values {
        wat.push_str(&format!("global.get {i}\n"));
        if i % 64 == 63 {
            wat.push_str("call $touch\n");
        }
    }
    for i in 1..values {
        wat.push_str("f64x2.add\n");
        if i % 64 == 0 {
            wat.push_str("call $touch\n");
        }
    }
    wat.push_str("f64x2.extract_lane 0 i64.trunc_f64_s))");
    wat
}

/// Calls `big` on a thread with `stack` bytes of stack; the outcome.
fn run_on_thread(engine: &Engine, module: &Module, stack: usize) -> Result<i64, String> {
    let (engine, module) = (engine.clone(), module.clone());
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let mut store = Store::new(&engine, ());
            let touch = Func::wrap(&mut store, || {});
            let instance = Instance::new(&mut store, &module, &[touch.into()]).expect("instance");
            let big = instance.get_func(&mut store, "big").expect("export");
            let mut out = [Val::I64(0)];
            match big.call(&mut store, &[], &mut out) {
                Ok(()) => Ok(out[0].i64().expect("an i64")),
                Err(e) => Err(format!("{:?}", e.downcast_ref::<Trap>())),
            }
        })
        .expect("spawn")
        .join()
        .expect("the thread ends without a panic")
}

/// A frame larger than the whole thread stack (and than the host reserve
/// below the Wasm stack limit) traps with `StackOverflow`: the probe that
/// meets the guard page is recognised as a stack overflow in Wasm code.
#[test]
fn frames_larger_than_the_stack_trap() {
    // A frame of 320 KiB: more than these threads have. On the smaller
    // the Wasm stack limit is the entry's stack pointer (the thread has no
    // more than the host's reserve), on the larger it leaves the last 128
    // KiB to the host; either way the frame reaches the guard page.
    let values = 20_000;
    let wat = huge_frame_module(values);
    for strategy in [Strategy::Llvm, Strategy::Cranelift] {
        let mut config = Config::new();
        config.strategy(strategy);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &wat).unwrap();
        for stack in [128 * 1024, 160 * 1024] {
            assert_eq!(
                run_on_thread(&engine, &module, stack),
                Err("Some(StackOverflow)".to_string()),
                "{strategy:?}, {stack}-byte thread stack"
            );
        }
        // With room enough, the same function runs.
        let sum = (0..values as i64).sum();
        assert_eq!(run_on_thread(&engine, &module, 1 << 20), Ok(sum));
    }
}

/// A function body larger than the tier's limit goes to Cranelift (LLVM
/// would take time quadratic in it); the module still runs.
#[test]
fn functions_above_the_size_limit_go_to_cranelift() {
    let pushes = hayate_llvm::MAX_FUNCTION_BYTES / 3 + 1;
    let mut wat = String::from("(module (func (export \"long\") (result i32) (local i32)\n");
    for _ in 0..pushes {
        // `local.get 0; drop; `: 3 bytes.
        wat.push_str("local.get 0 drop\n");
    }
    wat.push_str("i32.const 7) (func (export \"short\") (result i32) (i32.const 8)))");
    let wasm = wat::parse_str(&wat).unwrap();
    let stats = common::llvm_stats(&wasm);
    assert_eq!((stats.compiled, stats.declined), (1, 1));
    assert!(stats.reasons[0].1.contains("limit"), "{:?}", stats.reasons);

    let mut config = Config::new();
    config.strategy(Strategy::Llvm);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    for (export, expected) in [("long", 7), ("short", 8)] {
        let f = instance.get_func(&mut store, export).unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(expected));
    }
}

/// LLVM 19 crashes (SIGSEGV in its instruction scheduler) on a block of
/// five thousand global reads live across a call. It runs in a child
/// process, so the crash is a compile error and the host lives on; an
/// LLVM without the bug compiles the module, which then runs.
#[test]
fn a_crash_of_llvm_is_a_compile_error() {
    let values = 5_000;
    let mut wat = String::from("(module (import \"host\" \"touch\" (func $touch))\n");
    for i in 0..values {
        wat.push_str(&format!("(global (mut i64) (i64.const {i}))\n"));
    }
    wat.push_str("(func (export \"big\") (result i64)\n");
    for i in 0..values {
        wat.push_str(&format!("global.get {i}\n"));
    }
    wat.push_str("call $touch\n");
    for _ in 1..values {
        wat.push_str("i64.add\n");
    }
    wat.push_str("))");
    let mut config = Config::new();
    config.strategy(Strategy::Llvm);
    let engine = Engine::new(&config).unwrap();
    match Module::new(&engine, &wat) {
        Ok(module) => {
            let sum = (0..values as i64).sum();
            assert_eq!(run_on_thread(&engine, &module, 8 << 20), Ok(sum));
        }
        Err(e) => assert!(
            format!("{e:#}").contains("LLVM failed on this module"),
            "{e:#}"
        ),
    }
}
