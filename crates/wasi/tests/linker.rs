//! `add_to_linker` defines every `wasi_snapshot_preview1` function with the
//! signature the witx specification gives it, and nothing else.

use hayate::{Engine, Linker, Module, Store};
use hayate_wasi::{I32Exit, WasiCtx};

/// Every function of the snapshot, as a Wasm import (name, params, results).
const FUNCTIONS: &[(&str, &str, &str)] = &[
    ("args_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("clock_res_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("fd_advise", "i32 i64 i64 i32", "i32"),
    ("fd_allocate", "i32 i64 i64", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_datasync", "i32", "i32"),
    ("fd_fdstat_get", "i32 i32", "i32"),
    ("fd_fdstat_set_flags", "i32 i32", "i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
    ("fd_filestat_get", "i32 i32", "i32"),
    ("fd_filestat_set_size", "i32 i64", "i32"),
    ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
    ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
    ("fd_renumber", "i32 i32", "i32"),
    ("fd_seek", "i32 i64 i32 i32", "i32"),
    ("fd_sync", "i32", "i32"),
    ("fd_tell", "i32 i32", "i32"),
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("path_create_directory", "i32 i32 i32", "i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        "i32",
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_remove_directory", "i32 i32 i32", "i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
    ("path_unlink_file", "i32 i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
    ("proc_raise", "i32", "i32"),
    ("sched_yield", "", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("sock_accept", "i32 i32 i32", "i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
    ("sock_send", "i32 i32 i32 i32 i32", "i32"),
    ("sock_shutdown", "i32 i32", "i32"),
];

fn linker(engine: &Engine) -> Linker<WasiCtx> {
    let mut linker = Linker::new(engine);
    hayate_wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
    linker
}

#[test]
fn every_function_with_its_witx_signature() {
    assert_eq!(FUNCTIONS.len(), 46);
    let mut wat = String::from("(module\n");
    for (name, params, results) in FUNCTIONS {
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func (param {params}) (result {results})))\n"
        );
    }
    wat += "  (memory (export \"memory\") 1))";
    let engine = Engine::default();
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    linker(&engine).instantiate(&mut store, &module).unwrap();
    for (name, _, _) in FUNCTIONS {
        assert!(
            linker(&engine)
                .get(&mut store, "wasi_snapshot_preview1", name)
                .is_some()
        );
    }
    assert!(
        linker(&engine)
            .get(&mut store, "wasi_snapshot_preview1", "fd_dup")
            .is_none()
    );
}

#[test]
fn a_wrong_signature_does_not_link() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    assert!(linker(&engine).instantiate(&mut store, &module).is_err());
}

#[test]
fn calls_without_an_exported_memory_are_errors_not_crashes() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_close" (func $c (param i32) (result i32)))
             (func (export "rand") (result i32) (call $r (i32.const 0) (i32.const 4)))
             (func (export "close") (result i32) (call $c (i32.const 77))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
    let rand = instance
        .get_typed_func::<(), i32>(&mut store, "rand")
        .unwrap();
    let err = rand.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("memory"), "{err:#}");
    // Calls that need no memory still work: fd 77 is not open (badf = 8).
    let close = instance
        .get_typed_func::<(), i32>(&mut store, "close")
        .unwrap();
    assert_eq!(close.call(&mut store, ()).unwrap(), 8);
}

#[test]
fn proc_exit_is_a_typed_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 17)) unreachable))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(17)));
    assert!(err.downcast_ref::<hayate::Trap>().copied().is_none());
    // The store stays usable after an exit.
    assert_eq!(store.data().open_fds(), vec![0, 1, 2]);
}

#[test]
fn proc_exit_refuses_statuses_outside_0_to_126() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "exit") (param i32) (call $exit (local.get 0)) unreachable))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
    let exit = instance
        .get_typed_func::<i32, ()>(&mut store, "exit")
        .unwrap();
    for status in [0, 1, 125] {
        let err = exit.call(&mut store, status).unwrap_err();
        assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(status)));
    }
    for status in [126, 255, 300, -1, i32::MIN] {
        let err = exit.call(&mut store, status).unwrap_err();
        assert!(err.downcast_ref::<I32Exit>().is_none(), "{status}");
        assert!(
            err.downcast_ref::<hayate::Trap>().copied().is_none(),
            "{status}"
        );
        assert!(
            format!("{err:#}").contains("invalid exit status outside of [0..126)"),
            "{status}: {err:#}"
        );
    }
}

/// `sleep(ns)` waits on one monotonic clock subscription `ns` from now and
/// returns how many events `poll_oneoff` reported.
const SLEEPER: &str = r#"(module
     (import "wasi_snapshot_preview1" "poll_oneoff"
       (func $poll (param i32 i32 i32 i32) (result i32)))
     (memory (export "memory") 1)
     (func (export "sleep") (param i64) (result i32)
       (i64.store (i32.const 0) (i64.const 7))
       (i32.store8 (i32.const 8) (i32.const 0))
       (i32.store (i32.const 16) (i32.const 1))
       (i64.store (i32.const 24) (local.get 0))
       (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))
         (then unreachable))
       (i32.load (i32.const 128))))"#;

#[test]
fn a_blocking_deadline_stops_a_sleeping_guest() {
    let engine = Engine::default();
    let module = Module::new(&engine, SLEEPER).unwrap();
    let sleep_with = |deadline: std::time::Duration, ns: i64| {
        let mut b = WasiCtx::builder();
        b.blocking_deadline(std::time::Instant::now() + deadline);
        let mut store = Store::new(&engine, b.build());
        let instance = linker(&engine).instantiate(&mut store, &module).unwrap();
        let sleep = instance
            .get_typed_func::<i64, i32>(&mut store, "sleep")
            .unwrap();
        sleep.call(&mut store, ns)
    };
    // An hour's sleep is cut at the deadline, and the guest stops there,
    // whatever its epoch deadline (none here).
    let started = std::time::Instant::now();
    let err = sleep_with(std::time::Duration::from_millis(50), 3_600_000_000_000).unwrap_err();
    assert_eq!(
        err.downcast_ref::<hayate::Trap>(),
        Some(&hayate::Trap::Interrupt)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // A sleep that ends before the deadline is a sleep.
    assert_eq!(
        sleep_with(std::time::Duration::from_secs(60), 1_000_000).unwrap(),
        1
    );
}
