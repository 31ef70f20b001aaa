//! Page-aligned memory mappings: the raw material of code memory and
//! linear memories.
//!
//! An [`Mmap`] owns one private mapping, anonymous or of a file
//! ([`Mmap::map_file_private`]). Parts of it can be replaced in place by a
//! private mapping of a file such as a memory image
//! ([`Mmap::map_fd_fixed`]) and back by zero pages. It starts either fully
//! reserved (`PROT_NONE`, no memory committed: touching it faults) or fully
//! accessible (read/write), and page-aligned ranges of it can later be made
//! accessible, executable (read/execute, never writable at the same time:
//! W^X) or be decommitted back to reserved zero pages. Dropping it unmaps it.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The host's page size in bytes (4 KiB on most Linux hosts, 16 or 64 KiB
/// on some aarch64 ones).
pub fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: `sysconf` only reads a system constant.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = usize::try_from(size)
                .ok()
                .filter(|s| s.is_power_of_two())
                .unwrap_or(4096);
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// Rounds `len` up to a multiple of the page size, or `None` on overflow.
pub fn round_up_to_page(len: usize) -> Option<usize> {
    let page = page_size();
    len.checked_add(page - 1).map(|l| l & !(page - 1))
}

/// An owned, page-aligned anonymous memory mapping.
///
/// The mapping is private to this process and not backed by any file. Its
/// length is always a multiple of [`page_size`]; an empty `Mmap` maps
/// nothing.
#[derive(Debug)]
pub struct Mmap {
    ptr: *mut u8,
    len: usize,
    /// Whether dropping this value unmaps the range (false for views).
    owned: bool,
}

// SAFETY: an `Mmap` is a uniquely owned region of address space, like a
// `Box<[u8]>`; nothing about it is tied to the thread that created it.
unsafe impl Send for Mmap {}
// SAFETY: `&Mmap` only gives out raw pointers and the length; reading or
// writing through the pointers is the callers' unsafe responsibility.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// An empty mapping: no address space, a null pointer, length 0.
    pub const fn empty() -> Mmap {
        Mmap {
            ptr: ptr::null_mut(),
            len: 0,
            owned: true,
        }
    }

    /// Reserves `len` bytes (rounded up to whole pages) of address space
    /// with no access: `PROT_NONE`, `MAP_NORESERVE`, so no memory or swap is
    /// committed until a range is made accessible.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        Self::map(len, libc::PROT_NONE)
    }

    /// Maps `len` bytes (rounded up to whole pages) of zeroed read/write memory.
    pub fn accessible(len: usize) -> io::Result<Mmap> {
        Self::map(len, libc::PROT_READ | libc::PROT_WRITE)
    }

    fn map(len: usize, prot: libc::c_int) -> io::Result<Mmap> {
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: an anonymous private mapping aliases nothing that exists.
        unsafe { Self::map_fresh(len, prot, flags, None) }
    }

    /// Maps `len` bytes of `file` from `offset` (a multiple of the page
    /// size) privately and read/write: writes go to private copies of the
    /// pages, never to the file. Bytes past the end of the file in the last
    /// page read as zero.
    ///
    /// # Safety
    /// The file must not be modified or truncated while mapped: pages not
    /// yet written privately would show the change, and reading pages cut
    /// off the file raises `SIGBUS`.
    pub unsafe fn map_file_private(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: the caller keeps the file as it is.
        unsafe { Self::map_fresh(len, prot, libc::MAP_PRIVATE, Some((file, offset))) }
    }

    /// Maps the first `len` bytes (rounded up to whole pages) of `file`
    /// shared and read/execute: the file's later writes (`pwrite`, never a
    /// writable mapping) show through, which is how code is added to a
    /// `code_arena::CodeArena`. The file may be shorter than `len`; pages
    /// past its end must not be touched until it grows over them.
    ///
    /// # Safety
    /// Everything the file holds, now or after a later write, may run as
    /// machine code: only trusted code may ever be written to it, and never
    /// over bytes that may be running.
    pub unsafe fn map_file_shared_executable(file: &File, len: usize) -> io::Result<Mmap> {
        let prot = libc::PROT_READ | libc::PROT_EXEC;
        // SAFETY: what the file may hold is the caller's promise.
        unsafe { Self::map_fresh(len, prot, libc::MAP_SHARED, Some((file, 0))) }
    }

    /// A new mapping of `len` bytes (rounded up to whole pages) at an
    /// address of the kernel's choosing, of `file` from its offset (a
    /// multiple of the page size) if given, else anonymous.
    ///
    /// # Safety
    /// What the mapping's pages hold and allow (`prot`, `flags`) must be
    /// sound for the caller's use: a fresh mapping aliases nothing that
    /// exists, but a file's contents are the caller's to vouch for.
    unsafe fn map_fresh(
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        file: Option<(&File, u64)>,
    ) -> io::Result<Mmap> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
        let (fd, offset) = match file {
            Some((file, offset)) => {
                if !offset.is_multiple_of(page_size() as u64) {
                    return Err(invalid("file offset is not page-aligned"));
                }
                let offset =
                    libc::off_t::try_from(offset).map_err(|_| invalid("file offset too large"))?;
                (file.as_raw_fd(), offset)
            }
            None => (-1, 0),
        };
        let len = round_up_to_page(len).ok_or_else(|| invalid("mapping length overflows"))?;
        if len == 0 {
            return Ok(Mmap::empty());
        }
        // SAFETY: a fresh mapping at an address of the kernel's choosing
        // aliases nothing that exists; the descriptor, if any, is open (the
        // caller borrows the file), and the rest is the caller's promise.
        let ptr = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, offset) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: ptr.cast(),
            len,
            owned: true,
        })
    }

    /// A view of `len` bytes at `ptr` of a mapping owned elsewhere (a slot
    /// of a pool): every operation works on it as on an owned mapping, but
    /// dropping the view leaves the pages mapped as they are.
    ///
    /// # Safety
    /// `ptr..ptr + len` must be page-aligned, mapped privately, and stay
    /// mapped while the view lives; nothing else may change or use the
    /// range meanwhile.
    pub unsafe fn view(ptr: *mut u8, len: usize) -> Mmap {
        debug_assert!(
            (ptr as usize).is_multiple_of(page_size()) && len.is_multiple_of(page_size())
        );
        Mmap {
            ptr,
            len,
            owned: false,
        }
    }

    /// Start of the mapping (null for an empty one).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// Start of the mapping as a mutable pointer (null for an empty one).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Length of the mapping in bytes, a multiple of the page size.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole mapping as a byte slice.
    ///
    /// # Safety
    /// The whole mapping must currently be readable, and nothing may write
    /// to it while the slice lives.
    pub unsafe fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the mapping is `len` bytes long and readable, and nobody
        // writes to it meanwhile (the caller's promise).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The whole mapping as a mutable byte slice.
    ///
    /// # Safety
    /// The whole mapping must currently be readable and writable, and no
    /// other pointer into it may be used while the slice lives.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: the mapping is `len` bytes long, read/write, and the slice
        // is its only user meanwhile (the caller's promise).
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    fn check_range(&self, start: usize, len: usize) {
        let page = page_size();
        assert!(
            start.is_multiple_of(page) && len.is_multiple_of(page),
            "range {start:#x}+{len:#x} is not page-aligned"
        );
        assert!(
            start.checked_add(len).is_some_and(|end| end <= self.len),
            "range {start:#x}+{len:#x} is outside the {:#x}-byte mapping",
            self.len
        );
    }

    fn protect(&mut self, start: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (checked above); the
        // callers of the public functions vouch for the protection change.
        let rc = unsafe { libc::mprotect(self.ptr.add(start).cast(), len, prot) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Makes `start..start + len` readable and writable. Pages never touched
    /// before read as zero.
    ///
    /// # Safety
    /// `start` and `len` must be page-aligned and inside the mapping (this
    /// panics otherwise). If the range held executable code, no thread may
    /// be executing or about to execute it.
    pub unsafe fn make_accessible(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ | libc::PROT_WRITE)
    }

    /// Makes `start..start + len` readable and executable, and no longer
    /// writable (W^X). Also makes the instruction cache see what was
    /// written there.
    ///
    /// # Safety
    /// `start` and `len` must be page-aligned and inside the mapping (this
    /// panics otherwise). The range must hold valid machine code for this
    /// host, and nothing may hold a mutable reference into it afterwards.
    pub unsafe fn make_executable(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range is inside this mapping and currently readable
        // (it was just written).
        unsafe { crate::traphandlers::flush_icache(self.ptr.add(start), len) };
        self.protect(start, len, libc::PROT_READ | libc::PROT_EXEC)
    }

    /// Makes `start..start + len` read-only.
    ///
    /// # Safety
    /// As for [`Mmap::make_accessible`]; in addition, nothing may write to
    /// the range afterwards.
    pub unsafe fn make_readonly(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ)
    }

    /// Gives the pages of `start..start + len` back to the kernel and makes
    /// them inaccessible again (`PROT_NONE`); made accessible later, they
    /// read as zero.
    ///
    /// # Safety
    /// `start` and `len` must be page-aligned and inside the mapping (this
    /// panics otherwise), and no pointer into the range may be used
    /// afterwards until it is made accessible again.
    pub unsafe fn decommit(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        self.protect(start, len, libc::PROT_NONE)?;
        // SAFETY: the range is inside this private anonymous mapping;
        // MADV_DONTNEED drops its pages, which then read as zero.
        let rc = unsafe { libc::madvise(self.ptr.add(start).cast(), len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Replaces the pages of `start..start + len` with a private,
    /// read/write mapping of `fd` from offset `fd_offset`: the pages read as
    /// the file's contents and writes stay private (copy-on-write).
    ///
    /// # Safety
    /// `start` and `len` must be page-aligned and inside the mapping (this
    /// panics otherwise), `fd_offset` page-aligned, `fd` must have at least
    /// `fd_offset + len` bytes, and no
    /// reference into the range may be in use: its old contents are gone.
    pub unsafe fn map_fd_fixed(
        &mut self,
        start: usize,
        len: usize,
        fd: RawFd,
        fd_offset: u64,
    ) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping, which this value
        // owns; MAP_FIXED replaces exactly those pages (the caller vouches
        // that nothing uses them).
        let ptr = unsafe {
            libc::mmap(
                self.ptr.add(start).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd,
                fd_offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Replaces the pages of `start..start + len` with fresh anonymous
    /// pages, read/write if `accessible` and `PROT_NONE` otherwise, undoing
    /// [`Mmap::map_fd_fixed`]. They read as zero.
    ///
    /// # Safety
    /// As for [`Mmap::map_fd_fixed`].
    pub unsafe fn map_anon_fixed(
        &mut self,
        start: usize,
        len: usize,
        accessible: bool,
    ) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        let prot = if accessible {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_NONE
        };
        // SAFETY: as in `map_fd_fixed`.
        let ptr = unsafe {
            libc::mmap(
                self.ptr.add(start).cast(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Discards the contents of `start..start + len` without changing its
    /// protection: anonymous pages read as zero again, pages of a private
    /// file mapping read as the file again (`MADV_DONTNEED`).
    ///
    /// # Safety
    /// `start` and `len` must be page-aligned and inside the mapping (this
    /// panics otherwise), and no reference into the range may be in use.
    pub unsafe fn discard(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.check_range(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range is inside this private mapping.
        let rc = unsafe { libc::madvise(self.ptr.add(start).cast(), len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Makes `start..start + len` inaccessible (`PROT_NONE`) without
    /// discarding it.
    ///
    /// # Safety
    /// As for [`Mmap::make_accessible`]; no pointer into the range may be
    /// used afterwards until it is made accessible again.
    pub unsafe fn make_inaccessible(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_NONE)
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 || !self.owned {
            return;
        }
        // SAFETY: `ptr..ptr + len` is a mapping this value owns; it is not
        // used again after this.
        let rc = unsafe { libc::munmap(self.ptr.cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap failed: {}", io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
        assert_eq!(round_up_to_page(1), Some(page_size()));
        assert_eq!(round_up_to_page(0), Some(0));
        assert_eq!(round_up_to_page(usize::MAX), None);
    }

    #[test]
    fn reserve_then_make_accessible() {
        let page = page_size();
        let mut m = Mmap::reserve(4 * page + 1).unwrap();
        assert_eq!(m.len(), 5 * page);
        // SAFETY: the first two pages are inside the mapping.
        unsafe { m.make_accessible(0, 2 * page).unwrap() };
        // SAFETY: the first two pages are accessible and only used here.
        unsafe {
            let p = m.as_mut_ptr();
            assert!((0..2 * page).all(|i| *p.add(i) == 0));
            p.write(7);
            p.add(2 * page - 1).write(9);
            assert_eq!(*p.add(2 * page - 1), 9);
        }
        // SAFETY: as above, now four pages; the old ones keep their bytes.
        unsafe {
            m.make_accessible(0, 4 * page).unwrap();
            assert_eq!(*m.as_ptr(), 7);
            assert_eq!(*m.as_ptr().add(3 * page), 0);
            m.decommit(0, page).unwrap();
            m.make_accessible(0, page).unwrap();
            assert_eq!(*m.as_ptr(), 0, "decommitted pages read as zero");
        }
    }

    #[test]
    fn accessible_and_executable() {
        let mut m = Mmap::accessible(100).unwrap();
        // SAFETY: the mapping is read/write and only used here.
        unsafe { m.as_mut_slice()[..4].copy_from_slice(&[0xc3, 0, 0, 0]) };
        let len = m.len();
        // SAFETY: the mapping is inside itself; a `ret` is valid code.
        unsafe { m.make_executable(0, len).unwrap() };
        // SAFETY: the mapping is still readable.
        assert_eq!(unsafe { m.as_slice() }[0], 0xc3);
    }

    #[test]
    fn empty_mapping() {
        let m = Mmap::reserve(0).unwrap();
        assert!(m.is_empty());
        assert!(m.as_ptr().is_null());
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn out_of_range_protection_panics() {
        let mut m = Mmap::reserve(page_size()).unwrap();
        let page = page_size();
        // SAFETY: the range is checked and panics before any syscall.
        unsafe { m.make_accessible(page, page).unwrap() };
    }
}
