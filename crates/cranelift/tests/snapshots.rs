//! CLIF snapshot tests: every `tests/snapshots/*.wat` is compiled and the
//! optimized CLIF of each defined function compared with the `.clif` file
//! beside it. Run with `HAYATE_BLESS=1` to rewrite the expected files after
//! an intended codegen change.
//!
//! A first line `;; settings: explicit fuel epoch opt-none` selects
//! explicit bounds checks, fuel, epochs or no optimization.

use std::path::Path;

use hayate_cranelift::{BoundsChecks, Compiler, CompilerSettings, OptLevel};
use hayate_environ::{ModuleInfo, SpecVersion, features_for};

fn settings_for(source: &str) -> CompilerSettings {
    let mut s = CompilerSettings {
        parallel: false,
        verifier: true,
        ..CompilerSettings::default()
    };
    if let Some(line) = source
        .lines()
        .next()
        .and_then(|l| l.strip_prefix(";; settings:"))
    {
        for word in line.split_whitespace() {
            match word {
                "explicit" => s.tunables.bounds_checks = BoundsChecks::Explicit,
                "fuel" => s.tunables.consume_fuel = true,
                "epoch" => s.tunables.epoch_interruption = true,
                "opt-none" => s.opt_level = OptLevel::None,
                other => panic!("unknown snapshot setting {other}"),
            }
        }
    }
    s
}

fn render(path: &Path) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let wasm = wat::parse_str(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let info = ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))).unwrap();
    let compiler = Compiler::new(settings_for(&source)).unwrap();
    let mut out = String::new();
    for i in 0..info.num_defined_funcs() {
        let name = info.func_display_name(info.num_imported_funcs + i);
        out.push_str(&format!(";; {name}\n"));
        out.push_str(&compiler.function_clif(&info, &wasm, i).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn clif_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let bless = std::env::var_os("HAYATE_BLESS").is_some_and(|v| v == "1");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let mut mismatches = Vec::new();
    for path in paths {
        let actual = render(&path);
        let expected_path = path.with_extension("clif");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
            mismatches.push(format!(
                "{}: differs from line {}:\n  expected: {:?}\n  actual:   {:?}",
                expected_path.display(),
                line + 1,
                expected.lines().nth(line).unwrap_or("<end>"),
                actual.lines().nth(line).unwrap_or("<end>"),
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "CLIF snapshots differ (rerun with HAYATE_BLESS=1 if intended):\n{}",
        mismatches.join("\n")
    );
}
