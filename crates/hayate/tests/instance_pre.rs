//! `Linker::instantiate_pre` and `InstancePre`: imports resolved once,
//! instances made many times, in many stores and threads of one engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hayate::{
    Engine, Global, GlobalType, InstancePre, Linker, Module, Mutability, Store, Trap,
    UnknownImportError, Val, ValType,
};

const GUEST: &str = r#"
(module
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (memory (export "mem") 1)
  (data (i32.const 0) "\2a")
  (global $calls (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $add (local.get 0) (i32.load8_u (i32.const 0))))
  (func (export "calls") (result i32) (global.get $calls)))
"#;

fn assert_send_sync<T: Send + Sync + Clone>() {}

#[test]
fn instance_pre_is_send_sync_and_clone() {
    assert_send_sync::<InstancePre<()>>();
    assert_send_sync::<InstancePre<std::cell::Cell<u8>>>();
}

fn linker_with_counter(engine: &Engine) -> (Linker<u32>, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "host",
            "add",
            move |mut caller: hayate::Caller<'_, u32>, a: i32, b: i32| {
                c.fetch_add(1, Ordering::SeqCst);
                *caller.data_mut() += 1;
                a + b
            },
        )
        .unwrap();
    (linker, count)
}

#[test]
fn instantiates_many_times_after_the_linker_is_gone() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let (linker, count) = linker_with_counter(&engine);
    let pre = linker.instantiate_pre(&module)?;
    // Nothing is looked up by name any more: the linker may go.
    drop(linker);
    assert!(Engine::same(pre.module().engine(), &engine));
    for round in 0..20 {
        let mut store = Store::new(&engine, 0u32);
        // Several fresh instances in one store, and in fresh stores.
        for _ in 0..3 {
            let instance = pre.clone().instantiate(&mut store)?;
            let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
            assert_eq!(run.call(&mut store, round)?, round + 42);
            let calls = instance.get_typed_func::<(), i32>(&mut store, "calls")?;
            assert_eq!(calls.call(&mut store, ())?, 1, "a fresh instance");
        }
        assert_eq!(*store.data(), 3);
    }
    assert_eq!(count.load(Ordering::SeqCst), 60);
    Ok(())
}

#[test]
fn resolution_errors_come_from_instantiate_pre() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let linker = Linker::<u32>::new(&engine);
    let err = linker.instantiate_pre(&module).unwrap_err();
    assert!(err.downcast_ref::<UnknownImportError>().is_some(), "{err}");

    let mut linker = Linker::<u32>::new(&engine);
    linker.func_wrap("host", "add", |a: i64| a)?;
    let err = linker.instantiate_pre(&module).unwrap_err();
    assert!(
        err.to_string()
            .contains("incompatible import type for `host::add`"),
        "{err}"
    );

    // A linker of another engine.
    let other = Engine::default();
    let (linker, _) = linker_with_counter(&other);
    assert!(linker.instantiate_pre(&module).is_err());
    Ok(())
}

#[test]
fn later_linker_changes_do_not_affect_it() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let (mut linker, _) = linker_with_counter(&engine);
    let pre = linker.instantiate_pre(&module)?;
    linker.allow_shadowing(true);
    linker.func_wrap("host", "add", |_: i32, _: i32| -1)?;
    let mut store = Store::new(&engine, 0);
    let run = pre
        .instantiate(&mut store)?
        .get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 1)?, 43);
    let run = linker
        .instantiate(&mut store, &module)?
        .get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 1)?, -1);
    Ok(())
}

#[test]
fn refuses_stores_of_another_engine_and_foreign_items() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let (linker, _) = linker_with_counter(&engine);
    let pre = linker.instantiate_pre(&module)?;
    let mut foreign = Store::new(&Engine::default(), 0);
    let err = pre.instantiate(&mut foreign).unwrap_err();
    assert!(err.to_string().contains("another engine"), "{err}");

    // An item of one store in the linker: only that store can use the result.
    let needs_global = Module::new(
        &engine,
        r#"(module (import "env" "g" (global $g (mut i32)))
             (func (export "get") (result i32) (global.get $g)))"#,
    )?;
    let mut owner = Store::new(&engine, 0);
    let g = Global::new(
        &mut owner,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(5),
    )?;
    let mut linker = Linker::new(&engine);
    linker.define(&owner, "env", "g", g)?;
    let pre = linker.instantiate_pre(&needs_global)?;
    let get = pre
        .instantiate(&mut owner)?
        .get_typed_func::<(), i32>(&mut owner, "get")?;
    assert_eq!(get.call(&mut owner, ())?, 5);
    let mut stranger = Store::new(&engine, 0);
    let err = pre.instantiate(&mut stranger).unwrap_err();
    assert!(err.to_string().contains("wrong store"), "{err}");
    Ok(())
}

#[test]
fn start_function_traps_are_returned_each_time() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (func $s unreachable) (start $s))"#)?;
    let pre = Linker::<()>::new(&engine).instantiate_pre(&module)?;
    let mut store = Store::new(&engine, ());
    for _ in 0..3 {
        let err = pre.instantiate(&mut store).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
    }
    Ok(())
}

#[test]
fn one_instance_pre_serves_many_threads() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let (linker, count) = linker_with_counter(&engine);
    let pre = linker.instantiate_pre(&module)?;
    const THREADS: i32 = 4;
    const REQUESTS: i32 = 50;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (pre, engine) = (&pre, &engine);
            s.spawn(move || serve(pre, engine, t, REQUESTS).unwrap());
        }
    });
    let expected = THREADS * REQUESTS + THREADS * REQUESTS / 5;
    assert_eq!(count.load(Ordering::SeqCst), expected as usize);
    Ok(())
}

/// Each request gets a fresh store and instance, as a serverless host
/// does; every fifth store is also handed to another thread between calls.
fn serve(pre: &InstancePre<u32>, engine: &Engine, t: i32, requests: i32) -> hayate::Result<()> {
    for r in 0..requests {
        let mut store = Store::new(engine, 0u32);
        let instance = pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, t * 1000 + r)?, t * 1000 + r + 42);
        if r % 5 == 0 {
            let store = std::thread::spawn(move || {
                assert_eq!(run.call(&mut store, 1).unwrap(), 43);
                store
            })
            .join()
            .unwrap();
            assert_eq!(*store.data(), 2);
        }
    }
    Ok(())
}

#[test]
fn a_store_memory_is_matched_at_its_current_size() -> hayate::Result<()> {
    let engine = Engine::default();
    let needs_two = Module::new(&engine, r#"(module (import "env" "mem" (memory 2)))"#)?;
    let mut store = Store::new(&engine, ());
    let mem = hayate::Memory::new(&mut store, hayate::MemoryType::new(1, Some(4)))?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "mem", mem)?;
    // It could match once grown: made now, checked at each instantiation.
    let pre = linker.instantiate_pre(&needs_two)?;
    let err = pre.instantiate(&mut store).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    mem.grow(&mut store, 1)?;
    pre.instantiate(&mut store)?;
    linker.instantiate(&mut store, &needs_two)?;

    // It never can: refused at once.
    let needs_eight = Module::new(&engine, r#"(module (import "env" "mem" (memory 8)))"#)?;
    let err = linker.instantiate_pre(&needs_eight).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    Ok(())
}
