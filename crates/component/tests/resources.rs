//! Resources across the host boundary: host resources a guest imports
//! (kept in a `ResourceTable`, destroyed when the guest drops them),
//! guest resources the host holds (`ResourceAny`), borrows, and what a
//! hostile guest may try with handles: forged indices, the wrong type,
//! dropping while lent, keeping borrows past a call, and creating
//! handles without end.

use std::sync::{Arc, Mutex};

use hayate::{Engine, Store, StoreContextMut};
use hayate_component::{
    Component, Linker, MAX_HANDLES, Resource, ResourceAny, ResourceTable, ResourceType, Val,
};

/// A host resource: a counter.
struct Counter {
    value: u32,
}

/// The store's data: the host's table and what the destructor saw.
#[derive(Default)]
struct Host {
    table: ResourceTable,
    dropped: Vec<u32>,
}

/// `counter` is a host resource with a constructor, a method taking a
/// borrow and a static function consuming an owned handle.
fn host_linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::<Host>::new(engine);
    let mut root = linker.instance("test:host/counters").unwrap();
    root.resource(
        "counter",
        ResourceType::host::<Counter>(),
        |mut store: StoreContextMut<'_, Host>, rep| {
            let host = store.data_mut();
            host.table.delete(Resource::<Counter>::new_own(rep))?;
            host.dropped.push(rep);
            Ok(())
        },
    )
    .unwrap();
    root.func_wrap(
        "[constructor]counter",
        |mut store: StoreContextMut<'_, Host>, (start,): (u32,)| {
            let r = store.data_mut().table.push(Counter { value: start })?;
            Ok((r,))
        },
    )
    .unwrap();
    root.func_wrap(
        "[method]counter.bump",
        |mut store: StoreContextMut<'_, Host>, (this,): (Resource<Counter>,)| {
            assert!(!this.owned());
            let c = store.data_mut().table.get_mut(&this)?;
            c.value += 1;
            Ok((c.value,))
        },
    )
    .unwrap();
    root.func_wrap(
        "[static]counter.finish",
        |mut store: StoreContextMut<'_, Host>, (this,): (Resource<Counter>,)| {
            assert!(this.owned());
            let c = store.data_mut().table.delete(this)?;
            Ok((c.value,))
        },
    )
    .unwrap();
    linker
}

const COUNTER_IMPORT: &str = r#"
  (import "test:host/counters" (instance $h
    (export "counter" (type $c (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own $c))))
    (export "[method]counter.bump" (func (param "self" (borrow $c)) (result u32)))
    (export "[static]counter.finish" (func (param "c" (own $c)) (result u32)))))
  (alias export $h "counter" (type $counter))
  (core func $new (canon lower (func $h "[constructor]counter")))
  (core func $bump (canon lower (func $h "[method]counter.bump")))
  (core func $finish (canon lower (func $h "[static]counter.finish")))
  (core func $drop (canon resource.drop $counter))
"#;

fn counter_guest() -> String {
    format!(
        r#"(component {COUNTER_IMPORT}
  (core module $m
    (import "h" "new" (func $new (param i32) (result i32)))
    (import "h" "bump" (func $bump (param i32) (result i32)))
    (import "h" "finish" (func $finish (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    ;; bump a fresh counter three times, then finish it: 10 -> 13
    (func (export "count") (result i32)
      (local $c i32)
      (local.set $c (call $new (i32.const 10)))
      (drop (call $bump (local.get $c)))
      (drop (call $bump (local.get $c)))
      (drop (call $bump (local.get $c)))
      (call $finish (local.get $c)))
    ;; make two counters and drop them: the host destructor runs twice
    (func (export "make-and-drop")
      (call $drop (call $new (i32.const 1)))
      (call $drop (call $new (i32.const 2))))
    ;; a handle it never had
    (func (export "forge") (result i32) (call $bump (i32.const 77)))
    ;; finish a counter, then use the handle again
    (func (export "use-after-move") (result i32)
      (local $c i32)
      (local.set $c (call $new (i32.const 1)))
      (drop (call $finish (local.get $c)))
      (call $bump (local.get $c)))
    ;; make counters until the table refuses
    (func (export "exhaust")
      (loop $l (drop (call $new (i32.const 0))) (br $l))))
  (core instance $i (instantiate $m (with "h" (instance
    (export "new" (func $new)) (export "bump" (func $bump))
    (export "finish" (func $finish)) (export "drop" (func $drop))))))
  (func (export "count") (result u32) (canon lift (core func $i "count")))
  (func (export "make-and-drop") (canon lift (core func $i "make-and-drop")))
  (func (export "forge") (result u32) (canon lift (core func $i "forge")))
  (func (export "use-after-move") (result u32) (canon lift (core func $i "use-after-move")))
  (func (export "exhaust") (canon lift (core func $i "exhaust")))
)"#
    )
}

fn call(
    store: &mut Store<Host>,
    instance: &hayate_component::Instance,
    name: &str,
) -> hayate::Result<Option<Val>> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let n = usize::from(f.ty().unwrap().result.is_some());
    let mut out = vec![Val::Bool(false); n];
    f.call(&mut *store, &[], &mut out)?;
    Ok(out.pop())
}

#[test]
fn guests_use_host_resources_through_handles() {
    let engine = Engine::default();
    let component = Component::new(&engine, counter_guest()).unwrap();
    let linker = host_linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    assert_eq!(
        call(&mut store, &instance, "count").unwrap(),
        Some(Val::U32(13))
    );
    assert!(store.data().table.is_empty());
    call(&mut store, &instance, "make-and-drop").unwrap();
    assert_eq!(store.data().dropped.len(), 2);
    assert!(store.data().table.is_empty(), "the destructor freed both");
}

#[test]
fn forged_and_moved_handles_trap() {
    let engine = Engine::default();
    let component = Component::new(&engine, counter_guest()).unwrap();
    let linker = host_linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    for (export, expect) in [
        ("forge", "unknown handle index 77"),
        ("use-after-move", "unknown handle index 1"),
    ] {
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let err = call(&mut store, &instance, export).unwrap_err();
        assert!(format!("{err:#}").contains(expect), "{export}: {err:#}");
    }
}

#[test]
fn a_guest_cannot_create_handles_without_end() {
    let engine = Engine::default();
    let component = Component::new(&engine, counter_guest()).unwrap();
    let linker = host_linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    // The host table is bounded below the guest's handle table here.
    store.data_mut().table = ResourceTable::with_max(1000);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let err = call(&mut store, &instance, "exhaust").unwrap_err();
    assert!(format!("{err:#}").contains("full"), "{err:#}");

    // With the host unbounded, the guest's own table stops it.
    let wat = r#"(component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (func (export "exhaust") (loop $l (drop (call $new (i32.const 0))) (br $l))))
  (core instance $i (instantiate $m (with "" (instance (export "new" (func $new))))))
  (func (export "exhaust") (canon lift (core func $i "exhaust"))))"#;
    let component = Component::new(&engine, wat).unwrap();
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let err = call(&mut store, &instance, "exhaust").unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&MAX_HANDLES.to_string()), "{msg}");
}

/// A guest defining resource `thing` with a destructor that records its
/// representation; it exports a constructor, a method taking a borrow and
/// a function consuming an owned handle.
const THING_GUEST: &str = r#"(component
  (import "log" (func $log (param "rep" u32)))
  (core func $log' (canon lower (func $log)))
  (core module $dtors
    (import "" "log" (func $log (param i32)))
    (func (export "dtor") (param i32) (call $log (local.get 0))))
  (core instance $d (instantiate $dtors (with "" (instance (export "log" (func $log'))))))
  (type $thing' (resource (rep i32) (dtor (core func $d "dtor"))))
  (export $thing "thing" (type $thing'))
  (core func $new (canon resource.new $thing'))
  (core func $drop (canon resource.drop $thing'))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "rep-of") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (call $drop (local.get 0))))
  (core instance $i (instantiate $m (with "" (instance
    (export "new" (func $new)) (export "drop" (func $drop))))))
  (func (export "make") (param "rep" u32) (result (own $thing))
    (canon lift (core func $i "make")))
  (func (export "rep-of") (param "t" (borrow $thing)) (result u32)
    (canon lift (core func $i "rep-of")))
  (func (export "consume") (param "t" (own $thing))
    (canon lift (core func $i "consume")))
)"#;

#[test]
fn hosts_hold_guest_resources() {
    let engine = Engine::default();
    let component = Component::new(&engine, THING_GUEST).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut linker = Linker::<()>::new(&engine);
    let seen = log.clone();
    linker
        .root()
        .func_wrap("log", move |_, (rep,): (u32,)| {
            seen.lock().unwrap().push(rep);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let make = instance
        .get_func(&mut store, "make")
        .unwrap()
        .typed::<(u32,), (ResourceAny,)>()
        .unwrap();
    let rep_of = instance
        .get_func(&mut store, "rep-of")
        .unwrap()
        .typed::<(ResourceAny,), (u32,)>()
        .unwrap();
    let consume = instance
        .get_func(&mut store, "consume")
        .unwrap()
        .typed::<(ResourceAny,), ()>()
        .unwrap();

    let (a,) = make.call(&mut store, (41,)).unwrap();
    assert!(a.owned());
    // A borrow of a type the callee defines arrives as the rep itself.
    assert_eq!(rep_of.call(&mut store, (a.clone(),)).unwrap(), (41,));
    assert_eq!(rep_of.call(&mut store, (a.clone(),)).unwrap(), (41,));
    // Passing ownership back runs the destructor in the guest.
    consume.call(&mut store, (a.clone(),)).unwrap();
    assert_eq!(*log.lock().unwrap(), [41]);
    // The same ownership cannot be passed twice.
    let err = consume.call(&mut store, (a,)).unwrap_err();
    assert!(format!("{err:#}").contains("already passed"), "{err:#}");

    // Dropping from the host runs the destructor too (in a fresh
    // instance: the failed call above poisoned the first).
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let make = instance
        .get_func(&mut store, "make")
        .unwrap()
        .typed::<(u32,), (ResourceAny,)>()
        .unwrap();
    let rep_of = instance
        .get_func(&mut store, "rep-of")
        .unwrap()
        .typed::<(ResourceAny,), (u32,)>()
        .unwrap();
    let (b,) = make.call(&mut store, (42,)).unwrap();
    b.resource_drop(&mut store).unwrap();
    assert_eq!(*log.lock().unwrap(), [41, 42]);

    // A host resource is not a `thing`.
    let fake = Resource::<u32>::new_own(42).into_resource_any();
    let err = rep_of.call(&mut store, (fake,)).unwrap_err();
    assert!(
        format!("{err:#}").contains("another resource type"),
        "{err:#}"
    );
}

#[test]
fn borrows_must_be_dropped_before_returning() {
    // The callee imports the type, so a borrow arrives as a handle, which
    // it must drop before it returns.
    let engine = Engine::default();
    let wat = r#"(component
  (import "r" (type $r (sub resource)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "drop" (func $drop (param i32)))
    (func (export "polite") (param i32) (result i32)
      (call $drop (local.get 0)) (local.get 0))
    (func (export "rude") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m (with "" (instance (export "drop" (func $drop))))))
  (func (export "polite") (param "x" (borrow $r)) (result u32) (canon lift (core func $i "polite")))
  (func (export "rude") (param "x" (borrow $r)) (result u32) (canon lift (core func $i "rude"))))"#;
    let component = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .resource("r", ResourceType::host::<u64>(), |_, _| Ok(()))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let polite = instance
        .get_func(&mut store, "polite")
        .unwrap()
        .typed::<(Resource<u64>,), (u32,)>()
        .unwrap();
    let handle = Resource::<u64>::new_own(9);
    assert_eq!(polite.call(&mut store, (handle.borrowed(),)).unwrap(), (1,));
    assert_eq!(polite.call(&mut store, (handle.borrowed(),)).unwrap(), (1,));
    let rude = instance.get_func(&mut store, "rude").unwrap();
    let mut out = [Val::U32(0)];
    let err = rude
        .call(
            &mut store,
            &[Val::Resource(handle.borrowed().into_resource_any())],
            &mut out,
        )
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("borrow handles still remain"),
        "{err:#}"
    );
}

#[test]
fn missing_host_resources_are_clear_errors() {
    let engine = Engine::default();
    let component = Component::new(&engine, counter_guest()).unwrap();
    let mut linker = Linker::<Host>::new(&engine);
    let mut inst = linker.instance("test:host/counters").unwrap();
    for name in [
        "[constructor]counter",
        "[method]counter.bump",
        "[static]counter.finish",
    ] {
        inst.func_new(name, |_, _, _| Ok(())).unwrap();
    }
    let mut store = Store::new(&engine, Host::default());
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    assert!(format!("{err:#}").contains("counter"), "{err:#}");
}

/// The engines every configuration-sensitive test runs on: the default,
/// the pooling allocator, explicit bounds checks, and no copy-on-write.
fn engines() -> Vec<(&'static str, Engine)> {
    let mut pooling = hayate::Config::new();
    pooling.allocation_strategy(hayate::InstanceAllocationStrategy::Pooling(
        hayate::PoolingConfig {
            max_instances: 16,
            max_memories: 16,
            max_tables: 16,
            ..hayate::PoolingConfig::default()
        },
    ));
    let mut explicit = hayate::Config::new();
    explicit.bounds_checks(hayate::BoundsChecks::Explicit);
    let mut no_cow = hayate::Config::new();
    no_cow.memory_init_cow(false);
    vec![
        ("default", Engine::default()),
        ("pooling", Engine::new(&pooling).unwrap()),
        ("explicit bounds", Engine::new(&explicit).unwrap()),
        ("no CoW", Engine::new(&no_cow).unwrap()),
    ]
}

#[test]
fn handles_behave_the_same_in_every_configuration() {
    for (name, engine) in engines() {
        let component = Component::new(&engine, counter_guest()).unwrap();
        let linker = host_linker(&engine);
        let mut store = Store::new(&engine, Host::default());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        assert_eq!(
            call(&mut store, &instance, "count").unwrap(),
            Some(Val::U32(13)),
            "{name}"
        );
        call(&mut store, &instance, "make-and-drop").unwrap();
        assert_eq!(store.data().dropped.len(), 2, "{name}");
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let err = call(&mut store, &instance, "forge").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown handle index 77"),
            "{name}: {err:#}"
        );
    }
}
