//! End-to-end tests of the public API: compile, link, call, trap.

use hayate::{
    Caller, Config, Engine, Extern, Func, FuncType, Global, GlobalType, Instance, Linker, Memory,
    MemoryType, Module, Mutability, Ref, RefType, Store, Table, TableType, Trap, Val, ValType,
};

fn engine() -> Engine {
    Engine::default()
}

fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let engine = engine();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

fn trap_of(wat: &str, export: &str) -> Trap {
    let (mut store, instance) = instantiate(wat);
    let f = instance
        .get_func(&mut store, export)
        .expect("export exists");
    let err = f.call(&mut store, &[], &mut []).expect_err("must trap");
    err.downcast_ref::<Trap>()
        .copied()
        .unwrap_or_else(|| panic!("not a trap: {err}"))
}

#[test]
fn arithmetic_and_typed_calls() {
    let (mut store, instance) = instantiate(
        r#"(module
            (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
            (func (export "fac") (param i64) (result i64)
              (if (result i64) (i64.eqz (local.get 0))
                (then (i64.const 1))
                (else (i64.mul (local.get 0) (call 1 (i64.sub (local.get 0) (i64.const 1))))))))"#,
    );
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    assert_eq!(add.call(&mut store, (2, 40)).unwrap(), 42);
    assert_eq!(add.call(&mut store, (i32::MAX, 1)).unwrap(), i32::MIN);
    let fac = instance
        .get_typed_func::<i64, i64>(&mut store, "fac")
        .unwrap();
    assert_eq!(fac.call(&mut store, 20).unwrap(), 2_432_902_008_176_640_000);
    assert!(
        instance
            .get_typed_func::<i32, i32>(&mut store, "add")
            .is_err()
    );
}

#[test]
fn every_trap_kind_is_an_error() {
    assert_eq!(
        trap_of(r#"(module (func (export "f") unreachable))"#, "f"),
        Trap::UnreachableCodeReached
    );
    assert_eq!(
        trap_of(
            r#"(module (memory 1) (func (export "f") (drop (i32.load (i32.const 65536)))))"#,
            "f"
        ),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (memory 1) (func (export "f") (i32.store offset=4294967295 (i32.const -1) (i32.const 0))))"#,
            "f"
        ),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") (drop (i32.div_s (i32.const 1) (i32.const 0)))))"#,
            "f"
        ),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") (drop (i32.div_s (i32.const -2147483648) (i32.const -1)))))"#,
            "f"
        ),
        Trap::IntegerOverflow
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") (drop (i32.trunc_f32_s (f32.const nan)))))"#,
            "f"
        ),
        Trap::BadConversionToInteger
    );
    assert_eq!(
        trap_of(r#"(module (func $r (export "f") (call $r)))"#, "f"),
        Trap::StackOverflow
    );
    let table = r#"(module (type $t (func)) (table 2 funcref) (elem (i32.const 0) $g)
        (func $g (param i32))
        (func (export "oob") (call_indirect (type $t) (i32.const 5)))
        (func (export "null") (call_indirect (type $t) (i32.const 1)))
        (func (export "sig") (call_indirect (type $t) (i32.const 0))))"#;
    assert_eq!(trap_of(table, "oob"), Trap::TableOutOfBounds);
    assert_eq!(trap_of(table, "null"), Trap::IndirectCallToNull);
    assert_eq!(trap_of(table, "sig"), Trap::BadSignature);
}

#[test]
fn store_survives_traps() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1)
            (func (export "boom") unreachable)
            (func (export "ok") (result i32) i32.const 7))"#,
    );
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let ok = instance
        .get_typed_func::<(), i32>(&mut store, "ok")
        .unwrap();
    for _ in 0..100 {
        assert!(boom.call(&mut store, ()).is_err());
        assert_eq!(ok.call(&mut store, ()).unwrap(), 7);
    }
}

#[test]
fn host_functions_see_caller_memory_and_store_data() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello")
            (func (export "run") (call $log (i32.const 16) (i32.const 5))))"#,
    )
    .unwrap();
    let mut linker = Linker::<Vec<String>>::new(&engine);
    linker
        .func_wrap(
            "env",
            "log",
            |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| {
                let memory = caller
                    .get_export("memory")
                    .and_then(Extern::into_memory)
                    .unwrap();
                let bytes = memory.data(&caller)[ptr as usize..(ptr + len) as usize].to_vec();
                caller.data_mut().push(String::from_utf8(bytes).unwrap());
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(store.data(), &["hello".to_string()]);
}

#[test]
fn host_errors_pass_through_wasm_unchanged() {
    #[derive(Debug)]
    struct MyError;
    impl std::fmt::Display for MyError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("my error")
        }
    }
    impl std::error::Error for MyError {}

    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "fail" (func $f)) (func (export "run") (call $f)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let fail = Func::wrap(&mut store, || -> hayate::Result<()> {
        Err(hayate::Error::new(MyError))
    });
    let instance = Instance::new(&mut store, &module, &[fail.into()]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let err = run.call(&mut store, &[], &mut []).unwrap_err();
    assert!(err.downcast_ref::<MyError>().is_some(), "{err}");
    assert!(err.downcast_ref::<Trap>().copied().is_none());
}

#[test]
fn panics_in_host_functions_propagate_to_the_embedder() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "panic" (func $p)) (func (export "run") (call $p)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let p = Func::wrap(&mut store, || -> () { panic!("host panic") });
    let instance = Instance::new(&mut store, &module, &[p.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, ())));
    assert!(result.is_err());
    // The store still works afterwards.
    let ok = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) i32.const 1))"#,
    )
    .unwrap();
    let i = Instance::new(&mut store, &ok, &[]).unwrap();
    assert_eq!(
        i.get_typed_func::<(), i32>(&mut store, "f")
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        1
    );
}

#[test]
fn wasm_host_wasm_recursion_ends_in_stack_overflow() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "again" (func $again))
            (func (export "run") (call $again)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let again = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>| -> hayate::Result<()> {
            let run = caller
                .get_export("run")
                .and_then(Extern::into_func)
                .unwrap();
            run.call(&mut caller, &[], &mut [])
        },
    );
    let instance = Instance::new(&mut store, &module, &[again.into()]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let err = run.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::StackOverflow),
        "{err}"
    );
}

#[test]
fn dynamic_host_function_and_globals() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "sum" (func $sum (param i64 f64) (result f64)))
            (import "env" "counter" (global $c (mut i32)))
            (global (export "g") (mut i64) (i64.const 5))
            (func (export "run") (result f64)
              (global.set $c (i32.add (global.get $c) (i32.const 1)))
              (call $sum (i64.const 2) (f64.const 0.5))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([ValType::I64, ValType::F64], [ValType::F64]);
    let sum = Func::new(&mut store, ty, |_, params, results| {
        results[0] = Val::from(params[0].i64().unwrap() as f64 + params[1].f64().unwrap());
        Ok(())
    });
    let counter = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(41),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[sum.into(), counter.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), f64>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 2.5);
    assert_eq!(counter.get(&store).i32(), Some(42));
    let g = instance.get_global(&mut store, "g").unwrap();
    g.set(&mut store, Val::I64(9)).unwrap();
    assert_eq!(g.get(&store).i64(), Some(9));
    assert!(g.set(&mut store, Val::I32(1)).is_err());
}

#[test]
fn memory_grow_honours_maximum() {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "m") 1 3)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "size") (result i32) memory.size)
            (func (export "poke") (param i32) (i32.store8 (local.get 0) (i32.const 9))))"#,
    );
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let size = instance
        .get_typed_func::<(), i32>(&mut store, "size")
        .unwrap();
    let poke = instance
        .get_typed_func::<i32, ()>(&mut store, "poke")
        .unwrap();
    assert!(poke.call(&mut store, 65536).is_err());
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    poke.call(&mut store, 65536).unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 2);
    assert_eq!(size.call(&mut store, ()).unwrap(), 3);
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.data(&store)[65536], 9);
    assert!(m.grow(&mut store, 1).is_err());
}

#[test]
fn host_memory_and_table_imports() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "e" "mem" (memory 1)) (import "e" "tab" (table 1 funcref))
            (type $t (func (result i32)))
            (func $seven (result i32) i32.const 7)
            (elem (i32.const 0) $seven)
            (func (export "load") (result i32) (i32.load (i32.const 8)))
            (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mem = Memory::new(&mut store, MemoryType::new(1, Some(2))).unwrap();
    mem.write(&mut store, 8, &42i32.to_le_bytes()).unwrap();
    let tab = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 2, None),
        Ref::Func(None),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[mem.into(), tab.into()]).unwrap();
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "load")
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        42
    );
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "call0")
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        7
    );
    let Some(Ref::Func(Some(seven))) = tab.get(&mut store, 0) else {
        panic!("table entry set")
    };
    let mut out = [Val::I32(0)];
    seven.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(7));
    // A host function placed in the table from the API is callable from Wasm.
    let host = Func::wrap(&mut store, || 11i32);
    tab.set(&mut store, 0, Ref::Func(Some(host))).unwrap();
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "call0")
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        11
    );
}

#[test]
fn link_errors_are_clear() {
    let engine = engine();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let err = linker
        .instantiate(&mut store, &module)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown import") && err.contains("env::f"),
        "{err}"
    );
    let wrong = Func::wrap(&mut store, |_: i64| {});
    let err = Instance::new(&mut store, &module, &[wrong.into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("incompatible import type"), "{err}");
}

#[test]
fn malformed_and_invalid_modules_are_errors_with_offsets() {
    let engine = engine();
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01\x05")
        .unwrap_err()
        .to_string();
    assert!(err.contains("offset"), "{err}");
    let err = Module::new(&engine, r#"(module (func (result i32)))"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("type mismatch"), "{err}");
    assert!(Module::new(&engine, "(module (func").is_err());
}

#[test]
fn spec_version_limits_features() {
    let mut config = Config::new();
    config.spec_version(Some(hayate::SpecVersion::V1));
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(
        &engine,
        r#"(module (func (param i32) (result i32) (i32.extend8_s (local.get 0))))"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("sign extension"), "{err}");
}

#[test]
fn start_function_trap_fails_instantiation() {
    let engine = engine();
    let module = Module::new(&engine, r#"(module (func $s unreachable) (start $s))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::UnreachableCodeReached)
    );
}

#[test]
fn backtraces_name_functions() {
    let (mut store, instance) = instantiate(
        r#"(module (func $inner unreachable) (func $outer (export "f") (call $inner)))"#,
    );
    let err = instance
        .get_func(&mut store, "f")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    let bt = err
        .downcast_ref::<hayate::WasmBacktrace>()
        .expect("a trap has a backtrace");
    let names: Vec<_> = bt
        .frames
        .iter()
        .map(|f| f.func_name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["inner", "outer"], "{err}");
}

#[test]
fn deep_recursion_backtrace_is_folded() {
    let (mut store, instance) = instantiate(r#"(module (func $r (export "f") (call $r)))"#);
    let err = instance
        .get_func(&mut store, "f")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    // `{:#}` shows the chain: the backtrace (folded), then the trap.
    let text = format!("{err:#}");
    assert!(text.contains("call stack exhausted"), "{text}");
    assert!(text.contains("repeated"), "{text}");
    assert!(text.lines().count() < 10, "{text}");
}

/// A function, memory, table or global handle reaches its object only through a
/// borrow of the store that owns it: with any other store (here, after its
/// own store is gone) every accessor panics instead of reading freed memory.
#[test]
fn handles_refuse_other_stores_even_after_their_store_dropped() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let engine = engine();
    let mut first = Store::new(&engine, ());
    let mem = Memory::new(&mut first, MemoryType::new(1, None)).unwrap();
    let tab = Table::new(
        &mut first,
        TableType::new(RefType::FUNCREF, 3, None),
        Ref::Func(None),
    )
    .unwrap();
    let glob = Global::new(
        &mut first,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(5),
    )
    .unwrap();
    let func = Func::wrap(&mut first, || 1i32);
    assert_eq!(func.ty(&first).results().len(), 1);
    assert_eq!(mem.ty(&first).minimum(), 1);
    assert_eq!(tab.ty(&first).minimum(), 3);
    drop(first);
    let mut other = Store::new(&engine, ());
    let refused = |what: &str, f: &mut dyn FnMut()| {
        let err = catch_unwind(AssertUnwindSafe(f)).expect_err(what);
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("wrong store"), "{what}: {msg}");
    };
    refused("Memory::ty", &mut || {
        let _ = mem.ty(&other);
    });
    refused("Memory::data", &mut || {
        let _ = mem.data(&other).len();
    });
    refused("Table::ty", &mut || {
        let _ = tab.ty(&other);
    });
    refused("Table::size", &mut || {
        let _ = tab.size(&other);
    });
    refused("Table::get", &mut || {
        let _ = tab.get(&mut other, 0);
    });
    refused("Func::ty", &mut || {
        let _ = func.ty(&other);
    });
    refused("Global::get", &mut || {
        let _ = glob.get(&other);
    });
}

#[test]
fn func_types_compare_by_their_types_however_long() {
    let short = FuncType::new([ValType::I32, ValType::F64], [ValType::I64]);
    let long_params = vec![ValType::I64; 20];
    let long = FuncType::new(long_params.clone(), [ValType::F32, ValType::V128]);
    assert_eq!(
        short.params().collect::<Vec<_>>(),
        [ValType::I32, ValType::F64]
    );
    assert_eq!(short.results().collect::<Vec<_>>(), [ValType::I64]);
    assert_eq!(long.params().collect::<Vec<_>>(), long_params);
    assert_eq!(
        long.results().collect::<Vec<_>>(),
        [ValType::F32, ValType::V128]
    );
    assert_eq!(short.to_string(), "(func (param i32 f64) (result i64))");
    // What a function reports is its signature, short or long.
    let wat = format!(
        r#"(module
            (func (export "short") (param i32 f64) (result i64) i64.const 0)
            (func (export "long") (param {}) (result f32 v128)
              f32.const 0 v128.const i64x2 0 0))"#,
        "i64 ".repeat(20)
    );
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    for (name, expected) in [("short", &short), ("long", &long)] {
        let ty = instance.get_func(&mut store, name).unwrap().ty(&store);
        assert_eq!(&ty, expected);
        let hash = |t: &FuncType| {
            use std::hash::{BuildHasher, RandomState};
            let s = RandomState::new();
            (s.hash_one(t), s.hash_one(expected))
        };
        let (a, b) = hash(&ty);
        assert_eq!(a, b);
        assert_eq!(ty.clone(), ty);
    }
    assert_ne!(short, long);
    // Same types, different split between parameters and results.
    assert_ne!(
        FuncType::new([ValType::I32, ValType::I32], []),
        FuncType::new([ValType::I32], [ValType::I32])
    );
}
