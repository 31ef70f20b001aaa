//! Randomness: `random_get` fills guest memory from the host's
//! cryptographically secure generator (`getrandom`).

use crate::ctx::WasiCtx;
use crate::errno::WasiResult;
use crate::memory::GuestMemory;

impl WasiCtx {
    pub(crate) fn random_get(
        &mut self,
        mem: &mut GuestMemory,
        buf: u32,
        len: u32,
    ) -> WasiResult<()> {
        let mut out = mem.slice_mut(buf, len)?;
        while !out.is_empty() {
            match rustix::rand::getrandom(&mut *out, rustix::rand::GetRandomFlags::empty()) {
                Ok(n) => out = &mut out[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
