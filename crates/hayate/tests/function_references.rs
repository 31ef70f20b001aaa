//! Typed function references: `call_ref`, `return_call_ref`,
//! `ref.as_non_null`, `br_on_null`/`br_on_non_null`, non-nullable and
//! concrete reference types, table initialisers; in every compilation mode
//! and allocator, through the public API, and against a host that passes
//! the wrong thing.

#[path = "support/modes.rs"]
mod modes;

use hayate::{
    Config, Engine, Func, FuncType, Global, GlobalType, HeapType, Instance,
    InstanceAllocationStrategy, Linker, Module, Mutability, PoolingConfig, Ref, RefType, Store,
    Table, TableType, Trap, Val, ValType,
};

/// Every way code gets compiled and instances get allocated.
fn configs() -> Vec<(&'static str, Config)> {
    let mut out = modes::compilation_modes();
    let mut pooling = Config::new();
    pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig::default()));
    out.push(("pooling", pooling));
    let mut eager_tables = Config::new();
    eager_tables.table_lazy_init(false).memory_init_cow(false);
    out.push(("no lazy tables, no CoW", eager_tables));
    out
}

const MODULE: &str = r#"(module
  (type $binop (func (param i32 i32) (result i32)))
  (type $unop (func (param i32) (result i32)))
  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (elem declare func $add $sub)
  ;; A table of non-null references, every element $add until changed.
  (table $ops 4 (ref $binop) (ref.func $add))
  (global $op (mut (ref null $binop)) (ref.null $binop))

  (func (export "apply") (param $f (ref null $binop)) (param i32 i32) (result i32)
    (call_ref $binop (local.get 1) (local.get 2) (local.get $f)))
  (func (export "from_table") (param i32 i32 i32) (result i32)
    (call_ref $binop (local.get 1) (local.get 2) (table.get $ops (local.get 0))))
  (func (export "set_sub") (param i32)
    (table.set $ops (local.get 0) (ref.func $sub)))
  (func (export "or_minus_one") (param $f (ref null $binop)) (result i32)
    (block $null
      (return (call_ref $binop (i32.const 10) (i32.const 3)
        (br_on_null $null (local.get $f)))))
    (i32.const -1))
  (func (export "non_null_or_zero") (param $f (ref null $binop)) (result i32)
    (local $g (ref null $binop))
    (local.set $g
      (block $some (result (ref $binop))
        (br_on_non_null $some (local.get $f))
        (return (i32.const 0))))
    (call_ref $binop (i32.const 7) (i32.const 5) (local.get $g)))
  (func (export "as_non_null") (param $f (ref null $binop)) (result (ref $binop))
    (ref.as_non_null (local.get $f)))
  (func (export "get_add") (result (ref $binop)) (ref.func $add))
  (func (export "set_global") (param (ref null $binop)) (global.set $op (local.get 0)))
  (func (export "call_global") (result i32)
    (call_ref $binop (i32.const 2) (i32.const 40) (global.get $op)))
  ;; Counts down with a tail call through a reference to itself (a type
  ;; naming itself needs GC's recursion groups: the reference is made).
  (type $count (func (param i64) (result i64)))
  (func $countdown (type $count)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 42))
      (else (return_call_ref $count
        (i64.sub (local.get 0) (i64.const 1)) (ref.func $countdown)))))
  (elem declare func $countdown)
  (func (export "countdown") (param i64) (result i64)
    (call $countdown (local.get 0)))
  ;; A local of non-nullable type, set before use.
  (func (export "local") (result i32)
    (local $f (ref $binop))
    (local.set $f (ref.func $sub))
    (call_ref $binop (i32.const 9) (i32.const 4) (local.get $f)))
)"#;

fn trap_of(e: hayate::Error) -> Option<Trap> {
    e.downcast_ref::<Trap>().copied()
}

#[test]
fn typed_references_run_in_every_mode() {
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let get_add = instance.get_func(&mut store, "get_add").unwrap();
        let mut out = [Val::I32(0)];
        get_add.call(&mut store, &[], &mut out).unwrap();
        let Val::FuncRef(Some(add)) = out[0] else {
            panic!("{mode}: get_add returned {:?}", out[0])
        };

        let apply = instance
            .get_typed_func::<(Option<Func>, i32, i32), i32>(&mut store, "apply")
            .err();
        // `Option<Func>` is any function: not a `(ref null $binop)`.
        assert!(apply.is_some(), "{mode}: a funcref parameter type-checked");
        let apply = instance.get_func(&mut store, "apply").unwrap();
        apply
            .call(
                &mut store,
                &[Val::FuncRef(Some(add)), Val::I32(30), Val::I32(12)],
                &mut out,
            )
            .unwrap();
        assert_eq!(out[0].i32(), Some(42), "{mode}");
        let e = apply
            .call(
                &mut store,
                &[Val::FuncRef(None), Val::I32(1), Val::I32(2)],
                &mut out,
            )
            .unwrap_err();
        assert_eq!(trap_of(e), Some(Trap::NullReference), "{mode}");

        let from_table = instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut store, "from_table")
            .unwrap();
        assert_eq!(from_table.call(&mut store, (3, 5, 4)).unwrap(), 9, "{mode}");
        let set_sub = instance
            .get_typed_func::<i32, ()>(&mut store, "set_sub")
            .unwrap();
        set_sub.call(&mut store, 3).unwrap();
        assert_eq!(from_table.call(&mut store, (3, 5, 4)).unwrap(), 1, "{mode}");
        assert_eq!(from_table.call(&mut store, (2, 5, 4)).unwrap(), 9, "{mode}");
        let e = from_table.call(&mut store, (4, 5, 4)).unwrap_err();
        assert_eq!(trap_of(e), Some(Trap::TableOutOfBounds), "{mode}");

        let or_minus_one = instance.get_func(&mut store, "or_minus_one").unwrap();
        or_minus_one
            .call(&mut store, &[Val::FuncRef(None)], &mut out)
            .unwrap();
        assert_eq!(out[0].i32(), Some(-1), "{mode}");
        or_minus_one
            .call(&mut store, &[Val::FuncRef(Some(add))], &mut out)
            .unwrap();
        assert_eq!(out[0].i32(), Some(13), "{mode}");
        let non_null = instance.get_func(&mut store, "non_null_or_zero").unwrap();
        non_null
            .call(&mut store, &[Val::FuncRef(None)], &mut out)
            .unwrap();
        assert_eq!(out[0].i32(), Some(0), "{mode}");
        non_null
            .call(&mut store, &[Val::FuncRef(Some(add))], &mut out)
            .unwrap();
        assert_eq!(out[0].i32(), Some(12), "{mode}");

        let as_non_null = instance.get_func(&mut store, "as_non_null").unwrap();
        let e = as_non_null
            .call(&mut store, &[Val::FuncRef(None)], &mut out)
            .unwrap_err();
        assert_eq!(trap_of(e), Some(Trap::NullReference), "{mode}");

        let call_global = instance
            .get_typed_func::<(), i32>(&mut store, "call_global")
            .unwrap();
        let e = call_global.call(&mut store, ()).unwrap_err();
        assert_eq!(trap_of(e), Some(Trap::NullReference), "{mode}");
        let set_global = instance.get_func(&mut store, "set_global").unwrap();
        set_global
            .call(&mut store, &[Val::FuncRef(Some(add))], &mut [])
            .unwrap();
        assert_eq!(call_global.call(&mut store, ()).unwrap(), 42, "{mode}");

        let countdown = instance
            .get_typed_func::<i64, i64>(&mut store, "countdown")
            .unwrap();
        assert_eq!(countdown.call(&mut store, 1_000_000).unwrap(), 42, "{mode}");
        let local = instance
            .get_typed_func::<(), i32>(&mut store, "local")
            .unwrap();
        assert_eq!(local.call(&mut store, ()).unwrap(), 5, "{mode}");
    }
}

#[test]
fn the_host_cannot_pass_a_function_of_another_type_or_a_null_where_none_is_allowed() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let apply = instance.get_func(&mut store, "apply").unwrap();
    let wrong = Func::wrap(&mut store, |x: i32| x);
    let mut out = [Val::I32(0)];
    let e = apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(wrong)), Val::I32(1), Val::I32(2)],
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("argument 0"), "{e}");
    // The same signature from the host is the same type: accepted.
    let host_add = Func::wrap(&mut store, |a: i32, b: i32| a.wrapping_add(b));
    apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(host_add)), Val::I32(40), Val::I32(2)],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0].i32(), Some(42));

    // A `(ref $binop)` table refuses null and functions of other types.
    let ty = apply.ty(&store);
    let Some(ValType::Ref(param)) = ty.params().next() else {
        panic!("apply's first parameter is a reference: {ty}")
    };
    assert!(param.is_nullable());
    let HeapType::ConcreteFunc(binop) = param.heap_type().clone() else {
        panic!("apply takes a concrete function type: {param}")
    };
    assert_eq!(
        binop.params().collect::<Vec<_>>(),
        [ValType::I32, ValType::I32]
    );
    let non_null = RefType::new(false, HeapType::ConcreteFunc(binop.clone()));
    assert!(
        Table::new(
            &mut store,
            TableType::new(non_null.clone(), 1, None),
            Ref::Func(None)
        )
        .is_err()
    );
    let table = Table::new(
        &mut store,
        TableType::new(non_null.clone(), 1, None),
        Ref::Func(Some(host_add)),
    )
    .unwrap();
    assert!(table.set(&mut store, 0, Ref::Func(None)).is_err());
    assert!(table.set(&mut store, 0, Ref::Func(Some(wrong))).is_err());
    assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
    table
        .grow(&mut store, 1, Ref::Func(Some(host_add)))
        .unwrap();

    // Globals likewise.
    let gt = GlobalType::new(ValType::Ref(non_null.clone()), Mutability::Var);
    assert!(Global::new(&mut store, gt.clone(), Val::FuncRef(None)).is_err());
    assert!(Global::new(&mut store, gt.clone(), Val::FuncRef(Some(wrong))).is_err());
    let global = Global::new(&mut store, gt, Val::FuncRef(Some(host_add))).unwrap();
    assert!(global.set(&mut store, Val::FuncRef(None)).is_err());
    assert_eq!(global.ty(&store).content(), &ValType::Ref(non_null));

    // A host function whose signature names the concrete type: its
    // results are checked against it too.
    let returns_binop = FuncType::new([], [ValType::Ref(param.clone())]);
    let bad = Func::new(&mut store, returns_binop.clone(), move |_, _, out| {
        out[0] = Val::FuncRef(Some(wrong));
        Ok(())
    });
    let e = bad.call(&mut store, &[], &mut out).unwrap_err();
    assert!(e.to_string().contains("result 0"), "{e}");
    let good = Func::new(&mut store, returns_binop, move |_, _, out| {
        out[0] = Val::FuncRef(Some(host_add));
        Ok(())
    });
    good.call(&mut store, &[], &mut out).unwrap();
    assert!(matches!(out[0], Val::FuncRef(Some(_))));
}

#[test]
fn types_naming_types_of_another_engine_are_refused() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let apply = instance.get_func(&mut store, "apply").unwrap().ty(&store);
    // `apply`'s signature names `$binop`, an id of the first engine.
    let other = Engine::default();
    let mut other_store = Store::new(&other, ());
    let element = RefType::new(true, HeapType::ConcreteFunc(apply.clone()));
    let e = Table::new(
        &mut other_store,
        TableType::new(element, 1, None),
        Ref::Func(None),
    )
    .unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    let mut linker = Linker::<()>::new(&other);
    let Err(e) = linker.func_new("m", "f", apply.clone(), |_, _, _| Ok(())) else {
        panic!("a signature naming another engine's types is refused")
    };
    assert!(e.to_string().contains("another engine"), "{e}");
    // `$binop` itself names no type: any engine can register it.
    let Some(ValType::Ref(r)) = apply.params().next() else {
        panic!("{apply}")
    };
    let table = Table::new(
        &mut other_store,
        TableType::new(r.clone(), 1, None),
        Ref::Func(None),
    )
    .unwrap();
    assert_eq!(table.ty(&other_store).element(), &r);
}

#[test]
fn imports_match_by_subtyping_and_canonical_types() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let exporter = Module::new(
        &engine,
        r#"(module
          (type $f (func (param i32) (result i32)))
          (func $id (export "id") (type $f) (local.get 0))
          (global (export "g") (ref $f) (ref.func $id))
          (table (export "t") 2 (ref null $f)))"#,
    )
    .unwrap();
    let exports = Instance::new(&mut store, &exporter, &[]).unwrap();
    let id = exports.get_export(&mut store, "id").unwrap();
    let g = exports.get_export(&mut store, "g").unwrap();
    let t = exports.get_export(&mut store, "t").unwrap();
    // The same types written in another module, and supertypes.
    let importer = Module::new(
        &engine,
        r#"(module
          (type $g (func (param i32) (result i32)))
          (import "m" "id" (func $id (type $g)))
          (import "m" "g" (global funcref))
          (import "m" "t" (table $t 2 (ref null $g)))
          (elem declare func $id)
          (func (export "run") (result i32)
            (table.set $t (i32.const 1) (ref.func $id))
            (call_ref $g (i32.const 7) (table.get $t (i32.const 1)))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &importer, &[id, g, t]).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);

    // A table's element type must be the same, not a subtype; a mutable
    // global's type too.
    for bad in [
        r#"(module (import "m" "t" (table 2 funcref)))"#,
        r#"(module (type $h (func (param i64) (result i32)))
                   (import "m" "t" (table 2 (ref null $h))))"#,
        r#"(module (type $h (func (param i64) (result i32)))
                   (import "m" "id" (func (type $h))))"#,
        r#"(module (type $h (func (param i64) (result i32)))
                   (import "m" "g" (global (ref $h))))"#,
    ] {
        let module = Module::new(&engine, bad).unwrap();
        let imports: Vec<_> = module
            .imports()
            .map(|i| exports.get_export(&mut store, i.name()).unwrap())
            .collect();
        let e = Instance::new(&mut store, &module, &imports).unwrap_err();
        assert!(
            e.to_string().contains("incompatible import type"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn a_table_initialiser_fills_every_element_and_pool_slots_come_back_clean() {
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
        max_instances: 1,
        ..PoolingConfig::default()
    }));
    let engine = Engine::new(&config).unwrap();
    let filled = Module::new(
        &engine,
        r#"(module
          (type $f (func (result i32)))
          (func $seven (type $f) (i32.const 7))
          (table $t (export "t") 100 (ref null $f) (ref.func $seven))
          (func (export "sum") (result i32)
            (local $i i32) (local $sum i32)
            (loop $l
              (local.set $sum (i32.add (local.get $sum)
                (call_ref $f (ref.as_non_null (table.get $t (local.get $i))))))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                  (i32.const 100))))
            (local.get $sum)))"#,
    )
    .unwrap();
    let plain = Module::new(
        &engine,
        r#"(module
          (table $t (export "t") 100 funcref)
          (func (export "nulls") (result i32)
            (local $i i32) (local $n i32)
            (loop $l
              (local.set $n (i32.add (local.get $n)
                (ref.is_null (table.get $t (local.get $i)))))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                  (i32.const 100))))
            (local.get $n)))"#,
    )
    .unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &filled, &[]).unwrap();
        let sum = i.get_typed_func::<(), i32>(&mut store, "sum").unwrap();
        assert_eq!(sum.call(&mut store, ()).unwrap(), 700);
        drop(store);
        // The same pool slot, for a module without an initialiser: null.
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &plain, &[]).unwrap();
        let nulls = i.get_typed_func::<(), i32>(&mut store, "nulls").unwrap();
        assert_eq!(nulls.call(&mut store, ()).unwrap(), 100);
    }
}

#[test]
fn without_the_proposal_typed_references_are_refused() {
    let mut config = Config::new();
    // GC builds on typed references: both off.
    config.wasm_function_references(false).wasm_gc(false);
    let engine = Engine::new(&config).unwrap();
    let Err(e) = Module::new(
        &engine,
        r#"(module (type $f (func)) (func (param (ref $f))))"#,
    ) else {
        panic!("typed references need the proposal")
    };
    assert!(!e.to_string().is_empty());
    assert!(Module::new(&engine, "(module (func (param funcref)))").is_ok());
}
