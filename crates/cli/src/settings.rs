//! `hayate settings`: what the host CPU offers and what the compiler will
//! use on it, with the `-W`/`-O`/`-C` options given (`hayate settings -O
//! opt-level=0` shows the settings of `hayate run -O opt-level=0`).
//!
//! The CPU features come from `std::arch`'s run-time detection, the same
//! detection Cranelift's native ISA builder uses. The settings in effect
//! come from the compiler itself, through `Engine::target` and
//! `Engine::compiler_fingerprint` (target, Cranelift flags, ISA flags and
//! Hayate's code-changing settings, all plain `key = value` text).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use hayate::{Config, Engine};

use crate::options::{CommonOptions, PROPOSALS};

/// Arguments of `hayate settings`.
#[derive(Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    options: CommonOptions,
}

/// Prints the host's CPU features and the compiler settings in effect.
pub fn execute(args: SettingsArgs) -> Result<ExitCode> {
    let options = args.options.parse()?;
    let mut config = Config::new();
    options.configure(&mut config);
    config.cache_dir(None);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    print!("{}", report(&engine, &config)?);
    Ok(ExitCode::SUCCESS)
}

/// The whole report.
fn report(engine: &Engine, config: &Config) -> Result<String> {
    let mut out = String::new();
    out += &format!("Target: {}\n\n", engine.target());
    out += "Host CPU features (detected at run time):\n";
    for (name, present) in host_features() {
        out += &format!("  {name:<12} {}\n", if present { "yes" } else { "no" });
    }
    out += "\nWebAssembly proposals (-W keys):\n";
    for p in PROPOSALS {
        // On exactly when turning it on changes nothing.
        let mut on = config.clone();
        (p.toggle)(&mut on, true);
        let enabled = on.features() == config.features();
        out += &format!("  {:<24} {}\n", p.name, if enabled { "on" } else { "off" });
    }
    match engine.compiler_fingerprint() {
        Some(f) => out += &format_fingerprint(f),
        None => out += "\nThis build has no compiler: it runs precompiled modules only.\n",
    }
    Ok(out)
}

/// The fingerprint as sections: Cranelift's shared flags, the ISA flags,
/// Hayate's own settings.
fn format_fingerprint(fingerprint: &str) -> String {
    let mut out = String::new();
    let mut lines = fingerprint.lines();
    if let Some(compiler) = lines.next() {
        out += &format!("\nCompiler: {compiler} (Cranelift)\n");
    }
    out += "\nCranelift settings in effect:\n";
    for line in lines {
        match line {
            _ if line.starts_with("target ") => {}
            "[shared]" => {}
            "[isa]" => out += "\nCranelift ISA flags in effect (from the host's CPU features):\n",
            "[hayate]" => out += "\nHayate code settings in effect:\n",
            "" => {}
            _ => match line.split_once('=') {
                Some((key, value)) => out += &format!("  {} = {}\n", key.trim(), value.trim()),
                None => out += &format!("  {line}\n"),
            },
        }
    }
    out
}

/// The CPU features that matter to compiled Wasm code, as the host reports
/// them.
fn host_features() -> Vec<(&'static str, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        vec![
            ("sse3", has!("sse3")),
            ("ssse3", has!("ssse3")),
            ("sse4.1", has!("sse4.1")),
            ("sse4.2", has!("sse4.2")),
            ("popcnt", has!("popcnt")),
            ("lzcnt", has!("lzcnt")),
            ("bmi1", has!("bmi1")),
            ("bmi2", has!("bmi2")),
            ("avx", has!("avx")),
            ("avx2", has!("avx2")),
            ("fma", has!("fma")),
            ("cmpxchg16b", has!("cmpxchg16b")),
            ("avx512f", has!("avx512f")),
            ("avx512vl", has!("avx512vl")),
            ("avx512dq", has!("avx512dq")),
            ("avx512vbmi", has!("avx512vbmi")),
            ("avx512bitalg", has!("avx512bitalg")),
        ]
    }
    #[cfg(target_arch = "aarch64")]
    {
        use std::arch::is_aarch64_feature_detected as has;
        vec![
            ("neon", has!("neon")),
            ("lse", has!("lse")),
            ("lse2", has!("lse2")),
            ("fp16", has!("fp16")),
            ("pauth", has!("paca")),
            ("bti", has!("bti")),
        ]
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_fingerprint_by_section() {
        let f = "hayate-cranelift 0.1.0\ntarget x86_64-unknown-linux-gnu\n[shared]\n\
                 opt_level = \"speed\"\n[isa]\nhas_avx=1\n[hayate]\nbounds_checks = GuardPages\n";
        let text = format_fingerprint(f);
        assert!(text.contains("Compiler: hayate-cranelift 0.1.0"), "{text}");
        assert!(text.contains("  opt_level = \"speed\"\n"), "{text}");
        assert!(text.contains("  has_avx = 1\n"), "{text}");
        assert!(text.contains("  bounds_checks = GuardPages\n"), "{text}");
        assert!(!text.contains("target"), "{text}");
    }

    #[test]
    fn reports_the_real_engine() {
        let engine = Engine::default();
        let text = report(&engine, &Config::new()).unwrap();
        assert!(text.contains("Target: "), "{text}");
        assert!(text.contains("Cranelift settings in effect"), "{text}");
        assert!(text.contains("opt_level"), "{text}");
        assert!(text.contains("  simd                     on\n"), "{text}");
        let mut config = Config::new();
        config.wasm_simd(false);
        let text = report(&engine, &config).unwrap();
        assert!(text.contains("  simd                     off\n"), "{text}");
    }
}
