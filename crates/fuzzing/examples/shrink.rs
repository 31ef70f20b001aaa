//! Shrinks a module on which Hayate and `wasmi` disagree, keeping the kind
//! of disagreement (for example "call: Hayate trapped UnreachableCodeReached,
//! wasmi returned") while `wasm-shrink` removes everything it can.
//!
//! ```text
//! cargo run --release -p hayate-fuzzing --features shrink --example shrink -- \
//!     IN.wasm [--variant N] [--fuel F] [--out OUT.wasm] [--attempts N] [--trace 1]
//! ```
//!
//! `IN` may be text (`.wat`). With `--attempts 0` it only checks the input;
//! `--trace 1` prints every call's outcome in both engines.
//!
//! Exported functions are called with default (zero/null) arguments. The
//! oracle runs first with `wasmi` fuel, so mutations that lose the module's
//! own fuel checks cannot hang the shrinker. Prints the smallest module as
//! text and writes it to `OUT.wasm` (default `IN.shrunk.wasm`).

use hayate_fuzzing::arbitrary::Unstructured;
use hayate_fuzzing::oracles::{DiffOptions, Mismatch, differential_wasm};

fn usage() -> ! {
    eprintln!("usage: shrink IN.wasm [--variant N] [--fuel F] [--out OUT.wasm] [--attempts N]");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let input = args.next().unwrap_or_else(|| usage());
    let mut options = DiffOptions {
        oracle_fuel: Some(50_000_000),
        ..DiffOptions::default()
    };
    let mut out = format!("{}.shrunk.wasm", input.trim_end_matches(".wasm"));
    let mut attempts = 2_000u32;
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--variant" => options.variant = value.parse().unwrap_or_else(|_| usage()),
            "--fuel" => options.fuel = Some(value.parse().unwrap_or_else(|_| usage())),
            "--out" => out = value,
            "--attempts" => attempts = value.parse().unwrap_or_else(|_| usage()),
            "--trace" => {
                options.trace = value == "1";
            }
            _ => usage(),
        }
    }
    let bytes = std::fs::read(&input).unwrap_or_else(|e| panic!("reading {input}: {e}"));
    let wasm = wat::parse_bytes(&bytes)
        .unwrap_or_else(|e| panic!("parsing {input}: {e}"))
        .into_owned();
    let run = |wasm: &[u8], options: &DiffOptions| -> Option<Mismatch> {
        differential_wasm(wasm, options, &mut Unstructured::new(&[])).err()
    };
    let first = run(&wasm, &options);
    options.trace = false;
    let Some(original) = first else {
        eprintln!("{input}: the engines agree with default arguments; nothing to shrink");
        std::process::exit(1);
    };
    eprintln!("disagreement: {}", original.message);
    if attempts == 0 {
        return;
    }
    eprintln!("shrinking, keeping: {}", original.kind);
    let kind = original.kind.clone();
    let info = wasm_shrink::WasmShrink::default()
        .attempts(attempts)
        .on_new_smallest(Some(Box::new(|wasm: &[u8]| {
            eprintln!("  smallest so far: {} bytes", wasm.len());
            Ok(())
        })))
        .run(wasm, |candidate: &[u8]| {
            Ok(run(candidate, &options).is_some_and(|m| m.kind == kind))
        })
        .expect("shrinking");
    std::fs::write(&out, &info.output).unwrap_or_else(|e| panic!("writing {out}: {e}"));
    let last = run(&info.output, &options).expect("the shrunk module still disagrees");
    println!("{}", last.message);
    println!(
        "{}",
        wasmprinter::print_bytes(&info.output).unwrap_or_else(|e| format!("(unprintable: {e})"))
    );
    eprintln!(
        "{} -> {} bytes, written to {out}",
        info.input_size, info.output_size
    );
}
