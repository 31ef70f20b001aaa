//! Snapshot tests of generated code, in the style of Cranelift's filetests
//! and Wasmtime's `tests/disas`: each `tests/snapshots/*.wat` names its
//! target, pinned ISA flags, compiler settings and kind of output in a
//! `;;!` header, and carries the expected output inline, as the trailing
//! block of `;; ` comment lines. `HAYATE_BLESS=1` rewrites that block; see
//! `tests/snapshots/README.md` for the format.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hayate_cranelift::{BoundsChecks, Compiler, CompilerSettings, OptLevel};
use hayate_environ::{DefinedFuncIndex, ModuleInfo, SpecVersion, features_for};

/// What a test file prints.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Test {
    /// CLIF after optimization.
    Optimize,
    /// Cranelift's rendering of the final machine code (VCode).
    Compile,
}

/// Which code of the module a test file prints.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Code {
    /// Every defined function.
    Functions,
    /// The array-to-wasm trampoline of every escaping defined function.
    ArrayToWasm,
    /// The wasm-to-array trampoline of every type.
    WasmToArray,
}

/// The `;;!` header of a test file.
#[derive(Debug)]
struct Header {
    target: String,
    flags: Vec<String>,
    settings: CompilerSettings,
    test: Test,
    code: Code,
}

/// A `"quoted"` header value without its quotes.
fn unquote(value: &str) -> Result<String, String> {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| format!("expected a quoted string, got `{value}`"))
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, got `{other}`")),
    }
}

/// Parses `{ opt_level = "speed", bounds_checks = "guard-pages",
/// consume_fuel = false, epoch_interruption = false }`; every key is
/// required so that each file states all the settings it depends on.
fn parse_settings(value: &str) -> Result<CompilerSettings, String> {
    let inner = value
        .trim()
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .ok_or_else(|| format!("settings must be an inline table, got `{value}`"))?;
    let mut settings = CompilerSettings {
        parallel: false,
        verifier: true,
        ..CompilerSettings::default()
    };
    let mut seen = Vec::new();
    for entry in inner.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("expected `key = value`, got `{entry}`"))?;
        let key = key.trim();
        match key {
            "opt_level" => {
                settings.opt_level = match unquote(value)?.as_str() {
                    "none" => OptLevel::None,
                    "speed" => OptLevel::Speed,
                    "speed_and_size" => OptLevel::SpeedAndSize,
                    other => return Err(format!("unknown opt_level `{other}`")),
                }
            }
            "bounds_checks" => {
                settings.tunables.bounds_checks = match unquote(value)?.as_str() {
                    "guard-pages" => BoundsChecks::GuardPages,
                    "explicit" => BoundsChecks::Explicit,
                    other => return Err(format!("unknown bounds_checks `{other}`")),
                }
            }
            "consume_fuel" => settings.tunables.consume_fuel = parse_bool(value)?,
            "epoch_interruption" => settings.tunables.epoch_interruption = parse_bool(value)?,
            other => return Err(format!("unknown setting `{other}`")),
        }
        seen.push(key.to_owned());
    }
    for required in [
        "opt_level",
        "bounds_checks",
        "consume_fuel",
        "epoch_interruption",
    ] {
        if !seen.iter().any(|k| k == required) {
            return Err(format!("settings lack `{required}`"));
        }
    }
    Ok(settings)
}

/// Parses `["a", "b"]`.
fn parse_list(value: &str) -> Result<Vec<String>, String> {
    let inner = value
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| format!("expected a list, got `{value}`"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(unquote)
        .collect()
}

fn parse_header(source: &str) -> Result<Header, String> {
    let (mut target, mut flags, mut settings, mut test) = (None, None, None, None);
    let mut code = Code::Functions;
    for line in source.lines() {
        let Some(entry) = line.strip_prefix(";;!") else {
            continue;
        };
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("expected `;;! key = value`, got `{line}`"))?;
        match key.trim() {
            "target" => target = Some(unquote(value)?),
            "flags" => flags = Some(parse_list(value)?),
            "settings" => settings = Some(parse_settings(value)?),
            "test" => {
                test = Some(match unquote(value)?.as_str() {
                    "optimize" => Test::Optimize,
                    "compile" => Test::Compile,
                    other => return Err(format!("unknown test `{other}`")),
                })
            }
            "code" => {
                code = match unquote(value)?.as_str() {
                    "functions" => Code::Functions,
                    "array-to-wasm" => Code::ArrayToWasm,
                    "wasm-to-array" => Code::WasmToArray,
                    other => return Err(format!("unknown code `{other}`")),
                }
            }
            other => return Err(format!("unknown header key `{other}`")),
        }
    }
    Ok(Header {
        target: target.ok_or("header lacks `;;! target`")?,
        flags: flags.ok_or("header lacks `;;! flags`")?,
        settings: settings.ok_or("header lacks `;;! settings`")?,
        test: test.ok_or("header lacks `;;! test`")?,
        code,
    })
}

/// Splits a test file into everything before the expected block and the
/// expected output: the trailing run of `;;` lines (not `;;!`), each with
/// its `;; ` prefix removed.
fn split_expected(source: &str) -> (&str, String) {
    let mut start = source.len();
    let mut in_block = false;
    let mut line_end = source.len();
    for line in source.split_inclusive('\n').rev() {
        let line_start = line_end - line.len();
        line_end = line_start;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.starts_with(";;") && !text.starts_with(";;!") {
            in_block = true;
        } else if in_block || !text.trim().is_empty() {
            // Blank lines after the block are skipped; anything else ends it.
            break;
        }
        start = line_start;
    }
    let (body, block) = source.split_at(start);
    let expected =
        block
            .lines()
            .filter(|l| l.starts_with(";;"))
            .fold(String::new(), |mut out, l| {
                out.push_str(l.strip_prefix(";; ").unwrap_or(&l[2..]));
                out.push('\n');
                out
            });
    (body, expected)
}

/// The expected block for `output`: every line prefixed with `;; `.
fn comment_block(output: &str) -> String {
    output.lines().fold(String::new(), |mut out, l| {
        if l.is_empty() {
            out.push_str(";;\n");
        } else {
            let _ = writeln!(out, ";; {l}");
        }
        out
    })
}

/// Compiles the module of a test file and prints what its header asks for.
fn render(header: &Header, source: &str) -> Result<String, String> {
    let wasm = wat::parse_str(source).map_err(|e| e.to_string())?;
    let info =
        ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))).map_err(|e| e.to_string())?;
    let flags: Vec<&str> = header.flags.iter().map(String::as_str).collect();
    let compiler = Compiler::for_target(&header.target, &flags, header.settings.clone())
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut item = |title: String, text: Result<String, hayate_environ::CompileError>| {
        let text = text.map_err(|e| format!("{title}: {e}"))?;
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "==== {title} ====");
        // Trailing spaces (Cranelift prints some) would not survive editors.
        for line in text.trim_end().lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        Ok::<(), String>(())
    };
    let defined = 0..info.num_defined_funcs();
    match header.code {
        Code::Functions => {
            for i in defined {
                let name = info.func_display_name(info.func_index(DefinedFuncIndex::from_u32(i)));
                let text = match header.test {
                    Test::Optimize => compiler.function_clif(&info, &wasm, i),
                    Test::Compile => compiler.function_disasm(&info, &wasm, i),
                };
                item(format!("function {i}: {name}"), text)?;
            }
        }
        Code::ArrayToWasm => {
            for i in defined {
                let defined = DefinedFuncIndex::from_u32(i);
                if !info.is_escaping(defined) {
                    continue;
                }
                let name = info.func_display_name(info.func_index(defined));
                let text = match header.test {
                    Test::Optimize => compiler.array_to_wasm_clif(&info, i),
                    Test::Compile => compiler.array_to_wasm_disasm(&info, i),
                };
                item(
                    format!("array-to-wasm trampoline of function {i}: {name}"),
                    text,
                )?;
            }
        }
        Code::WasmToArray => {
            for (i, ty) in info.types.iter() {
                let Some(ty) = ty.as_func() else { continue };
                let text = match header.test {
                    Test::Optimize => compiler.wasm_to_array_clif(ty, i.as_u32()),
                    Test::Compile => compiler.wasm_to_array_disasm(ty, i.as_u32()),
                };
                let i = i.as_u32();
                item(format!("wasm-to-array trampoline of type {i}: {ty}"), text)?;
            }
        }
    }
    Ok(out)
}

/// A line diff of `expected` and `actual` (longest common subsequence),
/// with three lines of context around each change.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, line number in expected, text)
    let mut lines: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            lines.push(('+', i + 1, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let mut out = String::new();
    let mut last_shown = None;
    for (k, &(tag, expected_line, text)) in lines.iter().enumerate() {
        if !changed.iter().any(|&c| c.abs_diff(k) <= 3) {
            continue;
        }
        if last_shown.is_none_or(|l: usize| l + 1 != k) {
            let _ = writeln!(out, "@@ expected line {expected_line} @@");
        }
        let _ = writeln!(out, "{tag}{text}");
        last_shown = Some(k);
    }
    out
}

fn snapshot_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn snapshots() {
    let bless = std::env::var_os("HAYATE_BLESS").is_some_and(|v| v == "1");
    let paths = snapshot_files();
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let (body, expected) = split_expected(&source);
        let actual = match parse_header(&source).and_then(|h| render(&h, body)) {
            Ok(actual) => actual,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if bless {
            let updated = format!("{}\n\n{}", body.trim_end(), comment_block(&actual));
            if updated != source {
                std::fs::write(&path, updated).unwrap();
            }
        } else if expected != actual {
            failures.push(format!(
                "{name}: output differs (- expected, + actual):\n{}",
                diff(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "snapshot mismatches (if intended, rerun with HAYATE_BLESS=1 and review the diff):\n\n{}",
        failures.join("\n")
    );
}

#[test]
fn expected_block_round_trips() {
    let output = "function u0:0() {\n\nblock0:\n    return\n}\n";
    let file = format!(
        ";;! test = \"optimize\"\n(module)\n\n{}",
        comment_block(output)
    );
    let (body, expected) = split_expected(&file);
    assert_eq!(body.trim_end(), ";;! test = \"optimize\"\n(module)");
    // Blank lines of the output are kept as `;;` lines, and dropped by
    // neither direction.
    assert_eq!(expected, output);
}

#[test]
fn a_changed_line_shows_in_the_diff() {
    let expected = "a\nb\nc\nd\n";
    let actual = "a\nb\nX\nd\n";
    let d = diff(expected, actual);
    assert!(d.contains("-c\n+X\n"), "{d}");
    assert!(diff(expected, expected).is_empty());
}

#[test]
fn headers_must_state_every_setting() {
    let missing = ";;! target = \"x86_64\"\n;;! flags = []\n;;! test = \"optimize\"\n\
                   ;;! settings = { opt_level = \"speed\", consume_fuel = false }\n";
    let err = parse_header(missing).unwrap_err();
    assert!(err.contains("bounds_checks"), "{err}");
    let unknown = ";;! target = \"x86_64\"\n;;! flags = []\n;;! test = \"optimize\"\n\
                   ;;! settings = { opt_level = \"fast\" }\n";
    assert!(parse_header(unknown).unwrap_err().contains("opt_level"));
}
