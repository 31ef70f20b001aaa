//! Checked access to guest linear memory. Every pointer and length a guest
//! passes goes through here: a range outside memory is `fault`, a
//! misaligned structure pointer is `inval` (as Wasmtime's wiggle layer
//! reports), and nothing ever touches host memory outside the slice.

use crate::errno::{Errno, WasiResult};
use crate::types::layout::IOVEC_SIZE;

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

    /// A guest string (a path): `len` bytes at `ptr`, copied out.
    pub fn read_string(&self, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
        Ok(self.slice(ptr, len)?.to_vec())
    }

    /// Reads an array of `count` iovecs at `ptr` and checks that every
    /// buffer lies in memory.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<IoVec>> {
        let size = count.checked_mul(IOVEC_SIZE).ok_or(Errno::Fault)?;
        self.check(ptr, size, 4)?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = ptr + i * IOVEC_SIZE;
            let v = IoVec {
                ptr: self.read_u32(at)?,
                len: self.read_u32(at + 4)?,
            };
            self.range(v.ptr, v.len)?;
            out.push(v);
        }
        Ok(out)
    }

    /// The total length of `iovs`, failing with `inval` past `u32::MAX`
    /// (the result must fit the guest's `size`).
    pub fn total_len(iovs: &[IoVec]) -> WasiResult<u32> {
        iovs.iter()
            .try_fold(0u32, |acc, v| acc.checked_add(v.len))
            .ok_or(Errno::Inval)
    }

    /// Gathers the bytes of `iovs` (already checked) into one buffer.
    pub fn gather(&self, iovs: &[IoVec]) -> WasiResult<Vec<u8>> {
        let mut out = Vec::with_capacity(Self::total_len(iovs)? as usize);
        for v in iovs {
            out.extend_from_slice(self.slice(v.ptr, v.len)?);
        }
        Ok(out)
    }

    /// Scatters `data` over `iovs` in order; returns how many bytes were
    /// placed (the smaller of `data.len()` and the buffers' total).
    pub fn scatter(&mut self, iovs: &[IoVec], mut data: &[u8]) -> WasiResult<usize> {
        let mut done = 0;
        for v in iovs {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(v.len as usize);
            self.slice_mut(v.ptr, n as u32)?.copy_from_slice(&data[..n]);
            data = &data[n..];
            done += n;
        }
        Ok(done)
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
        assert_eq!(m.scatter(&iovs, b"0123456789").unwrap(), 8);
        assert_eq!(m.gather(&iovs).unwrap(), b"01234567");
    }
}
