//! `Store::call_hook`: the hook sees every host/Wasm transition, and an
//! error from it stops the call.

use hayate::{CallHook, Caller, Engine, Func, Linker, Module, Store, Trap, WasmBacktrace, bail};

#[derive(Default)]
struct Log {
    seen: Vec<CallHook>,
    fail_on: Option<(CallHook, usize)>,
    host_ran: usize,
}

const GUEST: &str = r#"
(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (global $ran (export "ran") (mut i32) (i32.const 0))
  (func (export "twice") (param i32) (result i32)
    (global.set $ran (i32.const 1))
    (call $f (call $f (local.get 0))))
  (func (export "trap") unreachable)
  (func (export "plain") (result i32) (i32.const 5)))
"#;

fn setup() -> hayate::Result<(Store<Log>, hayate::Instance)> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "f", |mut c: Caller<'_, Log>, x: i32| {
        c.data_mut().host_ran += 1;
        x + 1
    })?;
    let mut store = Store::new(&engine, Log::default());
    store.call_hook(|mut store, transition| {
        let log = store.data_mut();
        log.seen.push(transition);
        if let Some((at, nth)) = log.fail_on {
            let count = log.seen.iter().filter(|t| **t == at).count();
            if at == transition && count == nth {
                bail!("hook refused {transition:?}");
            }
        }
        Ok(())
    });
    let instance = linker.instantiate(&mut store, &module)?;
    Ok((store, instance))
}

use CallHook::*;

#[test]
fn every_transition_is_seen_in_order() -> hayate::Result<()> {
    let (mut store, instance) = setup()?;
    let twice = instance.get_typed_func::<i32, i32>(&mut store, "twice")?;
    assert_eq!(twice.call(&mut store, 1)?, 3);
    assert_eq!(
        store.data().seen,
        [
            CallingWasm,
            CallingHost,
            ReturningFromHost,
            CallingHost,
            ReturningFromHost,
            ReturningFromWasm
        ]
    );
    for t in [CallingWasm, ReturningFromHost] {
        assert!(t.exiting_host() && !t.entering_host());
    }
    for t in [ReturningFromWasm, CallingHost] {
        assert!(t.entering_host() && !t.exiting_host());
    }

    // A trap still returns to the host through the hook; untyped calls too.
    store.data_mut().seen.clear();
    let trap = instance.get_func(&mut store, "trap").unwrap();
    let err = trap.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert_eq!(store.data().seen, [CallingWasm, ReturningFromWasm]);
    Ok(())
}

#[test]
fn nested_activations_and_host_funcs_called_directly() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "reenter" (func $r))
             (func (export "outer") (call $r))
             (func (export "inner")))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "reenter",
        |mut caller: Caller<'_, Vec<CallHook>>| {
            let inner = caller.get_export("inner").unwrap().into_func().unwrap();
            inner.call(&mut caller, &[], &mut [])
        },
    )?;
    let mut store = Store::new(&engine, Vec::new());
    store.call_hook(|mut s, t| {
        s.data_mut().push(t);
        Ok(())
    });
    let instance = linker.instantiate(&mut store, &module)?;
    let outer = instance.get_typed_func::<(), ()>(&mut store, "outer")?;
    outer.call(&mut store, ())?;
    assert_eq!(
        *store.data(),
        [
            CallingWasm,
            CallingHost,
            CallingWasm,
            ReturningFromWasm,
            ReturningFromHost,
            ReturningFromWasm
        ]
    );

    // A host function called by the host: both pairs, as in Wasmtime.
    store.data_mut().clear();
    let f = Func::wrap(&mut store, || 7i32);
    assert_eq!(f.typed::<(), i32>(&store)?.call(&mut store, ())?, 7);
    assert_eq!(
        *store.data(),
        [
            CallingWasm,
            CallingHost,
            ReturningFromHost,
            ReturningFromWasm
        ]
    );
    Ok(())
}

#[test]
fn an_error_on_calling_wasm_stops_the_call_before_it_runs() -> hayate::Result<()> {
    let (mut store, instance) = setup()?;
    store.data_mut().fail_on = Some((CallingWasm, 1));
    let twice = instance.get_typed_func::<i32, i32>(&mut store, "twice")?;
    let err = twice.call(&mut store, 1).unwrap_err();
    assert_eq!(err.to_string(), "hook refused CallingWasm");
    let ran = instance.get_global(&mut store, "ran").unwrap();
    assert_eq!(ran.get(&store).i32(), Some(0), "Wasm did not run");
    assert_eq!(store.data().seen, [CallingWasm]);
    // The hook stays installed: the next call goes through.
    assert_eq!(twice.call(&mut store, 1)?, 3);
    Ok(())
}

#[test]
fn an_error_on_calling_host_stops_wasm_like_a_host_error() -> hayate::Result<()> {
    let (mut store, instance) = setup()?;
    store.data_mut().fail_on = Some((CallingHost, 2));
    let twice = instance.get_typed_func::<i32, i32>(&mut store, "twice")?;
    let err = twice.call(&mut store, 1).unwrap_err();
    assert_eq!(err.root_cause().to_string(), "hook refused CallingHost");
    assert!(err.downcast_ref::<WasmBacktrace>().is_some(), "{err:?}");
    assert_eq!(store.data().host_ran, 1, "the second host call never ran");
    assert_eq!(
        store.data().seen,
        [
            CallingWasm,
            CallingHost,
            ReturningFromHost,
            CallingHost,
            ReturningFromWasm
        ]
    );
    Ok(())
}

#[test]
fn an_error_on_returning_wins_over_results_and_traps() -> hayate::Result<()> {
    let (mut store, instance) = setup()?;
    store.data_mut().fail_on = Some((ReturningFromHost, 1));
    let twice = instance.get_typed_func::<i32, i32>(&mut store, "twice")?;
    let err = twice.call(&mut store, 1).unwrap_err();
    assert_eq!(
        err.root_cause().to_string(),
        "hook refused ReturningFromHost"
    );
    assert_eq!(store.data().host_ran, 1, "the host function ran first");

    let (mut store, instance) = setup()?;
    store.data_mut().fail_on = Some((ReturningFromWasm, 1));
    let trap = instance.get_typed_func::<(), ()>(&mut store, "trap")?;
    let err = trap.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "hook refused ReturningFromWasm");
    assert!(err.downcast_ref::<Trap>().is_none());
    let plain = instance.get_typed_func::<(), i32>(&mut store, "plain")?;
    assert_eq!(
        plain.call(&mut store, ())?,
        5,
        "only the first return failed"
    );
    Ok(())
}

#[test]
fn start_functions_go_through_the_hook() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (func $s) (start $s))"#)?;
    let mut store = Store::new(&engine, 0);
    store.call_hook(|mut s, t| {
        *s.data_mut() += 1;
        if t == CallingWasm {
            bail!("no Wasm in this store");
        }
        Ok(())
    });
    let err = hayate::Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(err.to_string(), "no Wasm in this store");
    assert_eq!(*store.data(), 1);
    Ok(())
}
