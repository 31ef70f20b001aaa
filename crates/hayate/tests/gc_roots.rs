//! The collector's roots in Wasm frames: every place a frame can keep a
//! reference across an allocation (operand stack, locals, parameters,
//! block and loop parameters, call results, loads from globals, tables,
//! fields and elements, `select`, exception payloads, deep recursion and
//! nested activations) keeps its object alive. Each runs under
//! `Config::gc_stress`, where every allocation collects and collected
//! objects are poisoned, so a reference missing from a stack map reads
//! poison (or traps) instead of 42; in every compilation mode.

#[path = "support/modes.rs"]
mod modes;

use hayate::{Caller, Config, Engine, Func, Instance, Linker, Module, Store, Val};

const MODULE: &str = r#"(module
  (type $s (struct (field (mut i32))))
  (type $box (struct (field (mut (ref null $s)))))
  (type $arr (array (mut (ref null $s))))
  (type $mk (func (result (ref $s))))
  (tag $t (param (ref $s)))
  (import "host" "reenter" (func $reenter))
  (global $g (mut (ref null $s)) (ref.null $s))
  (table $tab 1 anyref)
  (table $funcs 1 funcref)
  (elem (table $funcs) (i32.const 0) func $make)
  (elem $seg (ref null $s) (item (struct.new $s (i32.const 42))))

  (func $make (type $mk) (struct.new $s (i32.const 42)))
  (func $churn (drop (struct.new $s (i32.const 1))) (drop (array.new_default $arr (i32.const 4))))
  (func $read (param $r (ref null $s)) (result i32) (struct.get $s 0 (local.get $r)))

  (func (export "operand") (result i32)
    (struct.new $s (i32.const 42))
    (drop (struct.new $s (i32.const 1)))
    (call $churn)
    (struct.get $s 0))
  (func (export "local") (result i32)
    (local $a (ref null $s))
    (local.set $a (struct.new $s (i32.const 42)))
    (call $churn)
    (struct.get $s 0 (local.get $a)))
  (func $param (param $a (ref $s)) (result i32)
    (call $churn)
    (struct.get $s 0 (local.get $a)))
  (func (export "param") (result i32) (call $param (struct.new $s (i32.const 42))))
  (func (export "call_result") (result i32)
    (call $make)
    (call $churn)
    (struct.get $s 0))
  (func (export "indirect_result") (result i32)
    (call_indirect $funcs (type $mk) (i32.const 0))
    (call $churn)
    (call_ref $mk (ref.func $make))
    (call $churn)
    (drop)
    (struct.get $s 0))
  (func (export "block_result") (result i32)
    (block (result (ref $s)) (struct.new $s (i32.const 42)))
    (call $churn)
    (struct.get $s 0))
  (func (export "loop_param") (result i32)
    (local $n i32)
    (local.set $n (i32.const 5))
    (struct.new $s (i32.const 42))
    (loop $l (param (ref $s)) (result (ref $s))
      (call $churn)
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l))
    (struct.get $s 0))
  (func (export "if_result") (param $c i32) (result i32)
    (if (result (ref $s)) (local.get $c)
      (then (struct.new $s (i32.const 42)))
      (else (struct.new $s (i32.const 43))))
    (call $churn)
    (struct.get $s 0))
  (func (export "global") (result i32)
    (global.set $g (struct.new $s (i32.const 42)))
    (global.get $g)
    (global.set $g (ref.null $s))
    (call $churn)
    (ref.as_non_null)
    (struct.get $s 0))
  (func (export "table") (result i32)
    (table.set $tab (i32.const 0) (struct.new $s (i32.const 42)))
    (table.get $tab (i32.const 0))
    (table.set $tab (i32.const 0) (ref.null any))
    (call $churn)
    (ref.cast (ref $s))
    (struct.get $s 0))
  (func (export "field") (result i32)
    (local $b (ref $box))
    (local.set $b (struct.new $box (struct.new $s (i32.const 42))))
    (struct.get $box 0 (local.get $b))
    (struct.set $box 0 (local.get $b) (ref.null $s))
    (call $churn)
    (struct.get $s 0))
  (func (export "element") (result i32)
    (local $a (ref $arr))
    (local.set $a (array.new $arr (struct.new $s (i32.const 42)) (i32.const 3)))
    (array.get $arr (local.get $a) (i32.const 1))
    (array.fill $arr (local.get $a) (i32.const 0) (ref.null $s) (i32.const 3))
    (call $churn)
    (struct.get $s 0))
  (func (export "array_new_value") (result i32)
    (array.new $arr (struct.new $s (i32.const 42)) (i32.const 2))
    (call $churn)
    (array.get $arr (i32.const 1))
    (struct.get $s 0))
  (func (export "array_new_elem") (result i32)
    (array.new_elem $arr $seg (i32.const 0) (i32.const 1))
    (call $churn)
    (array.get $arr (i32.const 0))
    (struct.get $s 0))
  (func (export "select") (param $c i32) (result i32)
    (select (result (ref null $s))
      (struct.new $s (i32.const 42)) (struct.new $s (i32.const 43)) (local.get $c))
    (call $churn)
    (struct.get $s 0))
  (func (export "extern") (result i32)
    (local $e externref)
    (local.set $e (extern.convert_any (struct.new $s (i32.const 42))))
    (call $churn)
    (struct.get $s 0 (ref.cast (ref $s) (any.convert_extern (local.get $e)))))
  (func (export "mixed") (result i32)
    (local $i anyref)
    (local.set $i (ref.i31 (i32.const 42)))
    (call $churn)
    (i31.get_s (ref.cast (ref i31) (local.get $i))))
  (func (export "catch_payload") (result i32)
    (block $h (result (ref $s))
      (try_table (catch $t $h)
        (throw $t (struct.new $s (i32.const 42))))
      (unreachable))
    (call $churn)
    (struct.get $s 0))
  (func (export "try_call_result") (result i32)
    (block $h (result (ref $s))
      (try_table (result (ref $s)) (catch $t $h)
        (call $make)
        (call $churn))
      (call $churn))
    (call $churn)
    (struct.get $s 0))
  ;; `n` frames each keeping an object in a local and another on the
  ;; operand stack while the deepest allocates.
  (func $deep (export "deep") (param $n i32) (result i32)
    (local $mine (ref null $s))
    (local $below i32)
    (local.set $mine (struct.new $s (local.get $n)))
    (struct.new $s (i32.const 1))
    (if (result i32) (local.get $n)
      (then (call $deep (i32.sub (local.get $n) (i32.const 1))))
      (else (call $churn) (i32.const 0)))
    (local.set $below)
    (struct.get $s 0)
    (i32.add (local.get $below))
    (i32.add (struct.get $s 0 (local.get $mine))))
  ;; A host call in between, which calls back into Wasm that allocates:
  ;; the collection walks this activation's frames too.
  (func (export "nested") (result i32)
    (local $a (ref null $s))
    (local.set $a (struct.new $s (i32.const 42)))
    (struct.new $s (i32.const 42))
    (call $reenter)
    (struct.get $s 0)
    (i32.add (struct.get $s 0 (local.get $a)))
    (i32.const 42)
    (i32.sub))
  (func (export "churn_export") (call $churn))
)"#;

fn instantiate(config: &Config) -> (Store<()>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "reenter", |mut caller: Caller<'_, ()>| {
            let churn = caller.get_export("churn_export").unwrap();
            let churn = churn.into_func().unwrap();
            churn.call(&mut caller, &[], &mut []).unwrap();
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call_i32(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> i32 {
    let f: Func = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    out[0].i32().expect("an i32 result")
}

fn stressed(mut config: Config) -> Config {
    config.gc_stress(true);
    config
}

#[test]
fn every_reference_a_frame_keeps_across_an_allocation_is_a_root() {
    let mut pooling = Config::new();
    pooling.allocation_strategy(hayate::InstanceAllocationStrategy::Pooling(
        hayate::PoolingConfig {
            max_instances: 2,
            max_tables: 4,
            max_tables_per_instance: 2,
            ..Default::default()
        },
    ));
    let mut configs = modes::compilation_modes();
    configs.push(("pooling", pooling));
    for (mode, config) in configs {
        let (mut store, instance) = instantiate(&stressed(config));
        for name in [
            "operand",
            "local",
            "param",
            "call_result",
            "indirect_result",
            "block_result",
            "loop_param",
            "global",
            "table",
            "field",
            "element",
            "array_new_value",
            "array_new_elem",
            "extern",
            "mixed",
            "catch_payload",
            "try_call_result",
            "nested",
        ] {
            assert_eq!(
                call_i32(&mut store, &instance, name, &[]),
                42,
                "{mode}: {name}"
            );
        }
        for name in ["if_result", "select"] {
            let r = call_i32(&mut store, &instance, name, &[Val::I32(1)]);
            assert_eq!(r, 42, "{mode}: {name}");
        }
        // Frame k (from 200 down to 0) keeps k and 1: the sum of k + 1.
        let deep = call_i32(&mut store, &instance, "deep", &[Val::I32(200)]);
        assert_eq!(deep, (0..=200).map(|k| k + 1).sum::<i32>(), "{mode}: deep");
    }
}

#[test]
fn stress_collections_keep_running_on_a_small_host_stack() {
    // The stack walk and the collection run on the thread that called
    // into Wasm, however small its stack.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let (mut store, instance) = instantiate(&stressed(Config::new()));
            let deep = call_i32(&mut store, &instance, "deep", &[Val::I32(100)]);
            assert_eq!(deep, (0..=100).map(|k| k + 1).sum::<i32>());
        })
        .unwrap();
    handle.join().unwrap();
}
