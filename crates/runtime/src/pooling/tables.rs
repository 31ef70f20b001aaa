//! The table pool: tables in slots of one read/write region, each slot
//! holding up to `max_table_elements` elements. Slots are zeroed (all
//! null) when released, so a table starts null without any work.

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use hayate_environ::TableType;

use super::{PoolingConfig, SlotRegion};
use crate::instance::InstantiationError;
use crate::mmap::round_up_to_page;
use crate::table::{Table, TableElement};

/// The table slots of a pooling allocator.
#[derive(Debug)]
pub struct TablePool {
    region: Arc<SlotRegion>,
    max_elements: usize,
}

/// Gives a table's slot back to its pool when the table is dropped. Like
/// a memory's slot, it points to the pool without a reference count: the
/// table's allocator keeps the pool alive longer.
#[derive(Debug)]
pub(crate) struct TableSlot {
    region: NonNull<SlotRegion>,
    index: u32,
}

// SAFETY: the region is `Sync` (its free list is behind locks), outlives
// the slot (`TablePool::allocate`), and the slot's index is this handle's
// alone.
unsafe impl Send for TableSlot {}
// SAFETY: as above; a shared handle does nothing.
unsafe impl Sync for TableSlot {}

impl TablePool {
    pub(crate) fn new(config: &PoolingConfig) -> io::Result<TablePool> {
        let max_elements = usize::try_from(config.max_table_elements)
            .ok()
            .filter(|n| *n <= crate::table::MAX_TABLE_ELEMENTS as usize)
            .ok_or_else(|| io::Error::other("max_table_elements is too large"))?;
        let slot = round_up_to_page(max_elements.max(1) * size_of::<TableElement>())
            .expect("bounded above");
        Ok(TablePool {
            region: Arc::new(SlotRegion::new("table", config.max_tables, slot)?),
            max_elements,
        })
    }

    /// A table of type `ty` in a free slot, with every element `init`.
    ///
    /// # Safety
    /// The pool must outlive the table, which gives its slot back through
    /// a pointer to the pool when dropped.
    pub unsafe fn allocate(
        &self,
        ty: TableType,
        init: TableElement,
    ) -> Result<Table, InstantiationError> {
        if ty.minimum > self.max_elements as u64 {
            return Err(InstantiationError::Resource(format!(
                "pooling allocator: table minimum of {} elements exceeds the limit of {}",
                ty.minimum, self.max_elements
            )));
        }
        let index = self.region.take()?;
        let ptr: NonNull<TableElement> = self.region.slot_ptr(index).cast();
        let slot = TableSlot {
            region: NonNull::from(&*self.region),
            index,
        };
        // SAFETY: the slot holds `max_elements` zeroed (null) elements,
        // belongs to the table until it gives it back, and the region
        // outlives the table (the caller's promise).
        let mut table = unsafe { Table::from_pool_slot(ty, ptr, self.max_elements, slot) };
        if !init.is_null() {
            table.fill(0, init, ty.minimum);
        }
        Ok(table)
    }

    /// Slots in use.
    pub(crate) fn in_use(&self) -> usize {
        self.region.in_use()
    }
}

impl TableSlot {
    /// Zeroes the first `len` elements and gives the slot back.
    pub(crate) fn release(self, len: usize) {
        // SAFETY: the region outlives its slots (`TablePool::allocate`).
        let region = unsafe { self.region.as_ref() };
        region.release(self.index, len * size_of::<TableElement>());
    }
}
