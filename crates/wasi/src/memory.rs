//! Checked access to guest linear memory. Every pointer and length a guest
//! passes goes through here: a range outside memory is `fault`, a
//! misaligned structure pointer is `inval` (as Wasmtime's wiggle layer
//! reports), and nothing ever touches host memory outside the slice.

use crate::errno::{Errno, WasiResult};
use crate::types::layout::IOVEC_SIZE;

/// The most iovec entries one read or write call uses (Linux's
/// `IOV_MAX`); entries past it are ignored, as a short read or write.
pub const IOV_MAX: u32 = 1024;

/// The size of the longest path plus one (Linux's `PATH_MAX`, which counts
/// the terminating NUL): a guest path of `PATH_MAX` bytes or more fails
/// with `nametoolong` before it is copied.
pub const PATH_MAX: u32 = 4096;

/// A guest's linear memory during one host call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// One `iovec`/`ciovec` entry, already checked against memory.
#[derive(Debug, Clone, Copy)]
pub struct IoVec {
    /// Guest address of the buffer.
    pub ptr: u32,
    /// Its length in bytes.
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    /// Wraps the bytes of a linear memory.
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// The memory's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    fn aligned(ptr: u32, align: u32) -> WasiResult<()> {
        if ptr.is_multiple_of(align) {
            Ok(())
        } else {
            Err(Errno::Inval)
        }
    }

    /// The bytes at `ptr..ptr+len`.
    pub fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    /// The bytes at `ptr..ptr+len`, mutably.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// Checks that a structure of `size` bytes and alignment `align` fits at
    /// `ptr`, without touching it.
    pub fn check(&self, ptr: u32, size: u32, align: u32) -> WasiResult<()> {
        Self::aligned(ptr, align)?;
        self.range(ptr, size).map(|_| ())
    }

    fn array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        Self::aligned(ptr, N as u32)?;
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.array::<1>(ptr)?[0])
    }

    /// Reads a little-endian `u16` (2-aligned).
    pub fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        self.array(ptr).map(u16::from_le_bytes)
    }

    /// Reads a little-endian `u32` (4-aligned).
    pub fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        self.array(ptr).map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64` (8-aligned).
    pub fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        self.array(ptr).map(u64::from_le_bytes)
    }

    fn put<const N: usize>(&mut self, ptr: u32, bytes: [u8; N]) -> WasiResult<()> {
        Self::aligned(ptr, N as u32)?;
        self.slice_mut(ptr, N as u32)?.copy_from_slice(&bytes);
        Ok(())
    }

    /// Writes a `u8`.
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> WasiResult<()> {
        self.put(ptr, [v])
    }

    /// Writes a little-endian `u16` (2-aligned).
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> WasiResult<()> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Writes a little-endian `u32` (4-aligned).
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult<()> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Writes a little-endian `u64` (8-aligned).
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult<()> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Copies `data` to `ptr`.
    pub fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> WasiResult<()> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// A guest path: `len` bytes at `ptr`, copied out. A path of
    /// [`PATH_MAX`] bytes or more fails with `nametoolong` before anything
    /// is copied (whatever `ptr` is); a shorter one out of memory is
    /// `fault`.
    pub fn read_path(&self, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
        if len >= PATH_MAX {
            return Err(Errno::Nametoolong);
        }
        Ok(self.slice(ptr, len)?.to_vec())
    }

    /// Reads the iovec array of a read or write call: `count` entries at
    /// `ptr`. The whole array must lie in memory (else `fault`), but only
    /// its first [`IOV_MAX`] entries are used, and each of those buffers
    /// must lie in memory too. The buffers are then cut so that their total
    /// stays within the size of memory (and a `u32`): a guest naming the
    /// same bytes many times gets a short read or write, never more host
    /// work than one pass over its own memory. Empty buffers are dropped.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<IoVec>> {
        let size = count.checked_mul(IOVEC_SIZE).ok_or(Errno::Fault)?;
        self.check(ptr, size, 4)?;
        let used = count.min(IOV_MAX);
        let mut budget = self.bytes.len().min(u32::MAX as usize) as u32;
        let mut out = Vec::with_capacity(used as usize);
        for i in 0..used {
            let at = ptr + i * IOVEC_SIZE;
            let (buf, len) = (self.read_u32(at)?, self.read_u32(at + 4)?);
            self.range(buf, len)?;
            let len = len.min(budget);
            budget -= len;
            if len > 0 {
                out.push(IoVec { ptr: buf, len });
            }
        }
        Ok(out)
    }

    /// The total length of `iovs` (from [`GuestMemory::iovecs`], so it fits
    /// a `u32`).
    pub fn total_len(iovs: &[IoVec]) -> u32 {
        iovs.iter().fold(0u32, |acc, v| acc.saturating_add(v.len))
    }

    /// The buffers of `iovs` as slices of guest memory, for a vectored
    /// write straight from it (no copy).
    pub fn io_slices(&self, iovs: &[IoVec]) -> WasiResult<Vec<std::io::IoSlice<'_>>> {
        iovs.iter()
            .map(|v| self.slice(v.ptr, v.len).map(std::io::IoSlice::new))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_alignment() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        assert_eq!(m.write_u32(60, 7), Ok(()));
        assert_eq!(m.read_u32(60), Ok(7));
        assert_eq!(m.write_u32(64, 7), Err(Errno::Fault));
        assert_eq!(m.write_u32(u32::MAX - 1, 7), Err(Errno::Inval));
        assert_eq!(m.write_u32(u32::MAX - 3, 7), Err(Errno::Fault));
        assert_eq!(m.read_u64(4), Err(Errno::Inval));
        assert_eq!(m.slice(10, 54).map(|s| s.len()), Ok(54));
        assert_eq!(m.slice(10, 55).map(|s| s.len()), Err(Errno::Fault));
        assert_eq!(
            m.slice(u32::MAX, u32::MAX).map(|s| s.len()),
            Err(Errno::Fault)
        );
    }

    #[test]
    fn iovecs_are_checked() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        m.write_u32(0, 32).unwrap();
        m.write_u32(4, 8).unwrap();
        m.write_u32(8, 60).unwrap();
        m.write_u32(12, 8).unwrap();
        assert_eq!(m.iovecs(0, 1).unwrap().len(), 1);
        assert_eq!(m.iovecs(0, 2).unwrap_err(), Errno::Fault);
        assert_eq!(m.iovecs(0, u32::MAX).unwrap_err(), Errno::Fault);
        let iovs = m.iovecs(0, 1).unwrap();
        m.slice_mut(32, 8).unwrap().copy_from_slice(b"01234567");
        let slices = m.io_slices(&iovs).unwrap();
        assert_eq!(&*slices[0], b"01234567");
    }

    #[test]
    fn iovecs_are_bounded() {
        let mut bytes = vec![0u8; 64 * 1024];
        let mut m = GuestMemory::new(&mut bytes);
        // 2000 entries, all the same 32000 bytes.
        for i in 0..2000 {
            m.write_u32(8 * i, 100).unwrap();
            m.write_u32(8 * i + 4, 32000).unwrap();
        }
        let iovs = m.iovecs(0, 2000).unwrap();
        assert_eq!(GuestMemory::total_len(&iovs), 64 * 1024);
        assert_eq!(iovs.len(), 3);
        assert_eq!(iovs[2].len, 64 * 1024 - 64000);
        // Only IOV_MAX entries are read, and empty ones are dropped.
        for i in 0..2000 {
            m.write_u32(8 * i + 4, u32::from(i % 2 == 0)).unwrap();
        }
        let iovs = m.iovecs(0, 2000).unwrap();
        assert_eq!(iovs.len(), IOV_MAX as usize / 2);
        // Past IOV_MAX nothing is looked at, but the array must fit.
        m.write_u32(8 * 1500, u32::MAX).unwrap();
        assert!(m.iovecs(0, 2000).is_ok());
        assert_eq!(m.iovecs(0, 8193).unwrap_err(), Errno::Fault);
        m.write_u32(8 * 10, u32::MAX).unwrap();
        assert_eq!(m.iovecs(0, 2000).unwrap_err(), Errno::Fault);
    }

    #[test]
    fn paths_are_bounded() {
        let mut bytes = vec![b'a'; 8192];
        let m = GuestMemory::new(&mut bytes);
        assert_eq!(m.read_path(0, PATH_MAX - 1).unwrap().len(), 4095);
        assert_eq!(m.read_path(0, PATH_MAX), Err(Errno::Nametoolong));
        assert_eq!(m.read_path(u32::MAX, u32::MAX), Err(Errno::Nametoolong));
        assert_eq!(m.read_path(8190, 4), Err(Errno::Fault));
    }
}
