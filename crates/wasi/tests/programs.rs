//! The C test programs in `tests/programs`, each exercising a group of WASI
//! functions including their error paths.

mod common;

use common::{expect_code, run};
use hayate_wasi::ReadPipe;

#[test]
fn basics() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("basics", |b| {
        b.args(&["one", "two words", ""])
            .env("HAYATE_TEST", "yes")
            .env("OTHER", "1")
            .stdin(ReadPipe::from("line one\nline two\n"))
            .preopened_dir(dir.path(), "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 7);
    assert_eq!(out.stdout, "gathered\nto stdout\n");
    assert_eq!(out.stderr, "to stderr through fd 1\n");
}

#[test]
fn filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("fs", |b| {
        b.preopened_dir(dir.path(), "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 0);
    assert_eq!(out.stdout, "fs ok\n");
    // The program cleans up after itself.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn poll_oneoff() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("poll", |b| {
        b.stdin(ReadPipe::from("input"))
            .preopened_dir(dir.path(), "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 0);
    assert_eq!(out.stdout, "poll ok\n");
}

#[test]
fn sockets() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"ping").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply
    });
    let out = run("sock", |b| {
        b.preopened_socket(listener);
    });
    expect_code(&out, 0);
    assert_eq!(out.stdout, "sock ok\n");
    assert_eq!(client.join().unwrap(), "pong!");
}

#[test]
fn proc_raise_ends_the_guest() {
    let out = run("cli", |b| {
        b.arg("raise");
    });
    // SIGABRT: 128 + 6.
    assert_eq!(out.code, 134);
}

#[test]
fn proc_exit_status() {
    let out = run("cli", |b| {
        b.args(&["exit", "42"]);
    });
    assert_eq!(out.code, 42);
    assert_eq!(out.stdout, "exiting\n");
}
