//! `hayate compile` and `hayate run --allow-precompiled`, and the compile
//! cache the CLI uses by default.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hayate(args: &[&str], cache_home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hayate"))
        .args(args)
        .env("XDG_CACHE_HOME", cache_home)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-compile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn compile_then_run_precompiled() {
    let dir = scratch("precompiled");
    let artifact = dir.join("hello.hwasm");
    let a = artifact.to_str().unwrap();
    let o = hayate(&["compile", "examples/hello.wat", "-o", a], &dir);
    assert!(o.status.success(), "{}", err(&o));
    let o = hayate(
        &["run", "--allow-precompiled", "--invoke", "add", a, "1", "2"],
        &dir,
    );
    assert_eq!(out(&o), "3", "{}", err(&o));
    // Without the flag an artifact is refused, in one line.
    let o = hayate(&["run", "--invoke", "add", a, "1", "2"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("--allow-precompiled"), "{}", err(&o));
    // Settings that change the code must match.
    let o = hayate(
        &[
            "run",
            "--allow-precompiled",
            "-W",
            "fuel=100",
            "--invoke",
            "add",
            a,
            "1",
            "2",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("incompatible"), "{}", err(&o));
    // A corrupted artifact is refused, not run.
    let mut bytes = std::fs::read(&artifact).unwrap();
    let mid = 100;
    bytes[mid] ^= 0xff;
    let bad = dir.join("bad.hwasm");
    std::fs::write(&bad, bytes).unwrap();
    let o = hayate(
        &[
            "run",
            "--allow-precompiled",
            "--invoke",
            "add",
            bad.to_str().unwrap(),
            "1",
            "2",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
}

#[test]
fn run_fills_and_reuses_the_cache_unless_disabled() {
    let dir = scratch("cache");
    let o = hayate(
        &["run", "--invoke", "add", "examples/hello.wat", "2", "2"],
        &dir,
    );
    assert_eq!(out(&o), "4", "{}", err(&o));
    let entries = |d: &Path| walk(&d.join("hayate"));
    let after_first = entries(&dir);
    assert!(after_first > 0, "the cache has an entry");
    let o = hayate(
        &["run", "--invoke", "add", "examples/hello.wat", "3", "2"],
        &dir,
    );
    assert_eq!(out(&o), "5");
    assert_eq!(entries(&dir), after_first, "a hit adds nothing");
    let fresh = scratch("nocache");
    let o = hayate(
        &[
            "run",
            "-C",
            "cache=n",
            "--invoke",
            "add",
            "examples/hello.wat",
            "1",
            "1",
        ],
        &fresh,
    );
    assert_eq!(out(&o), "2");
    assert_eq!(entries(&fresh), 0, "-C cache=n writes nothing");
}

fn walk(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// The compile cache's entries (`.hwasm` files) under `cache_home`.
fn cache_entries(cache_home: &Path) -> Vec<PathBuf> {
    let dir = cache_home.join("hayate").join("v1");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "hwasm"))
        .collect()
}

/// A Wasm binary above `-C lazy-compilation=auto`'s size (mostly data),
/// with functions calling each other and enough others that compiling it
/// whole takes longer than a run calling two of them (so that runs end
/// before it is done, and hand it over).
fn large_module(dir: &Path) -> PathBuf {
    let data = "a".repeat(1 << 20);
    let filler: String = (0..3000)
        .map(|i| {
            format!(
                "(func (param i64) (result i64) (i64.mul (i64.add (local.get 0) \
                 (i64.const {i})) (i64.rotl (local.get 0) (i64.const 7))))"
            )
        })
        .collect();
    let wat = format!(
        r#"(module
            (memory 80)
            (data (i32.const 0) "{data}")
            (func $twice (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
            (func (export "add") (param i32 i32) (result i32)
              (i32.add (local.get 0) (local.get 1)))
            (func (export "quad") (param i32) (result i32)
              (call $twice (call $twice (local.get 0))))
            {filler})"#
    );
    let path = dir.join("large.wasm");
    std::fs::write(&path, wat::parse_str(&wat).unwrap()).unwrap();
    path
}

/// Waits (polling, generously for a loaded machine) until `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "never: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn large_modules_run_lazily_and_reach_the_cache_whole() {
    let dir = scratch("lazy-auto");
    let large = large_module(&dir);
    let large = large.to_str().unwrap();
    // `compile --into-cache` stores what `run` looks for: one entry,
    // which the run hits (a lazily compiled engine keys differently from
    // an eager one, so `auto` chose lazily for both).
    let warm = dir.join("warm");
    let o = hayate(&["compile", "--into-cache", large], &warm);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(cache_entries(&warm).len(), 1);
    let o = hayate(&["run", "--invoke", "quad", large, "5"], &warm);
    assert_eq!(out(&o), "20", "{}", err(&o));
    assert_eq!(cache_entries(&warm).len(), 1, "the run hit the entry");
    let o = hayate(
        &[
            "run",
            "-C",
            "lazy-compilation=n",
            "--invoke",
            "quad",
            large,
            "5",
        ],
        &warm,
    );
    assert_eq!(out(&o), "20", "{}", err(&o));
    assert_eq!(cache_entries(&warm).len(), 2, "eager code is another entry");

    // A cold run ends long before its module could be compiled whole; the
    // entry appears anyway (written in the background, or by the process
    // the run hands it to), and no marker of work in progress is left.
    let cold = dir.join("cold");
    let o = hayate(&["run", "--invoke", "add", large, "2", "3"], &cold);
    assert_eq!(out(&o), "5", "{}", err(&o));
    eventually("the cold run's module reaches the cache", || {
        cache_entries(&cold).len() == 1
    });
    eventually("no `.filling` marker is left", || {
        walk(&cold.join("hayate")) == 1
    });
    let o = hayate(&["run", "--invoke", "add", large, "4", "5"], &cold);
    assert_eq!(out(&o), "9", "{}", err(&o));
    assert_eq!(cache_entries(&cold).len(), 1, "the second run hits it");
}

#[test]
fn small_modules_compile_eagerly_by_default() {
    let dir = scratch("lazy-small");
    let o = hayate(&["compile", "--into-cache", "examples/hello.wat"], &dir);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(cache_entries(&dir).len(), 1);
    let o = hayate(
        &["run", "--invoke", "add", "examples/hello.wat", "2", "2"],
        &dir,
    );
    assert_eq!(out(&o), "4", "{}", err(&o));
    assert_eq!(cache_entries(&dir).len(), 1, "auto compiled it eagerly");
    // `--into-cache` with nothing to store, or nowhere to store it.
    let o = hayate(&["compile", "--into-cache", "examples/hello.wat"], &dir);
    assert!(o.status.success(), "{}", err(&o));
    let o = hayate(
        &[
            "compile",
            "--into-cache",
            "-C",
            "cache=n",
            "examples/hello.wat",
        ],
        &dir,
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("no cache"), "{}", err(&o));
    let o = hayate(
        &[
            "compile",
            "--into-cache",
            "-o",
            "x.hwasm",
            "examples/hello.wat",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}

#[test]
fn a_module_read_from_a_pipe_is_read_whole() {
    // Deciding `-C lazy-compilation=auto` must not take the first bytes
    // of a module that is not a regular file.
    use std::io::Write as _;
    let dir = scratch("pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hayate"))
        .args(["run", "--invoke", "f", "/dev/stdin"])
        .env("XDG_CACHE_HOME", &dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"(module (func (export "f") (result i32) i32.const 7))"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(out(&o), "7", "{}", err(&o));
}

/// A `wasi:cli/command` component whose `run` returns `ok` or `err`.
fn command_component(ok: bool) -> String {
    format!(
        r#"(component
  (core module $m (func (export "run") (result i32) (i32.const {})))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run)))"#,
        u8::from(!ok)
    )
}

#[test]
fn components_run_and_precompile() {
    let dir = scratch("component");
    for (ok, code) in [(true, 0), (false, 1)] {
        let source = dir.join(format!("cmd-{ok}.wat"));
        std::fs::write(&source, command_component(ok)).unwrap();
        let s = source.to_str().unwrap();
        let o = hayate(&["run", s], &dir);
        assert_eq!(o.status.code(), Some(code), "{}", err(&o));
        let artifact = dir.join(format!("cmd-{ok}.hwasm"));
        let a = artifact.to_str().unwrap();
        let o = hayate(&["compile", s, "-o", a], &dir);
        assert!(o.status.success(), "{}", err(&o));
        let o = hayate(&["run", "--allow-precompiled", a], &dir);
        assert_eq!(o.status.code(), Some(code), "{}", err(&o));
        // Without the flag the machine code is refused.
        let o = hayate(&["run", a], &dir);
        assert_eq!(o.status.code(), Some(1));
        assert!(err(&o).contains("allow_precompiled"), "{}", err(&o));
    }
    // A component that is not a command is a clear error.
    let lib = dir.join("lib.wat");
    std::fs::write(&lib, "(component)").unwrap();
    let o = hayate(&["run", lib.to_str().unwrap()], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("wasi:cli/run"), "{}", err(&o));
}

/// `-C compiler=llvm`: compiling ahead of time with the LLVM tier, running
/// its artifact (with the same flag), and running a module directly.
#[test]
fn llvm_compiles_and_runs() {
    let dir = scratch("llvm");
    let artifact = dir.join("hello-llvm.hwasm");
    let a = artifact.to_str().unwrap();
    let o = hayate(
        &[
            "compile",
            "-C",
            "compiler=llvm",
            "examples/hello.wat",
            "-o",
            a,
        ],
        &dir,
    );
    if err(&o).contains("no LLVM backend") && std::env::var_os("HAYATE_REQUIRE_LLVM").is_none() {
        eprintln!("skipping: this build has no LLVM tier");
        return;
    }
    assert!(o.status.success(), "{}", err(&o));
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--allow-precompiled"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--invoke", "fac", a, "20"]);
        hayate(&args, &dir)
    };
    let o = run(&["-C", "compiler=llvm"]);
    assert_eq!(out(&o), "2432902008176640000", "{}", err(&o));
    // The artifact records its compiler: an engine with Cranelift refuses it.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("hayate-llvm"), "{}", err(&o));
    // Straight from the text, compiled by LLVM in the run.
    let o = hayate(
        &[
            "run",
            "-C",
            "compiler=llvm",
            "--invoke",
            "add",
            "examples/hello.wat",
            "1",
            "2",
        ],
        &dir,
    );
    assert_eq!(out(&o), "3", "{}", err(&o));
    let o = hayate(
        &[
            "run",
            "-C",
            "compiler=llvm",
            "--invoke",
            "oops",
            "examples/hello.wat",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(134), "{}", err(&o));
    assert!(err(&o).contains("wasm trap: unreachable"), "{}", err(&o));
    // LLVM compiles whole modules: lazy compilation is refused.
    let o = hayate(
        &[
            "run",
            "-C",
            "compiler=llvm",
            "-C",
            "lazy-compilation=y",
            "--invoke",
            "add",
            "examples/hello.wat",
            "1",
            "2",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("lazy compilation"), "{}", err(&o));
}
