//! A fuzzing loop without libFuzzer: drives the same oracles as the fuzz
//! targets with seeded random inputs, so they run anywhere `cargo` does
//! (stable Rust, no sanitizer runtime). See FUZZING.md.
//!
//! ```text
//! cargo run --release -p hayate-fuzzing --example fuzz-loop -- TARGET [OPTIONS]
//!   TARGET            compile | instantiate | differential | tiers
//!                     (`tiers`: the LLVM tier against Cranelift; build
//!                     with `--features llvm`)
//!   --seconds N       stop after N seconds (default 60)
//!   --first-seed S    first seed (default: from the clock; printed)
//!   --seeds N         stop after N seeds
//!   --max-len L       input length is 256..=L bytes (default 16384)
//!   --print SEED      print the module of one seed as text and exit
//! ```
//!
//! A failing seed is printed with the command that reproduces it; the
//! module is written to `fuzz-loop-SEED.wasm` in the current directory.

use std::time::{Duration, Instant};

use hayate_fuzzing::arbitrary::Unstructured;
use hayate_fuzzing::oracles::{self, DiffStats};
use hayate_fuzzing::{generators, seeded_input};

fn usage() -> ! {
    eprintln!(
        "usage: fuzz-loop compile|instantiate|differential|tiers [--seconds N] [--first-seed S] [--seeds N] [--max-len L] [--print SEED]"
    );
    std::process::exit(2)
}

fn input_len(seed: u64, max: usize) -> usize {
    256 + (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as usize % (max.max(257) - 255)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| usage());
    let mut seconds = 60u64;
    let mut first: Option<u64> = None;
    let mut seeds = u64::MAX;
    let mut max_len = 16 << 10;
    let mut print: Option<u64> = None;
    while let Some(flag) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--seconds" => seconds = value(),
            "--first-seed" => first = Some(value()),
            "--seeds" => seeds = value(),
            "--max-len" => max_len = value() as usize,
            "--print" => print = Some(value()),
            _ => usage(),
        }
    }
    if let Some(seed) = print {
        let data = seeded_input(seed, input_len(seed, max_len));
        let mut u = Unstructured::new(&data);
        // What each oracle reads before the module: its engine variant,
        // or for `tiers` whether the bounds checks are explicit.
        let config = match target.as_str() {
            "differential" => {
                let _variant = u.int_in_range(0..=oracles::ENGINE_VARIANTS - 1).unwrap();
                generators::differential_config(&mut u)
            }
            "tiers" => {
                let _explicit_checks = u.arbitrary::<bool>().unwrap();
                generators::differential_config(&mut u)
            }
            _ => {
                let _variant = u.int_in_range(0..=oracles::ENGINE_VARIANTS - 1).unwrap();
                generators::hayate_config(&mut u)
            }
        }
        .expect("config");
        let module = generators::terminating_module(&mut u, config).expect("module");
        println!("{}", wasmprinter_text(&module.wasm));
        return;
    }
    let first = first.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() << 20)
            .unwrap_or(0)
    });
    let llvm = hayate::Config::new()
        .strategy(hayate::Strategy::Llvm)
        .clone();
    if target == "tiers" && hayate::Engine::new(&llvm).is_err() {
        eprintln!("fuzz-loop tiers needs the LLVM tier: build with `--features llvm`");
        std::process::exit(2);
    }
    eprintln!("fuzz-loop {target}: seeds from {first}, {seconds} s");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut total = DiffStats::default();
    let mut runs = 0u64;
    let mut last_report = Instant::now();
    let mut seed = first;
    while Instant::now() < deadline && runs < seeds {
        let data = seeded_input(seed, input_len(seed, max_len));
        let result = std::panic::catch_unwind(|| match target.as_str() {
            "compile" => {
                oracles::compile(&data);
                Ok(None)
            }
            "instantiate" => {
                oracles::instantiate(&data);
                Ok(None)
            }
            "differential" => oracles::differential(&data),
            "tiers" => oracles::tiers(&data),
            _ => usage(),
        });
        let failed = match result {
            Ok(Ok(Some(stats))) => {
                total.add(&stats);
                false
            }
            Ok(Ok(None)) => false,
            Ok(Err(mismatch)) => {
                eprintln!("{mismatch}");
                let file = format!("fuzz-loop-{seed}.wasm");
                let _ = std::fs::write(&file, &mismatch.wasm);
                match target.as_str() {
                    // The shrinker's oracle is `wasmi`.
                    "differential" => eprintln!(
                        "module written to {file}; shrink it with:\n  cargo run --release -p hayate-fuzzing --features shrink --example shrink -- {file} {}",
                        shrink_flags(&mismatch.options)
                    ),
                    _ => eprintln!("module written to {file}"),
                }
                true
            }
            Err(_) => true,
        };
        if failed {
            eprintln!(
                "FAILED at seed {seed}; reproduce with: fuzz-loop {target} --first-seed {seed} --seeds 1 --max-len {max_len}"
            );
            std::process::exit(1);
        }
        runs += 1;
        seed = seed.wrapping_add(1);
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!("  {runs} runs: {total:?}");
            last_report = Instant::now();
        }
    }
    eprintln!("fuzz-loop {target}: {runs} runs, seeds {first}..{seed}, no failure");
    if matches!(target.as_str(), "differential" | "tiers") {
        eprintln!("  {total:?}\n  traps: {:?}", total.traps());
    }
}

fn shrink_flags(options: &oracles::DiffOptions) -> String {
    let mut flags = format!("--variant {}", options.variant);
    if let Some(fuel) = options.fuel {
        flags += &format!(" --fuel {fuel}");
    }
    flags
}

fn wasmprinter_text(wasm: &[u8]) -> String {
    wasmprinter::print_bytes(wasm).unwrap_or_else(|e| format!("(unprintable: {e})"))
}
