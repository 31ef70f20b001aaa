//! `ResourceLimiter::memory_grow_failed` and `table_grow_failed`: called
//! when a growth the limiter allowed fails; an error from them turns the
//! failed growth into a trap (from Wasm) or an error (from the host).

use hayate::{
    Caller, Engine, Error, Instance, Linker, Memory, MemoryType, Module, Ref, RefType,
    ResourceLimiter, Store, Table, TableType, Trap, WasmBacktrace, bail,
};

#[derive(Default)]
struct Limiter {
    trap: bool,
    memory_failures: Vec<String>,
    table_failures: Vec<String>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> hayate::Result<bool> {
        Ok(true)
    }
    fn table_growing(&mut self, _: u64, _: u64, _: Option<u64>) -> hayate::Result<bool> {
        Ok(true)
    }
    fn memory_grow_failed(&mut self, error: Error) -> hayate::Result<()> {
        self.memory_failures.push(error.to_string());
        if self.trap {
            bail!("memory growth failed: {error}");
        }
        Ok(())
    }
    fn table_grow_failed(&mut self, error: Error) -> hayate::Result<()> {
        self.table_failures.push(error.to_string());
        if self.trap {
            bail!("table growth failed: {error}");
        }
        Ok(())
    }
}

const GUEST: &str = r#"
(module
  (memory (export "mem") 1 2)
  (table (export "tab") 1 3 funcref)
  (func (export "grow_mem") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_tab") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (memory.size)))
"#;

fn setup(trap: bool) -> hayate::Result<(Store<Limiter>, Instance)> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(
        &engine,
        Limiter {
            trap,
            ..Limiter::default()
        },
    );
    store.limiter(|l| l as &mut dyn ResourceLimiter);
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok((store, instance))
}

#[test]
fn failures_are_reported_and_fail_as_usual_by_default() -> hayate::Result<()> {
    let (mut store, instance) = setup(false)?;
    let grow_mem = instance.get_typed_func::<i32, i32>(&mut store, "grow_mem")?;
    let grow_tab = instance.get_typed_func::<i32, i32>(&mut store, "grow_tab")?;
    assert_eq!(grow_mem.call(&mut store, 1)?, 1);
    assert!(
        store.data().memory_failures.is_empty(),
        "a success is not reported"
    );
    assert_eq!(grow_mem.call(&mut store, 1)?, -1, "past the maximum of 2");
    assert_eq!(
        store.data().memory_failures,
        ["memory maximum size exceeded"]
    );
    assert_eq!(grow_tab.call(&mut store, 5)?, -1);
    assert_eq!(store.data().table_failures, ["table maximum size exceeded"]);
    assert_eq!(grow_tab.call(&mut store, 2)?, 1);
    assert_eq!(store.data().table_failures.len(), 1);
    Ok(())
}

#[test]
fn an_error_turns_the_failed_growth_into_a_trap() -> hayate::Result<()> {
    let (mut store, instance) = setup(true)?;
    let grow_mem = instance.get_typed_func::<i32, i32>(&mut store, "grow_mem")?;
    let err = grow_mem.call(&mut store, 5).unwrap_err();
    assert_eq!(
        err.root_cause().to_string(),
        "memory growth failed: memory maximum size exceeded"
    );
    // The error comes back as is: the frames are not recorded here.
    assert_eq!(err.to_string(), err.root_cause().to_string());
    assert!(err.downcast_ref::<WasmBacktrace>().is_none());
    assert!(
        err.downcast_ref::<Trap>().is_none(),
        "the limiter's own error"
    );
    // The store and instance stay usable; the memory did not grow.
    let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
    assert_eq!(size.call(&mut store, ())?, 1);
    assert_eq!(
        grow_mem.call(&mut store, 1)?,
        1,
        "an allowed growth still works"
    );

    let grow_tab = instance.get_typed_func::<i32, i32>(&mut store, "grow_tab")?;
    let err = grow_tab.call(&mut store, 100).unwrap_err();
    assert_eq!(
        err.root_cause().to_string(),
        "table growth failed: table maximum size exceeded"
    );
    // A refused growth (delta 0 never fails) and a huge delta.
    assert_eq!(grow_tab.call(&mut store, 0)?, 1);
    assert!(grow_tab.call(&mut store, -1).is_err());
    Ok(())
}

#[test]
fn host_grows_return_the_limiters_error() -> hayate::Result<()> {
    let (mut store, instance) = setup(true)?;
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    let err = mem.grow(&mut store, 2).unwrap_err();
    assert!(
        err.to_string().contains("memory maximum size exceeded"),
        "{err}"
    );
    let host_mem = Memory::new(&mut store, MemoryType::new(0, Some(1)))?;
    assert!(host_mem.grow(&mut store, 2).is_err());
    let tab = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 0, Some(1)),
        Ref::Func(None),
    )?;
    let err = tab.grow(&mut store, 2, Ref::Func(None)).unwrap_err();
    assert!(
        err.to_string().contains("table maximum size exceeded"),
        "{err}"
    );
    assert_eq!(store.data().memory_failures.len(), 2);

    // Without a trap, the usual error.
    store.data_mut().trap = false;
    let err = mem.grow(&mut store, 2).unwrap_err();
    assert_eq!(err.to_string(), "failed to grow memory by 2 pages");
    Ok(())
}

#[test]
fn a_trap_in_a_nested_activation_reaches_the_host_function() -> hayate::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "reenter" (func $r (result i32)))
             (memory (export "mem") 1 1)
             (func (export "outer") (result i32) (call $r))
             (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "reenter",
        |mut caller: Caller<'_, Limiter>| -> hayate::Result<i32> {
            let grow = caller.get_export("grow").unwrap().into_func().unwrap();
            let grow = grow.typed::<(), i32>(&caller)?;
            // The inner activation traps; the host function sees the error and
            // recovers from it.
            let err = grow.call(&mut caller, ()).unwrap_err();
            assert!(format!("{err:#}").contains("memory growth failed"));
            caller.data_mut().trap = false;
            grow.call(&mut caller, ())
        },
    )?;
    let mut store = Store::new(
        &engine,
        Limiter {
            trap: true,
            ..Limiter::default()
        },
    );
    store.limiter(|l| l as &mut dyn ResourceLimiter);
    let instance = linker.instantiate(&mut store, &module)?;
    let outer = instance.get_typed_func::<(), i32>(&mut store, "outer")?;
    assert_eq!(outer.call(&mut store, ())?, -1);
    assert_eq!(store.data().memory_failures.len(), 2);
    Ok(())
}
