//! The Wasmtime 49 original of `crates/wasi/examples/from_wasmtime.rs`:
//! the same program, spelled with `wasmtime` and `wasmtime_wasi`. It builds
//! against the real crates with the `peers` feature:
//! `cargo run -p hayate-bench --features peers --ignore-rust-version --example from_wasmtime_original`.
//! `crates/wasi/tests/from_wasmtime.rs` checks that the two files differ
//! only in their crate names and these doc comments.

use wasmtime::{Caller, Config, Engine, Error, Linker, Module, Result, Store, Trap, WasmBacktrace};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// The store's data: WASI's context and the embedder's own state.
struct Host {
    wasi: WasiP1Ctx,
    files_read: u32,
}

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "host" "read_file" (func $read_file (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello from the guest\n")
  ;; Prints the greeting through WASI; returns fd_write's errno.
  (func (export "greet") (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 21))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; Asks the host for the file named by memory[ptr..ptr+len], read to 1024.
  (func (export "load") (param i32 i32) (result i32)
    (call $read_file (local.get 0) (local.get 1) (i32.const 1024)))
  (func (export "sum") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l)))
  (func $fail (unreachable))
  (func $middle (call $fail))
  (func (export "boom") (call $middle)))"#;

/// Reads the file the guest names into its memory; an I/O error (`?`) ends
/// the guest's call with that error.
fn read_file(mut caller: Caller<'_, Host>, ptr: i32, len: i32, dest: i32) -> Result<i32> {
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Error::msg("the guest exports no memory"))?;
    let mut name = vec![0u8; len as usize];
    memory.read(&caller, ptr as usize, &mut name)?;
    let path = std::env::temp_dir().join(String::from_utf8(name)?);
    let bytes = std::fs::read(&path)?;
    memory.write(&mut caller, dest as usize, &bytes)?;
    caller.data_mut().files_read += 1;
    Ok(bytes.len() as i32)
}

pub fn main() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;

    let mut linker: Linker<Host> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)?;
    linker.func_wrap("host", "read_file", read_file)?;

    let wasi = WasiCtxBuilder::new()
        .inherit_stdio()
        .args(&["from_wasmtime"])
        .env("GREETING", "hello")
        .preopened_dir(std::env::temp_dir(), "/tmp", FsPerms::ReadOnly)?
        .build_p1();
    let mut store = Store::new(
        &engine,
        Host {
            wasi,
            files_read: 0,
        },
    );
    store.set_fuel(1_000_000)?;
    store.set_epoch_deadline(1_000);
    let instance = linker.instantiate(&mut store, &module)?;

    // WASI and a typed call.
    let greet = instance.get_typed_func::<(), i32>(&mut store, "greet")?;
    assert_eq!(greet.call(&mut store, ())?, 0, "fd_write succeeded");
    let sum = instance.get_typed_func::<(i32, i32), i32>(&mut store, "sum")?;
    assert_eq!(sum.call(&mut store, (20, 22))?, 42);

    // Memory: the host writes a file name, the guest asks for the file.
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or_else(|| Error::msg("no memory"))?;
    let file = format!("from_wasmtime_{}.txt", std::process::id());
    std::fs::write(std::env::temp_dir().join(&file), "file contents")?;
    memory.write(&mut store, 512, file.as_bytes())?;
    let load = instance.get_typed_func::<(i32, i32), i32>(&mut store, "load")?;
    let n = load.call(&mut store, (512, file.len() as i32))?;
    assert_eq!(
        &memory.data(&store)[1024..1024 + n as usize],
        b"file contents"
    );
    assert_eq!(store.data().files_read, 1);

    // A host function's I/O error comes back as that error.
    std::fs::remove_file(std::env::temp_dir().join(&file))?;
    let err = load.call(&mut store, (512, file.len() as i32)).unwrap_err();
    let io = err
        .downcast_ref::<std::io::Error>()
        .ok_or_else(|| Error::msg("expected the io::Error"))?;
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

    // Fuel stops an infinite loop.
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    store.set_fuel(10_000)?;
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
    assert_eq!(store.get_fuel()?, 0);

    // So does an epoch deadline.
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(1);
    engine.increment_epoch();
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupt));

    // A trap and its backtrace.
    store.set_epoch_deadline(1_000);
    let boom = instance.get_typed_func::<(), ()>(&mut store, "boom")?;
    let err = boom.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let backtrace = err
        .downcast_ref::<WasmBacktrace>()
        .ok_or_else(|| Error::msg("traps carry a backtrace"))?;
    let frames: Vec<u32> = backtrace.frames().iter().map(|f| f.func_index()).collect();
    assert_eq!(frames.len(), 3, "{err:?}");
    println!("trapped as expected: {err:?}");
    Ok(())
}
