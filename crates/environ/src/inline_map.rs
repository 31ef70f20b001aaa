//! A compiled function's inlined calls: the ranges of its code that are
//! another Wasm function's body, inlined by an optimising compiler (the
//! LLVM tier), so that a backtrace through them names every Wasm frame,
//! not only the function whose code it is. Encoded like [`AddressMap`]
//! (LEB128 numbers, about five bytes a range) and decoded only when a
//! backtrace looks at it.
//!
//! [`AddressMap`]: crate::AddressMap

use crate::address_map::{get_leb, put_leb};
use crate::bytes::SharedBytes;
use crate::entity::{DefinedFuncIndex, EntityRef};

/// A range of code where a call was inlined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlinedRange {
    /// The range's first code offset from the function's start.
    pub start: u32,
    /// The offset just past its end.
    pub end: u32,
    /// How many inlined calls enclose this one: 0 for a call the function
    /// itself makes, 1 for a call inside a body inlined into it, ...
    pub depth: u32,
    /// The function called, whose body the range is.
    pub callee: DefinedFuncIndex,
    /// Byte offset in the module of the call instruction, in the caller:
    /// the function itself at depth 0, the enclosing inlined callee
    /// otherwise. 0 when unknown (no instruction is at offset 0).
    pub call_offset: u32,
}

/// The inlined ranges of one function, sorted by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineMap {
    bytes: SharedBytes,
}

impl InlineMap {
    /// The map of `ranges`, in any order (empty ranges are left out).
    pub fn from_ranges(ranges: &[InlinedRange]) -> InlineMap {
        let mut sorted: Vec<InlinedRange> =
            ranges.iter().filter(|r| r.start < r.end).copied().collect();
        sorted.sort_by_key(|r| (r.start, r.depth));
        let mut bytes = Vec::with_capacity(sorted.len() * 5);
        let mut start = 0;
        for r in sorted {
            put_leb(&mut bytes, u64::from(r.start - start));
            put_leb(&mut bytes, u64::from(r.end - r.start));
            put_leb(&mut bytes, u64::from(r.depth));
            put_leb(&mut bytes, r.callee.index() as u64);
            put_leb(&mut bytes, u64::from(r.call_offset));
            start = r.start;
        }
        InlineMap {
            bytes: SharedBytes::from(bytes),
        }
    }

    /// A map from its encoded bytes (as [`InlineMap::as_bytes`] gave
    /// them). Bytes that do not decode end the map where they start.
    pub fn from_bytes(bytes: SharedBytes) -> InlineMap {
        InlineMap { bytes }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &SharedBytes {
        &self.bytes
    }

    /// Whether no call was inlined.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The ranges, by start.
    pub fn iter(&self) -> impl Iterator<Item = InlinedRange> + '_ {
        let mut at = 0;
        let mut start = 0u32;
        std::iter::from_fn(move || {
            let mut next = || u32::try_from(get_leb(&self.bytes, &mut at)?).ok();
            let step = next()?;
            let length = next()?;
            let depth = next()?;
            let callee = next()?;
            let call_offset = next()?;
            start = start.checked_add(step)?;
            Some(InlinedRange {
                start,
                end: start.checked_add(length)?,
                depth,
                callee: DefinedFuncIndex::from_u32(callee),
                call_offset,
            })
        })
    }

    /// The inlined calls that `code` is inside, outermost first: the
    /// range of each depth that contains it, stopping at the first depth
    /// none does.
    pub fn calls_at(&self, code: u32) -> Vec<InlinedRange> {
        let mut containing: Vec<InlinedRange> = self
            .iter()
            .take_while(|r| r.start <= code)
            .filter(|r| code < r.end)
            .collect();
        containing.sort_by_key(|r| r.depth);
        containing.dedup_by_key(|r| r.depth);
        let nested = containing
            .iter()
            .enumerate()
            .take_while(|(i, r)| r.depth as usize == *i)
            .count();
        containing.truncate(nested);
        containing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u32, end: u32, depth: u32, callee: u32, call_offset: u32) -> InlinedRange {
        InlinedRange {
            start,
            end,
            depth,
            callee: DefinedFuncIndex::from_u32(callee),
            call_offset,
        }
    }

    #[test]
    fn nested_calls_outermost_first() {
        let ranges = [
            range(40, 60, 1, 7, 300),
            range(10, 100, 0, 3, 200),
            range(120, 130, 0, 3, 210),
            range(50, 55, 2, 9, 400),
            range(70, 70, 0, 1, 1),
        ];
        let map = InlineMap::from_ranges(&ranges);
        assert_eq!(map.iter().count(), 4);
        let bytes = map.as_bytes().to_vec();
        assert_eq!(InlineMap::from_bytes(bytes.into()), map);
        assert_eq!(map.calls_at(5), vec![]);
        assert_eq!(map.calls_at(10), vec![ranges[1]]);
        assert_eq!(map.calls_at(45), vec![ranges[1], ranges[0]]);
        assert_eq!(map.calls_at(52), vec![ranges[1], ranges[0], ranges[3]]);
        assert_eq!(map.calls_at(60), vec![ranges[1]]);
        assert_eq!(map.calls_at(100), vec![]);
        assert_eq!(map.calls_at(125), vec![ranges[2]]);
        assert!(InlineMap::default().calls_at(0).is_empty());
    }

    #[test]
    fn a_depth_without_its_parent_is_ignored() {
        let map = InlineMap::from_ranges(&[range(0, 10, 1, 2, 3), range(0, 4, 0, 5, 6)]);
        assert_eq!(map.calls_at(2).len(), 2);
        assert_eq!(map.calls_at(7), vec![]);
    }

    #[test]
    fn damaged_bytes_end_the_map() {
        let map = InlineMap::from_ranges(&[range(0, 10, 0, 2, 3), range(20, 30, 0, 5, 6)]);
        let mut bytes = map.as_bytes().to_vec();
        bytes.truncate(bytes.len() - 1);
        assert_eq!(InlineMap::from_bytes(bytes.into()).iter().count(), 1);
        let wrapping = [
            0x80, 0x80, 0x80, 0x80, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x0f, 0, 0, 0,
        ];
        assert_eq!(
            InlineMap::from_bytes(wrapping.to_vec().into())
                .iter()
                .count(),
            0
        );
    }
}
