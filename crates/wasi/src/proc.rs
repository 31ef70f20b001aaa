//! Process control raised by the guest: `proc_raise`, which ends the
//! guest like a signal would or ignores the signal. (`proc_exit` is an
//! [`crate::I32Exit`] error raised directly by the linker's host function.)

use crate::I32Exit;
use crate::ctx::WasiCtx;
use crate::errno::Errno;

impl WasiCtx {
    /// Raises signal `sig` in the guest. Signals whose default action is to
    /// be ignored (or to stop or continue) do nothing; the others end the
    /// guest as if it had exited with 128 + the host signal number, the
    /// status a shell reports for a process killed by that signal.
    pub(crate) fn proc_raise(&mut self, sig: u8) -> Result<(), ProcRaise> {
        match sig {
            0 => Ok(()),
            // chld, cont, stop, tstp, ttin, ttou, urg, winch
            16..=22 | 27 => Ok(()),
            1..=15 => Err(ProcRaise::Exit(I32Exit(128 + sig as i32))),
            23..=30 => Err(ProcRaise::Exit(I32Exit(128 + sig as i32 + 1))),
            _ => Err(ProcRaise::Errno(Errno::Inval)),
        }
    }
}

/// What `proc_raise` does: fail with an errno, or end the guest.
pub(crate) enum ProcRaise {
    Errno(Errno),
    Exit(I32Exit),
}
