//! Tables: a growable array of pointer-sized references (`*const VMFuncRef`
//! for `funcref`, an opaque handle for `externref`, null for null), exposed
//! to compiled code through a `VMTableDefinition`. Elements live on the
//! heap, or in a slot of the pooling allocator's table pool. `funcref`
//! elements are stored tagged and may be initialised lazily
//! ([`crate::lazy_table`]).

use std::ffi::c_void;
use std::ptr::NonNull;

use hayate_environ::TableType;

use crate::lazy_table::{FUNCREF_INIT_BIT, LazyInit};
use crate::pooling::tables::TableSlot;
use crate::vmcontext::VMTableDefinition;

/// One table element: a raw reference, null for the null reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct TableElement(pub *mut c_void);

// SAFETY: a table element is an opaque address that is only dereferenced by
// compiled code or the runtime while the owning store is borrowed; moving the
// value between threads does not dereference it.
unsafe impl Send for TableElement {}
// SAFETY: as above; shared references never dereference the address.
unsafe impl Sync for TableElement {}

impl TableElement {
    /// The null reference.
    pub const NULL: TableElement = TableElement(std::ptr::null_mut());

    /// Whether this is the null reference.
    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
}

/// Largest number of elements a table may have, whatever its type says:
/// keeps element counts far from overflow in compiled code.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table owned by an instance or a store.
///
/// `funcref` tables store their elements tagged and may be initialised
/// lazily (see [`crate::lazy_table`]); every method here takes and returns
/// plain, untagged references.
#[derive(Debug)]
pub struct Table {
    storage: Storage,
    ty: TableType,
    /// Whether elements are stored tagged (`funcref` tables).
    tagged: bool,
    /// Where the values of not-yet-initialised elements come from.
    lazy: Option<LazyInit>,
}

// SAFETY: a table uniquely owns its elements, on the heap or in its pool
// slot (the raw pointer is that slot), like a `Vec<TableElement>` would;
// its lazy source points into the owning instance, which moves with it.
unsafe impl Send for Table {}
// SAFETY: shared references only read the elements.
unsafe impl Sync for Table {}

/// Where a table's elements live.
#[derive(Debug)]
enum Storage {
    /// On the heap, growing as needed (on-demand allocation).
    Heap(Vec<TableElement>),
    /// In a pool slot of fixed capacity.
    Pooled {
        ptr: NonNull<TableElement>,
        len: usize,
        capacity: usize,
        slot: Option<TableSlot>,
    },
}

/// A table could not be created.
#[derive(Debug, thiserror::Error)]
#[error("table minimum size of {0} elements exceeds the limit of {MAX_TABLE_ELEMENTS}")]
pub struct TableTooLarge(pub u64);

impl Table {
    /// Creates a table of `ty.minimum` elements, each `init`. A null `init`
    /// costs no work per element: the storage is zeroed.
    pub fn new(ty: TableType, init: TableElement) -> Result<Table, TableTooLarge> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return Err(TableTooLarge(ty.minimum));
        }
        let mut table = Table {
            storage: Storage::Heap(zeroed_elements(ty.minimum as usize)),
            ty,
            tagged: ty.element.is_func(),
            lazy: None,
        };
        if !init.is_null() {
            table.fill(0, init, ty.minimum);
        }
        Ok(table)
    }

    /// A table of `ty.minimum` null elements in a pool slot of `capacity`
    /// elements at `ptr`, which it gives back when dropped.
    ///
    /// # Safety
    /// `ptr` must point to `capacity` zeroed elements that nothing else
    /// uses while the table lives, kept alive by `slot`; `ty.minimum` must
    /// be at most `capacity`.
    pub(crate) unsafe fn from_pool_slot(
        ty: TableType,
        ptr: NonNull<TableElement>,
        capacity: usize,
        slot: TableSlot,
    ) -> Table {
        assert!(ty.minimum <= capacity as u64);
        Table {
            storage: Storage::Pooled {
                ptr,
                len: ty.minimum as usize,
                capacity,
                slot: Some(slot),
            },
            ty,
            tagged: ty.element.is_func(),
            lazy: None,
        }
    }

    /// Makes the table's untouched elements take their values from `lazy`
    /// on first access. Only for a fresh funcref table whose elements are
    /// all untouched.
    pub fn set_lazy_init(&mut self, lazy: Option<LazyInit>) {
        debug_assert!(self.tagged || lazy.is_none());
        self.lazy = lazy;
    }

    /// Whether the table initialises its elements lazily.
    pub fn is_lazy(&self) -> bool {
        self.lazy.is_some()
    }

    /// Calls `f` with every element's stored word (GC roots).
    pub fn visit_words(&self, f: &mut dyn FnMut(usize)) {
        self.raw().iter().for_each(|e| f(e.0 as usize));
    }

    fn raw(&self) -> &[TableElement] {
        match &self.storage {
            Storage::Heap(v) => v,
            // SAFETY: the slot holds `len <= capacity` initialised elements
            // owned by this table.
            Storage::Pooled { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), *len)
            },
        }
    }

    fn raw_mut(&mut self) -> &mut [TableElement] {
        match &mut self.storage {
            Storage::Heap(v) => v,
            // SAFETY: as in `raw`, borrowed mutably through `self`.
            Storage::Pooled { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts_mut(ptr.as_ptr(), *len)
            },
        }
    }

    /// The stored form of `value`.
    fn encode(&self, value: TableElement) -> TableElement {
        if self.tagged {
            TableElement((value.0 as usize | FUNCREF_INIT_BIT) as *mut c_void)
        } else {
            value
        }
    }

    /// The value of the element stored as `raw` at `index`, and whether it
    /// was still uninitialised.
    fn decode(&self, raw: TableElement, index: usize) -> (TableElement, bool) {
        if !self.tagged {
            return (raw, false);
        }
        let bits = raw.0 as usize;
        if bits == 0 {
            let value = self
                .lazy
                .as_ref()
                .map_or(std::ptr::null_mut(), |l| l.value(index));
            return (TableElement(value), true);
        }
        (
            TableElement((bits & !FUNCREF_INIT_BIT) as *mut c_void),
            false,
        )
    }

    /// Initialises every still-uninitialised element of `range`.
    fn materialize(&mut self, range: std::ops::Range<usize>) {
        if self.lazy.is_none() {
            return;
        }
        for i in range {
            let raw = self.raw()[i];
            if let (value, true) = self.decode(raw, i) {
                self.raw_mut()[i] = self.encode(value);
            }
        }
    }

    /// The table's type (its minimum is the declared one, not the current size).
    pub fn ty(&self) -> TableType {
        self.ty
    }

    /// Current number of elements.
    pub fn size(&self) -> u64 {
        self.raw().len() as u64
    }

    /// The maximum number of elements this table may grow to.
    pub fn maximum(&self) -> u64 {
        let max = self.ty.maximum.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS);
        match &self.storage {
            Storage::Heap(_) => max,
            Storage::Pooled { capacity, .. } => max.min(*capacity as u64),
        }
    }

    /// Whether the table lives in a pool slot.
    pub fn is_pooled(&self) -> bool {
        matches!(self.storage, Storage::Pooled { .. })
    }

    /// Element `index`, or `None` if out of bounds. Initialises the element
    /// if it was not yet.
    pub fn get(&mut self, index: u64) -> Option<TableElement> {
        let i = usize::try_from(index).ok()?;
        let raw = *self.raw().get(i)?;
        let (value, fresh) = self.decode(raw, i);
        if fresh {
            self.raw_mut()[i] = self.encode(value);
        }
        Some(value)
    }

    /// Sets element `index`; `false` if out of bounds.
    pub fn set(&mut self, index: u64, value: TableElement) -> bool {
        let encoded = self.encode(value);
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.raw_mut().get_mut(i))
        {
            Some(slot) => {
                *slot = encoded;
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or
    /// `None` if the table cannot grow that much.
    pub fn grow(&mut self, delta: u64, init: TableElement) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.maximum() {
            return None;
        }
        let encoded = self.encode(init);
        match &mut self.storage {
            Storage::Heap(v) => v.resize(new as usize, encoded),
            Storage::Pooled { len, .. } => {
                *len = new as usize;
                self.raw_mut()[old as usize..].fill(encoded);
            }
        }
        Some(old)
    }

    /// Fills `len` elements from `dst` with `value`; `false` (and no write)
    /// if the range is out of bounds.
    pub fn fill(&mut self, dst: u64, value: TableElement, len: u64) -> bool {
        let encoded = self.encode(value);
        match range(dst, len, self.size()) {
            Some(r) => {
                self.raw_mut()[r].fill(encoded);
                true
            }
            None => false,
        }
    }

    /// Copies `len` elements within this table; `false` if out of bounds.
    pub fn copy_within(&mut self, dst: u64, src: u64, len: u64) -> bool {
        let size = self.size();
        match (range(dst, len, size), range(src, len, size)) {
            (Some(d), Some(s)) => {
                // Uninitialised elements take their value from their own
                // index: give them one before moving them.
                self.materialize(s.clone());
                self.raw_mut().copy_within(s, d.start);
                true
            }
            _ => false,
        }
    }

    /// Writes `values` at `dst`; `false` (and no write) if out of bounds.
    pub fn init(&mut self, dst: u64, values: &[TableElement]) -> bool {
        match range(dst, values.len() as u64, self.size()) {
            Some(r) => {
                for (i, v) in r.zip(values) {
                    self.raw_mut()[i] = self.encode(*v);
                }
                true
            }
            None => false,
        }
    }

    /// Copies `len` elements from `src` of another table of the same
    /// element type to `dst` of this one; `false` (and no write) if either
    /// range is out of bounds. The elements move in their stored form, with
    /// no buffer in between.
    pub fn copy_from(&mut self, dst: u64, other: &mut Table, src: u64, len: u64) -> bool {
        debug_assert_eq!(self.tagged, other.tagged, "validated: same element type");
        match (range(dst, len, self.size()), range(src, len, other.size())) {
            (Some(d), Some(s)) => {
                other.materialize(s.clone());
                // A `0` left in a table that is not lazy is null; here it
                // would read as "take the value from this table's image".
                let null = self.encode(TableElement::NULL);
                let tagged = self.tagged;
                for (to, from) in self.raw_mut()[d].iter_mut().zip(&other.raw()[s]) {
                    *to = if tagged && from.is_null() {
                        null
                    } else {
                        *from
                    };
                }
                true
            }
            _ => false,
        }
    }

    /// The definition compiled code reads. Valid until the next growth.
    pub fn vmtable(&mut self) -> VMTableDefinition {
        VMTableDefinition {
            base: self.raw_mut().as_mut_ptr().cast(),
            current_elements: self.size(),
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Storage::Pooled { len, slot, .. } = &mut self.storage
            && let Some(slot) = slot.take()
        {
            slot.release(*len);
        }
    }
}

/// `n` null elements in storage that comes zeroed from the allocator: a
/// large table is fresh pages from the kernel that nothing touches until
/// an element is written, so declaring `(table 10000000 funcref)` costs
/// address space, not memory (`vec![TableElement::NULL; n]` would write
/// every element).
fn zeroed_elements(n: usize) -> Vec<TableElement> {
    if n == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<TableElement>(n).expect("table size checked");
    // SAFETY: `layout` has a non-zero size (`n > 0`, elements are a word).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<TableElement>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of
    // `n` elements (exactly `Vec`'s layout for capacity `n`), and all `n`
    // elements are initialised: all-zero bytes are `TableElement::NULL`.
    unsafe { Vec::from_raw_parts(ptr, n, n) }
}

/// `[start, start + len)` as a `usize` range if it lies within `size`.
pub(crate) fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(min: u64, max: Option<u64>) -> TableType {
        TableType {
            element: hayate_environ::RefType::FUNCREF,
            minimum: min,
            maximum: max,
            table64: false,
        }
    }

    #[test]
    fn grow_respects_maximum_and_bounds() {
        let mut t = Table::new(ty(1, Some(3)), TableElement::NULL).unwrap();
        assert_eq!(t.grow(2, TableElement::NULL), Some(1));
        assert_eq!(t.grow(1, TableElement::NULL), None);
        assert_eq!(t.size(), 3);
        assert!(t.fill(3, TableElement::NULL, 0));
        assert!(!t.fill(3, TableElement::NULL, 1));
        assert!(!t.copy_within(0, 2, 2));
        assert!(t.get(3).is_none());
    }
}
