//! The runtimes a program is run on, and how each one is invoked so that
//! compile time stays out of the execution numbers.

use crate::corpus::{Layout, Program};
use crate::measure::{Run, run};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A runtime in the execution table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Runtime {
    Hayate,
    /// Hayate with the LLVM tier (`-C compiler=llvm`).
    HayateLlvm,
    Wasmtime,
    Node,
    Native,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Hayate => "Hayate",
            Runtime::HayateLlvm => "LLVM",
            Runtime::Wasmtime => "Wasmtime",
            Runtime::Node => "Node",
            Runtime::Native => "native",
        }
    }
}

/// How Hayate runs WASI programs on this checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HayateMode {
    /// `hayate compile` to an artifact, then `hayate run --allow-precompiled
    /// ARTIFACT`: the CLI end to end with compile time excluded, like
    /// Wasmtime's.
    CliPrecompiled,
    /// `hayate run` has no WASI yet: `hayate compile` to an artifact, then
    /// this binary's `wasi-run --allow-precompiled ARTIFACT`, the Hayate API
    /// with a minimal WASI shim.
    ShimPrecompiled,
    /// No `hayate compile` either: `wasi-run` compiles, reports its compile
    /// time, and the harness subtracts it.
    ShimCompiling,
}

/// What this checkout's `hayate` CLI can do, found by trying.
pub struct Capabilities {
    /// `hayate run hello.wasm` prints hello world.
    pub cli_wasi: bool,
    /// `hayate compile IN -o OUT` works.
    pub cli_compile: bool,
}

impl Capabilities {
    pub fn detect(layout: &Layout) -> Capabilities {
        let cli = layout.hayate_cli();
        let hello = layout.build.join("wasm/hello.wasm");
        let says_hello = |c: &mut Command| {
            c.output()
                .map(|o| o.status.success() && o.stdout == b"hello world\n")
                .unwrap_or(false)
        };
        let cli_wasi = says_hello(
            Command::new(&cli)
                .args(["run", "-C", "cache=n"])
                .arg(&hello),
        );
        let out = layout.work("hello.hayate.cwasm");
        let _ = std::fs::remove_file(&out);
        let cli_compile = hayate_compile(layout, &hello, &out, &[]).is_ok();
        Capabilities {
            cli_wasi,
            cli_compile,
        }
    }

    pub fn hayate_mode(&self) -> HayateMode {
        match (self.cli_wasi, self.cli_compile) {
            (true, true) => HayateMode::CliPrecompiled,
            (false, true) => HayateMode::ShimPrecompiled,
            (_, false) => HayateMode::ShimCompiling,
        }
    }
}

/// The flags that select the LLVM tier.
pub const LLVM_FLAGS: [&str; 2] = ["-C", "compiler=llvm"];

/// `hayate compile [FLAGS] IN -o OUT`.
pub fn hayate_compile(layout: &Layout, input: &Path, output: &Path, flags: &[&str]) -> Result<()> {
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let o = Command::new(layout.hayate_cli())
        .arg("compile")
        .args(flags)
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .context("running hayate compile")?;
    if !o.status.success() || !output.exists() {
        bail!(
            "hayate compile failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(())
}

/// `wasmtime compile IN -o OUT`.
pub fn wasmtime_compile(layout: &Layout, input: &Path, output: &Path) -> Result<()> {
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let o = Command::new(layout.wasmtime())
        .arg("compile")
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .context("running wasmtime compile")?;
    if !o.status.success() {
        bail!(
            "wasmtime compile failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(())
}

/// A program made ready to run on one runtime: the command line, minus
/// the guest arguments.
pub struct Prepared {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The shim reports its compile time; subtract it.
    pub subtract_compile: bool,
}

impl Prepared {
    pub fn command(&self, guest_args: &[String]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).args(guest_args);
        c
    }

    /// Runs once with `guest_args`.
    pub fn run(&self, guest_args: &[String]) -> Result<Run> {
        run(&mut self.command(guest_args), self.subtract_compile)
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Prepares `p` for `rt`: precompiles it where the runtime can.
pub fn prepare(
    layout: &Layout,
    mode: &HayateMode,
    rt: Runtime,
    p: &Program,
) -> Result<Option<Prepared>> {
    let wasm = layout.wasm(p);
    Ok(Some(match rt {
        Runtime::Native => {
            if !p.native {
                return Ok(None);
            }
            Prepared {
                program: layout.native(p),
                args: vec![],
                subtract_compile: false,
            }
        }
        Runtime::Wasmtime => {
            let cwasm = layout.work(&format!("{}.wasmtime.cwasm", p.stem));
            if !cwasm.exists() || modified(&cwasm) < modified(&wasm) {
                wasmtime_compile(layout, &wasm, &cwasm)?;
            }
            Prepared {
                program: layout.wasmtime(),
                args: vec!["run".into(), "--allow-precompiled".into(), path_str(&cwasm)],
                subtract_compile: false,
            }
        }
        Runtime::Node => Prepared {
            program: "node".into(),
            args: vec![
                "--no-warnings".into(),
                path_str(&layout.node_runner()),
                path_str(&wasm),
            ],
            subtract_compile: false,
        },
        Runtime::HayateLlvm => {
            // The LLVM tier needs `hayate compile` and `hayate run` (a
            // build of the CLI with the `llvm` feature).
            if !matches!(mode, HayateMode::CliPrecompiled) {
                bail!("this hayate has no `compile` and WASI `run`");
            }
            let cwasm = layout.work(&format!("{}.hayate-llvm.cwasm", p.stem));
            hayate_compile(layout, &wasm, &cwasm, &LLVM_FLAGS)?;
            let mut args: Vec<String> = vec!["run".into()];
            args.extend(LLVM_FLAGS.iter().map(|f| f.to_string()));
            args.extend(["--allow-precompiled".into(), path_str(&cwasm)]);
            Prepared {
                program: layout.hayate_cli(),
                args,
                subtract_compile: false,
            }
        }
        Runtime::Hayate => {
            let artifact = || -> Result<String> {
                // Always afresh: an artifact only loads into the Hayate
                // build that wrote it.
                let cwasm = layout.work(&format!("{}.hayate.cwasm", p.stem));
                hayate_compile(layout, &wasm, &cwasm, &[])?;
                Ok(path_str(&cwasm))
            };
            match mode {
                HayateMode::CliPrecompiled => Prepared {
                    program: layout.hayate_cli(),
                    args: vec!["run".into(), "--allow-precompiled".into(), artifact()?],
                    subtract_compile: false,
                },
                HayateMode::ShimPrecompiled => Prepared {
                    program: std::env::current_exe()?,
                    args: vec!["wasi-run".into(), "--allow-precompiled".into(), artifact()?],
                    subtract_compile: false,
                },
                HayateMode::ShimCompiling => Prepared {
                    program: std::env::current_exe()?,
                    args: vec![
                        "wasi-run".into(),
                        "--report-compile".into(),
                        path_str(&wasm),
                    ],
                    subtract_compile: true,
                },
            }
        }
    }))
}

fn modified(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}
