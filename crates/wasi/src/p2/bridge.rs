//! The bridge from WASI 0.2 to the preview1 operations: a host-side
//! scratch memory that stands in for guest memory, so a WASI 0.2 call
//! runs the very preview1 operation (with its checks) that does the same
//! thing; and the mapping from preview1 errors to `wasi:filesystem`'s
//! `error-code`.

use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;

/// Host bytes addressed like guest memory, filled by the caller with
/// what a preview1 operation reads, and read back for what it wrote.
#[derive(Default)]
pub(super) struct Scratch {
    bytes: Vec<u8>,
}

impl Scratch {
    /// Appends `data` at an 8-aligned address and returns the address.
    pub fn put(&mut self, data: &[u8]) -> u32 {
        let at = self.bytes.len().next_multiple_of(8);
        self.bytes.resize(at, 0);
        self.bytes.extend_from_slice(data);
        at as u32
    }

    /// Reserves `n` zeroed bytes at an 8-aligned address.
    pub fn reserve(&mut self, n: usize) -> u32 {
        let at = self.bytes.len().next_multiple_of(8);
        self.bytes.resize(at + n, 0);
        at as u32
    }

    /// An iovec (`ptr`, `len`) pointing at a fresh buffer of `len` bytes
    /// (or at `data`): the iovec's address.
    pub fn iovec(&mut self, buf: u32, len: u32) -> u32 {
        let mut v = [0u8; 8];
        v[..4].copy_from_slice(&buf.to_le_bytes());
        v[4..].copy_from_slice(&len.to_le_bytes());
        self.put(&v)
    }

    /// The scratch as the memory of a preview1 call.
    pub fn mem(&mut self) -> GuestMemory<'_> {
        GuestMemory::new(&mut self.bytes)
    }

    pub fn bytes(&self, at: u32, len: u32) -> &[u8] {
        &self.bytes[at as usize..][..len as usize]
    }

    pub fn u8_at(&self, at: u32) -> u8 {
        self.bytes[at as usize]
    }

    pub fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.bytes(at, 4).try_into().expect("4 bytes"))
    }

    pub fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.bytes(at, 8).try_into().expect("8 bytes"))
    }
}

/// A path for a preview1 call: its bytes in the scratch, and its length.
pub(super) fn path(scratch: &mut Scratch, p: &str) -> WasiResult<(u32, u32)> {
    let len = u32::try_from(p.len()).map_err(|_| Errno::Nametoolong)?;
    Ok((scratch.put(p.as_bytes()), len))
}

/// The `wasi:filesystem` `error-code` case for a preview1 error.
pub(super) fn error_code(e: Errno) -> &'static str {
    match e {
        Errno::Acces => "access",
        Errno::Again => "would-block",
        Errno::Already => "already",
        Errno::Badf => "bad-descriptor",
        Errno::Busy => "busy",
        Errno::Deadlk => "deadlock",
        Errno::Dquot => "quota",
        Errno::Exist => "exist",
        Errno::Fbig => "file-too-large",
        Errno::Ilseq => "illegal-byte-sequence",
        Errno::Inprogress => "in-progress",
        Errno::Intr => "interrupted",
        Errno::Inval => "invalid",
        Errno::Isdir => "is-directory",
        Errno::Loop => "loop",
        Errno::Mlink => "too-many-links",
        Errno::Msgsize => "message-size",
        Errno::Nametoolong => "name-too-long",
        Errno::Nodev => "no-device",
        Errno::Noent => "no-entry",
        Errno::Nolck => "no-lock",
        Errno::Nomem => "insufficient-memory",
        Errno::Nospc => "insufficient-space",
        Errno::Notdir => "not-directory",
        Errno::Notempty => "not-empty",
        Errno::Notrecoverable => "not-recoverable",
        Errno::Nosys | Errno::Notsup => "unsupported",
        Errno::Notty => "no-tty",
        Errno::Nxio => "no-such-device",
        Errno::Overflow => "overflow",
        Errno::Perm | Errno::Notcapable => "not-permitted",
        Errno::Pipe => "pipe",
        Errno::Rofs => "read-only",
        Errno::Spipe => "invalid-seek",
        Errno::Txtbsy => "text-file-busy",
        Errno::Xdev => "cross-device",
        Errno::Mfile | Errno::Nfile => "insufficient-memory",
        _ => "io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_addresses_are_aligned_and_readable() {
        let mut s = Scratch::default();
        let a = s.put(b"abc");
        let b = s.reserve(8);
        assert_eq!((a, b), (0, 8));
        s.mem().write_u64(b, 7).unwrap();
        assert_eq!(s.u64_at(b), 7);
        assert_eq!(s.bytes(a, 3), b"abc");
        let (p, n) = path(&mut s, "x/y").unwrap();
        assert_eq!(s.bytes(p, n), b"x/y");
    }
}
