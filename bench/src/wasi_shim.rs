//! A minimal `wasi_snapshot_preview1` for the benchmark corpus, so that
//! Hayate can run the C programs in-process before `hayate run` has WASI.
//!
//! It is a stand-in, not a WASI implementation: arguments, an empty
//! environment, stdout/stderr, clocks, `random_get` and `proc_exit`. Every
//! other import the module names (CPython's file system calls, say) returns
//! `ENOSYS`; no file is ever opened. The corpus needs nothing more: its
//! programs read no files.

use hayate::{Caller, Engine, Extern, ExternType, Linker, Memory, Module, Val};
use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const MODULE: &str = "wasi_snapshot_preview1";
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;

/// The store data of a guest run under the shim.
pub struct WasiCtx {
    args: Vec<Vec<u8>>,
    stdout: Vec<u8>,
    started: Instant,
    rng: u64,
}

impl WasiCtx {
    /// A context whose guest sees `args` (the first is the program name).
    pub fn new(args: &[String]) -> WasiCtx {
        WasiCtx {
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            stdout: Vec::new(),
            started: Instant::now(),
            rng: 0x853c_49e6_748f_ea9b,
        }
    }

    /// Writes out what the guest printed to stdout (buffered until here so
    /// that printing costs the guest as little as under a real runtime).
    pub fn flush(&mut self) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&self.stdout);
        let _ = out.flush();
        self.stdout.clear();
    }
}

/// `proc_exit` unwinds the guest with this error.
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit with code {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn memory(caller: &mut Caller<'_, WasiCtx>) -> hayate::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(hayate::Error::msg("WASI guest exports no memory")),
    }
}

fn slice(mem: &[u8], ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= mem.len()).then_some(start..end)
}

fn write_u32(mem: &mut [u8], ptr: i32, v: u32) -> bool {
    match slice(mem, ptr, 4) {
        Some(r) => {
            mem[r].copy_from_slice(&v.to_le_bytes());
            true
        }
        None => false,
    }
}

fn write_u64(mem: &mut [u8], ptr: i32, v: u64) -> bool {
    match slice(mem, ptr, 8) {
        Some(r) => {
            mem[r].copy_from_slice(&v.to_le_bytes());
            true
        }
        None => false,
    }
}

fn read_u32(mem: &[u8], ptr: i32) -> Option<u32> {
    slice(mem, ptr, 4).map(|r| u32::from_le_bytes(mem[r].try_into().unwrap()))
}

/// Writes a list of strings the way `args_get`/`environ_get` do.
fn write_strings(mem: &mut [u8], list: &[Vec<u8>], ptrs: i32, buf: i32) -> i32 {
    let mut at = buf as u32;
    for (i, s) in list.iter().enumerate() {
        if !write_u32(mem, ptrs + 4 * i as i32, at) {
            return EINVAL;
        }
        let Some(r) = slice(mem, at as i32, s.len() + 1) else {
            return EINVAL;
        };
        mem[r.start..r.end - 1].copy_from_slice(s);
        mem[r.end - 1] = 0;
        at += s.len() as u32 + 1;
    }
    ESUCCESS
}

/// A linker with the shim, plus an `ENOSYS` stub for every other WASI
/// function `module` imports.
pub fn linker(engine: &Engine, module: &Module) -> hayate::Result<Linker<WasiCtx>> {
    let mut l = Linker::new(engine);
    l.func_wrap(MODULE, "proc_exit", |code: i32| -> hayate::Result<()> {
        Err(hayate::Error::new(Exit(code)))
    })?;
    l.func_wrap(
        MODULE,
        "args_sizes_get",
        |mut c: Caller<'_, WasiCtx>, argc: i32, size: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let (mem, ctx) = mem.data_and_store_mut(&mut c);
            let bytes: usize = ctx.args.iter().map(|a| a.len() + 1).sum();
            let ok =
                write_u32(mem, argc, ctx.args.len() as u32) && write_u32(mem, size, bytes as u32);
            Ok(if ok { ESUCCESS } else { EINVAL })
        },
    )?;
    l.func_wrap(
        MODULE,
        "args_get",
        |mut c: Caller<'_, WasiCtx>, ptrs: i32, buf: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let (mem, ctx) = mem.data_and_store_mut(&mut c);
            Ok(write_strings(mem, &ctx.args, ptrs, buf))
        },
    )?;
    l.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: Caller<'_, WasiCtx>, count: i32, size: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let mem = mem.data_mut(&mut c);
            let ok = write_u32(mem, count, 0) && write_u32(mem, size, 0);
            Ok(if ok { ESUCCESS } else { EINVAL })
        },
    )?;
    l.func_wrap(MODULE, "environ_get", |_: i32, _: i32| ESUCCESS)?;
    l.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Caller<'_, WasiCtx>,
         fd: i32,
         iovs: i32,
         n: i32,
         written: i32|
         -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let (mem, ctx) = mem.data_and_store_mut(&mut c);
            let mut total = 0u32;
            for i in 0..n {
                let (Some(ptr), Some(len)) =
                    (read_u32(mem, iovs + 8 * i), read_u32(mem, iovs + 8 * i + 4))
                else {
                    return Ok(EINVAL);
                };
                let Some(r) = slice(mem, ptr as i32, len as usize) else {
                    return Ok(EINVAL);
                };
                match fd {
                    1 => ctx.stdout.extend_from_slice(&mem[r]),
                    2 => {
                        let _ = std::io::stderr().write_all(&mem[r]);
                    }
                    _ => return Ok(EBADF),
                }
                total += len;
            }
            Ok(if write_u32(mem, written, total) {
                ESUCCESS
            } else {
                EINVAL
            })
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_read",
        |mut c: Caller<'_, WasiCtx>,
         fd: i32,
         _iovs: i32,
         _n: i32,
         read: i32|
         -> hayate::Result<i32> {
            if fd != 0 {
                return Ok(EBADF);
            }
            let mem = memory(&mut c)?;
            let mem = mem.data_mut(&mut c);
            Ok(if write_u32(mem, read, 0) {
                ESUCCESS
            } else {
                EINVAL
            })
        },
    )?;
    l.func_wrap(MODULE, "fd_close", |fd: i32| {
        if (0..3).contains(&fd) {
            ESUCCESS
        } else {
            EBADF
        }
    })?;
    l.func_wrap(MODULE, "fd_seek", |fd: i32, _: i64, _: i32, _: i32| {
        if (0..3).contains(&fd) {
            70 /* ESPIPE */
        } else {
            EBADF
        }
    })?;
    l.func_wrap(MODULE, "fd_prestat_get", |_: i32, _: i32| EBADF)?;
    l.func_wrap(MODULE, "fd_prestat_dir_name", |_: i32, _: i32, _: i32| {
        EBADF
    })?;
    l.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: Caller<'_, WasiCtx>, fd: i32, out: i32| -> hayate::Result<i32> {
            if !(0..3).contains(&fd) {
                return Ok(EBADF);
            }
            let mem = memory(&mut c)?;
            let mem = mem.data_mut(&mut c);
            let Some(r) = slice(mem, out, 24) else {
                return Ok(EINVAL);
            };
            mem[r.clone()].fill(0);
            mem[r.start] = 2; // character device
            mem[r.start + 8..r.start + 16].copy_from_slice(&u64::MAX.to_le_bytes());
            Ok(ESUCCESS)
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_filestat_get",
        |mut c: Caller<'_, WasiCtx>, fd: i32, out: i32| -> hayate::Result<i32> {
            if !(0..3).contains(&fd) {
                return Ok(EBADF);
            }
            let mem = memory(&mut c)?;
            let mem = mem.data_mut(&mut c);
            let Some(r) = slice(mem, out, 64) else {
                return Ok(EINVAL);
            };
            mem[r.clone()].fill(0);
            mem[r.start + 16] = 2; // character device
            Ok(ESUCCESS)
        },
    )?;
    l.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Caller<'_, WasiCtx>, id: i32, _precision: i64, out: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let (mem, ctx) = mem.data_and_store_mut(&mut c);
            let ns = match id {
                0 => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos() as u64,
                1..=3 => ctx.started.elapsed().as_nanos() as u64,
                _ => return Ok(EINVAL),
            };
            Ok(if write_u64(mem, out, ns) {
                ESUCCESS
            } else {
                EINVAL
            })
        },
    )?;
    l.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: Caller<'_, WasiCtx>, _id: i32, out: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let mem = mem.data_mut(&mut c);
            Ok(if write_u64(mem, out, 1) {
                ESUCCESS
            } else {
                EINVAL
            })
        },
    )?;
    l.func_wrap(
        MODULE,
        "random_get",
        |mut c: Caller<'_, WasiCtx>, buf: i32, len: i32| -> hayate::Result<i32> {
            let mem = memory(&mut c)?;
            let (mem, ctx) = mem.data_and_store_mut(&mut c);
            let Some(r) = slice(mem, buf, len as u32 as usize) else {
                return Ok(EINVAL);
            };
            for b in &mut mem[r] {
                // xorshift64: deterministic, which is all a benchmark wants.
                ctx.rng ^= ctx.rng << 13;
                ctx.rng ^= ctx.rng >> 7;
                ctx.rng ^= ctx.rng << 17;
                *b = ctx.rng as u8;
            }
            Ok(ESUCCESS)
        },
    )?;
    l.func_wrap(MODULE, "sched_yield", || ESUCCESS)?;

    // Everything else the module imports from WASI: ENOSYS.
    let mut store = hayate::Store::new(engine, WasiCtx::new(&[]));
    for import in module.imports() {
        if import.module() != MODULE || l.get(&mut store, MODULE, import.name()).is_some() {
            continue;
        }
        if let ExternType::Func(ty) = import.ty() {
            l.func_new(MODULE, import.name(), ty, |_, _, results: &mut [Val]| {
                if let Some(r) = results.first_mut() {
                    *r = Val::I32(ENOSYS);
                }
                Ok(())
            })?;
        }
    }
    Ok(l)
}
