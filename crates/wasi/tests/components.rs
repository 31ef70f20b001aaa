//! WASI 0.2: the C test programs turned into components with the official
//! preview1 adapter (`wit-component` and
//! `wasi-preview1-component-adapter-provider`) must behave exactly like
//! the same modules run directly on preview1.

mod common;

use common::{Outcome, adapt, program, run, run_component, run_component_on};
use hayate_wasi::{FsPerms, ReadPipe, WasiCtxBuilder};

/// Runs program `name` both ways with the same setup; returns both.
fn both(name: &str, setup: impl Fn(&mut WasiCtxBuilder, &std::path::Path)) -> (Outcome, Outcome) {
    let dir1 = tempfile::tempdir().unwrap();
    let direct = run(name, |b| setup(b, dir1.path()));
    let bytes = std::fs::read(program(name)).unwrap();
    let component = adapt(&bytes);
    let dir2 = tempfile::tempdir().unwrap();
    let adapted = run_component(name, &component, |b| setup(b, dir2.path()));
    (direct, adapted)
}

fn same(name: &str, setup: impl Fn(&mut WasiCtxBuilder, &std::path::Path)) {
    let (direct, adapted) = both(name, setup);
    assert_eq!(
        (direct.code, &direct.stdout, &direct.stderr),
        (adapted.code, &adapted.stdout, &adapted.stderr),
        "{name}: preview1 (left) and the adapted component (right) differ"
    );
}

fn portable_setup(b: &mut WasiCtxBuilder, dir: &std::path::Path, first: &str) {
    b.args(&[first, "two words", ""])
        .env("GREETING", "hello")
        .stdin(ReadPipe::from_bytes("x".repeat(10_000)))
        .preopened_dir(dir, "/sandbox", FsPerms::ReadWrite)
        .unwrap();
}

#[test]
fn a_libc_program_behaves_the_same() {
    let (direct, adapted) = both("portable", |b, dir| portable_setup(b, dir, "ok"));
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    assert!(
        direct.stdout.contains("rmdir: removed"),
        "{}",
        direct.stdout
    );
    same("portable", |b, dir| portable_setup(b, dir, "ok"));
    println!("{}", adapted.stdout);
}

#[test]
fn a_read_only_preopen_is_read_only_both_ways() {
    let (direct, adapted) = both("portable", |b, dir| {
        std::fs::write(dir.join("kept.txt"), "x").unwrap();
        b.preopened_dir(dir, "/sandbox", FsPerms::ReadOnly).unwrap();
    });
    // Preview1 refuses with `notcapable`; WASI 0.2 has no such code and
    // says `not-permitted`, which the adapter gives the program as EPERM.
    let refused = |how: &str| format!("mkdir: {how}\n/sandbox: kept.txt\n");
    assert!(
        direct
            .stdout
            .contains(&refused("Capabilities insufficient")),
        "{}",
        direct.stdout
    );
    assert_eq!(
        direct
            .stdout
            .replace("Capabilities insufficient", "Operation not permitted"),
        adapted.stdout
    );
    assert_eq!((direct.code, adapted.code), (0, 0));
}

#[test]
fn a_failing_exit_behaves_the_same() {
    same("portable", |b, dir| portable_setup(b, dir, "fail"));
}

#[test]
fn exit_codes_other_than_0_and_1_become_1() {
    // The adapter maps `proc_exit(n)` for n != 0 to `exit(err)`, which a
    // WASI 0.2 host reports as 1 (as Wasmtime does).
    let (direct, adapted) = both("cli", |b, _| {
        b.args(&["exit", "42"]);
    });
    assert_eq!((direct.code, adapted.code), (42, 1));
    assert_eq!(direct.stdout, adapted.stdout);
}

#[test]
fn the_adapted_program_behaves_the_same_in_every_configuration() {
    let mut pooling = hayate::Config::new();
    pooling.allocation_strategy(hayate::InstanceAllocationStrategy::Pooling(
        hayate::PoolingConfig {
            max_instances: 16,
            max_memories: 16,
            max_tables: 16,
            ..hayate::PoolingConfig::default()
        },
    ));
    let mut explicit = hayate::Config::new();
    explicit.bounds_checks(hayate::BoundsChecks::Explicit);
    let mut no_cow = hayate::Config::new();
    no_cow.memory_init_cow(false);
    let dir = tempfile::tempdir().unwrap();
    let direct = run("portable", |b| portable_setup(b, dir.path(), "ok"));
    let component = adapt(&std::fs::read(program("portable")).unwrap());
    for (name, config) in [
        ("pooling", pooling),
        ("explicit bounds", explicit),
        ("no CoW", no_cow),
    ] {
        let engine = hayate::Engine::new(&config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = run_component_on(&engine, "portable", &component, |b| {
            portable_setup(b, dir.path(), "ok")
        });
        assert_eq!(
            (out.code, &out.stdout),
            (direct.code, &direct.stdout),
            "{name}"
        );
    }
}
