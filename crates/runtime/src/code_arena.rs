//! Packed executable memory for late code: many small regions of code
//! (lazily compiled functions, one or a few at a time) placed one after
//! another in a few large mappings, instead of a page-aligned mapping each.
//!
//! # Why
//!
//! A mapping per function puts every function at the start of a page: a
//! module's hot code is spread over as many pages as it has functions (the
//! instruction TLB misses on nearly every call) and every function's entry
//! falls in the same L1 instruction-cache set. Measured on CPython, the
//! code ran 40% slower than the same functions compiled together.
//!
//! # How code is added without a writable mapping
//!
//! A chunk is an in-memory file (`memfd`) mapped once, shared and
//! read/execute, over a large range of address space. Code is appended
//! with `pwrite` at the file's next free offset (the file grows as needed):
//! the kernel writes the pages, and the new bytes show through the
//! executable mapping. No page of the process is ever writable and
//! executable, and none is writable at an address where it executes. Bytes
//! are only ever appended past everything placed so far, never over code
//! that may be running, and each region starts on a fresh cache line.
//!
//! x86-64 keeps instruction caches coherent with all writes, so code
//! written this way runs once its address is published (with a release
//! store, as the lazy entries are). Other architectures would need the
//! instruction cache invalidated after each write; there, and where
//! `memfd_create` is missing, [`CodeArena::new`] fails and late code gets a
//! mapping of its own.
//!
//! Memory is reclaimed when the arena and every region placed in it are
//! dropped (each region holds its chunk).

use std::fs::File;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use crate::mmap::{Mmap, round_up_to_page};

/// Address space reserved per chunk; a region larger than this gets a
/// chunk of its own size.
const CHUNK_CAPACITY: usize = 64 << 20;

/// The file grows in steps of this much, not a page per region.
const GROWTH: usize = 256 << 10;

/// Every region starts on a cache line of its own.
const REGION_ALIGN: usize = 64;

/// One file and its executable mapping.
#[derive(Debug)]
pub(crate) struct Chunk {
    // Declared before `file`: unmapped before the descriptor closes (either
    // order is sound; this one reads naturally).
    mapping: Mmap,
    file: File,
}

impl Chunk {
    fn new(capacity: usize) -> io::Result<Chunk> {
        let file = crate::cow::memfd("hayate-late-code")?;
        // SAFETY: the file is private to this arena, which only ever writes
        // compiled code to it, appended past all code written before.
        let mapping = unsafe { Mmap::map_file_shared_executable(&file, capacity)? };
        Ok(Chunk { mapping, file })
    }
}

/// Where the next region goes.
#[derive(Debug)]
struct Cursor {
    chunk: Arc<Chunk>,
    /// Bytes of the chunk in use.
    used: usize,
    /// The file's length (at least `used`, at most the mapping's length).
    file_len: usize,
}

/// Executable memory that grows by appending code.
#[derive(Debug)]
pub struct CodeArena {
    cursor: Mutex<Option<Cursor>>,
}

impl CodeArena {
    /// An empty arena, if this host can add code without a writable
    /// mapping (Linux `memfd_create` and an instruction cache kept coherent
    /// by the hardware, as on x86-64).
    pub fn new() -> io::Result<CodeArena> {
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "packed late code needs Linux on x86-64",
            ));
        }
        // Checks now that memfds work, rather than at the first placement.
        let first = Chunk::new(CHUNK_CAPACITY)?;
        Ok(CodeArena {
            cursor: Mutex::new(Some(Cursor {
                chunk: Arc::new(first),
                used: 0,
                file_len: 0,
            })),
        })
    }

    /// Appends `code` and returns the chunk holding it (which keeps it
    /// mapped) and the address of its first byte.
    ///
    /// # Safety
    /// `code` must be trusted machine code for this host, ready to run as
    /// it is at any address (its absolute relocations patched, nothing
    /// relative to where it lands left to patch): it becomes executable.
    pub(crate) unsafe fn place(&self, code: &[u8]) -> io::Result<(Arc<Chunk>, usize)> {
        let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "code region too long");
        let mut guard = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let fits = |c: &Cursor| {
            c.used
                .checked_next_multiple_of(REGION_ALIGN)
                .and_then(|start| start.checked_add(code.len()))
                .is_some_and(|end| end <= c.chunk.mapping.len())
        };
        if !guard.as_ref().is_some_and(fits) {
            let capacity = round_up_to_page(code.len())
                .ok_or_else(too_long)?
                .max(CHUNK_CAPACITY);
            *guard = Some(Cursor {
                chunk: Arc::new(Chunk::new(capacity)?),
                used: 0,
                file_len: 0,
            });
        }
        let cursor = guard.as_mut().expect("a cursor was just made");
        let start = cursor.used.next_multiple_of(REGION_ALIGN);
        let end = start + code.len();
        if end > cursor.file_len {
            let grown = end
                .checked_next_multiple_of(GROWTH)
                .ok_or_else(too_long)?
                .min(cursor.chunk.mapping.len());
            cursor.chunk.file.set_len(grown as u64)?;
            cursor.file_len = grown;
        }
        std::os::unix::fs::FileExt::write_all_at(&cursor.chunk.file, code, start as u64)?;
        cursor.used = end;
        let address = cursor.chunk.mapping.as_ptr() as usize + start;
        Ok((cursor.chunk.clone(), address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mov eax, imm32; ret`
    fn returns(value: u32) -> Vec<u8> {
        let mut code = vec![0xb8];
        code.extend_from_slice(&value.to_le_bytes());
        code.push(0xc3);
        code
    }

    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn regions_are_packed_and_run() {
        let arena = CodeArena::new().unwrap();
        let mut placed = Vec::new();
        for value in 0..200u32 {
            // SAFETY: a tiny complete function.
            let (chunk, address) = unsafe { arena.place(&returns(value)).unwrap() };
            placed.push((chunk, address, value));
        }
        // Packed: 200 regions of 6 bytes in 200 cache lines, one chunk.
        let first = placed[0].1;
        assert_eq!(placed[199].1 - first, 199 * REGION_ALIGN);
        assert!(placed.iter().all(|(c, ..)| Arc::ptr_eq(c, &placed[0].0)));
        for (_, address, value) in &placed {
            // SAFETY: the region holds `mov eax, value; ret`, mapped
            // executable for as long as its chunk lives.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(*address) };
            assert_eq!(f(), *value);
        }
        // No writable mapping covers the code.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|l| {
                let (range, _) = l.split_once(' ').unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let (lo, hi) = (
                    usize::from_str_radix(lo, 16).unwrap(),
                    usize::from_str_radix(hi, 16).unwrap(),
                );
                (lo..hi).contains(&first)
            })
            .unwrap();
        assert!(line.contains(" r-xs "), "{line}");
    }

    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn a_region_larger_than_a_chunk_gets_its_own() {
        let arena = CodeArena::new().unwrap();
        // SAFETY: a tiny complete function.
        let (small, _) = unsafe { arena.place(&returns(1)).unwrap() };
        let mut big = vec![0xcc; CHUNK_CAPACITY + 1];
        big[..6].copy_from_slice(&returns(7));
        // SAFETY: a complete function followed by `int3` padding.
        let (chunk, address) = unsafe { arena.place(&big).unwrap() };
        assert!(!Arc::ptr_eq(&small, &chunk));
        // SAFETY: as above.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(address) };
        assert_eq!(f(), 7);
    }
}
