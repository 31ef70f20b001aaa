//! Running the committed test programs under Hayate with a `WasiCtx`.
#![allow(dead_code)]

pub mod shell;

use std::path::PathBuf;
use std::sync::OnceLock;

use hayate::{Engine, Linker, Module, Store};
use hayate_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WritePipe};

/// How a guest ended, and what it printed.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

pub fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.wasm"))
}

/// Runs `programs/<name>.wasm` with argv[0] = `name`; `setup` adds the rest.
pub fn run(name: &str, setup: impl FnOnce(&mut WasiCtxBuilder)) -> Outcome {
    let bytes = std::fs::read(program(name)).expect("test program exists");
    run_bytes(name, &bytes, setup)
}

pub fn run_bytes(name: &str, bytes: &[u8], setup: impl FnOnce(&mut WasiCtxBuilder)) -> Outcome {
    run_bytes_on(engine(), name, bytes, setup)
}

/// [`run_bytes`] on `engine`.
#[allow(dead_code)]
pub fn run_bytes_on(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
    setup: impl FnOnce(&mut WasiCtxBuilder),
) -> Outcome {
    let module = Module::new(engine, bytes).expect("module compiles");
    let mut linker = Linker::new(engine);
    hayate_wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
    let stdout = WritePipe::new_in_memory();
    let stderr = WritePipe::new_in_memory();
    let mut builder = WasiCtx::builder();
    builder
        .arg(name)
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    setup(&mut builder);
    let mut store = Store::new(engine, builder.build());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("has _start");
    let code = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!(
                "{name} failed: {e}\nstderr: {}",
                String::from_utf8_lossy(&stderr.contents())
            ),
        },
    };
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&stdout.contents()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    }
}

/// Panics with the guest's output unless it exited with `code`.
pub fn expect_code(out: &Outcome, code: i32) {
    assert_eq!(
        out.code, code,
        "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
}

/// `bytes` (a preview1 command module) as a component: wrapped with the
/// official preview1 adapter by `wit-component`, as
/// `wasm-tools component new --adapt` does.
pub fn adapt(bytes: &[u8]) -> Vec<u8> {
    use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER as ADAPTER;
    wit_component::ComponentEncoder::default()
        .module(bytes)
        .expect("the module is a preview1 command")
        .adapter("wasi_snapshot_preview1", ADAPTER)
        .expect("the adapter loads")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

/// Runs component `bytes` (a `wasi:cli/command`) as [`run_bytes`] runs a
/// module.
pub fn run_component(name: &str, bytes: &[u8], setup: impl FnOnce(&mut WasiCtxBuilder)) -> Outcome {
    run_component_on(engine(), name, bytes, setup)
}

/// [`run_component`] on `engine`.
pub fn run_component_on(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
    setup: impl FnOnce(&mut WasiCtxBuilder),
) -> Outcome {
    let component = hayate_component::Component::new(engine, bytes).expect("component compiles");
    let mut linker = hayate_component::Linker::new(engine);
    hayate_wasi::p2::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
    let stdout = WritePipe::new_in_memory();
    let stderr = WritePipe::new_in_memory();
    let mut builder = WasiCtx::builder();
    builder
        .arg(name)
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    setup(&mut builder);
    let mut store = Store::new(engine, builder.build());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("instantiates");
    let code = match hayate_wasi::p2::run(&mut store, &instance) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!(
                "{name} failed: {e:#}\nstderr: {}",
                String::from_utf8_lossy(&stderr.contents())
            ),
        },
    };
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&stdout.contents()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    }
}
