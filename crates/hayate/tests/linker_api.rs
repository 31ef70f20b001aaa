//! The Wasmtime-shaped parts of `Linker` and `Instance`: `Instance::exports`
//! as `Export`s, `Linker::module` for libraries, reactors and commands, and
//! `Linker::define_unknown_imports_as_traps`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hayate::{
    Engine, Extern, ExternType, Instance, Linker, Module, Store, Trap, UnknownImportError,
    WasmBacktrace,
};

const LIB: &str = r#"
(module
  (memory (export "mem") 1)
  (global (export "g") (mut i32) (i32.const 7))
  (table (export "tab") 2 funcref)
  (func (export "double") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 2))))
"#;

#[test]
fn exports_are_named_items_in_module_order() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, LIB)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let exports = instance.exports(&mut store);
    assert_eq!(exports.len(), 4);
    let names: Vec<&str> = exports.map(|e| e.name()).collect();
    assert_eq!(names, ["mem", "g", "tab", "double"]);

    let mut exports = instance.exports(&mut store);
    assert!(exports.next().unwrap().into_memory().is_some());
    assert!(exports.next().unwrap().into_global().is_some());
    let tab = exports.next().unwrap();
    assert!(tab.clone().into_func().is_none());
    assert!(tab.into_table().is_some());
    let double = exports.next().unwrap().into_func().unwrap();
    assert!(exports.next().is_none());
    drop(exports);
    let double = double.typed::<i32, i32>(&store)?;
    assert_eq!(double.call(&mut store, 21)?, 42);

    let mut other = Store::new(&engine, ());
    assert_eq!(instance.exports(&mut other).len(), 0, "wrong store");
    Ok(())
}

#[test]
fn module_defines_a_librarys_exports() -> hayate::Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    let mut store = Store::new(&engine, ());
    linker.module(&mut store, "lib", &Module::new(&engine, LIB)?)?;
    for name in ["mem", "g", "tab", "double"] {
        assert!(linker.get(&mut store, "lib", name).is_some(), "{name}");
    }
    let user = Module::new(
        &engine,
        r#"(module
             (import "lib" "double" (func $d (param i32) (result i32)))
             (import "lib" "g" (global $g (mut i32)))
             (func (export "run") (result i32)
               (global.set $g (call $d (global.get $g)))
               (global.get $g)))"#,
    )?;
    let instance = linker.instantiate(&mut store, &user)?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 14);
    // One library instance, shared: its global keeps the state.
    assert_eq!(run.call(&mut store, ())?, 28);
    Ok(())
}

#[test]
fn module_initializes_a_reactor_once() -> hayate::Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    let inits = Arc::new(AtomicUsize::new(0));
    let counter = inits.clone();
    linker.func_wrap("host", "init", move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })?;
    let reactor = Module::new(
        &engine,
        r#"(module
             (import "host" "init" (func $init))
             (global $ready (mut i32) (i32.const 0))
             (func (export "_initialize") (call $init) (global.set $ready (i32.const 1)))
             (func (export "ready") (result i32) (global.get $ready)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    linker.module(&mut store, "r", &reactor)?;
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    let ready = linker
        .get(&mut store, "r", "ready")
        .unwrap()
        .into_func()
        .unwrap();
    assert_eq!(ready.typed::<(), i32>(&store)?.call(&mut store, ())?, 1);

    // A failing `_initialize` fails `module`, with context.
    let bad = Module::new(
        &engine,
        r#"(module (func (export "_initialize") unreachable))"#,
    )?;
    let err = linker.module(&mut store, "bad", &bad).unwrap_err();
    assert!(
        format!("{err:#}").contains("Reactor initialization"),
        "{err:#}"
    );
    assert!(err.downcast_ref::<Trap>().is_some());
    Ok(())
}

#[test]
fn module_gives_a_command_a_fresh_instance_per_call() -> hayate::Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    let command = Module::new(
        &engine,
        r#"(module
             (memory (export "memory") 1)
             (global $n (mut i32) (i32.const 0))
             (func (export "_start"))
             (func (export "bump") (param i32) (result i32)
               (global.set $n (i32.add (global.get $n) (local.get 0)))
               (global.get $n)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    linker.module(&mut store, "cmd", &command)?;
    assert!(linker.get(&mut store, "cmd", "memory").is_none());
    let bump = linker
        .get(&mut store, "cmd", "bump")
        .unwrap()
        .into_func()
        .unwrap();
    let bump = bump.typed::<i32, i32>(&store)?;
    // A fresh instance each time: the global starts at 0 again.
    assert_eq!(bump.call(&mut store, 5)?, 5);
    assert_eq!(bump.call(&mut store, 5)?, 5);

    // Commands defined in one store work in another (engine-level).
    let mut other = Store::new(&engine, ());
    let user = Module::new(
        &engine,
        r#"(module (import "cmd" "bump" (func $b (param i32) (result i32)))
             (func (export "run") (result i32) (call $b (i32.const 9))))"#,
    )?;
    let run = linker
        .instantiate(&mut other, &user)?
        .get_typed_func::<(), i32>(&mut other, "run")?;
    assert_eq!(run.call(&mut other, ())?, 9);
    Ok(())
}

#[test]
fn module_refuses_ambiguous_and_odd_commands() -> hayate::Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let both = Module::new(
        &engine,
        r#"(module (func (export "_start")) (func (export "_initialize")))"#,
    )?;
    let err = linker.module(&mut store, "x", &both).unwrap_err();
    assert!(
        err.to_string()
            .contains("both a `_start` and an `_initialize`")
    );

    let odd = Module::new(
        &engine,
        r#"(module (func (export "_start")) (global (export "weird") i32 (i32.const 0)))"#,
    )?;
    let err = linker.module(&mut store, "x", &odd).unwrap_err();
    assert!(
        err.to_string().contains("`weird` is not a function"),
        "{err}"
    );

    // A command whose imports are missing fails now, naming the import.
    let needy = Module::new(
        &engine,
        r#"(module (import "nowhere" "f" (func)) (func (export "_start")))"#,
    )?;
    let err = linker.module(&mut store, "x", &needy).unwrap_err();
    let unknown = err.downcast_ref::<UnknownImportError>().expect("{err}");
    assert_eq!((unknown.module(), unknown.name()), ("nowhere", "f"));

    // Another engine's module.
    let foreign = Module::new(&Engine::default(), "(module)")?;
    assert!(linker.module(&mut store, "x", &foreign).is_err());
    Ok(())
}

#[test]
fn unknown_function_imports_trap_naming_the_import() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "known" (func $known (result i32)))
             (import "env" "missing" (func $missing (param i32) (result i32)))
             (func (export "ok") (result i32) (call $known))
             (func (export "boom") (result i32) (call $missing (i32.const 1))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "known", || 3)?;
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown import: `env::missing` has not been defined"
    );
    assert!(matches!(
        err.downcast_ref::<UnknownImportError>().map(|e| e.ty()),
        Some(ExternType::Func(_))
    ));

    linker.define_unknown_imports_as_traps(&module)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let ok = instance.get_typed_func::<(), i32>(&mut store, "ok")?;
    assert_eq!(ok.call(&mut store, ())?, 3, "defined imports are kept");
    let boom = instance.get_typed_func::<(), i32>(&mut store, "boom")?;
    let err = boom.call(&mut store, ()).unwrap_err();
    let unknown = err.downcast_ref::<UnknownImportError>().expect("{err:?}");
    assert_eq!((unknown.module(), unknown.name()), ("env", "missing"));
    assert!(format!("{err:#}").contains("`env::missing` has not been defined"));
    assert!(err.downcast_ref::<WasmBacktrace>().is_some());
    // Defining them again is harmless: they are known now.
    linker.define_unknown_imports_as_traps(&module)?;
    Ok(())
}

#[test]
fn unknown_non_function_imports_still_fail_instantiation() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "f" (func)) (import "env" "mem" (memory 1)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    assert!(linker.get(&mut store, "env", "f").is_some());
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown import: `env::mem` has not been defined"
    );
    Ok(())
}

#[test]
fn thousands_of_unknown_imports() -> hayate::Result<()> {
    const N: usize = 5000;
    let mut wat = String::from("(module\n");
    for i in 0..N {
        wat.push_str(&format!(
            "(import \"m{}\" \"f{i}\" (func (param i32) (result i64)))\n",
            i % 7
        ));
    }
    wat.push_str(&format!(
        "(func (export \"last\") (result i64) (call {} (i32.const 0))))",
        N - 1
    ));
    let engine = Engine::default();
    let module = Module::new(&engine, wat)?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let last = instance.get_typed_func::<(), i64>(&mut store, "last")?;
    let err = last.call(&mut store, ()).unwrap_err();
    let unknown = err.downcast_ref::<UnknownImportError>().unwrap();
    assert_eq!(unknown.name(), format!("f{}", N - 1));
    assert_eq!(unknown.module(), format!("m{}", (N - 1) % 7));
    let exports: Vec<Extern> = instance
        .exports(&mut store)
        .map(|e| e.into_extern())
        .collect();
    assert_eq!(exports.len(), 1);
    Ok(())
}
