//! Typed calls end to end, with `#[derive(ComponentType)]` records and
//! variants: exports called with Rust values (flat, and through memory
//! past 16 flat parameters and one flat result), host functions with
//! Rust types called by the guest through both paths, and hostile
//! results failing cleanly.

use hayate::{Config, Engine, Store};
use hayate_component::{Component, ComponentType, Linker};

mod common;

use common::{LIBC, SUM};

#[derive(ComponentType, Debug, Clone, PartialEq)]
struct Named {
    name: String,
    weight: f64,
}

#[derive(ComponentType, Debug, Clone, Copy, PartialEq)]
struct Six {
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    e: u32,
    f: u32,
}

impl Six {
    fn sum(&self) -> u32 {
        self.a + self.b + self.c + self.d + self.e + self.f
    }
}

#[derive(ComponentType, Debug, Clone, PartialEq)]
enum Answer {
    Nothing,
    Number(u64),
    Text(String),
}

fn component() -> String {
    format!(
        r#"(component
  (type $named_def (record (field "name" string) (field "weight" f64)))
  (type $six_def (record (field "a" u32) (field "b" u32) (field "c" u32) (field "d" u32) (field "e" u32) (field "f" u32)))
  (type $answer_def (variant (case "nothing") (case "number" u64) (case "text" string)))
  (import "six" (type $six_in (eq $six_def)))
  (import "answer" (type $answer_in (eq $answer_def)))
  (import "host-wide" (func $host_wide (param "x" $six_in) (param "y" $six_in) (param "z" $six_in) (result u32)))
  (import "host-answer" (func $host_answer (param "n" u32) (result $answer_in)))
  (core module $libc {LIBC})
  (core instance $libc (instantiate $libc))
  (core func $host_wide_lowered (canon lower (func $host_wide) (memory (core memory $libc "mem"))))
  (core func $host_answer_lowered (canon lower (func $host_answer) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core module $m
    (import "libc" "mem" (memory 1))
    (import "host" "wide" (func $wide (param i32) (result i32)))
    (import "host" "answer" (func $answer (param i32 i32)))
    {SUM}
    (data (i32.const 512) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00\05\00\00\00\06\00\00\00\07\00\00\00\08\00\00\00\09\00\00\00\0a\00\00\00\0b\00\00\00\0c\00\00\00\0d\00\00\00\0e\00\00\00\0f\00\00\00\10\00\00\00\11\00\00\00\12\00\00\00")
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    (func (export "wide") (param $p i32) (result i32)
      (call $sum (local.get $p) (i32.const 18)))
    (func (export "call-wide") (result i32)
      (call $wide (i32.const 512)))
    (func (export "relay") (param $n i32) (result i32)
      (call $answer (local.get $n) (i32.const 64))
      (i32.const 64))
    (func (export "bad-case") (result i32)
      (i32.store8 (i32.const 96) (i32.const 7))
      (i32.const 96))
    (func (export "bad-list") (result i32)
      (i32.store (i32.const 100) (i32.const 65000))
      (i32.store (i32.const 104) (i32.const 1000))
      (i32.const 100))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "host" (instance (export "wide" (func $host_wide_lowered)) (export "answer" (func $host_answer_lowered))))))
  (export $named "named" (type $named_def))
  (export $six "six-out" (type $six_def))
  (export $answer "answer-out" (type $answer_def))
  (func (export "echo") (param "xs" (list $named)) (result (list $named))
    (canon lift (core func $i "echo") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (func (export "wide") (param "x" $six) (param "y" $six) (param "z" $six) (result u32)
    (canon lift (core func $i "wide") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (func (export "call-wide") (result u32)
    (canon lift (core func $i "call-wide")))
  (func (export "relay") (param "n" u32) (result $answer)
    (canon lift (core func $i "relay") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (func (export "bad-case") (result $answer)
    (canon lift (core func $i "bad-case") (memory (core memory $libc "mem"))))
  (func (export "bad-list") (result (list $named))
    (canon lift (core func $i "bad-list") (memory (core memory $libc "mem"))))
)"#
    )
}

fn linker(engine: &Engine) -> Linker<()> {
    let mut linker = Linker::new(engine);
    let mut root = linker.root();
    root.func_wrap("host-wide", |_, (x, y, z): (Six, Six, Six)| {
        Ok((x.sum() * 100 + y.sum() * 10 + z.sum(),))
    })
    .unwrap();
    root.func_wrap("host-answer", |_, (n,): (u32,)| {
        Ok((match n {
            0 => Answer::Nothing,
            1 => Answer::Text("one".to_string()),
            n => Answer::Number(u64::from(n) << 33),
        },))
    })
    .unwrap();
    linker
}

#[test]
fn derived_types_cross_the_boundary_both_ways() {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, component()).unwrap();
    let linker = linker(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let func = |store: &mut Store<()>, name| instance.get_func(store, name).unwrap();

    // A list of records through memory, out and back.
    let echo = func(&mut store, "echo");
    let echo = echo.typed::<(Vec<Named>,), (Vec<Named>,)>().unwrap();
    let named = vec![
        Named {
            name: "風".to_string(),
            weight: 1.5,
        },
        Named {
            name: String::new(),
            weight: -0.0,
        },
    ];
    assert_eq!(echo.call(&mut store, (named.clone(),)).unwrap().0, named);
    assert_eq!(echo.call(&mut store, (Vec::new(),)).unwrap().0, []);

    // 18 flat parameters: passed as a tuple in memory.
    let six = |base: u32| Six {
        a: base,
        b: base + 1,
        c: base + 2,
        d: base + 3,
        e: base + 4,
        f: base + 5,
    };
    let wide = func(&mut store, "wide");
    let wide = wide.typed::<(Six, Six, Six), (u32,)>().unwrap();
    let expected = six(1).sum() + six(7).sum() + six(13).sum();
    assert_eq!(
        wide.call(&mut store, (six(1), six(7), six(13))).unwrap().0,
        expected
    );

    // The guest passes 18 values in memory to a typed host function.
    let call_wide = func(&mut store, "call-wide");
    let call_wide = call_wide.typed::<(), (u32,)>().unwrap();
    let host = six(1).sum() * 100 + six(7).sum() * 10 + six(13).sum();
    assert_eq!(call_wide.call(&mut store, ()).unwrap().0, host);

    // A typed host function's variant result, lowered through the
    // guest's return pointer, then lifted by a typed export.
    let relay = func(&mut store, "relay");
    let relay = relay.typed::<(u32,), (Answer,)>().unwrap();
    assert_eq!(relay.call(&mut store, (0,)).unwrap().0, Answer::Nothing);
    assert_eq!(
        relay.call(&mut store, (1,)).unwrap().0,
        Answer::Text("one".into())
    );
    assert_eq!(
        relay.call(&mut store, (5,)).unwrap().0,
        Answer::Number(5 << 33)
    );

    // The dynamic path agrees.
    let relay = func(&mut store, "relay");
    let mut out = [hayate_component::Val::Bool(false)];
    relay
        .call(&mut store, &[hayate_component::Val::U32(1)], &mut out)
        .unwrap();
    assert_eq!(
        Answer::from_val(out[0].clone()).unwrap(),
        Answer::Text("one".into())
    );
}

#[test]
fn hostile_typed_results_are_errors() {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, component()).unwrap();
    let linker = linker(&engine);
    for (name, needle) in [("bad-case", "discriminant"), ("bad-list", "out of bounds")] {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let f = instance.get_func(&mut store, name).unwrap();
        let err = match name {
            "bad-case" => f
                .typed::<(), (Answer,)>()
                .unwrap()
                .call(&mut store, ())
                .map(drop),
            _ => f
                .typed::<(), (Vec<Named>,)>()
                .unwrap()
                .call(&mut store, ())
                .map(drop),
        };
        let err = format!("{:#}", err.unwrap_err());
        assert!(err.contains(needle), "{name}: {err}");
    }
    // Rust types that do not match are refused before any call.
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let echo = instance.get_func(&mut store, "echo").unwrap();
    assert!(echo.typed::<(Vec<Six>,), (Vec<Named>,)>().is_err());
    assert!(echo.typed::<(Vec<Named>,), (Vec<Answer>,)>().is_err());
}

#[test]
fn instance_pre_resolves_imports_once_and_instantiates_many_times() {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, component()).unwrap();
    // A linker without the host functions: refused when preparing.
    let err = Linker::<()>::new(&engine)
        .instantiate_pre(&component)
        .err()
        .expect("missing imports are an error");
    assert!(format!("{err:#}").contains("host-wide"), "{err:#}");
    let pre = linker(&engine).instantiate_pre(&component).unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = pre.instantiate(&mut store).unwrap();
        let relay = instance.get_func(&mut store, "relay").unwrap();
        let relay = relay.typed::<(u32,), (Answer,)>().unwrap();
        assert_eq!(relay.call(&mut store, (0,)).unwrap().0, Answer::Nothing);
    }
    // Two instances in one store have their own state.
    let mut store = Store::new(&engine, ());
    let a = pre.clone().instantiate(&mut store).unwrap();
    let b = pre.instantiate(&mut store).unwrap();
    let call_wide = |i: &hayate_component::Instance, store: &mut Store<()>| {
        let f = i.get_func(&mut *store, "call-wide").unwrap();
        f.typed::<(), (u32,)>()
            .unwrap()
            .call(&mut *store, ())
            .unwrap()
            .0
    };
    assert_eq!(call_wide(&a, &mut store), call_wide(&b, &mut store));
}
