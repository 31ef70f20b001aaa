//! Components end to end: lifted exports called from the host with
//! dynamic values, host functions lowered into core instances, strings
//! and lists through linear memory and `realloc`, results through a
//! return pointer, nested components, and hostile guests (bad pointers,
//! bad UTF-8, traps) getting errors, never crashes.

use std::sync::{Arc, Mutex};

use hayate::{Config, Engine, Store};
use hayate_component::{Component, Linker, Val};

mod common;

use common::{LIBC, SUM};

fn engine() -> Engine {
    Engine::new(&Config::new()).unwrap()
}

fn exports_component() -> String {
    format!(
        r#"(component
  (core module $m
    {LIBC}
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "strlen") (param i32 i32) (result i32) (local.get 1))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    {SUM}
    (export "sum" (func $sum))
    (func (export "swap") (param i32 i32) (result i32)
      (i32.store (i32.const 32) (local.get 1))
      (i32.store (i32.const 36) (local.get 0))
      (i32.const 32))
    (func (export "bad-string") (result i32)
      (i32.store (i32.const 48) (i32.const 65530))
      (i32.store (i32.const 52) (i32.const 100))
      (i32.const 48))
    (func (export "bad-utf8") (result i32)
      (i32.store8 (i32.const 64) (i32.const 0xff))
      (i32.store (i32.const 48) (i32.const 64))
      (i32.store (i32.const 52) (i32.const 1))
      (i32.const 48))
    (func (export "boom") (unreachable))
  )
  (core instance $i (instantiate $m))
  (type $point_def (record (field "x" u32) (field "y" u32)))
  (export $point "point" (type $point_def))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "strlen") (param "s" string) (result u32)
    (canon lift (core func $i "strlen") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "sum") (param "xs" (list u32)) (result u32)
    (canon lift (core func $i "sum") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "swap") (param "p" $point) (result (tuple u32 u32))
    (canon lift (core func $i "swap") (memory (core memory $i "mem"))))
  (func (export "bad-string") (result string)
    (canon lift (core func $i "bad-string") (memory (core memory $i "mem"))))
  (func (export "bad-utf8") (result string)
    (canon lift (core func $i "bad-utf8") (memory (core memory $i "mem"))))
  (func (export "boom") (canon lift (core func $i "boom")))
)"#
    )
}

fn call(
    store: &mut Store<()>,
    instance: &hayate_component::Instance,
    name: &str,
    args: &[Val],
) -> anyhow::Result<Option<Val>> {
    let f = instance.get_func(&mut *store, name).expect(name);
    let n = usize::from(f.ty().unwrap().result.is_some());
    let mut out = vec![Val::Bool(false); n];
    f.call(&mut *store, args, &mut out)?;
    Ok(out.pop())
}

#[test]
fn lifted_exports_take_and_return_values() {
    let engine = engine();
    let component = Component::new(&engine, exports_component()).unwrap();
    let linker = Linker::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let add = call(&mut store, &instance, "add", &[Val::U32(40), Val::U32(2)]).unwrap();
    assert_eq!(add, Some(Val::U32(42)));
    let s = Val::String("héllo, wörld".into());
    let len = call(&mut store, &instance, "strlen", std::slice::from_ref(&s)).unwrap();
    assert_eq!(len, Some(Val::U32("héllo, wörld".len() as u32)));
    let echo = call(&mut store, &instance, "echo", std::slice::from_ref(&s)).unwrap();
    assert_eq!(echo, Some(s));
    let xs = Val::List((1..=100).map(Val::U32).collect());
    let sum = call(&mut store, &instance, "sum", &[xs]).unwrap();
    assert_eq!(sum, Some(Val::U32(5050)));
    let point = Val::Record(vec![("x".into(), Val::U32(1)), ("y".into(), Val::U32(2))]);
    let swapped = call(&mut store, &instance, "swap", &[point]).unwrap();
    assert_eq!(swapped, Some(Val::Tuple(vec![Val::U32(2), Val::U32(1)])));
}

#[test]
fn bad_arguments_and_hostile_results_are_errors() {
    let engine = engine();
    let component = Component::new(&engine, exports_component()).unwrap();
    let linker = Linker::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let wrong = call(
        &mut store,
        &instance,
        "add",
        &[Val::U32(1), Val::String("x".into())],
    );
    assert!(wrong.is_err());
    assert!(call(&mut store, &instance, "add", &[Val::U32(1)]).is_err());
    // Arguments refused before the call leave the instance usable.
    let add = call(&mut store, &instance, "add", &[Val::U32(2), Val::U32(3)]).unwrap();
    assert_eq!(add, Some(Val::U32(5)));
    // A failure once the guest ran traps, and a trapped instance may not
    // be entered again (as in the spec and Wasmtime); a fresh one works.
    let fresh = |store: &mut Store<()>| linker.instantiate(store, &component).unwrap();
    let oob = call(&mut store, &instance, "bad-string", &[]).unwrap_err();
    assert!(format!("{oob:#}").contains("bounds"), "{oob:#}");
    let again = call(&mut store, &instance, "add", &[Val::U32(2), Val::U32(3)]).unwrap_err();
    assert!(format!("{again:#}").contains("trapped"), "{again:#}");
    let instance = fresh(&mut store);
    let utf8 = call(&mut store, &instance, "bad-utf8", &[]).unwrap_err();
    assert!(
        format!("{utf8:#}").to_lowercase().contains("utf"),
        "{utf8:#}"
    );
    let instance = fresh(&mut store);
    let trap = call(&mut store, &instance, "boom", &[]).unwrap_err();
    assert!(trap.downcast_ref::<hayate::Trap>().is_some(), "{trap:#}");
    let instance = fresh(&mut store);
    let add = call(&mut store, &instance, "add", &[Val::U32(2), Val::U32(3)]).unwrap();
    assert_eq!(add, Some(Val::U32(5)));
}

#[test]
fn host_functions_are_lowered_into_core_instances() {
    let engine = engine();
    let wat = format!(
        r#"(component
  (import "host-add" (func $host_add (param "a" u32) (param "b" u32) (result u32)))
  (import "log" (func $log (param "msg" string)))
  (import "greet" (func $greet (param "name" string) (result string)))
  (core module $libc {LIBC})
  (core instance $libc (instantiate $libc))
  (core func $add_lowered (canon lower (func $host_add)))
  (core func $log_lowered (canon lower (func $log) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core func $greet_lowered (canon lower (func $greet) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core module $main
    (import "host" "add" (func $add (param i32 i32) (result i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (import "host" "greet" (func $greet (param i32 i32 i32)))
    (import "libc" "mem" (memory 1))
    (data (i32.const 100) "hello from the guest")
    (data (i32.const 200) "world")
    (func (export "run") (result i32)
      (call $log (i32.const 100) (i32.const 20))
      (call $add (i32.const 40) (i32.const 2)))
    (func (export "hello") (result i32)
      (call $greet (i32.const 200) (i32.const 5) (i32.const 300))
      (i32.const 300)))
  (core instance $main (instantiate $main
    (with "host" (instance
      (export "add" (func $add_lowered))
      (export "log" (func $log_lowered))
      (export "greet" (func $greet_lowered))))
    (with "libc" (instance $libc))))
  (func (export "run") (result u32) (canon lift (core func $main "run")))
  (func (export "hello") (result string)
    (canon lift (core func $main "hello") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
)"#
    );
    let component = Component::new(&engine, wat).unwrap();
    let logged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut linker = Linker::<()>::new(&engine);
    let mut root = linker.root();
    root.func_new("host-add", |_, args, out| {
        let (Val::U32(a), Val::U32(b)) = (&args[0], &args[1]) else {
            anyhow::bail!("bad arguments");
        };
        out[0] = Val::U32(a + b);
        Ok(())
    })
    .unwrap();
    let sink = logged.clone();
    root.func_new("log", move |_, args, _| {
        let Val::String(s) = &args[0] else {
            anyhow::bail!("bad arguments");
        };
        sink.lock().unwrap().push(s.clone());
        Ok(())
    })
    .unwrap();
    root.func_new("greet", |_, args, out| {
        let Val::String(s) = &args[0] else {
            anyhow::bail!("bad arguments");
        };
        out[0] = Val::String(format!("hello, {s}!"));
        Ok(())
    })
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    assert_eq!(
        call(&mut store, &instance, "run", &[]).unwrap(),
        Some(Val::U32(42))
    );
    assert_eq!(*logged.lock().unwrap(), ["hello from the guest"]);
    let hello = call(&mut store, &instance, "hello", &[]).unwrap();
    assert_eq!(hello, Some(Val::String("hello, world!".into())));
}

#[test]
fn missing_imports_and_core_modules_are_clear_errors() {
    let engine = engine();
    let wat = r#"(component (import "needed" (func)))"#;
    let component = Component::new(&engine, wat).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    assert!(format!("{err:#}").contains("needed"), "{err:#}");
    let err = Component::new(&engine, "(module)").unwrap_err();
    assert!(
        format!("{err:#}").contains("not a WebAssembly component"),
        "{err:#}"
    );
    let err = Component::new(&engine, [0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 0xff]).unwrap_err();
    assert!(!format!("{err:#}").is_empty());
    let err = Component::from_file(&engine, "/no/such/component.wasm").unwrap_err();
    assert!(
        format!("{err:#}").contains("/no/such/component.wasm"),
        "{err:#}"
    );
}

#[test]
fn nested_components_instantiate_and_call_each_other() {
    let engine = engine();
    let wat = r#"(component
  (component $inner
    (core module $m
      (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))
    (core instance $i (instantiate $m))
    (func (export "double") (param "x" u32) (result u32) (canon lift (core func $i "double"))))
  (instance $a (instantiate $inner))
  (alias export $a "double" (func $double))
  (core func $double_lowered (canon lower (func $double)))
  (core module $user
    (import "x" "double" (func $d (param i32) (result i32)))
    (func (export "quad") (param i32) (result i32) (call $d (call $d (local.get 0)))))
  (core instance $u (instantiate $user (with "x" (instance (export "double" (func $double_lowered))))))
  (func (export "quad") (param "x" u32) (result u32) (canon lift (core func $u "quad")))
  (export "inner-double" (func $double))
  (export "inner" (instance $a))
)"#;
    let component = Component::new(&engine, wat).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    assert_eq!(
        call(&mut store, &instance, "quad", &[Val::U32(5)]).unwrap(),
        Some(Val::U32(20))
    );
    let d = call(&mut store, &instance, "inner-double", &[Val::U32(4)]).unwrap();
    assert_eq!(d, Some(Val::U32(8)));
    let f = instance
        .get_instance_func(&mut store, "inner", "double")
        .unwrap();
    let mut out = [Val::U32(0)];
    f.call(&mut store, &[Val::U32(21)], &mut out).unwrap();
    assert_eq!(out[0], Val::U32(42));
}

#[test]
fn aliased_lists_cannot_make_the_host_build_huge_values() {
    // 4000 strings, all the same 32000 bytes of one 64 KiB memory: the
    // host would build 128 MB from 64 KiB. The lift refuses instead.
    let engine = engine();
    let wat = r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "amplify") (result i32)
      (local $i i32)
      (loop $l
        (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 32768))
        (i32.store (i32.add (i32.mul (local.get $i) (i32.const 8)) (i32.const 4)) (i32.const 32000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 4000))))
      (i32.store (i32.const 32008) (i32.const 0))
      (i32.store (i32.const 32012) (i32.const 4000))
      (i32.const 32008))
    (func (export "few") (result i32)
      (i32.store (i32.const 0) (i32.const 32768))
      (i32.store (i32.const 4) (i32.const 5))
      (i32.store (i32.const 8) (i32.const 32768))
      (i32.store (i32.const 12) (i32.const 5))
      (i32.store (i32.const 32008) (i32.const 0))
      (i32.store (i32.const 32012) (i32.const 2))
      (i32.const 32008)))
  (core instance $i (instantiate $m))
  (func (export "amplify") (result (list string))
    (canon lift (core func $i "amplify") (memory (core memory $i "mem"))))
  (func (export "few") (result (list string))
    (canon lift (core func $i "few") (memory (core memory $i "mem"))))
)"#;
    let component = Component::new(&engine, wat).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let err = call(&mut store, &instance, "amplify", &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("larger than its memory"),
        "{err:#}"
    );
    // Modest aliasing is fine.
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let few = call(&mut store, &instance, "few", &[]).unwrap();
    let five_nuls = Val::String("\0\0\0\0\0".into());
    assert_eq!(few, Some(Val::List(vec![five_nuls.clone(), five_nuls])));
}

#[test]
fn a_running_instance_cannot_be_entered_again() {
    // The host function the guest calls calls the guest back.
    let engine = engine();
    let wat = r#"(component
  (import "back" (func $back))
  (core func $back_lowered (canon lower (func $back)))
  (core module $m
    (import "host" "back" (func $back))
    (func (export "outer") (call $back))
    (func (export "inner") (result i32) (i32.const 7)))
  (core instance $i (instantiate $m (with "host" (instance (export "back" (func $back_lowered))))))
  (func (export "outer") (canon lift (core func $i "outer")))
  (func (export "inner") (result u32) (canon lift (core func $i "inner")))
)"#;
    let component = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<Option<hayate_component::Func>>::new(&engine);
    linker
        .root()
        .func_new("back", |mut store, _, _| {
            let inner = store.data().clone().unwrap();
            let mut out = [Val::U32(0)];
            inner.call(&mut store, &[], &mut out)
        })
        .unwrap();
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let inner = instance.get_func(&mut store, "inner").unwrap();
    *store.data_mut() = Some(inner.clone());
    let outer = instance.get_func(&mut store, "outer").unwrap();
    let err = outer.call(&mut store, &[], &mut []).unwrap_err();
    assert!(format!("{err:#}").contains("re-entrance"), "{err:#}");
    // The failed call trapped the instance: it may not be entered again.
    let mut out = [Val::U32(0)];
    let err = inner.call(&mut store, &[], &mut out).unwrap_err();
    assert!(format!("{err:#}").contains("trapped"), "{err:#}");
    // A fresh instance works.
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let inner = instance.get_func(&mut store, "inner").unwrap();
    inner.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0], Val::U32(7));
}

#[test]
fn interface_imports_come_from_linker_instances() {
    let engine = engine();
    let wat = r#"(component
  (import "test:demo/math@0.1.0" (instance $math
    (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))
  (alias export $math "add" (func $add))
  (core func $add_lowered (canon lower (func $add)))
  (core module $m
    (import "m" "add" (func $a (param i32 i32) (result i32)))
    (func (export "run") (result i32) (call $a (i32.const 2) (i32.const 3))))
  (core instance $i (instantiate $m (with "m" (instance (export "add" (func $add_lowered))))))
  (func (export "run") (result u32) (canon lift (core func $i "run")))
)"#;
    let component = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    // Not defined yet: the error names the interface.
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    assert!(
        format!("{err:#}").contains("test:demo/math@0.1.0"),
        "{err:#}"
    );
    let mut math = linker.instance("test:demo/math@0.1.0").unwrap();
    math.func_new("add", |_, args, out| {
        let (Val::U32(a), Val::U32(b)) = (&args[0], &args[1]) else {
            anyhow::bail!("bad arguments");
        };
        out[0] = Val::U32(a * 10 + b);
        Ok(())
    })
    .unwrap();
    assert!(
        math.func_new("add", |_, _, _| Ok(())).is_err(),
        "defined twice"
    );
    let instance = linker.instantiate(&mut store, &component).unwrap();
    assert_eq!(
        call(&mut store, &instance, "run", &[]).unwrap(),
        Some(Val::U32(23))
    );
}

#[test]
fn typed_functions_check_and_convert_rust_types() {
    let engine = engine();
    let component = Component::new(&engine, exports_component()).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let add = instance.get_func(&mut store, "add").unwrap();
    let add = add.typed::<(u32, u32), (u32,)>().unwrap();
    assert_eq!(add.call(&mut store, (40, 2)).unwrap(), (42,));
    let echo = instance.get_func(&mut store, "echo").unwrap();
    let echo = echo.typed::<(String,), (String,)>().unwrap();
    let s = "typed ✓".to_string();
    assert_eq!(echo.call(&mut store, (s.clone(),)).unwrap(), (s,));
    let sum = instance.get_func(&mut store, "sum").unwrap();
    let sum = sum.typed::<(Vec<u32>,), (u32,)>().unwrap();
    assert_eq!(sum.call(&mut store, ((1..=10).collect(),)).unwrap(), (55,));
    // Parameters may borrow, as in Wasmtime.
    let echo = instance.get_func(&mut store, "echo").unwrap();
    let echo = echo.typed::<(&str,), (String,)>().unwrap();
    let borrowed = String::from("borrowed ✓");
    assert_eq!(echo.call(&mut store, (&borrowed,)).unwrap().0, borrowed);
    let sum = instance.get_func(&mut store, "sum").unwrap();
    let xs: Vec<u32> = (1..=100).collect();
    let sum = sum.typed::<(&[u32],), (u32,)>().unwrap();
    assert_eq!(sum.call(&mut store, (&xs[..],)).unwrap(), (5050,));
    let strlen = instance.get_func(&mut store, "strlen").unwrap();
    assert!(strlen.typed::<(&[u8],), (u32,)>().is_err());
    let boom = instance.get_func(&mut store, "boom").unwrap();
    boom.typed::<(), ()>()
        .unwrap()
        .call(&mut store, ())
        .unwrap_err();
    // Wrong Rust types are refused before any call.
    let f = instance.get_func(&mut store, "add").unwrap();
    assert!(f.typed::<(u32,), (u32,)>().is_err());
    assert!(f.typed::<(u32, i32), (u32,)>().is_err());
    assert!(f.typed::<(u32, u32), (String,)>().is_err());
    assert!(f.typed::<(u32, u32), ()>().is_err());
}

#[test]
fn func_wrap_host_functions_are_checked_at_instantiation() {
    let engine = engine();
    let wat = format!(
        r#"(component
  (import "greet" (func $greet (param "name" string) (param "times" u32) (result (list string))))
  (import "maybe" (func $maybe (param "x" (option u32)) (result (result u32 (error string)))))
  (core module $libc {LIBC})
  (core instance $libc (instantiate $libc))
  (core func $greet_lowered (canon lower (func $greet) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core func $maybe_lowered (canon lower (func $maybe) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core module $main
    (import "host" "greet" (func $greet (param i32 i32 i32 i32)))
    (import "host" "maybe" (func $maybe (param i32 i32 i32)))
    (import "libc" "mem" (memory 1))
    (data (i32.const 100) "you")
    (func (export "run") (result i32)
      (call $greet (i32.const 100) (i32.const 3) (i32.const 2) (i32.const 300))
      (i32.const 300))
    (func (export "check") (param i32) (result i32)
      (call $maybe (i32.const 1) (local.get 0) (i32.const 400))
      (i32.const 400)))
  (core instance $main (instantiate $main
    (with "host" (instance (export "greet" (func $greet_lowered)) (export "maybe" (func $maybe_lowered))))
    (with "libc" (instance $libc))))
  (func (export "run") (result (list string))
    (canon lift (core func $main "run") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (func (export "check") (param "x" u32) (result (result u32 (error string)))
    (canon lift (core func $main "check") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
)"#
    );
    let component = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    let mut root = linker.root();
    root.func_wrap("greet", |_, (name, times): (String, u32)| {
        Ok((vec![format!("hi {name}"); times as usize],))
    })
    .unwrap();
    root.func_wrap("maybe", |_, (x,): (Option<u32>,)| {
        Ok((match x {
            Some(0) => Err("zero".to_string()),
            Some(x) => Ok(x * 2),
            None => Err("none".to_string()),
        },))
    })
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let run = run.typed::<(), (Vec<String>,)>().unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap().0, ["hi you", "hi you"]);
    let check = instance.get_func(&mut store, "check").unwrap();
    let check = check.typed::<(u32,), (Result<u32, String>,)>().unwrap();
    assert_eq!(check.call(&mut store, (21,)).unwrap().0, Ok(42));
    assert_eq!(check.call(&mut store, (0,)).unwrap().0, Err("zero".into()));

    // A host function whose Rust types do not match the import.
    let mut wrong = Linker::<()>::new(&engine);
    let mut root = wrong.root();
    root.func_wrap("greet", |_, (_name,): (String,)| {
        Ok((Vec::<String>::new(),))
    })
    .unwrap();
    root.func_wrap("maybe", |_, (_x,): (Option<u32>,)| {
        Ok((Result::<u32, String>::Ok(0),))
    })
    .unwrap();
    let err = wrong.instantiate(&mut store, &component).unwrap_err();
    assert!(format!("{err:#}").contains("do not match"), "{err:#}");
}

#[test]
fn precompiled_components_load_without_compiling() {
    let engine = engine();
    let artifact = Component::precompile(&engine, exports_component().as_bytes()).unwrap();
    assert!(Component::is_precompiled(&artifact));
    // Loading machine code must be allowed explicitly.
    let err = Component::from_binary(&engine, &artifact).unwrap_err();
    assert!(format!("{err:#}").contains("allow_precompiled"), "{err:#}");
    let mut config = hayate::Config::new();
    config.allow_precompiled(true);
    let trusting = hayate::Engine::new(&config).unwrap();
    let component = Component::new(&trusting, &artifact).unwrap();
    let linker = Linker::new(&trusting);
    let mut store = Store::new(&trusting, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let add = call(&mut store, &instance, "add", &[Val::U32(40), Val::U32(2)]).unwrap();
    assert_eq!(add, Some(Val::U32(42)));
    // A damaged artifact is an error, not a crash.
    for cut in [30, artifact.len() / 2, artifact.len() - 1] {
        assert!(Component::from_binary(&trusting, &artifact[..cut]).is_err());
    }
}
