//! Errors as a Wasmtime embedder writes them: `?` on any error inside host
//! functions and embedder code, `bail!` and `Context`, host errors coming
//! back unchanged, traps and backtraces found with `downcast_ref`.

use hayate::{Context, Engine, Linker, Module, Store, Trap, WasmBacktrace, bail};

#[derive(Debug)]
struct Refused(u32);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {}", self.0)
    }
}

impl std::error::Error for Refused {}

fn io_failure() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such thing",
    ))
}

fn anyhow_failure() -> anyhow::Result<()> {
    anyhow::bail!("anyhow says no")
}

/// An embedder's function: `?` on I/O, anyhow and custom errors.
fn embedder(which: u32) -> hayate::Result<u32> {
    match which {
        0 => io_failure()?,
        1 => anyhow_failure()?,
        2 => Err(Refused(7))?,
        3 => bail!("bailed with {which}"),
        _ => {}
    }
    let n: u32 = "12".parse()?;
    Ok(n)
}

const GUEST: &str = r#"(module
    (import "host" "fail" (func $fail (param i32)))
    (func $inner (param i32) (call $fail (local.get 0)))
    (func (export "outer") (param i32) (call $inner (local.get 0)))
    (func (export "trap") unreachable))"#;

#[test]
fn question_mark_and_bail_work_on_every_error() {
    assert!(format!("{:#}", embedder(0).unwrap_err()).contains("no such thing"));
    assert!(format!("{:#}", embedder(1).unwrap_err()).contains("anyhow says no"));
    assert_eq!(
        embedder(2)
            .unwrap_err()
            .downcast_ref::<Refused>()
            .unwrap()
            .0,
        7
    );
    assert_eq!(embedder(3).unwrap_err().to_string(), "bailed with 3");
    assert_eq!(embedder(9).unwrap(), 12);
    // Context, and Hayate's errors into an embedder's anyhow::Result.
    let with_context = io_failure().context("reading the plugin").unwrap_err();
    assert_eq!(
        format!("{with_context:#}"),
        "reading the plugin: no such thing"
    );
    let as_anyhow = || -> anyhow::Result<Module> {
        let module = Module::new(&Engine::default(), "(module (func (result i32)))")?;
        Ok(module)
    };
    assert!(as_anyhow().is_err());
}

#[test]
fn host_errors_come_back_unchanged_with_the_wasm_backtrace() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "fail", |which: i32| -> hayate::Result<()> {
            match which {
                0 => io_failure()?,
                1 => anyhow_failure().context("in the host")?,
                _ => Err(Refused(which as u32))?,
            }
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let outer = instance
        .get_typed_func::<i32, ()>(&mut store, "outer")
        .unwrap();

    let err = outer.call(&mut store, 0).unwrap_err();
    let io = err.downcast_ref::<std::io::Error>().expect("the io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let frames = err.downcast_ref::<WasmBacktrace>().unwrap().frames();
    assert_eq!(frames.len(), 2, "{err:?}");
    assert!(err.downcast_ref::<Trap>().is_none());

    let err = outer.call(&mut store, 1).unwrap_err();
    assert!(
        format!("{err:#}").contains("in the host: anyhow says no"),
        "{err:#}"
    );

    let err = outer.call(&mut store, 5).unwrap_err();
    assert_eq!(err.downcast_ref::<Refused>().unwrap().0, 5);
    assert_eq!(err.root_cause().to_string(), "refused 5");
}

#[test]
fn traps_are_found_with_downcast_ref() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "fail", |_: i32| {}).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let trap = instance
        .get_typed_func::<(), ()>(&mut store, "trap")
        .unwrap();
    let err = trap.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert_eq!(err.root_cause().to_string(), "wasm trap: unreachable");
    let backtrace = err.downcast_ref::<WasmBacktrace>().unwrap();
    assert_eq!(backtrace.frames().len(), 1);
    // As in Wasmtime: the outermost layer is the backtrace, `{:?}` and
    // `{:#}` show the whole chain.
    assert!(
        err.to_string()
            .starts_with("error while executing at wasm backtrace:")
    );
    assert!(format!("{err:?}").contains("wasm trap: unreachable"));
}
