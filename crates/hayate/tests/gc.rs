//! GC: structures, arrays and `i31` through the API, casts, and a guest
//! that allocates as much as it can: the heap stays bounded by the store's
//! limiter and by its maximum, and huge arrays are refused, never
//! allocated.

#[path = "support/modes.rs"]
mod modes;

use hayate::{
    AnyRef, Config, Engine, Instance, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, Val,
    ValType,
};

const MODULE: &str = r#"(module
  (type $point (sub (struct (field $x (mut i32)) (field $y i64))))
  (type $point3 (sub $point (struct (field $x (mut i32)) (field $y i64) (field $z i8))))
  (type $bytes (array (mut i8)))
  (type $longs (array (mut i64)))
  (func (export "make") (param i32 i64) (result anyref)
    (struct.new $point (local.get 0) (local.get 1)))
  (func (export "make3") (result anyref)
    (struct.new $point3 (i32.const 1) (i64.const 2) (i32.const -1)))
  (func (export "px") (param (ref null $point)) (result i32)
    (struct.get $point $x (local.get 0)))
  (func (export "x") (param anyref) (result i32)
    (struct.get $point $x (ref.cast (ref $point) (local.get 0))))
  (func (export "z_signed") (param anyref) (result i32)
    (struct.get_s $point3 2 (ref.cast (ref $point3) (local.get 0))))
  (func (export "is_point") (param anyref) (result i32)
    (ref.test (ref $point) (local.get 0)))
  (func (export "bytes") (param i32) (result anyref)
    (array.new $bytes (i32.const 7) (local.get 0)))
  (func (export "sum") (param anyref) (result i32)
    (local $a (ref $bytes)) (local $i i32) (local $s i32)
    (local.set $a (ref.cast (ref $bytes) (local.get 0)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
        (local.set $s (i32.add (local.get $s) (array.get_u $bytes (local.get $a) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s))
  (func (export "get") (param anyref i32) (result i32)
    (array.get_u $bytes (ref.cast (ref $bytes) (local.get 0)) (local.get 1)))
  (func (export "i31") (param anyref) (result i32)
    (i31.get_s (ref.cast (ref i31) (local.get 0))))
  ;; Allocates `n` arrays of 1 MiB each and keeps them all.
  (type $hoard (array (mut (ref null $longs))))
  (func (export "hoard") (param $n i32)
    (local $keep (ref $hoard))
    (local.set $keep (array.new_default $hoard (local.get $n)))
    (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (array.set $hoard (local.get $keep) (local.get $n)
        (array.new_default $longs (i32.const 131072)))
      (br_if $l (local.get $n))))
  (func (export "huge") (result anyref)
    (array.new_default $longs (i32.const -1)))
)"#;

fn call(
    store: &mut Store<StoreLimits>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> hayate::Result<Val> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let n = f.ty(&*store).results().len();
    let mut out = vec![Val::I32(0); n];
    f.call(&mut *store, args, &mut out)?;
    Ok(out.into_iter().next().unwrap_or(Val::I32(0)))
}

fn setup(limits: StoreLimits) -> (Store<StoreLimits>, Instance) {
    setup_with(&Config::new(), limits)
}

fn setup_with(config: &Config, limits: StoreLimits) -> (Store<StoreLimits>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

#[test]
fn structures_arrays_and_i31_through_the_api() {
    let (mut store, instance) = setup(StoreLimits::default());
    let p = call(&mut store, &instance, "make", &[Val::I32(5), Val::I64(6)]).unwrap();
    let Val::AnyRef(Some(p)) = p else {
        panic!("{p:?}")
    };
    assert!(p.is_struct(&store) && !p.is_array(&store) && p.as_i31().is_none());
    assert_eq!(
        call(&mut store, &instance, "x", &[Val::AnyRef(Some(p))])
            .unwrap()
            .i32(),
        Some(5)
    );
    assert_eq!(
        call(&mut store, &instance, "is_point", &[Val::AnyRef(Some(p))])
            .unwrap()
            .i32(),
        Some(1)
    );
    // A subtype is a point too, and its packed field reads sign-extended.
    let p3 = call(&mut store, &instance, "make3", &[]).unwrap();
    assert_eq!(
        call(&mut store, &instance, "x", &[p3]).unwrap().i32(),
        Some(1)
    );
    assert_eq!(
        call(&mut store, &instance, "z_signed", &[p3])
            .unwrap()
            .i32(),
        Some(-1)
    );
    // An array is not a point: the cast traps.
    let a = call(&mut store, &instance, "bytes", &[Val::I32(10)]).unwrap();
    let Val::AnyRef(Some(arr)) = a else {
        panic!("{a:?}")
    };
    assert!(arr.is_array(&store));
    assert_eq!(
        call(&mut store, &instance, "sum", &[a]).unwrap().i32(),
        Some(70)
    );
    let e = call(&mut store, &instance, "x", &[a]).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::CastFailure));
    let e = call(&mut store, &instance, "get", &[a, Val::I32(10)]).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::ArrayOutOfBounds));
    let e = call(&mut store, &instance, "x", &[Val::AnyRef(None)]).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::CastFailure));
    // i31s made by the host.
    let i = AnyRef::from_i31(&store, -3);
    assert_eq!(i.as_i31(), Some(-3));
    assert_eq!(
        call(&mut store, &instance, "i31", &[Val::AnyRef(Some(i))])
            .unwrap()
            .i32(),
        Some(-3)
    );
    assert_eq!(
        call(&mut store, &instance, "is_point", &[Val::AnyRef(Some(i))])
            .unwrap()
            .i32(),
        Some(0)
    );
    // A reference of another store is refused.
    let (mut other, other_instance) = setup(StoreLimits::default());
    assert!(call(&mut other, &other_instance, "x", &[Val::AnyRef(Some(p))]).is_err());
    assert_eq!(Val::AnyRef(None).ty(), ValType::ANYREF);
}

#[test]
fn the_heap_is_bounded_by_the_limiter_and_huge_arrays_are_refused() {
    // 64 MiB for memories and the GC heap: a guest keeping 1 MiB arrays
    // gets about 64 of them (collecting finds nothing to free), then a
    // trap, and the store stays usable.
    let limits = StoreLimitsBuilder::new().memory_size(64 << 20).build();
    let (mut store, instance) = setup(limits);
    let e = call(&mut store, &instance, "hoard", &[Val::I32(1000)]).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::AllocationTooLarge),
        "{e:?}"
    );
    // An array of 2^32 - 1 eight-byte elements is never allocated.
    let e = call(&mut store, &instance, "huge", &[]).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::AllocationTooLarge),
        "{e:?}"
    );
    // What the grant still covers remains usable.
    assert!(call(&mut store, &instance, "make", &[Val::I32(1), Val::I64(1)]).is_ok());
}

/// A guest that allocates far more than its limit, keeping some objects
/// live in every place a root can be.
const COLLECTED: &str = r#"(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $refs (array (mut anyref)))
  (type $longs (array (mut i64)))
  (global $kept (mut (ref null $node)) (ref.null $node))
  (table $t 1 anyref)
  ;; Makes `n` 1 MiB arrays and `n` two-node cycles, keeping none.
  (func $churn (export "churn") (param $n i32)
    (local $a (ref null $node)) (local $b (ref null $node))
    (loop $l
      (drop (array.new_default $longs (i32.const 131072)))
      (local.set $a (struct.new $node (i32.const 1) (ref.null $node)))
      (local.set $b (struct.new $node (i32.const 2) (local.get $a)))
      (struct.set $node $next (local.get $a) (local.get $b))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; A list of `n` nodes built while churning; the sum of its values.
  (func (export "list") (param $n i32) (result i32)
    (local $head (ref null $node)) (local $i i32) (local $sum i32)
    (loop $l
      (local.set $head (struct.new $node (local.get $i) (local.get $head)))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 64)))
        (then (call $churn (i32.const 1))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (block $done
      (loop $s
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $s)))
    (local.get $sum))
  ;; Objects kept by a global, a table and an array's element, then churn.
  (func (export "keep") (result i32)
    (local $arr (ref $refs))
    (global.set $kept (struct.new $node (i32.const 10) (ref.null $node)))
    (table.set $t (i32.const 0) (struct.new $node (i32.const 20) (ref.null $node)))
    (local.set $arr (array.new $refs (ref.null any) (i32.const 1)))
    (array.set $refs (local.get $arr) (i32.const 0)
      (struct.new $node (i32.const 30) (ref.null $node)))
    (call $churn (i32.const 300))
    (i32.add
      (i32.add
        (struct.get $node $v (global.get $kept))
        (struct.get $node $v (ref.cast (ref $node) (table.get $t (i32.const 0)))))
      (struct.get $node $v
        (ref.cast (ref $node) (array.get $refs (local.get $arr) (i32.const 0))))))
  (func (export "node") (param i32) (result anyref)
    (struct.new $node (local.get 0) (ref.null $node)))
  (func (export "value") (param anyref) (result i32)
    (struct.get $node $v (ref.cast (ref $node) (local.get 0))))
)"#;

#[test]
fn gc_functions_work_in_every_compilation_mode() {
    for (_, config) in modes::compilation_modes() {
        let (mut store, instance) = setup_with(&config, StoreLimits::default());
        let a = call(&mut store, &instance, "bytes", &[Val::I32(10)]).unwrap();
        assert_eq!(
            call(&mut store, &instance, "sum", &[a]).unwrap().i32(),
            Some(70)
        );
        let p = call(&mut store, &instance, "make", &[Val::I32(5), Val::I64(6)]).unwrap();
        assert_eq!(
            call(&mut store, &instance, "x", &[p]).unwrap().i32(),
            Some(5)
        );
    }
}

#[test]
fn the_collector_reclaims_garbage_and_cycles_and_keeps_every_root() {
    let engine = Engine::new(&Config::new()).unwrap();
    let module = Module::new(&engine, COLLECTED).unwrap();
    // 32 MiB for the GC heap: the guest allocates gigabytes through it.
    let limits = StoreLimitsBuilder::new().memory_size(32 << 20).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    // A handle the host keeps across collections.
    let node = call(&mut store, &instance, "node", &[Val::I32(77)]).unwrap();
    call(&mut store, &instance, "churn", &[Val::I32(2000)]).unwrap();
    let n = 20_000;
    let sum = call(&mut store, &instance, "list", &[Val::I32(n)]).unwrap();
    assert_eq!(sum.i32(), Some((0..n).sum::<i32>()));
    assert_eq!(
        call(&mut store, &instance, "keep", &[]).unwrap().i32(),
        Some(60)
    );
    assert_eq!(
        call(&mut store, &instance, "value", &[node]).unwrap().i32(),
        Some(77)
    );
}

#[test]
fn the_host_reads_and_writes_fields_and_elements_by_type() {
    let (mut store, instance) = setup(StoreLimits::default());
    let p = call(&mut store, &instance, "make", &[Val::I32(5), Val::I64(6)]).unwrap();
    let Val::AnyRef(Some(p)) = p else {
        panic!("{p:?}")
    };
    let s = p.as_struct(&store).expect("a structure");
    assert!(p.as_array(&store).is_none());
    assert_eq!(s.field(&store, 0).unwrap().i32(), Some(5));
    assert_eq!(s.field(&store, 1).unwrap().i64(), Some(6));
    assert!(s.field(&store, 2).is_err(), "no such field");
    s.set_field(&mut store, 0, Val::I32(9)).unwrap();
    assert_eq!(
        call(&mut store, &instance, "x", &[Val::AnyRef(Some(p))])
            .unwrap()
            .i32(),
        Some(9)
    );
    assert!(
        s.set_field(&mut store, 1, Val::I64(1)).is_err(),
        "immutable"
    );
    assert!(
        s.set_field(&mut store, 0, Val::I64(1)).is_err(),
        "wrong type"
    );
    let a = call(&mut store, &instance, "bytes", &[Val::I32(3)]).unwrap();
    let Val::AnyRef(Some(a)) = a else {
        panic!("{a:?}")
    };
    let arr = a.as_array(&store).expect("an array");
    assert_eq!(arr.len(&store).unwrap(), 3);
    assert_eq!(arr.get(&store, 2).unwrap().i32(), Some(7));
    arr.set(&mut store, 1, Val::I32(0x1ff)).unwrap();
    // An i8 element keeps the low byte.
    assert_eq!(arr.get(&store, 1).unwrap().i32(), Some(0xff));
    let e = arr.get(&store, 3).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::ArrayOutOfBounds));
    assert!(arr.set(&mut store, 0, Val::I64(1)).is_err());
    // Handles of another store are refused.
    let (other, _) = setup(StoreLimits::default());
    assert!(s.field(&other, 0).is_err());
    assert!(arr.len(&other).is_err());
}

#[test]
fn exception_payloads_keep_their_objects_alive() {
    let engine = Engine::new(&Config::new()).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (type $box (struct (field i32)))
          (type $longs (array (mut i64)))
          (tag $e (param anyref))
          (table $kept 1 exnref)
          (func $churn (param $n i32)
            (loop $l
              (drop (array.new_default $longs (i32.const 131072)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
          (func $throw (param i32)
            (throw $e (struct.new $box (local.get 0))))
          (func $mid (param i32) (call $throw (local.get 0)))
          ;; Catches a box thrown two frames down, collects, reads it.
          (func (export "caught") (param i32) (result i32)
            (local $r anyref)
            (local.set $r
              (block $h (result anyref)
                (try_table (catch $e $h) (call $mid (local.get 0)))
                (ref.null any)))
            (call $churn (i32.const 100))
            (struct.get $box 0 (ref.cast (ref $box) (local.get $r))))
          ;; Keeps the exception in a table, collects, rethrows it, reads it.
          (func (export "kept") (param i32) (result i32)
            (table.set $kept (i32.const 0)
              (block $h (result exnref)
                (try_table (catch_all_ref $h) (call $mid (local.get 0)))
                (unreachable)))
            (call $churn (i32.const 100))
            (block $h (result anyref)
              (try_table (catch $e $h) (throw_ref (table.get $kept (i32.const 0))))
              (unreachable))
            (struct.get $box 0 (ref.cast (ref $box))))
        )"#,
    )
    .unwrap();
    let limits = StoreLimitsBuilder::new().memory_size(16 << 20).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(
        call(&mut store, &instance, "caught", &[Val::I32(41)])
            .unwrap()
            .i32(),
        Some(41)
    );
    assert_eq!(
        call(&mut store, &instance, "kept", &[Val::I32(42)])
            .unwrap()
            .i32(),
        Some(42)
    );
}

#[test]
fn typed_functions_take_and_return_anyrefs() {
    let (mut store, instance) = setup(StoreLimits::default());
    let make = instance
        .get_typed_func::<(i32, i64), Option<AnyRef>>(&mut store, "make")
        .unwrap();
    let x = instance
        .get_typed_func::<Option<AnyRef>, i32>(&mut store, "x")
        .unwrap();
    let p = make.call(&mut store, (8, 9)).unwrap();
    assert!(p.is_some_and(|p| p.is_struct(&store)));
    assert_eq!(x.call(&mut store, p).unwrap(), 8);
    let e = x.call(&mut store, None).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::CastFailure));
}

#[test]
fn signatures_built_by_the_host_name_structure_types_by_their_engine_ids() {
    let (mut store, instance) = setup(StoreLimits::default());
    let px = instance.get_func(&mut store, "px").unwrap();
    let ty = px.ty(&store);
    let param = ty.params().next().unwrap();
    assert!(matches!(
        param.as_ref().map(|r| r.heap_type()),
        Some(hayate::HeapType::ConcreteStruct(_))
    ));
    // The same signature rebuilt from its parts is the same type: a host
    // function of it calls and is called like the guest's.
    let rebuilt = hayate::FuncType::new([param], [ValType::I32]);
    assert_eq!(rebuilt, ty);
    let host = hayate::Func::new(&mut store, rebuilt, |_, _, out| {
        out[0] = Val::I32(3);
        Ok(())
    });
    assert_eq!(host.ty(&store), ty);
    let p = call(&mut store, &instance, "make", &[Val::I32(4), Val::I64(0)]).unwrap();
    let mut out = [Val::I32(0)];
    host.call(&mut store, &[p], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(3));
    assert_eq!(
        call(&mut store, &instance, "px", &[p]).unwrap().i32(),
        Some(4)
    );
}
