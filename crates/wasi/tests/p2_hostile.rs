//! WASI 0.2 against a hostile guest: numbers it chooses (a random-bytes
//! length, a read length) cannot make the host allocate without bound,
//! forged and misused handles are errors, and resources that others hang
//! from cannot be dropped first. Each failure is an error from the call,
//! never a crash.

use hayate::{Engine, Store};
use hayate_component::{Component, Linker, Val};
use hayate_wasi::{ReadPipe, WasiCtx};

/// Imports `wasi:io/poll`, `wasi:io/streams` (input streams and their
/// pollables), `wasi:cli/stdin` and `wasi:random/random`, and exports core
/// functions calling them.
const GUEST: &str = r#"(component
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "poll" (func (param "in" (list (borrow $p))) (result (list u32))))
    (export "[method]pollable.ready" (func (param "self" (borrow $p)) (result bool)))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer 1 $pollable (type $p))
    (export "pollable" (type (eq $p)))
    (export "input-stream" (type $is (sub resource)))
    (export "[method]input-stream.subscribe" (func (param "self" (borrow $is)) (result (own $p))))))
  (alias export $streams "input-stream" (type $input-stream))
  (import "wasi:cli/stdin@0.2.0" (instance $stdin
    (alias outer 1 $input-stream (type $is))
    (export "input-stream" (type (eq $is)))
    (export "get-stdin" (func (result (own $is))))))
  (import "wasi:random/random@0.2.0" (instance $random
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))
  (core module $libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $heap))
      (global.set $heap (i32.add (global.get $heap) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
  (core func $poll (canon lower (func $poll "poll")
    (memory $mem) (realloc $realloc)))
  (core func $ready (canon lower (func $poll "[method]pollable.ready")))
  (core func $subscribe (canon lower (func $streams "[method]input-stream.subscribe")))
  (core func $get-stdin (canon lower (func $stdin "get-stdin")))
  (core func $random (canon lower (func $random "get-random-bytes")
    (memory $mem) (realloc $realloc)))
  (core func $drop-stream (canon resource.drop $input-stream))
  (core func $drop-pollable (canon resource.drop $pollable))
  (core module $m
    (import "" "memory" (memory 1))
    (import "" "poll" (func $poll (param i32 i32 i32)))
    (import "" "ready" (func $ready (param i32) (result i32)))
    (import "" "subscribe" (func $subscribe (param i32) (result i32)))
    (import "" "get-stdin" (func $get-stdin (result i32)))
    (import "" "random" (func $random (param i64 i32)))
    (import "" "drop-stream" (func $drop-stream (param i32)))
    (import "" "drop-pollable" (func $drop-pollable (param i32)))
    (func (export "huge-random") (call $random (i64.const 0x10000000000) (i32.const 16)))
    (func (export "some-random") (result i32)
      (call $random (i64.const 1000) (i32.const 16))
      (i32.load (i32.const 20)))
    (func (export "poll-nothing") (call $poll (i32.const 0) (i32.const 0) (i32.const 16)))
    (func (export "forged-pollable") (result i32) (call $ready (i32.const 99)))
    (func (export "drop-parent-first")
      (local $s i32)
      (local.set $s (call $get-stdin))
      (drop (call $subscribe (local.get $s)))
      (call $drop-stream (local.get $s)))
    (func (export "drop-in-order") (result i32)
      (local $s i32) (local $p i32)
      (local.set $s (call $get-stdin))
      (local.set $p (call $subscribe (local.get $s)))
      (call $drop-pollable (local.get $p))
      (call $drop-stream (local.get $s))
      (i32.const 1)))
  (core instance $i (instantiate $m (with "" (instance
    (export "memory" (memory $mem))
    (export "poll" (func $poll)) (export "ready" (func $ready))
    (export "subscribe" (func $subscribe)) (export "get-stdin" (func $get-stdin))
    (export "random" (func $random)) (export "drop-stream" (func $drop-stream))
    (export "drop-pollable" (func $drop-pollable))))))
  (func (export "huge-random") (canon lift (core func $i "huge-random")))
  (func (export "some-random") (result u32) (canon lift (core func $i "some-random")))
  (func (export "poll-nothing") (canon lift (core func $i "poll-nothing")))
  (func (export "forged-pollable") (result bool) (canon lift (core func $i "forged-pollable")))
  (func (export "drop-parent-first") (canon lift (core func $i "drop-parent-first")))
  (func (export "drop-in-order") (result u32) (canon lift (core func $i "drop-in-order")))
)"#;

/// Calls export `name` of a fresh instance; its result or error text.
fn call(name: &str) -> Result<Option<Val>, String> {
    let engine = Engine::default();
    let component = Component::new(&engine, GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    hayate_wasi::p2::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
    let mut b = WasiCtx::builder();
    b.stdin(ReadPipe::from_bytes("0123456789"));
    let mut store = Store::new(&engine, b.build());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let f = instance.get_func(&mut store, name).unwrap();
    let mut out = vec![Val::Bool(false); usize::from(f.ty().unwrap().result.is_some())];
    f.call(&mut store, &[], &mut out)
        .map(|()| out.pop())
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn a_huge_random_request_is_refused_before_allocating() {
    let e = call("huge-random").unwrap_err();
    assert!(e.contains("at most"), "{e}");
    assert!(matches!(call("some-random"), Ok(Some(Val::U32(_)))));
}

#[test]
fn polling_nothing_is_an_error_not_a_hang() {
    let e = call("poll-nothing").unwrap_err();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn forged_handles_are_errors() {
    let e = call("forged-pollable").unwrap_err();
    assert!(e.contains("unknown handle index 99"), "{e}");
}

#[test]
fn a_stream_cannot_be_dropped_before_its_pollable() {
    let e = call("drop-parent-first").unwrap_err();
    assert!(e.contains("children"), "{e}");
    assert_eq!(call("drop-in-order").unwrap(), Some(Val::U32(1)));
}
