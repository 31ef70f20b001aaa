//! Calls LLVM cannot make in the Wasm convention (more than four integer
//! or eight float parameters, several results) go through a call adapter
//! the fallback compiles: to imports, through tables, to functions the
//! fallback compiles. Their outcomes, traps, backtraces, exceptions,
//! fuel and stack overflows are Cranelift's, and precompiled artifacts
//! keep their adapters.

mod common;

use hayate::{Config, Engine, Func, Instance, Module, Store, Strategy, Trap, Val};

/// Calls of every kind through adapters. `$mix` (an import), `$wide`
/// (a table element, traps on `i64.div_s` by its fourth parameter), and
/// `$declined` (with a reference operator, so the fallback compiles it)
/// all have signatures the C convention cannot carry.
const WAT: &str = r#"(module
  (import "host" "mix" (func $mix (param i32 i32 i32 i32 i32 i32) (result i64 f64)))
  (type $wide (func (param i64 i64 i64 i64 i64 i64 f32 f32 f32 f32 f32 f32 f32 f32 f32 v128)
                    (result i32 i64 f64 v128)))
  (table 1 funcref)
  (elem (i32.const 0) $wide)
  (func $wide (type $wide)
    (i32.wrap_i64 (i64.sub (local.get 0) (local.get 5)))
    (i64.div_s (local.get 1) (local.get 3))
    (f64.promote_f32 (f32.add (local.get 6) (local.get 14)))
    (f32x4.add (local.get 15) (f32x4.splat (local.get 7))))
  (func $declined (param i64 i64 i64 i64 i64) (result i64 i64)
    (drop (ref.is_null (ref.null func)))
    (drop (i64.div_s (i64.const 1) (local.get 0)))
    (local.get 4) (local.get 0))
  (func (export "via_import") (param i32) (result i64)
    (local $product f64)
    (call $mix (local.get 0) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
      (i32.const 6))
    (local.set $product)
    (i64.mul (i64.trunc_f64_s (local.get $product)) (i64.const 1000))
    (i64.add))
  (func $via_table (export "via_table") (param i64 i64) (result i64)
    (local $r0 i32) (local $r1 i64) (local $r2 f64) (local $r3 v128)
    (call_indirect (type $wide)
      (local.get 0) (i64.const 100) (i64.const 3) (local.get 1) (i64.const 5) (i64.const 6)
      (f32.const 1.5) (f32.const 2) (f32.const 3) (f32.const 4) (f32.const 5) (f32.const 6)
      (f32.const 7) (f32.const 8) (f32.const 9.25) (v128.const f32x4 1 2 3 4)
      (i32.const 0))
    (local.set $r3) (local.set $r2) (local.set $r1) (local.set $r0)
    (i64.add
      (i64.add (i64.extend_i32_s (local.get $r0)) (local.get $r1))
      (i64.add (i64.trunc_f64_s (local.get $r2))
        (i64.trunc_f32_s (f32x4.extract_lane 3 (local.get $r3))))))
  (func (export "outer") (param i64 i64) (result i64)
    (i64.mul (call $via_table (local.get 0) (local.get 1)) (i64.const 2)))
  (func (export "via_declined") (param i64) (result i64)
    (call $declined (local.get 0) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5))
    (i64.sub))
)"#;

/// `$mix`: the sum of its arguments and their product; an error when
/// the first is negative.
fn mix(store: &mut Store<()>) -> Func {
    Func::wrap(
        store,
        |a: i32, b: i32, c: i32, d: i32, e: i32, f: i32| -> hayate::Result<(i64, f64)> {
            if a < 0 {
                hayate::bail!("negative");
            }
            let sum = [a, b, c, d, e, f].iter().map(|x| i64::from(*x)).sum();
            let product = [a, b, c, d, e, f].iter().map(|x| f64::from(*x)).product();
            Ok((sum, product))
        },
    )
}

fn engine(strategy: Strategy, fuel: bool) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy).consume_fuel(fuel);
    Engine::new(&config).expect("engine")
}

/// Calls `export` of `module`: its results or the error as printed, and
/// the fuel it consumed when `fuel`.
fn run(
    module: &Module,
    export: &str,
    args: &[Val],
    fuel: bool,
) -> (Result<Vec<String>, String>, u64) {
    let mut store = Store::new(module.engine(), ());
    const FUEL: u64 = 1_000_000;
    if fuel {
        store.set_fuel(FUEL).unwrap();
    }
    let mix = mix(&mut store);
    let instance = Instance::new(&mut store, module, &[mix.into()]).expect("instantiates");
    let func = instance.get_func(&mut store, export).expect("export");
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let outcome = func
        .call(&mut store, args, &mut results)
        .map(|()| results.iter().map(common::bits).collect())
        .map_err(|e| format!("{e:?}"));
    let used = if fuel {
        FUEL - store.get_fuel().unwrap()
    } else {
        0
    };
    (outcome, used)
}

/// Runs `export` under both tiers, with and without fuel; they must agree
/// on the outcome (traps by their kind) and on the fuel used. The LLVM
/// tier's outcome.
fn same(export: &str, args: &[Val]) -> Result<Vec<String>, String> {
    let mut llvm_outcome = None;
    for fuel in [false, true] {
        let [llvm, cranelift] = [Strategy::Llvm, Strategy::Cranelift].map(|strategy| {
            let engine = engine(strategy, fuel);
            run(&Module::new(&engine, WAT).unwrap(), export, args, fuel)
        });
        let kind = |r: &Result<Vec<String>, String>| match r {
            Ok(values) => values.join(", "),
            Err(e) => e.lines().next().unwrap_or("").to_string(),
        };
        assert_eq!(kind(&llvm.0), kind(&cranelift.0), "{export}({args:?})");
        assert_eq!(llvm.1, cranelift.1, "{export}({args:?}): fuel");
        llvm_outcome = Some(llvm.0);
    }
    llvm_outcome.expect("ran")
}

#[test]
fn the_tier_compiles_functions_that_call_through_adapters() {
    let wasm = wat::parse_str(WAT).unwrap();
    let (compiled, stats) = common::llvm_compile(&wasm, |llvm| llvm);
    // Only `$declined` (its reference operator) is left to Cranelift.
    assert_eq!(
        stats
            .reasons
            .iter()
            .map(|(i, _)| i.as_u32())
            .collect::<Vec<_>>(),
        [1],
        "{:?}",
        stats.reasons
    );
    // One adapter per signature called through one: `$mix`'s, `$wide`'s,
    // `$declined`'s.
    assert_eq!(compiled.call_adapters.len(), 3);
    // A module without such calls has none.
    let plain = wat::parse_str(r#"(module (func (export "f") (result i32) (i32.const 1)))"#);
    let (compiled, _) = common::llvm_compile(&plain.unwrap(), |llvm| llvm);
    assert!(compiled.call_adapters.is_empty());
}

#[test]
fn calls_through_adapters_agree_with_cranelift() {
    use Val::*;
    // 1 + 2 + ... + 6 + 720 * 1000.
    assert_eq!(same("via_import", &[I32(1)]).unwrap(), ["I64(720021)"]);
    // 7 - 6 + 100 / 4 + (1.5 + 9.25) as i64 + (4 + 2) as i64 = 42.
    assert_eq!(same("via_table", &[I64(7), I64(4)]).unwrap(), ["I64(42)"]);
    // -3 - 6 + 100 / -7 + 10 + 6 = -7.
    assert_eq!(same("via_table", &[I64(-3), I64(-7)]).unwrap(), ["I64(-7)"]);
    assert_eq!(same("via_declined", &[I64(9)]).unwrap(), ["I64(-4)"]);
    assert!(same("via_table", &[I64(1), I64(0)]).is_err());
    assert!(same("via_import", &[I32(-1)]).is_err());
}

/// A trap below an adapter has the backtrace Cranelift's code gives:
/// the adapter is no frame, and every Wasm frame is there once.
#[test]
fn backtraces_pass_adapters() {
    use Val::*;
    let frames = |strategy| {
        let engine = engine(strategy, false);
        let module = Module::new(&engine, WAT).unwrap();
        // `$declined`, the fallback's code, cannot be inlined.
        let (outcome, _) = run(&module, "via_declined", &[I64(0)], false);
        let text = outcome.expect_err("divides by zero");
        assert!(text.contains("integer divide by zero"), "{text}");
        text.lines()
            .filter(|l| l.contains(" - "))
            .map(|l| l.rsplit(" - ").next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let llvm = frames(Strategy::Llvm);
    assert_eq!(llvm, frames(Strategy::Cranelift));
    assert!(llvm.len() == 2 && llvm[0].contains("declined"), "{llvm:?}");

    // An error in the host function, called through an adapter.
    let engine = engine(Strategy::Llvm, false);
    let module = Module::new(&engine, WAT).unwrap();
    let (outcome, _) = run(&module, "via_import", &[I32(-5)], false);
    assert!(outcome.unwrap_err().contains("negative"));
}

/// An exception thrown below an adapter reaches the handler above it.
#[test]
fn exceptions_unwind_through_adapters() {
    let wat = r#"(module
      (tag $oops (param i64))
      (type $six (func (param i64 i64 i64 i64 i64 i64) (result i64 i64)))
      (table 1 funcref)
      (elem (i32.const 0) $thrower)
      (func $thrower (type $six)
        (if (i64.eqz (local.get 5)) (then (throw $oops (local.get 0))))
        (local.get 5) (local.get 0))
      (func $middle (param i64 i64) (result i64)
        (call_indirect (type $six) (local.get 0) (i64.const 2) (i64.const 3) (i64.const 4)
          (i64.const 5) (local.get 1) (i32.const 0))
        (i64.add))
      (func (export "catcher") (param i64 i64) (result i64)
        (block $caught (result i64)
          (try_table (result i64) (catch $oops $caught)
            (call $middle (local.get 0) (local.get 1)))
          (return))
        (i64.const 1000)
        (i64.add)))"#;
    let stats = common::llvm_stats(&wat::parse_str(wat).unwrap());
    // `$middle` is LLVM's; the thrower and the catcher are Cranelift's.
    assert_eq!(stats.compiled, 1, "{:?}", stats.reasons);
    use Val::*;
    for args in [[I64(7), I64(1)], [I64(7), I64(0)]] {
        common::same(wat, "catcher", &args).unwrap();
    }
    assert!(matches!(
        common::same(wat, "catcher", &[I64(7), I64(0)]).unwrap()[0],
        I64(1007)
    ));
}

/// Endless recursion through an adapter is a stack overflow trap, on a
/// small thread stack too.
#[test]
fn recursion_through_adapters_overflows_the_stack_cleanly() {
    let wat = r#"(module
      (type $six (func (param i64 i64 i64 i64 i64 i64) (result i64 i64)))
      (table 1 funcref)
      (elem (i32.const 0) $down)
      (func $down (type $six)
        (call_indirect (type $six) (i64.add (local.get 0) (i64.const 1)) (local.get 1)
          (local.get 2) (local.get 3) (local.get 4) (local.get 5) (i32.const 0)))
      (func (export "start") (result i64)
        (call $down (i64.const 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
          (i64.const 5))
        (i64.add)))"#;
    let module = Module::new(&engine(Strategy::Llvm, false), wat).unwrap();
    for stack in [256 * 1024, 4 << 20] {
        let outcome = call_on_stack(&module, stack, "start", &[]);
        assert_eq!(outcome, Err(Some(Trap::StackOverflow)), "stack {stack}");
    }
}

/// Calls `export` of a fresh instance of `module`, which imports nothing
/// and returns an `i64`, with `args` on a thread of `stack` bytes: the
/// result, or the trap it ended with.
fn call_on_stack(
    module: &Module,
    stack: usize,
    export: &'static str,
    args: &[Val],
) -> Result<Option<i64>, Option<Trap>> {
    let (module, args) = (module.clone(), args.to_vec());
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let mut store = Store::new(module.engine(), ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let func = instance.get_func(&mut store, export).unwrap();
            let mut result = [Val::I64(0)];
            func.call(&mut store, &args, &mut result)
                .map(|()| result[0].i64())
                .map_err(|e| e.downcast_ref::<Trap>().copied())
        })
        .unwrap()
        .join()
        .expect("no panic")
}

/// A precompiled module keeps its adapters: it runs after a round trip
/// through its artifact.
#[test]
fn artifacts_keep_adapters() {
    let (_engine, module) = common::llvm_artifact(WAT);
    let (outcome, _) = run(&module, "via_table", &[Val::I64(7), Val::I64(4)], false);
    assert_eq!(outcome.unwrap(), ["I64(42)"]);
}

/// A `call_indirect` with Wasm's most parameters, 1000 `i64`s, passes
/// them through a 16 KB buffer on the caller's stack: the tier declines
/// nothing, the result is Cranelift's, and a thread stack too small for
/// the buffer gets a stack overflow trap rather than a crash.
#[test]
fn the_widest_signature_goes_through_an_adapter() {
    const PARAMS: usize = 1000;
    let params = "i64 ".repeat(PARAMS);
    // `$weigh` returns the sum of (i + 1) * parameter i.
    let weighted: String = (0..PARAMS)
        .map(|i| format!("(i64.mul (local.get {i}) (i64.const {}))\n", i + 1))
        .collect();
    let sum = "(i64.add)\n".repeat(PARAMS - 1);
    // `call` passes x + i as parameter i.
    let args: String = (0..PARAMS)
        .map(|i| format!("(i64.add (local.get 0) (i64.const {i}))\n"))
        .collect();
    let wat = format!(
        r#"(module
      (type $wide (func (param {params}) (result i64)))
      (table 1 funcref)
      (elem (i32.const 0) $weigh)
      (func $weigh (type $wide) {weighted} {sum})
      (func (export "call") (param i64) (result i64)
        (call_indirect (type $wide) {args} (i32.const 0))))"#
    );
    let wasm = wat::parse_str(&wat).unwrap();
    let (compiled, stats) = common::llvm_compile(&wasm, |llvm| llvm);
    assert!(stats.reasons.is_empty(), "{:?}", stats.reasons);
    assert_eq!(compiled.call_adapters.len(), 1);
    // Too wide to dispatch to `$weigh` directly: the adapter it is.
    assert_eq!(stats.dispatching_call_sites, 0);

    // sum over i of (i + 1) * (x + i), for x = 3.
    let n = PARAMS as i64;
    let expected = 3 * n * (n + 1) / 2 + (n - 1) * n * (n + 1) / 3;
    let outcome = common::same(&wat, "call", &[Val::I64(3)]).unwrap();
    assert_eq!(outcome[0].i64(), Some(expected));

    let module = Module::new(&engine(Strategy::Llvm, false), &wasm).unwrap();
    for (stack, fits) in [(64 * 1024, false), (256 * 1024, true)] {
        let outcome = call_on_stack(&module, stack, "call", &[Val::I64(3)]);
        if fits {
            assert_eq!(outcome, Ok(Some(expected)), "stack {stack}");
        } else {
            assert_eq!(outcome, Err(Some(Trap::StackOverflow)), "stack {stack}");
        }
    }
}
