//! The shim under runwasi's own test harness (`containerd-shim-wasm`'s
//! `testing` feature): each test creates a real container with youki's
//! libcontainer (namespaces, rootfs, stdio files) and runs a module in it
//! with Hayate. The harness talks to containerd at
//! `/run/containerd/containerd.sock`, so the tests need root and a running
//! containerd: `.ci/run` starts one and sets `HAYATE_REQUIRE_CONTAINERD=1`;
//! elsewhere, without containerd, they say so and pass.
//!
//! The harness's OCI image tests (`as_oci_image`) are not here: they
//! import an image whose layer is `application/wasm` with `ctr image
//! import --all-platforms`, which Debian's containerd 1.6 refuses to
//! unpack ("mismatched image rootfs and manifest layers": 1.6 counts every
//! manifest layer as a filesystem layer). The precompiled-layer path they
//! exercise is tested in-process in `tests/sandbox.rs`.

use std::sync::Mutex;
use std::time::Duration;

use containerd_shim_hayate::HayateShim;
use containerd_shim_wasm::testing::WasiTest;

const SOCKET: &str = "/run/containerd/containerd.sock";
const WAIT: Duration = Duration::from_secs(30);

/// The harness keeps process-wide state (a zygote, one containerd
/// client): one container at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether containerd is there to test against; panics if it must be.
fn containerd() -> bool {
    // A socket a dead containerd left behind refuses connections.
    if std::os::unix::net::UnixStream::connect(SOCKET).is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("HAYATE_REQUIRE_CONTAINERD").is_none(),
        "HAYATE_REQUIRE_CONTAINERD is set but no containerd answers on {SOCKET}"
    );
    eprintln!("skipped: no containerd answers on {SOCKET}; start it as root to run this test");
    false
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A module importing the WASI functions the tests use, with `body`.
fn wat_module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
             (import "wasi_snapshot_preview1" "args_sizes_get"
               (func $args_sizes_get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "args_get"
               (func $args_get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_open"
               (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_read"
               (func $fd_read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             {body})"#
    ))
    .unwrap()
}

/// Prints "hello world\n" from `func`.
fn hello(func: &str) -> Vec<u8> {
    wat_module(&format!(
        r#"(data (i32.const 64) "hello world\n")
           (func (export "{func}")
             (i32.store (i32.const 16) (i32.const 64))
             (i32.store (i32.const 20) (i32.const 12))
             (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8))))"#
    ))
}

#[test]
fn hello_world() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let (status, stdout, _) = WasiTest::<HayateShim>::builder()?
        .with_wasm(hello("_start"))?
        .build()?
        .start()?
        .wait(WAIT)?;
    assert_eq!(status, 0);
    assert_eq!(stdout, "hello world\n");
    Ok(())
}

#[test]
fn exit_code_and_custom_entrypoint() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let (status, _, _) = WasiTest::<HayateShim>::builder()?
        .with_wasm(wat_module(
            r#"(func (export "_start") (call $proc_exit (i32.const 42)) unreachable)"#,
        ))?
        .build()?
        .start()?
        .wait(WAIT)?;
    assert_eq!(status, 42);
    let (status, stdout, _) = WasiTest::<HayateShim>::builder()?
        .with_start_fn("foo")
        .with_wasm(hello("foo"))?
        .build()?
        .start()?
        .wait(WAIT)?;
    assert_eq!(status, 0);
    assert_eq!(stdout, "hello world\n");
    Ok(())
}

#[test]
fn a_trap_is_status_134_with_the_message_on_stderr() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let (status, _, stderr) = WasiTest::<HayateShim>::builder()?
        .with_wasm(wat_module(r#"(func (export "_start") unreachable)"#))?
        .build()?
        .start()?
        .wait(WAIT)?;
    assert_eq!(status, 134);
    assert!(stderr.contains("unreachable"), "stderr: {stderr:?}");
    Ok(())
}

/// Argument 0 is the module's path, and the container's root is the
/// guest's `/`: it reads a file put into the rootfs and prints it after
/// its first argument.
#[test]
fn args_and_the_root_directory() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let module = wat_module(
        r#"(data (i32.const 900) "data.txt")
           (func (export "_start")
             ;; argv[0] into 1024.., its pointer at 512
             (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
             (drop (call $args_get (i32.const 512) (i32.const 1024)))
             ;; print argv[0] and a newline: iovec at 16 = (1024, size - 1)
             (i32.store (i32.const 16) (i32.const 1024))
             (i32.store (i32.const 20) (i32.sub (i32.load (i32.const 4)) (i32.const 1)))
             (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
             (i32.store8 (i32.const 40) (i32.const 10))
             (i32.store (i32.const 16) (i32.const 40))
             (i32.store (i32.const 20) (i32.const 1))
             (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
             ;; open /data.txt (preopen fd 3 is "/") and copy it to stdout
             (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 8)
                   (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 48))
               (then (call $proc_exit (i32.const 3))))
             (i32.store (i32.const 16) (i32.const 2048))
             (i32.store (i32.const 20) (i32.const 1024))
             (drop (call $fd_read (i32.load (i32.const 48)) (i32.const 16) (i32.const 1) (i32.const 8)))
             (i32.store (i32.const 20) (i32.load (i32.const 8)))
             (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8))))"#,
    );
    let test = WasiTest::<HayateShim>::builder()?
        .with_wasm(module)?
        .build()?;
    std::fs::write(test.root().join("rootfs/data.txt"), "from the rootfs\n")?;
    let (status, stdout, _) = test.start()?.wait(WAIT)?;
    assert_eq!(status, 0);
    assert_eq!(stdout, "/hello.wasm\nfrom the rootfs\n");
    Ok(())
}

/// The container's stdin (a file here) reaches the guest, to its end.
#[test]
fn stdin_reaches_the_guest() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let cat = wat_module(
        r#"(func (export "_start")
             (i32.store (i32.const 16) (i32.const 1024))
             (block $eof
               (loop $copy
                 (i32.store (i32.const 20) (i32.const 4096))
                 (br_if $eof (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                 (br_if $eof (i32.eqz (i32.load (i32.const 8))))
                 (i32.store (i32.const 20) (i32.load (i32.const 8)))
                 (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
                 (br $copy))))"#,
    );
    let (status, stdout, _) = WasiTest::<HayateShim>::builder()?
        .with_wasm(cat)?
        .with_stdin("line one\nline two\n")?
        .build()?
        .start()?
        .wait(WAIT)?;
    assert_eq!(status, 0);
    assert_eq!(stdout, "line one\nline two\n");
    Ok(())
}

/// A guest in an endless loop: SIGTERM interrupts it through the epoch
/// (the container exits with 128 + 15), SIGKILL ends the process.
#[test]
fn kill_stops_a_spinning_guest() -> anyhow::Result<()> {
    let _serial = serial();
    if !containerd() {
        return Ok(());
    }
    let spin = wat_module(r#"(func (export "_start") (loop $l (br $l)))"#);
    for (signal, expected) in [("TERM", 143), ("KILL", 137)] {
        let test = WasiTest::<HayateShim>::builder()?
            .with_wasm(&spin)?
            .build()?;
        test.start()?;
        std::thread::sleep(Duration::from_millis(300));
        match signal {
            "TERM" => test.terminate()?,
            _ => test.kill()?,
        };
        let (status, _, _) = test.wait(WAIT)?;
        assert_eq!(status, expected, "SIG{signal}");
    }
    Ok(())
}
