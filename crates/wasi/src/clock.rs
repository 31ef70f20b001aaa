//! Clocks: `clock_res_get`, `clock_time_get`, and the current time of a
//! WASI clock, which `poll_oneoff` also uses for its deadlines. The
//! realtime clock is the system time since the Unix epoch; the monotonic
//! clock counts from its first reading in the process (as Wasmtime's
//! WASI does), both read through the C library (`std::time`); the
//! CPU-time clocks are the host's (`clock_gettime`).

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustix::time::{ClockId, Timespec};

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::types::clockid;

fn host_clock(id: u32) -> WasiResult<ClockId> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME_ID => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME_ID => ClockId::ThreadCPUTime,
        _ => return Err(Errno::Inval),
    })
}

fn ts_nanos(t: Timespec) -> u64 {
    crate::fd::nanos(t.tv_sec, t.tv_nsec)
}

/// The current time of WASI clock `id`, in nanoseconds.
pub(crate) fn now(id: u32) -> WasiResult<u64> {
    if id == clockid::REALTIME {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(d.as_nanos().min(u64::MAX as u128) as u64);
    }
    if id == clockid::MONOTONIC {
        return Ok(monotonic_nanos());
    }
    Ok(ts_nanos(rustix::time::clock_gettime(host_clock(id)?)))
}

/// Nanoseconds since the process first read the monotonic clock. Through
/// `Instant` (the C library's `clock_gettime`) rather than rustix's own
/// vDSO lookup, which faults under valgrind.
fn monotonic_nanos() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    base.elapsed().as_nanos().min(u64::MAX as u128) as u64
}

impl WasiCtx {
    pub(crate) fn clock_res_get(
        &mut self,
        mem: &mut GuestMemory,
        id: u32,
        out: u32,
    ) -> WasiResult<()> {
        let res = ts_nanos(rustix::time::clock_getres(host_clock(id)?)).max(1);
        mem.write_u64(out, res)
    }

    pub(crate) fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory,
        id: u32,
        _precision: u64,
        out: u32,
    ) -> WasiResult<()> {
        let t = now(id)?;
        mem.write_u64(out, t)
    }
}
