//! Initial memory images: which memories can start as a copy-on-write image
//! of their data segments instead of copying them at instantiation, where
//! that image lies, and its bytes. The runtime makes in-memory images of
//! them (`cow`); a precompiled artifact stores them ready to map
//! (`artifact`).
//!
//! A defined, unshared memory can have an image when every active data
//! segment targeting it has a constant offset and ends within the memory's
//! minimum size: then instantiation cannot trap in its segments, and the
//! image (segments written in module order, so overlaps end as copying
//! leaves them) is exactly the memory after initialisation.

use crate::WASM_PAGE_SIZE;
use crate::entity::{DefinedMemoryIndex, MemoryIndex};
use crate::module::{DataSegmentKind, ModuleInfo};

/// Where a memory's image lies, in the memory and in an artifact's image
/// section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePlacement {
    /// The memory.
    pub memory: DefinedMemoryIndex,
    /// Offset in the linear memory of the image's first byte.
    pub memory_offset: u64,
    /// Offset of the image's bytes from the start of the artifact's image
    /// section.
    pub section_offset: u64,
    /// Length of the image.
    pub len: u64,
}

impl ModuleInfo {
    /// The active segments of memory `index` as `(offset, bytes)`, in module
    /// order, if they can all go into an image (see the module docs).
    pub fn image_segments(&self, index: MemoryIndex) -> Option<Vec<(usize, &[u8])>> {
        let mut segments = Vec::new();
        self.visit_image_segments(index, |offset, data| segments.push((offset, data)))?;
        Some(segments)
    }

    /// Calls `f` with each active segment of memory `index` as `(offset,
    /// bytes)`, in module order, and returns `None` (maybe after some
    /// calls) if they cannot all go into an image.
    fn visit_image_segments<'a>(
        &'a self,
        index: MemoryIndex,
        mut f: impl FnMut(usize, &'a [u8]),
    ) -> Option<()> {
        let ty = self.memories.get(index)?;
        if ty.shared || index.as_u32() < self.num_imported_memories {
            return None;
        }
        let minimum = usize::try_from(ty.minimum.checked_mul(WASM_PAGE_SIZE)?).ok()?;
        for seg in self.data.values() {
            let DataSegmentKind::Active { memory, offset } = &seg.kind else {
                continue;
            };
            if *memory != index {
                continue;
            }
            let offset = usize::try_from(offset.as_const_offset()?).ok()?;
            let end = offset.checked_add(seg.data.len())?;
            if end > minimum {
                return None;
            }
            f(offset, &seg.data);
        }
        Some(())
    }

    /// The range `(start, len)` of memory `index` its image covers with
    /// `align`-aligned bounds (`align` a power of two dividing the Wasm
    /// page size), if it can have one and it is not empty. Reads only the
    /// segments' offsets and lengths, not their bytes.
    pub fn image_range(&self, index: MemoryIndex, align: usize) -> Option<(usize, usize)> {
        let (mut start, mut end) = (usize::MAX, 0);
        self.visit_image_segments(index, |offset, data| {
            if !data.is_empty() {
                start = start.min(offset);
                end = end.max(offset + data.len());
            }
        })?;
        if start >= end {
            return None;
        }
        // `end` is within the minimum size, a multiple of the Wasm page
        // size, so rounding it up to `align` stays within it.
        let start = start & !(align - 1);
        Some((start, end.next_multiple_of(align) - start))
    }
}

/// An image is kept in an artifact only if it is at most this many times
/// the bytes of its segments (or [`SPARSE_IMAGE_SLACK`]): a module whose
/// few segments lie far apart would otherwise make an artifact of
/// gigabytes of zeros. Such a memory gets its image at load instead.
pub const SPARSE_IMAGE_FACTOR: usize = 2;

/// An image of at most this many bytes is kept whatever its density.
pub const SPARSE_IMAGE_SLACK: usize = 1 << 20;

/// The images an artifact carries for `info`, each starting at a multiple
/// of `align` in the image section (`align` a power of two dividing the
/// Wasm page size), with their bytes.
pub fn artifact_images(info: &ModuleInfo, align: usize) -> Vec<(ImagePlacement, Vec<u8>)> {
    let mut out = Vec::new();
    let mut section_offset = 0u64;
    for def in 0..info.num_defined_memories() {
        let memory = DefinedMemoryIndex::from_u32(def);
        let index = info.memory_index(memory);
        let (Some((start, len)), Some(segments)) =
            (info.image_range(index, align), info.image_segments(index))
        else {
            continue;
        };
        let data: usize = segments.iter().map(|(_, d)| d.len()).sum();
        if len > SPARSE_IMAGE_SLACK.max(data.saturating_mul(SPARSE_IMAGE_FACTOR)) {
            continue;
        }
        let mut bytes = vec![0u8; len];
        // Empty segments may lie outside the image.
        for (offset, data) in segments.into_iter().filter(|(_, d)| !d.is_empty()) {
            bytes[offset - start..offset - start + data.len()].copy_from_slice(data);
        }
        out.push((
            ImagePlacement {
                memory,
                memory_offset: start as u64,
                section_offset,
                len: len as u64,
            },
            bytes,
        ));
        section_offset += len as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(wat: &str) -> ModuleInfo {
        let wasm = wat::parse_str(wat).unwrap();
        ModuleInfo::parse(&wasm, crate::features_for(None)).unwrap()
    }

    #[test]
    fn images_apply_segments_in_order() {
        let m = info(
            r#"(module (memory 1)
                (data (i32.const 5000) "aaaa")
                (data (i32.const 5002) "bb")
                (data (i32.const 9000) ""))"#,
        );
        let images = artifact_images(&m, 4096);
        assert_eq!(images.len(), 1);
        let (placement, bytes) = &images[0];
        assert_eq!((placement.memory_offset, placement.len), (4096, 4096));
        assert_eq!(&bytes[904..910], b"aabb\0\0");
    }

    #[test]
    fn what_cannot_be_imaged() {
        let cases = [
            r#"(module (memory 1))"#,
            r#"(module (import "g" "g" (global i32)) (memory 1) (data (global.get 0) "x"))"#,
            r#"(module (memory 1) (data (i32.const 65535) "xy"))"#,
            r#"(module (import "m" "m" (memory 1)) (data (i32.const 0) "x"))"#,
        ];
        for wat in cases {
            let m = info(wat);
            assert!(
                m.image_range(MemoryIndex::from_u32(0), 4096).is_none(),
                "{wat}"
            );
            assert!(artifact_images(&m, 4096).is_empty(), "{wat}");
        }
    }

    #[test]
    fn sparse_images_stay_out_of_artifacts() {
        // Two bytes 3 GiB apart: the image would be 3 GiB.
        let m = info(
            r#"(module (memory 65536)
                (data (i32.const 0) "a") (data (i32.const 3221225472) "b"))"#,
        );
        assert!(m.image_range(MemoryIndex::from_u32(0), 16384).is_some());
        assert!(artifact_images(&m, 16384).is_empty());
    }

    #[test]
    fn images_follow_one_another_in_the_section() {
        let m = info(
            r#"(module (memory 1) (memory 2)
                (data (memory 0) (i32.const 0) "x")
                (data (memory 1) (i32.const 70000) "y"))"#,
        );
        let images = artifact_images(&m, 16384);
        let placements: Vec<_> = images.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            placements,
            [
                ImagePlacement {
                    memory: DefinedMemoryIndex::from_u32(0),
                    memory_offset: 0,
                    section_offset: 0,
                    len: 16384
                },
                ImagePlacement {
                    memory: DefinedMemoryIndex::from_u32(1),
                    memory_offset: 65536,
                    section_offset: 16384,
                    len: 16384
                },
            ]
        );
        assert_eq!(images[1].1[70000 - 65536], b'y');
    }
}
