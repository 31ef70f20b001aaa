//! The collector: non-moving mark and sweep, run when a Wasm allocation
//! finds the heap grown past its trigger, or when the store refuses to
//! let it grow.
//!
//! # Roots
//!
//! * **Stacks, conservatively.** Every word between the collector's own
//!   frame and the outermost `catch_traps` frame of the thread — every Wasm
//!   frame of every activation, the host frames between them, and the
//!   callee-saved registers, which the collector stores on its frame
//!   first — that points into an object keeps it. A number that happens
//!   to look like an address only retains garbage; nothing live is missed,
//!   whatever registers or stack slots Cranelift chose.
//! * **The store's storage**, through `VMStore::gc_roots`: globals and
//!   tables of every instance and of the host, exception payloads, element
//!   segments evaluated at instantiation, and the objects the host holds
//!   handles on (pinned by the embedding layer when it hands them out).
//!
//! Objects are then traced precisely: the fields and elements of
//! reference type of each marked object (by its type's layout). Objects
//! not reached are freed, cycles among them included.
//!
//! # Pauses
//!
//! A collection stops the store's Wasm for one mark and sweep over the
//! live objects and the stack: proportional to the live heap plus the
//! stack depth, not to the garbage. The trigger doubles with the live
//! heap (at least 1 MiB between collections), so the time spent
//! collecting stays proportional to the allocation.
//!
//! Collections only run inside Wasm (from an allocation builtin) and never
//! while a constant expression is being evaluated (its operands live in a
//! Rust vector the stack scan does not see).

use hayate_environ::{GC_HEADER_SIZE, gc_header};

use super::{GcHeap, KIND_ARRAY};
use crate::store::VMStore;

/// What the collector needs to know of a GC type: where its references
/// are.
#[derive(Debug, Clone)]
pub enum GcLayout {
    /// A structure: the offsets of its reference fields.
    Struct(Vec<u32>),
    /// An array: its element size, and whether elements are references.
    Array { element_size: u32, refs: bool },
}

/// Collects `store`'s heap. `stack` is the range of stack words to scan
/// (the caller's frame to the outermost activation's top), if the caller
/// runs inside Wasm.
///
/// # Safety
/// `stack`, if given, must be readable memory of this thread's stack; every
/// object of the heap must be live (not freed) and the store's roots
/// complete.
pub unsafe fn collect(store: &mut dyn VMStore, stack: Option<(usize, usize)>) {
    let heap = store.gc_heap();
    let index = heap.sorted_index();
    let mut marked = vec![false; index.len()];
    let mut work: Vec<usize> = Vec::new();
    let mut mark = |word: usize, work: &mut Vec<usize>| {
        if let Some(i) = find(&index, word)
            && !marked[i]
        {
            marked[i] = true;
            work.push(i);
        }
    };
    if let Some((low, high)) = stack {
        let mut at = low.next_multiple_of(8);
        while at + 8 <= high {
            // SAFETY: the caller vouches for the range.
            mark(unsafe { *(at as *const usize) }, &mut work);
            at += 8;
        }
    }
    store.gc_roots(&mut |word| mark(word, &mut work));
    let mut layouts: std::collections::HashMap<u32, GcLayout> = Default::default();
    while let Some(i) = work.pop() {
        let (start, _) = index[i];
        let base = start as *const u8;
        // SAFETY: a live object of the heap; its header is aligned.
        let (type_id, kind, length) = unsafe {
            (
                *base.add(gc_header::TYPE_ID as usize).cast::<u32>(),
                *base.add(gc_header::KIND as usize).cast::<u32>(),
                *base.add(gc_header::LENGTH as usize).cast::<u32>(),
            )
        };
        let layout = &*layouts
            .entry(type_id)
            .or_insert_with(|| store.gc_layout(type_id));
        let mut visit = |offset: usize| {
            // SAFETY: the offset lies inside the object (its layout says).
            let word = unsafe { *base.add(offset).cast::<usize>() };
            mark(word, &mut work);
        };
        match layout {
            GcLayout::Struct(offsets) => offsets.iter().for_each(|o| visit(*o as usize)),
            GcLayout::Array { element_size, refs } if *refs && kind == KIND_ARRAY => {
                for e in 0..length as usize {
                    visit(GC_HEADER_SIZE as usize + e * *element_size as usize);
                }
            }
            GcLayout::Array { .. } => {}
        }
    }
    store.gc_heap().sweep(&index, &marked);
}

/// The object containing address `word`, if any (interior addresses
/// count: compiled code may hold one).
fn find(index: &[(usize, usize)], word: usize) -> Option<usize> {
    let i = index
        .partition_point(|(start, _)| *start <= word)
        .checked_sub(1)?;
    let (start, end) = index[i];
    (word >= start && word < end).then_some(i)
}

impl GcHeap {
    /// Every object's address range, sorted by address.
    fn sorted_index(&mut self) -> Vec<(usize, usize)> {
        self.objects.sort_unstable_by_key(|o| o.as_ptr() as usize);
        self.objects
            .iter()
            .map(|o| {
                let start = o.as_ptr() as usize;
                (start, start + o.len() * 16)
            })
            .collect()
    }

    /// Frees the objects not `marked` (`index` is `sorted_index`'s, which
    /// left the objects in that order) and sets the next trigger.
    fn sweep(&mut self, index: &[(usize, usize)], marked: &[bool]) {
        debug_assert_eq!(index.len(), self.objects.len());
        let mut i = 0;
        self.objects.retain(|_| {
            let keep = marked[i];
            i += 1;
            keep
        });
        self.bytes = self.objects.iter().map(|o| o.len() * 16).sum();
        self.collections += 1;
        self.next_collection = (self.bytes * 2).max(self.bytes + GcHeap::GRANT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_accepts_interior_addresses_only_inside_objects() {
        let index = [(100, 132), (200, 216)];
        assert_eq!(find(&index, 100), Some(0));
        assert_eq!(find(&index, 131), Some(0));
        assert_eq!(find(&index, 132), None);
        assert_eq!(find(&index, 99), None);
        assert_eq!(find(&index, 215), Some(1));
        assert_eq!(find(&index, usize::MAX), None);
        assert_eq!(find(&[], 5), None);
    }
}
