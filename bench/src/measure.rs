//! Running a command and timing it; medians and geometric means.

use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker `wasi-run --report-compile` prints on stderr.
pub const COMPILE_MARKER: &str = "hayate-bench: compile_ns=";

/// One run of a program.
pub struct Run {
    /// Wall time, less the reported compile time where asked.
    pub time: Duration,
    pub stdout: Vec<u8>,
}

/// Runs `cmd` to completion, timing it; fails unless it exits with 0.
pub fn run(cmd: &mut Command, subtract_compile: bool) -> Result<Run> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("spawning {cmd:?}"))?;
    let mut time = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            stderr.trim_end()
        );
    }
    if subtract_compile {
        let ns: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix(COMPILE_MARKER))
            .context("no compile time reported")?
            .trim()
            .parse()?;
        time = time.saturating_sub(Duration::from_nanos(ns));
    }
    Ok(Run {
        time,
        stdout: out.stdout,
    })
}

/// The median of `xs` (the mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The geometric mean of the finite, positive values of `xs`.
pub fn geomean(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    if v.is_empty() {
        return f64::NAN;
    }
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}
