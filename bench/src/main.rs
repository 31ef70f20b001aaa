//! `hayate-bench`: Hayate side by side with Wasmtime, Node and native code.
//!
//! `bench/run.sh` is the one command: it builds the corpus and the binaries,
//! runs the criterion microbenchmarks, then `hayate-bench report`, which runs
//! everything else and rewrites the tables in `BENCHMARKS.md`. The other
//! subcommands are the pieces `report` runs in child processes.
#![forbid(unsafe_code)]

mod bounds;
mod components;
mod corpus;
mod exceptions;
mod gc;
mod inproc;
mod measure;
mod micro_names;
mod per_op;
mod report;
mod runners;
mod scaling;
mod wasi_shim;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "hayate-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the benchmarks and rewrite the tables in BENCHMARKS.md.
    Report(report::ReportArgs),
    /// Run a wasm32-wasi command on Hayate in-process, with a minimal WASI
    /// shim (for as long as `hayate run` has no WASI).
    WasiRun {
        /// Print the compile time on stderr, for the harness to subtract.
        #[arg(long)]
        report_compile: bool,
        /// Write /tmp/perf-PID.map for the module's functions (Hayate's
        /// `ProfilingStrategy::PerfMap`).
        #[arg(long)]
        perf_map: bool,
        /// The module may be an artifact of `hayate compile`.
        #[arg(long)]
        allow_precompiled: bool,
        module: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compile a module with Hayate in-process and exit.
    Compile {
        /// On one thread (default: all cores).
        #[arg(long)]
        single_thread: bool,
        module: PathBuf,
    },
    /// Print the optimized CLIF of one function (by name-section name or
    /// index) and write its machine code, for `objdump -D -b binary
    /// -mi386:x86-64 FILE`.
    Clif {
        module: PathBuf,
        function: String,
        /// Where to write the function's machine code.
        #[arg(long)]
        code: Option<PathBuf>,
        /// Compile with epoch checks.
        #[arg(long)]
        epoch: bool,
        /// Compile with fuel metering.
        #[arg(long)]
        fuel: bool,
    },
    /// Throughput of the embedding API on one thread and on several (and
    /// Wasmtime's, with the `peers` feature).
    Scaling {
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Seconds per workload and thread count.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Measurements of each thread count (alternated); medians are
        /// reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Run only the workloads whose name contains this.
        #[arg(long, default_value = "")]
        only: String,
    },
    /// Cost of bounds checks on 64-bit memories: kernels on a 32-bit and a
    /// 64-bit memory, Hayate (and Wasmtime with the `peers` feature).
    BoundsCost {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Cost of exception handling: throw/catch round trips and calls in a
    /// `try_table`, Hayate (and Wasmtime with the `peers` feature).
    ExceptionsCost {
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Cost of GC allocation: garbage, a live list and arrays, Hayate (and
    /// Wasmtime with the `peers` feature).
    GcCost {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Cost of calling a component's exports with strings, lists and
    /// records, Hayate (and Wasmtime with the `peers` feature).
    ComponentsCost {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Cost of fuel and epoch checks, Hayate (and Wasmtime with the `peers`
    /// feature), as ratios to the same kernels without them.
    InterruptCost {
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Report(args) => report::execute(args).map(|()| 0),
        Cmd::WasiRun {
            report_compile,
            perf_map,
            allow_precompiled,
            module,
            args,
        } => wasi_run(
            WasiRunOptions {
                report_compile,
                perf_map,
                allow_precompiled,
            },
            &module,
            &args,
        ),
        Cmd::Compile {
            single_thread,
            module,
        } => compile(single_thread, &module).map(|()| 0),
        Cmd::Clif {
            module,
            function,
            code,
            epoch,
            fuel,
        } => clif(&module, &function, code.as_deref(), epoch, fuel).map(|()| 0),
        Cmd::Scaling {
            threads,
            seconds,
            rounds,
            only,
        } => {
            let time = scaling::Timing {
                time: std::time::Duration::from_secs_f64(seconds),
                rounds,
            };
            scaling::run(threads, time, &only).map(|rows| {
                print!("{}", scaling::table(&rows, threads));
                0
            })
        }
        Cmd::ExceptionsCost { runs } => exceptions::exceptions_cost(runs).map(|rows| {
            print!("{}", per_op::table(&rows));
            0
        }),
        Cmd::GcCost { runs } => gc::gc_cost(runs).map(|rows| {
            print!("{}", per_op::table(&rows));
            0
        }),
        Cmd::ComponentsCost { runs } => components::components_cost(runs).map(|rows| {
            print!("{}", per_op::table(&rows));
            0
        }),
        Cmd::BoundsCost { runs } => bounds::bounds_cost(runs).map(|rows| {
            print!("{}", bounds::table(&rows));
            0
        }),
        Cmd::InterruptCost { runs, quick } => {
            inproc::interrupt_cost(&corpus::Layout::new(), runs, quick).map(|rows| {
                for r in rows {
                    println!("{r:?}");
                }
                0
            })
        }
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("hayate-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct WasiRunOptions {
    report_compile: bool,
    perf_map: bool,
    allow_precompiled: bool,
}

fn wasi_run(opts: WasiRunOptions, module: &Path, args: &[String]) -> Result<i32> {
    let mut config = hayate::Config::new();
    config.allow_precompiled(opts.allow_precompiled);
    if opts.perf_map {
        config.profiler(hayate::ProfilingStrategy::PerfMap);
    }
    let engine = hayate::Engine::new(&config)?;
    let start = Instant::now();
    let module_c = hayate::Module::from_file(&engine, module)
        .with_context(|| format!("loading {}", module.display()))?;
    if opts.report_compile {
        eprintln!("{}{}", measure::COMPILE_MARKER, start.elapsed().as_nanos());
    }
    let linker = wasi_shim::linker(&engine, &module_c)?;
    let mut argv = vec![module.to_string_lossy().into_owned()];
    argv.extend_from_slice(args);
    let mut store = hayate::Store::new(&engine, wasi_shim::WasiCtx::new(&argv));
    let result = linker
        .instantiate(&mut store, &module_c)
        .and_then(|instance| {
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(|_| hayate::Error::msg("module exports no `_start`"))?;
            start.call(&mut store, ())
        });
    store.data_mut().flush();
    match result {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<wasi_shim::Exit>() {
            Some(exit) => Ok(exit.0),
            None => bail!("{e}"),
        },
    }
}

fn compile(single_thread: bool, module: &PathBuf) -> Result<()> {
    let mut config = hayate::Config::new();
    config.parallel_compilation(!single_thread);
    let engine = hayate::Engine::new(&config)?;
    let bytes = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    hayate::Module::from_binary(&engine, &bytes)?;
    Ok(())
}

fn clif(module: &Path, function: &str, code: Option<&Path>, epoch: bool, fuel: bool) -> Result<()> {
    use hayate_cranelift::{Compiler, CompilerSettings};
    use hayate_environ::{Compiler as _, ModuleInput, Tunables};
    let bytes = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    // Text or binary.
    let bytes = wat::parse_bytes(&bytes)?.into_owned();
    let info = hayate_environ::ModuleInfo::parse(&bytes, hayate_environ::features_for(None))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let index = (info.num_imported_funcs..info.num_imported_funcs + info.num_defined_funcs())
        .find(|&i| {
            let name = info.func_display_name(hayate_environ::FuncIndex::from_u32(i));
            name == function || i.to_string() == function
        })
        .with_context(|| format!("no defined function `{function}`"))?;
    let defined = index - info.num_imported_funcs;
    let settings = CompilerSettings {
        tunables: Tunables {
            epoch_interruption: epoch,
            consume_fuel: fuel,
            ..Tunables::default()
        },
        ..CompilerSettings::default()
    };
    let compiler = Compiler::new(settings).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}",
        compiler
            .function_clif(&info, &bytes, defined)
            .map_err(|e| anyhow::anyhow!("{e}"))?
    );
    if let Some(out) = code {
        let compiled = compiler
            .compile_module(&ModuleInput::new(&info, &bytes))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let loc = compiled.functions[hayate_environ::DefinedFuncIndex::from_u32(defined)].loc;
        std::fs::write(
            out,
            &compiled.text[loc.start as usize..(loc.start + loc.length) as usize],
        )?;
    }
    Ok(())
}
