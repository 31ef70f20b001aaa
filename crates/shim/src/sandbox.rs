//! Running a container's module: [`HayateSandbox::run_wasi`] loads it,
//! runs it as a WASI command on a thread of its own (the library calls
//! `run_wasi` on an async runtime that must not block, and a panic on it
//! would leave the task hanging), and turns SIGTERM and SIGINT into an
//! epoch interrupt of the guest.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::{Entrypoint, RuntimeContext};
use hayate::{Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, WasmBacktrace};
use hayate_wasi::{FsPerms, I32Exit, WasiCtx};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::limits::cgroup_memory_limit;

/// The exit status after a trap, as `hayate run` and Wasmtime use.
const TRAP_EXIT_CODE: i32 = 134;

/// How long a signalled guest may take to notice its interrupt (it may be
/// blocked in a host call) before the container exits without it.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Runs one container's module with its own engine.
pub struct HayateSandbox {
    engine: Engine,
    /// The container's memory limit, read when the library creates the
    /// sandbox: in the container's cgroup, before its root is switched
    /// (inside, `/sys/fs/cgroup` is usually not mounted).
    memory_limit: Option<u64>,
}

impl Default for HayateSandbox {
    fn default() -> Self {
        // The library's `Sandbox: Default` leaves no way to report this;
        // an engine with a valid fixed configuration does not fail.
        let engine = crate::engine().expect("the shim's engine configuration is valid");
        let memory_limit = cgroup_memory_limit();
        log::info!("memory limit: {memory_limit:?}");
        Self {
            engine,
            memory_limit,
        }
    }
}

/// What one guest needs: the container's WASI view and its memory cap.
struct Guest {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// The container's process as a WASI command.
struct Command {
    module: Module,
    func: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    memory_limit: Option<u64>,
}

impl Sandbox for HayateSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let Entrypoint { source, func, .. } = ctx.entrypoint();
        let bytes = source.as_bytes()?;
        if Module::is_precompiled(&bytes) && !source.is_precompiled()? {
            bail!(
                "the image holds a precompiled Hayate module; only modules precompiled by \
                 the shim itself (kept in containerd's content store) are loaded"
            );
        }
        let module = Module::new(&self.engine, &bytes).context("loading the module")?;
        let command = Command {
            module,
            func,
            args: ctx.args().to_vec(),
            envs: ctx
                .envs()
                .iter()
                .map(|var| match var.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => (var.clone(), String::new()),
                })
                .collect(),
            memory_limit: self.memory_limit.or_else(cgroup_memory_limit),
        };
        let engine = self.engine.clone();
        let (done, finished) = oneshot::channel();
        std::thread::Builder::new()
            .name("hayate-guest".into())
            .spawn(move || {
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| command.run(&engine)))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the guest's thread panicked")));
                let _ = done.send(result);
            })
            .context("starting the guest's thread")?;
        wait(&self.engine, finished).await
    }
}

/// The guest's exit status, or, on SIGTERM or SIGINT, 128 + the signal
/// after interrupting it.
async fn wait(engine: &Engine, mut finished: oneshot::Receiver<Result<i32>>) -> Result<i32> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let signo = tokio::select! {
        result = &mut finished => {
            return result.context("the guest's thread ended without a status")?;
        }
        _ = terminate.recv() => libc_signal::SIGTERM,
        _ = interrupt.recv() => libc_signal::SIGINT,
    };
    log::info!("signal {signo}: interrupting the guest");
    // The guest's deadline is one tick away: this traps it at its next
    // loop header or function entry.
    engine.increment_epoch();
    match tokio::time::timeout(KILL_GRACE, finished).await {
        Ok(Ok(Ok(code))) => log::info!("the guest stopped with status {code}"),
        Ok(Ok(Err(e))) => log::info!("the guest stopped: {e:#}"),
        _ => log::warn!("the guest did not stop within {KILL_GRACE:?}; leaving it"),
    }
    Ok(128 + signo)
}

/// Signal numbers, as Linux defines them (the crate forbids `unsafe`, and
/// these are all it needs of libc).
mod libc_signal {
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}

impl Command {
    fn run(self, engine: &Engine) -> Result<i32> {
        let mut wasi = WasiCtx::builder();
        wasi.args(&self.args)
            .envs(&self.envs)
            .inherit_stdio()
            .preopened_dir("/", "/", FsPerms::ReadWrite)
            .context("preopening the container's root directory")?;
        let mut limits = StoreLimitsBuilder::new();
        if let Some(bytes) = self.memory_limit {
            limits = limits.memory_size(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        let guest = Guest {
            wasi: wasi.build(),
            limits: limits.build(),
        };
        let mut store = Store::new(engine, guest);
        store.limiter(|guest| &mut guest.limits);
        store.set_epoch_deadline(1);
        let mut linker = Linker::new(engine);
        hayate_wasi::add_to_linker(&mut linker, |guest: &mut Guest| &mut guest.wasi)?;
        let instance = linker
            .instantiate(&mut store, &self.module)
            .context("instantiating the module")?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, &self.func)
            .with_context(|| {
                format!("the module has no export `{}` of type [] -> []", self.func)
            })?;
        match start.call(&mut store, ()) {
            Ok(()) => Ok(0),
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    return Ok(exit.0);
                }
                if let Some(trap) = e.downcast_ref::<Trap>() {
                    // Straight to fd 2, the container's stderr (`eprintln!`
                    // goes to a capture buffer under a test harness).
                    let _ = writeln!(std::io::stderr(), "error: {}", WasmBacktrace::report(&e));
                    log::info!("the guest trapped: {trap}");
                    return Ok(TRAP_EXIT_CODE);
                }
                Err(e)
            }
        }
    }
}
