//! The options a Wasmtime 49 user types, end to end through the `hayate`
//! binary: `-W` lists, booleans and proposal toggles, `-O` optimisation,
//! layout and pooling keys, `-C`, `--profile`, `-S` WASI keys, `--argv0`,
//! read-only `--dir`, `KEY help`, the errors for what Hayate refuses, the
//! closest-key suggestions, and `hayate settings`. The WASI guest is
//! `crates/wasi/tests/programs/cli.c`, built to `cli.wasm`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cli_wasm() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasi/tests/programs/cli.wasm");
    p.to_str().unwrap().to_string()
}

fn hello() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.wat");
    p.to_str().unwrap().to_string()
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hayate"));
    // No compile cache: each test compiles with exactly its options.
    c.args(args).env_remove("HAYATE_PROFILE");
    c
}

fn hayate(args: &[&str]) -> Output {
    command(args).output().expect("run hayate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `hayate run OPTIONS... --invoke add hello.wat 1 2` and checks it
/// prints 3.
fn add_with(options: &[&str]) {
    let h = hello();
    let mut args = vec!["run", "-C", "cache=n"];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--invoke", "add", &h, "1", "2"]);
    let o = hayate(&args);
    assert!(o.status.success(), "{options:?}: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "3\n", "{options:?}");
}

/// Runs `hayate ARGS...`, expects exit code 1 and a one-line error on
/// stderr containing every needle.
fn fails_with(args: &[&str], needles: &[&str]) {
    let o = hayate(args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: no `{needle}` in {err}");
    }
    assert_eq!(text(&o.stdout), "");
}

/// A module file in a temporary directory.
fn module(dir: &Path, name: &str, wat: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, wat).unwrap();
    path.to_str().unwrap().to_string()
}

const SIMD: &str = r#"(module (func (export "f") (result i32)
    v128.const i32x4 1 2 3 4 i32x4.extract_lane 2))"#;
const BULK: &str = r#"(module (memory 1) (func (export "f") (result i32)
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 4)) (i32.load8_u (i32.const 3))))"#;

#[test]
fn wasm_lists_and_booleans() {
    add_with(&["-W", "fuel=100000,timeout=10s"]);
    add_with(&["--wasm", "max-memory-size=1Mi,max-tables=2,max-memories=2"]);
    add_with(&["-W", "epoch-interruption", "-W", "max-instances=5"]);
    // The fuel in the list is honoured: too little fuel traps.
    let w = cli_wasm();
    let o = hayate(&[
        "run",
        "-C",
        "cache=n",
        "-W",
        "timeout=10s,fuel=100",
        &w,
        "args",
    ]);
    assert_eq!(o.status.code(), Some(134), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("fuel"), "{}", text(&o.stderr));
}

#[test]
fn proposal_toggles() {
    let tmp = tempfile::tempdir().unwrap();
    let simd = module(tmp.path(), "simd.wat", SIMD);
    let bulk = module(tmp.path(), "bulk.wat", BULK);
    let run = |options: &[&str], m: &str| {
        let mut args = vec!["run", "-C", "cache=n"];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--invoke", "f", m]);
        hayate(&args)
    };
    for on in [
        &[][..],
        &["-W", "simd"],
        &["-W", "simd=y"],
        &["-W", "simd=yes"],
    ] {
        let o = run(on, &simd);
        assert_eq!(text(&o.stdout), "3\n", "{on:?}: {}", text(&o.stderr));
    }
    for off in ["simd=n", "simd=no", "simd=false", "all-proposals=n"] {
        fails_with(
            &["run", "-C", "cache=n", "-W", off, "--invoke", "f", &simd],
            &["SIMD support is not enabled"],
        );
    }
    // A single key overrides all-proposals, wherever it stands.
    let o = run(&["-W", "simd,all-proposals=n"], &simd);
    assert_eq!(text(&o.stdout), "3\n", "{}", text(&o.stderr));
    fails_with(
        &["run", "-W", "simd,all-proposals=n", "--invoke", "f", &bulk],
        &["bulk memory support is not enabled"],
    );
    let o = run(&["-W", "all-proposals=y"], &bulk);
    assert_eq!(text(&o.stdout), "7\n", "{}", text(&o.stderr));
    fails_with(
        &["run", "-W", "bulk-memory=n", "--invoke", "f", &bulk],
        &["bulk memory support is not enabled"],
    );
    // The compile cache keys on the features: a module cached with SIMD
    // on is not loaded when SIMD is off.
    let cache = tmp.path().join("cache");
    let cached = |options: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--invoke", "f", &simd]);
        command(&args)
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap()
    };
    assert!(cached(&[]).status.success());
    assert!(!cached(&["-W", "simd=n"]).status.success());
}

#[test]
fn unimplemented_proposals_may_only_be_off() {
    add_with(&["-W", "threads=n,function-references=n,component-model=n"]);
    add_with(&["-W", "exceptions=no", "-W", "stack-switching=false"]);
    add_with(&["-W", "exceptions=y,function-references=y,gc=y"]);
    let h = hello();
    for key in ["threads", "stack-switching=true"] {
        fails_with(
            &["run", "-W", key, "--invoke", "add", &h, "1", "2"],
            &["not implemented by Hayate yet", "is accepted"],
        );
    }
    fails_with(
        &["run", "-W", "trap-on-grow-failure=y", &h],
        &["`-W trap-on-grow-failure=y`", "not supported yet"],
    );
    fails_with(
        &["run", "-W", "simd=perhaps", &h],
        &["invalid value in `-W simd=perhaps`"],
    );
}

#[test]
fn unknown_keys_name_the_closest_one() {
    let h = hello();
    let cases: [(&str, &str, &str); 5] = [
        ("-W", "fule=1", "a similar option exists: `-W fuel`"),
        ("-W", "max-memory=1", "`-W max-memory-size`"),
        ("-O", "opt-levle=0", "`-O opt-level`"),
        ("-C", "cahce=n", "`-C cache`"),
        ("-S", "inherit-evn", "`-S inherit-env`"),
    ];
    for (flag, value, needle) in cases {
        fails_with(&["run", flag, value, &h], &["unknown option", needle]);
    }
    fails_with(
        &["run", "-W", "zzzzzzzz", &h],
        &["unknown option `-W zzzzzzzz`"],
    );
}

#[test]
fn help_lists_keys_without_a_module() {
    for (flag, key) in [
        ("-W", "max-wasm-stack=N"),
        ("-O", "pooling-allocator[=y|n]"),
        ("-C", "parallel-compilation[=y|n]"),
        ("-S", "inherit-env[=y|n]"),
    ] {
        let o = hayate(&["run", flag, "help"]);
        assert!(o.status.success(), "{flag}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains(key), "{flag}: {out}");
        assert!(out.contains("refuses, and why"), "{flag}: {out}");
    }
}

#[test]
fn optimize_keys() {
    add_with(&["-O", "opt-level=0"]);
    add_with(&["--optimize", "opt-level=s"]);
    add_with(&["-C", "opt-level=1"]);
    add_with(&["-O", "table-lazy-init=n,memory-init-cow=n"]);
    add_with(&["-O", "memory-reservation=0"]);
    add_with(&["-O", "memory-reservation=4GiB,memory-guard-size=4GiB"]);
    add_with(&["-C", "compiler=cranelift,parallel-compilation=n"]);
    add_with(&["-C", "lazy-compilation"]);
    add_with(&["-C", "lazy-compilation=y", "-W", "fuel=1000000"]);
    let h = hello();
    fails_with(
        &["run", "-O", "opt-level=3", &h],
        &["`-O opt-level=3`", "expected 0, 1, 2, s"],
    );
    fails_with(
        &["run", "-O", "memory-reservation=1GiB", &h],
        &["cannot be honoured", "memory-reservation=0"],
    );
    fails_with(
        &["run", "-O", "memory-guard-size=64Ki", &h],
        &["cannot be honoured"],
    );
    fails_with(
        &["run", "-O", "regalloc-algorithm=single-pass", &h],
        &["not supported"],
    );
    fails_with(&["run", "-C", "compiler=winch", &h], &["Cranelift or LLVM"]);
    fails_with(
        &["run", "-C", "cranelift-has_avx=false", &h],
        &["not supported", "hayate settings"],
    );
}

#[test]
fn pooling_allocator() {
    add_with(&["-O", "pooling-allocator"]);
    add_with(&[
        "-O",
        "pooling-allocator=y,pooling-total-core-instances=4,pooling-total-memories=4",
        "-O",
        "pooling-total-tables=4,pooling-max-memory-size=1Mi,pooling-table-elements=100",
    ]);
    // A WASI command through the pool.
    let w = cli_wasm();
    let o = hayate(&["run", "-O", "pooling-allocator", &w, "args", "x"]);
    assert_eq!(
        text(&o.stdout),
        "cli.wasm\nargs\nx\n",
        "{}",
        text(&o.stderr)
    );
    // The slot size is honoured: a memory of 17 pages does not fit 1 MiB.
    let tmp = tempfile::tempdir().unwrap();
    let big = module(
        tmp.path(),
        "big.wat",
        r#"(module (memory 17) (func (export "f")))"#,
    );
    fails_with(
        &[
            "run",
            "-O",
            "pooling-allocator,pooling-max-memory-size=1Mi",
            "--invoke",
            "f",
            &big,
        ],
        &["pooling allocator", "exceeds the limit of 16 pages"],
    );
    let h = hello();
    fails_with(
        &["run", "-O", "pooling-total-memories=4", &h],
        &["add `-O pooling-allocator`"],
    );
    fails_with(
        &[
            "run",
            "-O",
            "pooling-allocator,pooling-max-memory-size=1000",
            &h,
        ],
        &["64 KiB"],
    );
}

#[test]
fn profile_perfmap() {
    let h = hello();
    let child = command(&[
        "run",
        "-C",
        "cache=n",
        "--profile=perfmap",
        "--invoke",
        "add",
        &h,
        "1",
        "2",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let contents = std::fs::read_to_string(&map).unwrap_or_default();
    let _ = std::fs::remove_file(&map);
    assert!(!contents.is_empty(), "no {}", map.display());
    fails_with(
        &["run", "--profile=jitdump", &h],
        &["`--profile=jitdump` is not implemented by Hayate yet"],
    );
    fails_with(&["run", "--profile=perfmp", &h], &["`perfmap`"]);
}

#[test]
fn wasi_inherit_env() {
    let w = cli_wasm();
    let env = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[&w, "env", "HAYATE_TEST_VAR"]);
        let o = command(&all)
            .env("HAYATE_TEST_VAR", "from-host")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    assert_eq!(env(&[]), "(unset)\n");
    assert_eq!(env(&["-S", "inherit-env"]), "from-host\n");
    assert_eq!(env(&["-S", "inherit-env=y"]), "from-host\n");
    assert_eq!(env(&["-S", "inherit-env=n"]), "(unset)\n");
    assert_eq!(
        env(&["-S", "inherit-env", "--env", "HAYATE_TEST_VAR=mine"]),
        "mine\n"
    );
}

#[test]
fn wasi_cli_and_stdio() {
    let w = cli_wasm();
    // `cli=n`: no WASI, so a WASI command is refused, and a module without
    // WASI imports runs.
    fails_with(
        &["run", "-S", "cli=n", &w, "args"],
        &["`-S cli=n`", "wasi_snapshot_preview1::"],
    );
    fails_with(&["run", "-S", "common=n", &w, "args"], &["`-S cli=n`"]);
    add_with(&["-S", "cli=n"]);
    add_with(&["-S", "cli,preview2=n,inherit-network=n,threads=n"]);
    add_with(&["-S", "inherit-network,allow-ip-name-lookup,tcp=n,udp=n"]);
    let o = hayate(&["run", "-S", "cli=y", &w, "args"]);
    assert_eq!(text(&o.stdout), "cli.wasm\nargs\n");
    let o = hayate(&["run", "-S", "inherit-stdout=n", &w, "args"]);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), "");
    let mut child = command(&["run", "-S", "inherit-stdin=n", &w, "upper"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Whatever the host's stdin says, the guest reads an empty one.
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(b"ignored\n");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out, "");
}

#[test]
fn wasi_refusals() {
    let w = cli_wasm();
    fails_with(
        &["run", "-S", "preview2=y", &w, "args"],
        &["own preview1 implementation", "-S preview2=n"],
    );
    fails_with(&["run", "-S", "p3", &w, "args"], &["WASI 0.3"]);
    fails_with(
        &["run", "-S", "http", &w, "args"],
        &["to components", "core module"],
    );
    fails_with(
        &["run", "-S", "tcplisten", &w, "args"],
        &["`-S tcplisten` needs a value"],
    );
    fails_with(
        &["run", "-S", "tcplisten=nonsense", &w, "args"],
        &["`-S tcplisten=nonsense`"],
    );
}

#[test]
fn argv0() {
    let w = cli_wasm();
    let o = hayate(&["run", "--argv0", "busybox", &w, "args", "a"]);
    assert_eq!(text(&o.stdout), "busybox\nargs\na\n", "{}", text(&o.stderr));
    // After the module, `--argv0` is the guest's.
    let o = hayate(&["run", &w, "args", "--argv0", "x"]);
    assert_eq!(text(&o.stdout), "cli.wasm\nargs\n--argv0\nx\n");
}

#[test]
fn read_only_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("f"), "contents").unwrap();
    let host = tmp.path().to_str().unwrap();
    let w = cli_wasm();
    for spec in [format!("{host}::/d::ro"), format!("{host}::ro")] {
        let guest = if spec.contains("/d::") { "/d" } else { host };
        let o = hayate(&["run", "--dir", &spec, &w, "cat", &format!("{guest}/f")]);
        assert_eq!(text(&o.stdout), "contents", "{spec}: {}", text(&o.stderr));
        let o = hayate(&[
            "run",
            "--dir",
            &spec,
            &w,
            "write",
            &format!("{guest}/g"),
            "x",
        ]);
        assert!(!o.status.success(), "{spec}: writing must fail");
        assert!(!tmp.path().join("g").exists(), "{spec}");
        let o = hayate(&[
            "run",
            "--dir",
            &spec,
            &w,
            "write",
            &format!("{guest}/f"),
            "x",
        ]);
        assert!(!o.status.success(), "{spec}: overwriting must fail");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("f")).unwrap(),
            "contents"
        );
    }
    // Without `::ro`, and with `::rw`, the guest may write.
    for spec in [format!("{host}::/d"), format!("{host}::/d::rw")] {
        let o = hayate(&["run", "--dir", &spec, &w, "write", "/d/g", "new"]);
        assert!(o.status.success(), "{spec}: {}", text(&o.stderr));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("g")).unwrap(),
            "new"
        );
        std::fs::remove_file(tmp.path().join("g")).unwrap();
    }
}

#[test]
fn settings_command() {
    let o = hayate(&["settings"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for needle in [
        "Target: ",
        "Host CPU features",
        "simd                     on",
        "Cranelift settings in effect",
        "opt_level = \"speed\"",
        "Hayate code settings in effect",
        "bounds_checks = GuardPages",
    ] {
        assert!(out.contains(needle), "no `{needle}` in {out}");
    }
    if cfg!(target_arch = "x86_64") {
        assert!(out.contains("sse4.1") && out.contains("has_sse41"), "{out}");
    }
    let o = hayate(&[
        "settings",
        "-O",
        "opt-level=0,memory-reservation=0",
        "-W",
        "simd=n,fuel=1",
    ]);
    let out = text(&o.stdout);
    assert!(out.contains("opt_level = \"none\""), "{out}");
    assert!(out.contains("bounds_checks = Explicit"), "{out}");
    assert!(out.contains("consume_fuel = true"), "{out}");
    assert!(out.contains("simd                     off"), "{out}");
    for (level, cranelift) in [("1", "speed"), ("2", "speed"), ("s", "speed_and_size")] {
        let o = hayate(&["settings", "-O", &format!("opt-level={level}")]);
        let out = text(&o.stdout);
        let expected = format!("opt_level = \"{cranelift}\"\n");
        assert!(out.contains(&expected), "opt-level={level}: {out}");
    }
}

#[test]
fn compile_takes_the_same_options() {
    let tmp = tempfile::tempdir().unwrap();
    let simd = module(tmp.path(), "simd.wat", SIMD);
    let out = tmp.path().join("simd.hwasm");
    let out = out.to_str().unwrap();
    fails_with(
        &["compile", "-W", "simd=n", &simd, "-o", out],
        &["SIMD support is not enabled"],
    );
    let o = hayate(&[
        "compile",
        "-O",
        "opt-level=0",
        "-W",
        "simd",
        &simd,
        "-o",
        out,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = hayate(&[
        "run",
        "-O",
        "opt-level=0",
        "--allow-precompiled",
        "--invoke",
        "f",
        out,
    ]);
    assert_eq!(text(&o.stdout), "3\n", "{}", text(&o.stderr));
}

#[test]
fn preload_and_unknown_imports_trap() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = module(
        tmp.path(),
        "lib.wat",
        r#"(module (func (export "double") (param i32) (result i32)
             (i32.mul (local.get 0) (i32.const 2))))"#,
    );
    let main = module(
        tmp.path(),
        "main.wat",
        r#"(module (import "lib" "double" (func $d (param i32) (result i32)))
             (import "nowhere" "f" (func $f))
             (func (export "run") (param i32) (result i32) (call $d (local.get 0)))
             (func (export "missing") (call $f)))"#,
    );
    let preload = format!("lib={lib}");
    // Without the trap option, the missing import refuses the module.
    fails_with(
        &["run", "--preload", &preload, "--invoke", "run", &main, "21"],
        &["function `nowhere::f`"],
    );
    let o = hayate(&[
        "run",
        "--preload",
        &preload,
        "-W",
        "unknown-imports-trap",
        "--invoke",
        "run",
        &main,
        "21",
    ]);
    assert_eq!(text(&o.stdout), "42\n", "{}", text(&o.stderr));
    // Calling the missing import fails, naming it, as Wasmtime does.
    let o = hayate(&[
        "run",
        "--preload",
        &preload,
        "-W",
        "unknown-imports-trap",
        "--invoke",
        "missing",
        &main,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("unknown import: `nowhere::f` has not been defined"),
        "{}",
        text(&o.stderr)
    );
    fails_with(
        &["run", "--preload", "lib", "--invoke", "run", &main, "1"],
        &["invalid --preload `lib`: expected NAME=MODULE_PATH"],
    );
    fails_with(
        &[
            "run",
            "--preload",
            "lib=/no/such.wat",
            "--invoke",
            "run",
            &main,
            "1",
        ],
        &["cannot read `/no/such.wat`"],
    );
}
