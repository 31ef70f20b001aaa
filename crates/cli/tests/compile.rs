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
