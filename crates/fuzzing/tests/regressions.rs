//! Regression tests from fuzzing: every file in `regressions/`.
//!
//! - `NAME.wast`: a script for Hayate's `.wast` runner; every directive must
//!   pass. Used for engine bugs, with the expected results written out.
//! - `NAME.wat`: a module run through the differential oracle (every export
//!   called with zero/null arguments, Hayate against `wasmi`); the engines
//!   must agree.
//!
//! A file containing a line `;; XFAIL: <why>` documents a known bug that is
//! not fixed yet: it is expected to fail, and the test stays green while it
//! does. When it starts passing the test says so (and fails if
//! `HAYATE_STRICT_XFAIL=1`): delete the XFAIL line then.

use std::path::{Path, PathBuf};

use hayate::Config;
use hayate_fuzzing::arbitrary::Unstructured;
use hayate_fuzzing::oracles::{DiffOptions, differential_wasm};
use hayate_wast::WastRunner;

fn regression_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wast" | "wat")))
        .collect();
    files.sort();
    files
}

/// Runs one file: `Err` with the reason when it fails.
fn run(path: &Path, text: &str) -> Result<(), String> {
    if path.extension().is_some_and(|e| e == "wast") {
        let runner = WastRunner::new(&Config::new()).map_err(|e| e.to_string())?;
        let report = runner.run(&path.display().to_string(), text);
        if report.is_success() {
            Ok(())
        } else {
            Err(report
                .failures
                .iter()
                .map(|f| format!("{}:{}:{}: {}", f.file, f.line, f.col, f.reason))
                .collect::<Vec<_>>()
                .join("\n"))
        }
    } else {
        let wasm = wat::parse_str(text).map_err(|e| e.to_string())?;
        for variant in 0..hayate_fuzzing::oracles::ENGINE_VARIANTS {
            let options = DiffOptions {
                variant,
                ..DiffOptions::default()
            };
            differential_wasm(&wasm, &options, &mut Unstructured::new(&[]))
                .map_err(|m| format!("engine variant {variant}: {}", m.message))?;
        }
        Ok(())
    }
}

#[test]
fn fuzz_regressions() {
    let strict = std::env::var("HAYATE_STRICT_XFAIL").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let files = regression_files();
    assert!(!files.is_empty(), "no regression files found");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let xfail = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(";; XFAIL:"))
            .map(str::trim);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match (run(&path, &text), xfail) {
            (Ok(()), None) => eprintln!("{name}: ok"),
            (Err(e), None) => failures.push(format!("{name}: {e}")),
            (Err(_), Some(why)) => eprintln!("{name}: fails as expected (XFAIL: {why})"),
            (Ok(()), Some(_)) => {
                let note = format!(
                    "{name}: passes now, but is marked XFAIL: the bug looks fixed; remove its `;; XFAIL:` line"
                );
                eprintln!("{note}");
                if strict {
                    failures.push(note);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "regressions failed:\n{}",
        failures.join("\n")
    );
}
