//! Tables: a growable array of pointer-sized references (`*const VMFuncRef`
//! for `funcref`, an opaque handle for `externref`, null for null), exposed
//! to compiled code through a `VMTableDefinition`.

use std::ffi::c_void;

use hayate_environ::TableType;

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
#[derive(Debug)]
pub struct Table {
    elements: Vec<TableElement>,
    ty: TableType,
}

/// A table could not be created.
#[derive(Debug, thiserror::Error)]
#[error("table minimum size of {0} elements exceeds the limit of {MAX_TABLE_ELEMENTS}")]
pub struct TableTooLarge(pub u64);

impl Table {
    /// Creates a table of `ty.minimum` elements, each `init`.
    pub fn new(ty: TableType, init: TableElement) -> Result<Table, TableTooLarge> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return Err(TableTooLarge(ty.minimum));
        }
        Ok(Table {
            elements: vec![init; ty.minimum as usize],
            ty,
        })
    }

    /// The table's type (its minimum is the declared one, not the current size).
    pub fn ty(&self) -> TableType {
        self.ty
    }

    /// Current number of elements.
    pub fn size(&self) -> u64 {
        self.elements.len() as u64
    }

    /// The maximum number of elements this table may grow to.
    pub fn maximum(&self) -> u64 {
        self.ty.maximum.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS)
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, index: u64) -> Option<TableElement> {
        self.elements.get(usize::try_from(index).ok()?).copied()
    }

    /// Sets element `index`; `false` if out of bounds.
    pub fn set(&mut self, index: u64, value: TableElement) -> bool {
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
        {
            Some(slot) => {
                *slot = value;
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
        self.elements.resize(new as usize, init);
        Some(old)
    }

    /// Fills `len` elements from `dst` with `value`; `false` (and no write)
    /// if the range is out of bounds.
    pub fn fill(&mut self, dst: u64, value: TableElement, len: u64) -> bool {
        match range(dst, len, self.size()) {
            Some(r) => {
                self.elements[r].fill(value);
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
                self.elements.copy_within(s, d.start);
                true
            }
            _ => false,
        }
    }

    /// Writes `values` at `dst`; `false` (and no write) if out of bounds.
    pub fn init(&mut self, dst: u64, values: &[TableElement]) -> bool {
        match range(dst, values.len() as u64, self.size()) {
            Some(r) => {
                self.elements[r].copy_from_slice(values);
                true
            }
            None => false,
        }
    }

    /// Elements `[start, start + len)`, or `None` if out of bounds.
    pub fn slice(&self, start: u64, len: u64) -> Option<&[TableElement]> {
        range(start, len, self.size()).map(|r| &self.elements[r])
    }

    /// The definition compiled code reads. Valid until the next growth.
    pub fn vmtable(&mut self) -> VMTableDefinition {
        VMTableDefinition {
            base: self.elements.as_mut_ptr().cast(),
            current_elements: self.size(),
        }
    }
}

/// `[start, start + len)` as a `usize` range if it lies within `size`.
pub(crate) fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::RefType;

    fn ty(min: u64, max: Option<u64>) -> TableType {
        TableType {
            element: RefType::Func,
            minimum: min,
            maximum: max,
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
