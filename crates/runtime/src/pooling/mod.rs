//! The pooling instance allocator: instances' VMContexts, linear memories
//! and tables come from slots reserved once, when the engine is made, and
//! go back to them, reset, when the instance (in practice, its store) is
//! dropped. Allocating is then a pop from a free list and a few page
//! protection changes instead of mapping, and instantiation stays fast and
//! predictable under load.
//!
//! * **VMContexts**: one read/write region of `max_instances` slots of
//!   `max_vmctx_size` bytes. A slot is zeroed when released.
//! * **Memories** ([`memories`]): one reservation of `max_memories` slots,
//!   each as large as an on-demand memory's reservation (with guard pages:
//!   8 GiB, the 4 GiB a 32-bit index reaches plus the guard region; with
//!   explicit bounds checks: `max_memory_pages`). A released slot's pages
//!   are discarded with `madvise(MADV_DONTNEED)`: anonymous pages read as
//!   zero again and the pages of a copy-on-write image read as the image
//!   again, so the image stays mapped and the next instance of the same
//!   module (whose slot is preferred) needs no mapping at all.
//! * **Tables** ([`tables`]): one read/write region of `max_tables` slots of
//!   `max_table_elements` pointers, zeroed when released.
//!
//! Nothing of a previous instance survives in a reused slot: memory pages
//! are discarded, tables and VMContexts zeroed, and page protections reset
//! to the new memory's size. Running out of slots, or a module needing more
//! than a slot holds, is an [`InstantiationError::Resource`] saying which
//! limit was hit.
//!
//! Host-created memories and tables (from the embedding API) are always
//! allocated on demand.
//!
//! The on-demand allocator shares the memory pool's reset: it keeps a few
//! released memory reservations per thread for reuse ([`reservations`]).

mod free_list;
pub mod memories;
pub mod reservations;
pub mod tables;

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use free_list::FreeList;

use hayate_environ::ModuleInfo;

use crate::instance::InstantiationError;
use crate::mmap::{Mmap, round_up_to_page};

pub use memories::MemoryPool;
pub use reservations::ReservationCache;
pub use tables::TablePool;

/// Limits of a pooling allocator. Every slot is reserved up front: address
/// space for all of them, memory only for the pages instances touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolingConfig {
    /// Instances that may be alive at once (across all stores).
    pub max_instances: u32,
    /// Linear memories that may be alive at once.
    pub max_memories: u32,
    /// Tables that may be alive at once.
    pub max_tables: u32,
    /// Memories one instance may define.
    pub max_memories_per_instance: u32,
    /// Tables one instance may define.
    pub max_tables_per_instance: u32,
    /// Largest size of a memory, in 64 KiB pages: its minimum must fit and
    /// it cannot grow past it.
    pub max_memory_pages: u64,
    /// Largest size of a table, in elements.
    pub max_table_elements: u64,
    /// Largest VMContext, in bytes (it grows with the number of functions,
    /// globals, memories and tables of a module).
    pub max_vmctx_size: usize,
    /// Bytes at the start of each linear memory that are reset in place
    /// (zeroed, or rewritten from its image) when its instance is
    /// released, instead of being given back to the kernel; the rest is
    /// given back with `madvise`. Resetting in place costs a `memset` of
    /// this many bytes per instance and keeps the pages resident, and it
    /// spares the TLB-shootdown interrupts every `madvise` that drops pages
    /// sends to the other cores running the process, which otherwise make
    /// instantiation on several threads slower than on one. Rounded down
    /// to the page size.
    pub memory_keep_resident: usize,
}

impl Default for PoolingConfig {
    /// 1000 instances, memories and tables; one memory and one table per
    /// instance; 4 GiB memories; 20 000-element tables; 1 MiB VMContexts;
    /// the first 64 KiB (one Wasm page) of each memory kept resident.
    fn default() -> Self {
        PoolingConfig {
            max_instances: 1000,
            max_memories: 1000,
            max_tables: 1000,
            max_memories_per_instance: 1,
            max_tables_per_instance: 1,
            max_memory_pages: 65536,
            max_table_elements: 20_000,
            max_vmctx_size: 1 << 20,
            memory_keep_resident: 64 << 10,
        }
    }
}

/// How instances get their VMContext, memories and tables.
#[derive(Debug, Clone)]
pub enum InstanceAllocator {
    /// Heap allocations and mappings for each instance, with a few
    /// released memory reservations kept for reuse ([`reservations`]).
    OnDemand(Arc<ReservationCache>),
    /// Slots of a [`PoolingAllocator`].
    Pooling(Arc<PoolingAllocator>),
}

impl InstanceAllocator {
    /// The on-demand allocator, with a reservation cache of its own.
    pub fn on_demand() -> InstanceAllocator {
        InstanceAllocator::OnDemand(Arc::new(ReservationCache::new()))
    }
}

impl Default for InstanceAllocator {
    /// [`InstanceAllocator::on_demand`].
    fn default() -> Self {
        InstanceAllocator::on_demand()
    }
}

/// The pools of a pooling allocator.
#[derive(Debug)]
pub struct PoolingAllocator {
    config: PoolingConfig,
    vmctxs: Arc<SlotRegion>,
    /// The memory pool.
    pub memories: Arc<MemoryPool>,
    /// The table pool.
    pub tables: Arc<TablePool>,
}

impl PoolingAllocator {
    /// Reserves every slot. `bounds_checks` says how compiled code checks
    /// memory bounds (see `MemoryConfig::bounds_checks`), which decides the
    /// size of memory slots.
    pub fn new(
        config: PoolingConfig,
        bounds_checks: hayate_environ::BoundsChecks,
    ) -> io::Result<PoolingAllocator> {
        let vmctx_size = round_up_to_page(config.max_vmctx_size.max(16))
            .ok_or_else(|| io::Error::other("VMContext slot size overflows"))?;
        Ok(PoolingAllocator {
            vmctxs: Arc::new(SlotRegion::new(
                "instance",
                config.max_instances,
                vmctx_size,
            )?),
            memories: Arc::new(MemoryPool::new(&config, bounds_checks)?),
            tables: Arc::new(TablePool::new(&config)?),
            config,
        })
    }

    /// The limits.
    pub fn config(&self) -> &PoolingConfig {
        &self.config
    }

    /// Checks that a module's instances fit in the pools' slots.
    pub fn check_module(
        &self,
        module: &ModuleInfo,
        vmctx_size: usize,
    ) -> Result<(), InstantiationError> {
        let c = &self.config;
        let fail = |what: String| {
            Err(InstantiationError::Resource(format!(
                "pooling allocator: {what}"
            )))
        };
        if module.num_defined_memories() > c.max_memories_per_instance {
            return fail(format!(
                "the module defines {} memories, more than the limit of {} per instance",
                module.num_defined_memories(),
                c.max_memories_per_instance
            ));
        }
        if module.num_defined_tables() > c.max_tables_per_instance {
            return fail(format!(
                "the module defines {} tables, more than the limit of {} per instance",
                module.num_defined_tables(),
                c.max_tables_per_instance
            ));
        }
        if vmctx_size > c.max_vmctx_size {
            return fail(format!(
                "the module's instance state needs {vmctx_size} bytes, more than the limit of {}",
                c.max_vmctx_size
            ));
        }
        Ok(())
    }

    /// Takes a zeroed VMContext slot of at least `size` bytes.
    ///
    /// # Safety
    /// The allocator must outlive the slot, which gives itself back through
    /// a pointer to the allocator's region when dropped.
    pub unsafe fn allocate_vmctx(&self, size: usize) -> Result<VMContextSlot, InstantiationError> {
        if size > self.vmctxs.slot_size {
            return Err(InstantiationError::Resource(format!(
                "pooling allocator: instance state of {size} bytes exceeds the limit of {}",
                self.config.max_vmctx_size
            )));
        }
        let index = self.vmctxs.take()?;
        Ok(VMContextSlot {
            region: NonNull::from(&*self.vmctxs),
            index,
            used: size,
        })
    }
}

/// A region of equal read/write slots with a free list.
#[derive(Debug)]
pub(crate) struct SlotRegion {
    what: &'static str,
    mapping: Mmap,
    slot_size: usize,
    count: u32,
    free: FreeList<u32>,
}

impl SlotRegion {
    fn new(what: &'static str, count: u32, slot_size: usize) -> io::Result<SlotRegion> {
        let len = slot_size
            .checked_mul(count as usize)
            .ok_or_else(|| io::Error::other(format!("{what} pool size overflows")))?;
        Ok(SlotRegion {
            what,
            mapping: Mmap::accessible(len)?,
            slot_size,
            count,
            // Lowest indices on top: reuse stays in the first slots.
            free: FreeList::new((0..count).rev().collect()),
        })
    }

    pub(crate) fn take(&self) -> Result<u32, InstantiationError> {
        self.free.take(0, |_| false).ok_or_else(|| {
            InstantiationError::Resource(format!(
                "pooling allocator: all {} {} slots are in use",
                self.count, self.what
            ))
        })
    }

    pub(crate) fn slot_ptr(&self, index: u32) -> NonNull<u8> {
        assert!(index < self.count);
        // SAFETY: the slot lies inside the mapping (index < count).
        let p = unsafe {
            self.mapping
                .as_mut_ptr()
                .add(index as usize * self.slot_size)
        };
        NonNull::new(p).expect("slot regions are never empty")
    }

    /// Zeroes the first `used` bytes of slot `index` and frees it.
    pub(crate) fn release(&self, index: u32, used: usize) {
        let used = used.min(self.slot_size);
        let start = index as usize * self.slot_size;
        // Clearing in place is cheaper than discarding pages that the next
        // user would fault back in, up to a point.
        let cleared = if used >= 256 * 1024 {
            let len = round_up_to_page(used).expect("inside the slot");
            // SAFETY: the range is page-aligned and inside this slot, which
            // its user has given up. A view, not the owned mapping, so the
            // free list's lock is not needed for exclusive access.
            let mut view = unsafe { Mmap::view(self.mapping.as_mut_ptr().add(start), len) };
            // SAFETY: nothing uses the slot any more.
            unsafe { view.discard(0, len) }.is_ok()
        } else {
            false
        };
        if !cleared {
            // SAFETY: inside the slot, which nothing uses any more.
            unsafe { std::ptr::write_bytes(self.mapping.as_mut_ptr().add(start), 0, used) };
        }
        self.free.put(index);
    }

    /// Slots in use.
    pub(crate) fn in_use(&self) -> usize {
        self.count as usize - self.free.len()
    }
}

/// A VMContext slot; freed (zeroed) when dropped. It points to its region
/// without a reference count, as memory and table slots do: the allocator
/// outlives it (`PoolingAllocator::allocate_vmctx`).
#[derive(Debug)]
pub struct VMContextSlot {
    region: NonNull<SlotRegion>,
    index: u32,
    used: usize,
}

// SAFETY: the region is `Sync` (its free list is behind locks), outlives
// the slot, and the slot's index is this handle's alone.
unsafe impl Send for VMContextSlot {}
// SAFETY: as above; shared handles only read the slot's address.
unsafe impl Sync for VMContextSlot {}

impl VMContextSlot {
    fn region(&self) -> &SlotRegion {
        // SAFETY: the region outlives its slots (`allocate_vmctx`).
        unsafe { self.region.as_ref() }
    }

    /// Start of the slot, 16-byte aligned (slots are page-aligned), zeroed.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.region().slot_ptr(self.index)
    }

    /// Clears only the first `used` bytes when released: the user zeroed
    /// whatever else it wrote.
    pub(crate) fn clear_only(&mut self, used: usize) {
        self.used = self.used.min(used);
    }
}

impl Drop for VMContextSlot {
    fn drop(&mut self) {
        self.region().release(self.index, self.used);
    }
}

impl PoolingAllocator {
    /// Slots in use: (instances, memories, tables). For tests and metrics.
    pub fn slots_in_use(&self) -> (usize, usize, usize) {
        (
            self.vmctxs.in_use(),
            self.memories.in_use(),
            self.tables.in_use(),
        )
    }
}
