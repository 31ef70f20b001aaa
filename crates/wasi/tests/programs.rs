//! The C test programs in `tests/programs`, each exercising a group of WASI
//! functions including their error paths.

mod common;

use common::{expect_code, run};
use hayate_wasi::ReadPipe;

#[test]
fn basics() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("basics", |b| {
        b.args(["one", "two words", ""])
            .env("HAYATE_TEST", "yes")
            .env("OTHER", "1")
            .stdin(ReadPipe::from("line one\nline two\n"))
            .preopened_dir(dir.path(), "/sandbox")
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
        b.preopened_dir(dir.path(), "/sandbox").unwrap();
    });
    expect_code(&out, 0);
    assert_eq!(out.stdout, "fs ok\n");
    // The program cleans up after itself.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
