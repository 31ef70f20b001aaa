//! The hostile-guest group: modules written to crash the host or to make
//! it spend memory or time the guest was never granted, each run with
//! `hayate run` under the default CLI limits (plus the flags its header
//! names). For every one the host must survive (an orderly exit code, no
//! signal), keep its peak resident memory under [`PEAK_RSS_BOUND`], finish
//! within [`TIME_BOUND`] (a hang detector, not a speed target), and end the
//! way the header says.
//!
//! A guest is a `.wat` file in `tests/hostile/` with a header saying what
//! it attacks, the flags it runs with and how it must end (see
//! `support/guests.rs`, which reads them).
//!
//! Peak memory is the child's `ru_maxrss`, read by a small Python wrapper
//! (`getrusage(RUSAGE_CHILDREN)` after waiting for the one child it ran),
//! which also sets the child's stack rlimit for the small-stack test.

#[path = "support/guests.rs"]
mod guests;

use std::path::{Path, PathBuf};

use guests::Expect;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Most resident memory a hostile run may reach: the CLI, Cranelift and
/// the guest's legitimate use together stay far below it.
const PEAK_RSS_BOUND: u64 = 256 << 20;

/// Longest a hostile run may take before it counts as a hang.
const TIME_BOUND: Duration = Duration::from_secs(60);

/// Runs a command (with the stack rlimit `STACK_KIB` if set), reporting
/// its peak RSS in bytes on the wrapper's last stderr line.
const MEASURE: &str = r#"
import os, resource, subprocess, sys
def limit_stack():
    kib = os.environ.get("STACK_KIB")
    if kib:
        size = int(kib) * 1024
        resource.setrlimit(resource.RLIMIT_STACK, (size, size))
code = subprocess.call(sys.argv[1:], preexec_fn=limit_stack)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
sys.stderr.write("\npeak-rss=%d\n" % peak)
sys.exit(code if code >= 0 else 128 - code)
"#;

/// What one hostile run did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    peak_rss: u64,
    elapsed: Duration,
}

/// Runs `hayate run FLAGS MODULE` (with a main-thread stack of
/// `stack_kib` KiB when given) and measures it.
fn run_measured(stack_kib: Option<u32>, flags: &[String], module: &Path) -> Outcome {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-cache");
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        MEASURE,
        env!("CARGO_BIN_EXE_hayate"),
        "run",
        "-C",
        "cache=n",
    ])
    .args(flags)
    .arg(module)
    .env("XDG_CACHE_HOME", cache)
    .stdin(Stdio::null());
    if let Some(kib) = stack_kib {
        cmd.env("STACK_KIB", kib.to_string());
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let peak_rss = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak-rss="))
        .unwrap_or_else(|| panic!("no peak-rss line (is python3 installed?): {stderr}"))
        .parse()
        .unwrap();
    Outcome {
        code: out.status.code(),
        stderr,
        peak_rss,
        elapsed,
    }
}

fn check(what: &str, outcome: &Outcome, expect: &Expect) -> Result<(), String> {
    let Outcome {
        code,
        stderr,
        peak_rss,
        elapsed,
    } = outcome;
    let fail = |why: String| Err(format!("{what}: {why}\nstderr: {stderr}"));
    if *peak_rss > PEAK_RSS_BOUND {
        return fail(format!("peak RSS {} MiB", peak_rss >> 20));
    }
    if *elapsed > TIME_BOUND {
        return fail(format!("took {elapsed:?}"));
    }
    match expect {
        Expect::Exit(n) if *code != Some(*n) => fail(format!("exit {code:?}, expected {n}")),
        Expect::Trap(text) if *code != Some(134) || !stderr.contains(text.as_str()) => {
            fail(format!("exit {code:?}, expected a trap with `{text}`"))
        }
        _ => Ok(()),
    }
}

#[test]
fn hostile_guests_are_contained() {
    let guests = guests::guests(&guests::dir(env!("CARGO_MANIFEST_DIR")));
    assert!(guests.len() >= 5, "only {} hostile guests", guests.len());
    let mut failures = Vec::new();
    for guest in &guests {
        let outcome = run_measured(None, &guest.flags, &guest.path);
        let name = guest.name();
        eprintln!(
            "{name}: {} | exit {:?}, peak {} MiB, {:?}",
            guest.what,
            outcome.code,
            outcome.peak_rss >> 20,
            outcome.elapsed
        );
        if let Err(e) = check(&name, &outcome, &guest.expect) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn unbounded_recursion_traps_on_small_host_stacks() {
    // The main thread's stack is what `ulimit -s` says: down to sizes
    // smaller than the host's own reserve, recursion must trap (the limit
    // shrinks to what is there), never overflow the host's stack.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-stack");
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("recurse.wat");
    std::fs::write(&module, r#"(module (func $f (export "f") (call $f)))"#).unwrap();
    // The same with a WASI call at every level, so host functions run at
    // the deepest point Wasm reaches: they live on the reserve below it.
    let via_wasi = dir.join("recurse_via_wasi.wat");
    std::fs::write(&via_wasi, RECURSE_VIA_WASI).unwrap();
    let preopen = dir.display().to_string();
    for (module, flags) in [
        (&module, vec!["--invoke".to_string(), "f".to_string()]),
        (
            &via_wasi,
            vec!["--dir".to_string(), format!("{preopen}::/d")],
        ),
    ] {
        for kib in [128, 136, 160, 256, 1024] {
            let outcome = run_measured(Some(kib), &flags, module);
            let expect = Expect::Trap("call stack exhausted".into());
            let what = format!("{} under ulimit -s {kib}", module.display());
            if let Err(e) = check(&what, &outcome, &expect) {
                panic!("{e}");
            }
        }
    }
}

/// Unbounded recursion that opens a file in the preopen (fd 3) and writes
/// an empty iovec to stdout at every level.
const RECURSE_VIA_WASI: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "recurse_via_wasi.wat")
  (func $r
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 20)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $r))
  (func (export "_start") (call $r)))"#;
