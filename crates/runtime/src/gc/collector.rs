//! The collector: non-moving mark and sweep, run when a Wasm allocation
//! finds the heap grown past its trigger, or when the store refuses to
//! let it grow.
//!
//! # Roots
//!
//! * **The Wasm frames, precisely.** The compiler declares every value of
//!   a type that may hold a GC reference to Cranelift, which spills those
//!   live across a call to stack slots and records them in the call's
//!   stack map (`hayate_environ::stack_maps`). The collector walks the
//!   Wasm frames of every activation of the thread and reads exactly
//!   those slots (`traphandlers::wasm_stack_roots`): no other stack word
//!   is looked at, so a number that looks like an address retains
//!   nothing. Host frames hold no references (the host's handles are
//!   pinned, below), and the builtin that allocates passes the ones it
//!   holds itself (`array.new`'s value).
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
//! Collections only run inside Wasm, from an allocation builtin entered
//! through its recording entry (`gc::Collect::FromWasm`); never while a
//! constant expression is evaluated (its operands live in a Rust vector).
//! The baseline compiler declines every function with reference-typed
//! values, so every frame that can hold one has stack maps.

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

/// Collects `store`'s heap, with the references the stack holds in
/// `stack` (any words: only those naming objects count).
///
/// # Safety
/// `stack` and the store's roots (`VMStore::gc_roots`) must together name
/// every object compiled code or the host can still reach.
pub unsafe fn collect(store: &mut dyn VMStore, stack: &[usize]) {
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
    for word in stack {
        mark(*word, &mut work);
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
        let mut live = Vec::with_capacity(self.objects.len());
        for (object, marked) in std::mem::take(&mut self.objects).into_iter().zip(marked) {
            match (*marked, self.stress) {
                (true, _) => live.push(object),
                (false, false) => drop(object),
                (false, true) => {
                    let mut object = object;
                    object.fill(u128::from_ne_bytes([super::POISON; 16]));
                    self.quarantine.push(object);
                }
            }
        }
        self.objects = live;
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
