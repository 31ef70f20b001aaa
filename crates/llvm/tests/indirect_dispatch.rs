//! A `call_indirect` whose signature needs a call adapter dispatches on
//! the element's `defined_index` to direct calls of the tier's code when
//! the element belongs to the caller's instance, and goes through the
//! adapter otherwise. Both paths must give Cranelift's outcomes, traps
//! and fuel, overflow the stack cleanly, and survive an artifact.

mod common;

use hayate::{
    Config, Engine, Instance, Module, Ref, RefType, Store, Strategy, Table, TableType, Trap, Val,
};

/// Two tables, `own` (which the module's element segment fills with its
/// functions) and `other`: an instance given another instance's `own` as
/// its `other` calls that instance's functions through it. `$six` needs
/// an adapter (six integer parameters, two results); `$sum`, `$quotient`
/// and `$down` have it, `$five` does not, element 4 is null.
const WAT: &str = r#"(module
  (import "env" "own" (table $own 5 funcref))
  (import "env" "other" (table $other 5 funcref))
  (type $six (func (param i64 i64 i64 i64 i64 i64) (result i64 i64)))
  (type $five (func (param i32 i32 i32 i32 i32) (result i32)))
  (global $calls (mut i64) (i64.const 0))
  (elem (table $own) (i32.const 0) func $sum $quotient $down $five)
  (func $sum (type $six)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (i64.add (i64.add (i64.add (local.get 0) (local.get 1)) (i64.add (local.get 2) (local.get 3)))
      (i64.add (local.get 4) (local.get 5)))
    (global.get $calls))
  (func $quotient (type $six)
    (i64.div_s (local.get 0) (local.get 1))
    (i64.rem_s (local.get 0) (local.get 1)))
  ;; Returns (third, second) after counting its first parameter down to 0 through the element at index
  ;; 2 of `own`, adding the second to the third on each step.
  (func $down (type $six)
    (if (result i64 i64) (i64.eqz (local.get 0))
      (then (local.get 2) (local.get 1))
      (else
        (call_indirect $own (type $six)
          (i64.sub (local.get 0) (i64.const 1)) (local.get 1)
          (i64.add (local.get 2) (local.get 1)) (local.get 3) (local.get 4) (local.get 5)
          (i32.const 2)))))
  (func $five (type $five) (local.get 0))
  ;; An escaping function of the signature that no table holds.
  (func (export "exported") (type $six) (local.get 5) (local.get 0))
  (func (export "own") (param i32 i64 i64) (result i64)
    (local $r0 i64) (local $r1 i64)
    (call_indirect $own (type $six)
      (local.get 1) (local.get 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
      (local.get 0))
    (local.set $r1) (local.set $r0)
    (i64.add (i64.mul (local.get $r0) (i64.const 1000)) (local.get $r1)))
  (func (export "other") (param i32 i64 i64) (result i64)
    (local $r0 i64) (local $r1 i64)
    (call_indirect $other (type $six)
      (local.get 1) (local.get 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
      (local.get 0))
    (local.set $r1) (local.set $r0)
    (i64.add (i64.mul (local.get $r0) (i64.const 1000)) (local.get $r1)))
)"#;

fn engine(strategy: Strategy, fuel: bool) -> Engine {
    let mut config = Config::new();
    config
        .strategy(strategy)
        .consume_fuel(fuel)
        .allow_precompiled(true);
    Engine::new(&config).expect("engine")
}

/// Two instances of `module` in `store`, each the other's `other`: the
/// first.
fn instances(store: &mut Store<()>, module: &Module) -> Instance {
    let ty = TableType::new(RefType::FUNCREF, 5, None);
    let [a, b] = [(); 2].map(|()| Table::new(&mut *store, ty.clone(), Ref::Func(None)).unwrap());
    let first = Instance::new(&mut *store, module, &[a.into(), b.into()]).unwrap();
    Instance::new(&mut *store, module, &[b.into(), a.into()]).unwrap();
    first
}

/// Calls `export` of the first of [`instances`] of `module` with `args`:
/// its result or trap, and the fuel used.
fn run(module: &Module, export: &str, args: &[Val], fuel: bool) -> (Result<i64, String>, u64) {
    const FUEL: u64 = 10_000_000;
    let mut store = Store::new(module.engine(), ());
    if fuel {
        store.set_fuel(FUEL).unwrap();
    }
    let first = instances(&mut store, module);
    let func = first.get_func(&mut store, export).unwrap();
    let mut result = [Val::I64(0)];
    let outcome = func
        .call(&mut store, args, &mut result)
        .map(|()| result[0].i64().expect("an i64"))
        .map_err(|e| match e.downcast_ref::<Trap>() {
            Some(trap) => format!("{trap:?}"),
            None => format!("{e}"),
        });
    let used = if fuel {
        FUEL - store.get_fuel().unwrap()
    } else {
        0
    };
    (outcome, used)
}

/// `export(args)` under both tiers, with and without fuel: they agree on
/// the outcome and the fuel; the outcome.
fn same(export: &str, args: &[Val]) -> Result<i64, String> {
    let mut outcome = None;
    for fuel in [false, true] {
        let [llvm, cranelift] = [Strategy::Llvm, Strategy::Cranelift].map(|strategy| {
            let engine = engine(strategy, fuel);
            run(&Module::new(&engine, WAT).unwrap(), export, args, fuel)
        });
        assert_eq!(llvm, cranelift, "{export}({args:?}), fuel {fuel}");
        outcome = Some(llvm.0);
    }
    outcome.expect("ran")
}

#[test]
fn calls_through_the_own_table_dispatch() {
    let stats = common::llvm_stats(&wat::parse_str(WAT).unwrap());
    assert!(stats.reasons.is_empty(), "{:?}", stats.reasons);
    // `$down`'s, `own`'s; `other`'s too (an imported table may hold this
    // instance's functions), which the test below takes elsewhere.
    assert_eq!(stats.dispatching_call_sites, 3);
    // A signature with more functions than a call site dispatches to
    // keeps the adapter alone.
    let many: String = (0..40)
        .map(|i| {
            format!(
                "(func $f{i} (type $six) (local.get {}) (local.get 0))\n",
                i % 6
            )
        })
        .collect();
    let elems: String = (0..40).map(|i| format!("$f{i} ")).collect();
    let wide = format!(
        r#"(module
      (type $six (func (param i64 i64 i64 i64 i64 i64) (result i64 i64)))
      (table 40 funcref)
      (elem (i32.const 0) func {elems})
      {many}
      (func (export "call") (param i32) (result i64)
        (call_indirect (type $six) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
          (i64.const 5) (i64.const 6) (local.get 0))
        (i64.add)))"#
    );
    let stats = common::llvm_stats(&wat::parse_str(&wide).unwrap());
    assert_eq!(stats.dispatching_call_sites, 0);
    let outcome = common::same(&wide, "call", &[Val::I32(7)]).unwrap();
    // `$f7` returns its second and first parameters.
    assert_eq!(outcome[0].i64(), Some(3));
}

#[test]
fn both_paths_agree_with_cranelift() {
    use Val::*;
    for export in ["own", "other"] {
        // $sum: 1000 * (7 + 8 + 3 + 4 + 5 + 6) + 1 call.
        assert_eq!(same(export, &[I32(0), I64(7), I64(8)]), Ok(33001));
        // $quotient: 1000 * (-7 / 2) + (-7 % 2).
        assert_eq!(same(export, &[I32(1), I64(-7), I64(2)]), Ok(-3001));
        // $down: 1000 * (3 + 5 * 2) + 2.
        assert_eq!(same(export, &[I32(2), I64(5), I64(2)]), Ok(13002));
        for (index, trap) in [
            (1, Trap::IntegerDivisionByZero),
            (3, Trap::BadSignature),
            (4, Trap::IndirectCallToNull),
            (5, Trap::TableOutOfBounds),
        ] {
            let outcome = same(export, &[I32(index), I64(1), I64(0)]);
            assert_eq!(outcome, Err(format!("{trap:?}")), "{export}[{index}]");
        }
    }
}

/// Endless recursion through dispatched calls, and through the adapter
/// into the other instance's, is a stack overflow on a small thread
/// stack and a large one.
#[test]
fn recursion_overflows_the_stack_cleanly() {
    let engine = engine(Strategy::Llvm, false);
    let module = Module::new(&engine, WAT).unwrap();
    for export in ["own", "other"] {
        for stack in [256 * 1024, 4 << 20] {
            let module = module.clone();
            let outcome = std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let args = [Val::I32(2), Val::I64(i64::MAX), Val::I64(1)];
                    run(&module, export, &args, false).0
                })
                .unwrap()
                .join()
                .expect("no panic");
            assert_eq!(
                outcome,
                Err("StackOverflow".to_string()),
                "{export}, {stack}"
            );
        }
    }
}

/// A trap under a call, dispatched or through the adapter, has
/// Cranelift's backtrace, inlined callee included.
#[test]
fn traps_below_dispatched_calls_have_backtraces() {
    let frames = |strategy, export| {
        let engine = engine(strategy, false);
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let first = instances(&mut store, &module);
        let func = first.get_func(&mut store, export).unwrap();
        let args = [Val::I32(1), Val::I64(1), Val::I64(0)];
        let e = func
            .call(&mut store, &args, &mut [Val::I64(0)])
            .unwrap_err();
        common::frames_of(&e)
    };
    for export in ["other", "own"] {
        let llvm = frames(Strategy::Llvm, export);
        assert_eq!(llvm, frames(Strategy::Cranelift, export), "{export}");
        assert_eq!(llvm.len(), 2, "{export}: {llvm:?}");
    }
}

#[test]
fn artifacts_keep_the_dispatch() {
    let module = common::through_artifact(&engine(Strategy::Llvm, true), WAT);
    for export in ["own", "other"] {
        let (outcome, _) = run(
            &module,
            export,
            &[Val::I32(2), Val::I64(5), Val::I64(2)],
            true,
        );
        assert_eq!(outcome, Ok(13002), "{export}");
    }
}
