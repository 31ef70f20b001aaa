//! Copy-on-write memory images: a module's data segments laid out once, at
//! load time, in a file, and mapped privately over the start of each new
//! instance's memory instead of being copied into it. Writes by the
//! instance go to private copies of the pages it touches; the pages it only
//! reads are shared by every instance and never copied.
//!
//! The file is the precompiled artifact itself when the module was loaded
//! from one that carries the image ([`FileImage`]): nothing is written or
//! read at load. Otherwise it is an in-memory file (`memfd`) written once
//! from the segments.
//!
//! # Which memories get an image
//!
//! A defined, unshared memory gets one when every active data segment
//! targeting it has a constant offset (`i32.const`/`i64.const`, not
//! `global.get`) and fits in the memory's minimum size
//! (`ModuleInfo::image_segments`). Segments are written into the image in
//! order, so overlapping segments end as they would by copying. Any other
//! memory (imported, a segment with a computed offset or out of bounds)
//! gets no image and all of its segments are copied at instantiation
//! exactly as before, in order, trapping where the spec says.
//!
//! # Same observable result as copying
//!
//! Segments are applied after element segments and in module order; a trap
//! in an element segment, or in a copied data segment, stops instantiation
//! with only the earlier segments written. A memory with an image has all
//! its segments in place from the start, so when instantiation traps, the
//! instance takes the image back out of every imaged memory and copies in
//! only the segments that would have been written before the trap (see
//! `Instance::initialize`). The failed instance's memories can still be
//! reached through functions it already placed in imported tables, so this
//! is observable, and it is honoured.
//!
//! Images need Linux (`memfd_create`); elsewhere every memory is copied.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, OnceLock};

use hayate_environ::{
    DataSegment, DataSegmentKind, DefinedMemoryIndex, EntityRef, MemoryIndex, ModuleInfo,
    WASM_PAGE_SIZE,
};

use crate::mmap::{Mmap, page_size};

/// The data of one memory's segments, page-aligned, in a sealed memfd or
/// in a precompiled artifact.
#[derive(Debug)]
pub struct MemoryImage {
    file: File,
    /// Offset of the image in `file` (page-aligned).
    file_offset: u64,
    /// Offset in the linear memory where the image starts (page-aligned).
    offset: usize,
    /// Length of the image (page-aligned, non-zero).
    len: usize,
    /// The image's bytes, mapped on first use by [`MemoryImage::bytes`]
    /// (sharing the file's pages; never written), or `None` if that failed.
    source: OnceLock<Option<Mmap>>,
}

impl MemoryImage {
    /// Offset in the linear memory of the image's first byte.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Length of the image in bytes, a multiple of the page size.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the image is empty (never: empty images are not made).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file to map.
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }

    /// Offset of the image in [`MemoryImage::fd`]'s file.
    pub(crate) fn file_offset(&self) -> u64 {
        self.file_offset
    }

    /// The image's bytes (`len` of them), to restore a memory in place;
    /// `None` if they cannot be mapped.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        let source = self.source.get_or_init(|| {
            // SAFETY: the file is sealed against writes and resizing, or it
            // is an artifact that is not changed while loaded (the contract
            // of `ModuleImages::with_files`).
            unsafe { Mmap::map_file_private(&self.file, self.file_offset, self.len) }.ok()
        });
        // SAFETY: the mapping is `len` readable bytes, and nothing writes
        // to it: it is private to this image and only read here.
        source.as_ref().map(|m| unsafe { m.as_slice() })
    }

    /// Builds the image of memory `index` of `module` in a memfd, or
    /// `None` if it has none (see the module docs).
    fn new(module: &ModuleInfo, index: MemoryIndex) -> io::Result<Option<MemoryImage>> {
        let (Some((start, len)), Some(segments)) = (
            module.image_range(index, page_size()),
            module.image_segments(index),
        ) else {
            return Ok(None);
        };
        let file = memfd("hayate-memory-image")?;
        file.set_len(len as u64)?;
        // CPython has 24,000 segments, nearly all adjacent: a few writes.
        write_segments(&file, start, &segments)?;
        seal(&file)?;
        Ok(Some(MemoryImage {
            file,
            file_offset: 0,
            offset: start,
            len,
            source: OnceLock::new(),
        }))
    }
}

/// A memory's image that already exists in a file: the `len` bytes at
/// `file_offset` of `file` are what memory `memory`'s data segments put at
/// `memory_offset`.
#[derive(Debug)]
pub struct FileImage {
    /// The defined memory.
    pub memory: DefinedMemoryIndex,
    /// The file holding the image.
    pub file: File,
    /// Offset of the image in the file.
    pub file_offset: u64,
    /// Offset of the image in the linear memory.
    pub memory_offset: usize,
    /// Length of the image.
    pub len: usize,
}

/// Segments at most this far apart are written as one run, the gap
/// zero-filled (zeros are what the memfd holds there anyway).
const MAX_GAP: usize = 64;

/// Largest run gathered in memory before it is written.
const MAX_RUN: usize = 1 << 20;

/// Writes `segments` `(offset, bytes)` in order into `file`, offsets
/// relative to `start`, gathering segments that follow one another (as
/// linkers lay them out) into runs of up to [`MAX_RUN`] bytes: one write
/// per run rather than per segment. A segment that does not continue the
/// run (it lies before its end, or further than [`MAX_GAP`] past it, or an
/// earlier segment reaches past the run) ends the run, so later segments
/// still overwrite earlier ones and no gap fill overwrites them. The buffer
/// never holds more than `MAX_RUN` bytes.
fn write_segments(file: &File, start: usize, segments: &[(usize, &[u8])]) -> io::Result<()> {
    let mut run: Vec<u8> = Vec::new();
    let mut run_offset = 0;
    // The end of the highest segment so far: a gap is zero-filled only
    // above it, where nothing was written yet.
    let mut high = 0;
    for &(offset, data) in segments.iter().filter(|(_, d)| !d.is_empty()) {
        let run_end = run_offset + run.len();
        let continues = !run.is_empty()
            && run_end == high
            && offset >= run_end
            && offset - run_end <= MAX_GAP
            && offset + data.len() - run_offset <= MAX_RUN;
        if !continues {
            if !run.is_empty() {
                write_all_at(file, &run, (run_offset - start) as u64)?;
                run.clear();
            }
            if data.len() > MAX_RUN {
                write_all_at(file, data, (offset - start) as u64)?;
                high = high.max(offset + data.len());
                continue;
            }
            run_offset = offset;
        }
        run.resize(offset - run_offset, 0);
        run.extend_from_slice(data);
        high = high.max(offset + data.len());
    }
    if !run.is_empty() {
        write_all_at(file, &run, (run_offset - start) as u64)?;
    }
    Ok(())
}

/// The images of a module's defined memories.
#[derive(Debug, Default)]
pub struct ModuleImages {
    /// Per defined memory.
    memories: Vec<Option<Arc<MemoryImage>>>,
    /// Per data segment, whether it is active, if every active segment
    /// targets a memory with an image; `None` otherwise. An instance whose
    /// memories all took their images drops exactly these segments at
    /// instantiation, all at once (CPython has 24,000).
    active_if_all_imaged: Option<Box<[bool]>>,
}

impl ModuleImages {
    /// No images: every segment is copied.
    pub fn none() -> ModuleImages {
        ModuleImages::default()
    }

    /// Builds the images of `module`'s memories that can have one (see the
    /// module docs) in memfds. Fails only if the operating system refuses
    /// the memfd; callers may fall back to [`ModuleImages::none`].
    pub fn new(module: &ModuleInfo) -> io::Result<ModuleImages> {
        // SAFETY: there are no file images.
        unsafe { ModuleImages::with_files(module, Vec::new()) }
    }

    /// Like [`ModuleImages::new`], but a memory with an image in `files`
    /// maps it from there (nothing written or read now) when the host's
    /// page size allows and it lies within the memory's minimum size; the
    /// others get memfds.
    ///
    /// # Safety
    /// Each file image must hold exactly the bytes its memory's segments
    /// put there (an artifact's, written by `artifact_images`), and its
    /// file must not be changed or truncated while any image or memory
    /// made from it lives: instances map it.
    pub unsafe fn with_files(
        module: &ModuleInfo,
        mut files: Vec<FileImage>,
    ) -> io::Result<ModuleImages> {
        let defined = module.num_defined_memories() as usize;
        let mut memories = Vec::with_capacity(defined);
        if !cfg!(target_os = "linux") {
            return Ok(ModuleImages::none());
        }
        let page = page_size();
        for def in 0..defined {
            let def = DefinedMemoryIndex::new(def);
            let index = module.memory_index(def);
            let in_file = files
                .iter()
                .position(|f| f.memory == def)
                .map(|i| files.swap_remove(i));
            let usable = in_file.filter(|f| {
                let minimum = module.memories[index]
                    .minimum
                    .saturating_mul(WASM_PAGE_SIZE);
                let aligned = |v: u64| v.is_multiple_of(page as u64);
                module.image_range(index, page).is_some()
                    && f.len > 0
                    && aligned(f.file_offset)
                    && aligned(f.memory_offset as u64)
                    && aligned(f.len as u64)
                    && f.memory_offset
                        .checked_add(f.len)
                        .is_some_and(|end| end as u64 <= minimum)
            });
            let image = match usable {
                Some(f) => Some(MemoryImage {
                    file: f.file,
                    file_offset: f.file_offset,
                    offset: f.memory_offset,
                    len: f.len,
                    source: OnceLock::new(),
                }),
                None => MemoryImage::new(module, index)?,
            };
            memories.push(image.map(Arc::new));
        }
        let all_imaged = module.data.values().all(|seg| match &seg.kind {
            DataSegmentKind::Active { memory, .. } => module
                .defined_memory(*memory)
                .is_some_and(|def| memories[def.index()].is_some()),
            DataSegmentKind::Passive => true,
        });
        let active_if_all_imaged = all_imaged.then(|| {
            let active = |seg: &DataSegment| matches!(seg.kind, DataSegmentKind::Active { .. });
            module.data.values().map(active).collect()
        });
        Ok(ModuleImages {
            memories,
            active_if_all_imaged,
        })
    }

    /// Per data segment, whether it is active, if every active segment
    /// targets a memory with an image (and instantiation therefore only
    /// drops them, once the memories took their images).
    pub fn active_if_all_imaged(&self) -> Option<&[bool]> {
        self.active_if_all_imaged.as_deref()
    }

    /// The image of defined memory `def`, if it has one.
    pub fn get(&self, def: DefinedMemoryIndex) -> Option<&Arc<MemoryImage>> {
        self.memories.get(def.index())?.as_ref()
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn memfd(name: &str) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    let name = std::ffi::CString::new(name).expect("no NUL in the name");
    // SAFETY: `name` is a valid C string; the flags are valid.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn memfd(_name: &str) -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "memory images need memfd_create",
    ))
}

fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, offset)
}

/// Forbids any further change of the image's size or contents, so that
/// every mapping of it sees the same bytes forever.
#[cfg(target_os = "linux")]
fn seal(file: &File) -> io::Result<()> {
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: `fcntl(F_ADD_SEALS)` on a memfd made with MFD_ALLOW_SEALING.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn seal(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn info(wat: &str) -> ModuleInfo {
        let wasm = wat::parse_str(wat).unwrap();
        ModuleInfo::parse(&wasm, hayate_environ::features_for(None)).unwrap()
    }

    fn contents(image: &MemoryImage) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; image.len()];
        image.file.read_exact_at(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn overlapping_segments_apply_in_order() {
        let images = ModuleImages::new(&info(
            r#"(module (memory 1)
                (data (i32.const 5000) "aaaa")
                (data (i32.const 5002) "bb")
                (data (i32.const 9000) ""))"#,
        ))
        .unwrap();
        let image = images.get(DefinedMemoryIndex::from_u32(0)).unwrap();
        assert_eq!(image.offset(), 4096);
        assert_eq!(image.len(), 4096);
        let c = contents(image);
        assert_eq!(&c[904..910], b"aabb\0\0");
        assert!(image.file.set_len(0).is_err(), "sealed against shrinking");
    }

    #[test]
    fn what_cannot_be_imaged() {
        let cases = [
            // No segments.
            r#"(module (memory 1))"#,
            // Computed offset.
            r#"(module (import "g" "g" (global i32)) (memory 1) (data (global.get 0) "x"))"#,
            // Out of bounds of the minimum: must trap at instantiation.
            r#"(module (memory 1) (data (i32.const 65535) "xy"))"#,
            // Imported memory.
            r#"(module (import "m" "m" (memory 1)) (data (i32.const 0) "x"))"#,
        ];
        for wat in cases {
            let images = ModuleImages::new(&info(wat)).unwrap();
            assert!(
                images.get(DefinedMemoryIndex::from_u32(0)).is_none(),
                "{wat}"
            );
        }
    }

    #[test]
    fn each_memory_is_judged_alone() {
        let images = ModuleImages::new(&info(
            r#"(module (import "g" "g" (global i32))
                (memory 1) (memory 1)
                (data (memory 0) (i32.const 0) "x")
                (data (memory 1) (global.get 0) "y"))"#,
        ))
        .unwrap();
        assert!(images.get(DefinedMemoryIndex::from_u32(0)).is_some());
        assert!(images.get(DefinedMemoryIndex::from_u32(1)).is_none());
    }
}

#[cfg(all(test, target_os = "linux"))]
mod write_tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn written(start: usize, len: usize, segments: &[(usize, &[u8])]) -> Vec<u8> {
        let file = memfd("test").unwrap();
        file.set_len(len as u64).unwrap();
        write_segments(&file, start, segments).unwrap();
        let mut out = vec![0; len];
        file.read_exact_at(&mut out, 0).unwrap();
        out
    }

    /// What writing each segment on its own leaves.
    fn one_by_one(start: usize, len: usize, segments: &[(usize, &[u8])]) -> Vec<u8> {
        let mut out = vec![0; len];
        for (o, d) in segments {
            out[o - start..o - start + d.len()].copy_from_slice(d);
        }
        out
    }

    #[test]
    fn runs_write_what_segment_by_segment_writes() {
        let big = vec![7u8; MAX_RUN + 10];
        let cases: Vec<Vec<(usize, &[u8])>> = vec![
            vec![(100, b"abc"), (103, b"def"), (110, b"g"), (4000, b"far")],
            // Overlaps and going backwards: later segments win.
            vec![(100, b"abcdef"), (102, b"XY"), (50, b"back"), (101, b"Z")],
            vec![
                (100, b"abcdef"),
                (0, b"low"),
                (20, b"gap-fill must not reach 100"),
            ],
            vec![
                (4096, b""),
                (4100, b"x"),
                (4101, &big),
                (4100 + big.len() + 1, b"end"),
            ],
            vec![
                (0, &big[..MAX_RUN - 1]),
                (MAX_RUN - 1, b"ab"),
                (MAX_RUN + 1, b"c"),
            ],
        ];
        for segments in &cases {
            let len = 2 * MAX_RUN + 4096;
            assert_eq!(
                written(0, len, segments),
                one_by_one(0, len, segments),
                "{:?}",
                segments
                    .iter()
                    .map(|(o, d)| (*o, d.len()))
                    .collect::<Vec<_>>()
            );
        }
        let shifted: &[(usize, &[u8])] = &[(8192, b"ab"), (8194, b"cd")];
        assert_eq!(
            written(8192, 4096, shifted),
            one_by_one(8192, 4096, shifted)
        );
    }
}
