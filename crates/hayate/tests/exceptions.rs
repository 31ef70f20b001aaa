//! Exception handling across every boundary: caught in the throwing
//! function and in callers many frames up, through functions compiled by
//! either compiler, lazily or eagerly; uncaught to the host with its tag
//! and payload; thrown by host functions into Wasm; across nested
//! activations; and thrown in loops long enough that a leak would show.

#[path = "support/modes.rs"]
mod modes;

use hayate::{
    Config, Engine, ExnRef, Func, FuncType, Instance, InstanceAllocationStrategy, Linker, Module,
    PoolingConfig, Store, Tag, TagType, ThrownException, Trap, Val, ValType,
};

/// Every way code gets compiled and instances get allocated.
fn configs() -> Vec<(&'static str, Config)> {
    let mut out = modes::compilation_modes();
    let mut pooling = Config::new();
    pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig::default()));
    out.push(("pooling", pooling));
    out
}

const MODULE: &str = r#"(module
  (tag $e (export "e") (param i32))
  (tag $other (param f64 i64))
  (import "host" "call" (func $host_call (param i32)))
  ;; Throws $e with n after n frames of recursion (through a function the
  ;; baseline compiler takes: no try_table in it).
  (func $deep (export "deep") (param $n i32)
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 42))))
    (call $deep (i32.sub (local.get $n) (i32.const 1))))
  ;; Catches what `deep` throws from n frames down; -1 if nothing.
  (func (export "catch_deep") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $deep (local.get $n)))
      (i32.const -1)))
  ;; Thrown and caught in one function: no unwinding.
  (func (export "local") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (throw $e (local.get 0)))
      (i32.const -1)))
  ;; Calls the host function, which may throw $e or $other.
  (func (export "call_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $host_call (local.get 0)))
      (i32.const -1)))
  ;; An inner catch_all wins over an outer catch of the same exception.
  (func (export "innermost_wins") (result i32)
    (block $outer (result i32)
      (try_table (result i32) (catch $e $outer)
        (block $inner
          (try_table (catch_all $inner)
            (call $deep (i32.const 3))))
        (i32.const 1))))
  ;; catch_ref and throw_ref: rethrown to the caller with its payload.
  (func (export "rethrow") (param i32)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h)
        (call $deep (local.get 0)))
      (return))
    (throw_ref))
  ;; A loop that throws and catches through a call n times.
  (func (export "loop") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (call $deep (i32.const 1)))
          (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; Keeps every exception as a value: none can be reused.
  (table $kept 1 exnref)
  (func (export "keep") (param $n i32)
    (local $x exnref)
    (loop $l
      (local.set $x
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $e (i32.const 0)))
          (unreachable)))
      (table.set $kept (i32.const 0) (local.get $x))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)"#;

fn linker(engine: &Engine) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "call", |_: i32| -> hayate::Result<()> { Ok(()) })
        .unwrap();
    linker
}

#[test]
fn exceptions_are_caught_where_they_should_be_in_every_mode() {
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
        let catch_deep = instance
            .get_typed_func::<i32, i32>(&mut store, "catch_deep")
            .unwrap();
        for depth in [0, 1, 10, 5000] {
            assert_eq!(
                catch_deep.call(&mut store, depth).unwrap(),
                42,
                "{mode} {depth}"
            );
        }
        let local = instance
            .get_typed_func::<i32, i32>(&mut store, "local")
            .unwrap();
        assert_eq!(local.call(&mut store, 9).unwrap(), 9, "{mode}");
        let innermost = instance
            .get_typed_func::<(), i32>(&mut store, "innermost_wins")
            .unwrap();
        assert_eq!(innermost.call(&mut store, ()).unwrap(), 1, "{mode}");
        let looped = instance
            .get_typed_func::<i32, i32>(&mut store, "loop")
            .unwrap();
        assert_eq!(looped.call(&mut store, 1000).unwrap(), 42_000, "{mode}");

        // Uncaught: the host gets the exception, its tag and its payload.
        let tag = instance
            .get_export(&mut store, "e")
            .unwrap()
            .into_tag()
            .unwrap();
        let deep = instance
            .get_typed_func::<i32, ()>(&mut store, "deep")
            .unwrap();
        let rethrow = instance
            .get_typed_func::<i32, ()>(&mut store, "rethrow")
            .unwrap();
        for e in [
            deep.call(&mut store, 3).unwrap_err(),
            rethrow.call(&mut store, 3).unwrap_err(),
        ] {
            let thrown = e
                .downcast_ref::<ThrownException>()
                .unwrap_or_else(|| panic!("{mode}: {e:?}"));
            let exn = thrown.exn();
            assert!(Tag::eq(&exn.tag(&store).unwrap(), &tag, &store), "{mode}");
            let fields = exn.fields(&store).unwrap();
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].i32(), Some(42), "{mode}");
        }
        // The store still works after all that.
        assert_eq!(catch_deep.call(&mut store, 2).unwrap(), 42, "{mode}");
    }
}

#[test]
fn host_functions_throw_into_wasm_and_exceptions_cross_nested_calls() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    // The host function throws the module's own tag (looked up through the
    // caller), or a tag of its own that Wasm does not catch, or calls back
    // into Wasm where `deep` throws uncaught: the error passes through the
    // host function on to the outer Wasm, which catches it.
    let host_tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], []))).unwrap();
    linker
        .func_wrap(
            "host",
            "call",
            move |mut caller: hayate::Caller<'_, ()>, how: i32| -> hayate::Result<()> {
                match how {
                    0 => {
                        let tag = caller.get_export("e").unwrap().into_tag().unwrap();
                        let exn = ExnRef::new(&mut caller, &tag, &[Val::I32(7)])?;
                        Err(ThrownException::new(exn).into())
                    }
                    1 => {
                        let exn = ExnRef::new(&mut caller, &host_tag, &[Val::I32(8)])?;
                        Err(ThrownException::new(exn).into())
                    }
                    2 => {
                        let deep = caller.get_export("deep").unwrap().into_func().unwrap();
                        deep.call(&mut caller, &[Val::I32(4)], &mut [])
                    }
                    _ => Ok(()),
                }
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call_host = instance
        .get_typed_func::<i32, i32>(&mut store, "call_host")
        .unwrap();
    assert_eq!(call_host.call(&mut store, 0).unwrap(), 7);
    assert_eq!(call_host.call(&mut store, 2).unwrap(), 42);
    assert_eq!(call_host.call(&mut store, 3).unwrap(), -1);
    let e = call_host.call(&mut store, 1).unwrap_err();
    let exn = e.downcast_ref::<ThrownException>().expect("uncaught").exn();
    assert!(Tag::eq(&exn.tag(&store).unwrap(), &host_tag, &store));
    assert_eq!(exn.fields(&store).unwrap()[0].i32(), Some(8));
    // A payload of the wrong type is refused before anything is thrown.
    assert!(ExnRef::new(&mut store, &host_tag, &[Val::I64(1)]).is_err());
    assert!(ExnRef::new(&mut store, &host_tag, &[]).is_err());
}

#[test]
fn a_throw_loop_reuses_its_exceptions_and_kept_ones_are_bounded() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
    // Two million throws: more than the store keeps alive at once, so
    // this only completes if caught exceptions are reused.
    let looped = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    assert_eq!(
        looped.call(&mut store, 2_000_000).unwrap(),
        42i32.wrapping_mul(2_000_000)
    );
    // Exceptions kept as values cannot be reused: past the bound, the
    // throw fails with an error, not a crash or unbounded memory.
    let keep = instance
        .get_typed_func::<i32, ()>(&mut store, "keep")
        .unwrap();
    let e = keep.call(&mut store, 2_000_000).unwrap_err();
    assert!(
        format!("{e:?}").contains("too many live exception objects"),
        "{e:?}"
    );
    assert!(
        e.downcast_ref::<Trap>().is_none() || e.downcast_ref::<Trap>() == Some(&Trap::HostError)
    );
}

#[test]
fn deep_unwinding_works_on_a_small_host_stack() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn_scoped(s, || {
                let mut store = Store::new(&engine, ());
                let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
                let catch_deep = instance
                    .get_typed_func::<i32, i32>(&mut store, "catch_deep")
                    .unwrap();
                // Deeper than the stack allows: a stack overflow trap, and
                // the store is still usable.
                let e = catch_deep.call(&mut store, 1_000_000).unwrap_err();
                assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
                assert_eq!(catch_deep.call(&mut store, 1000).unwrap(), 42);
            })
            .unwrap()
            .join()
            .unwrap()
    });
}

#[test]
fn tags_are_imported_and_exported_by_identity() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let thrower = Module::new(
        &engine,
        r#"(module
          (import "m" "t" (tag $t (param i32)))
          (func (export "throw") (param i32) (throw $t (local.get 0))))"#,
    )
    .unwrap();
    let catcher = Module::new(
        &engine,
        r#"(module
          (import "m" "t" (tag $t (param i32)))
          (import "m" "throw" (func $throw (param i32)))
          (func (export "run") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $t $h) (call $throw (local.get 0)))
              (i32.const -1))))"#,
    )
    .unwrap();
    let ty = TagType::new(FuncType::new([ValType::I32], []));
    let t1 = Tag::new(&mut store, &ty).unwrap();
    let t2 = Tag::new(&mut store, &ty).unwrap();
    let a = Instance::new(&mut store, &thrower, &[t1.into()]).unwrap();
    let throw = a.get_func(&mut store, "throw").unwrap();
    // Same tag: caught.
    let b = Instance::new(&mut store, &catcher, &[t1.into(), throw.into()]).unwrap();
    let run = b.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 5);
    // A different tag of the same type: not caught.
    let c = Instance::new(&mut store, &catcher, &[t2.into(), throw.into()]).unwrap();
    let run = c.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    let e = run.call(&mut store, 5).unwrap_err();
    assert!(e.downcast_ref::<ThrownException>().is_some(), "{e:?}");
    // A tag of another type does not link.
    let wrong = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I64], []))).unwrap();
    let e = Instance::new(&mut store, &thrower, &[wrong.into()]).unwrap_err();
    assert!(e.to_string().contains("incompatible import type"), "{e}");
    // Tags with results are refused.
    assert!(Tag::new(&mut store, &TagType::new(FuncType::new([], [ValType::I32]))).is_err());
    let _ = Func::wrap(&mut store, || {});
}

#[test]
fn fuel_runs_out_in_a_throwing_loop() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(100_000).unwrap();
    let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
    let looped = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    let e = looped.call(&mut store, i32::MAX).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel), "{e:?}");
    // With fuel again, the same loop finishes: the catches kept the fuel
    // counter right.
    store.set_fuel(10_000_000).unwrap();
    assert_eq!(looped.call(&mut store, 1000).unwrap(), 42_000);
    assert!(store.get_fuel().unwrap() < 10_000_000);
}

#[test]
fn try_tables_in_unreachable_code_compile_in_every_mode() {
    // Found by the instantiate fuzzer: the baseline compiler skipped a
    // `try_table` after a `return` without counting it as a block, so its
    // `end` closed the function early.
    let wat = r#"(module
      (tag $t)
      (func (export "f") (param i32) (result i32)
        (block $b
          (br_if $b (local.get 0))
          (return (i32.const 7))
          (try_table (catch_all $b)
            (nop))
          (drop (i32.const 1)))
        (i32.const 9)))"#;
    for (mode, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "f")
            .unwrap();
        assert_eq!(f.call(&mut store, 0).unwrap(), 7, "{mode}");
        assert_eq!(f.call(&mut store, 1).unwrap(), 9, "{mode}");
    }
}
