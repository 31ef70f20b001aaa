//! Resource limits: the `ResourceLimiter` hook a store consults before any
//! memory or table grows and before instances, memories and tables are
//! created, and `StoreLimits`, a ready-made limiter with byte and count caps.

use crate::error::{Error, Result};

/// Decides whether memories and tables may grow, and how many instances,
/// memories and tables a store may hold.
pub trait ResourceLimiter: Send {
    /// A memory wants to grow from `current` to `desired` bytes; `maximum`
    /// is its declared limit. Return `false` (or an error) to refuse: the
    /// guest's `memory.grow` then returns -1, or instantiation fails.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> Result<bool>;

    /// Growing a memory, which [`ResourceLimiter::memory_growing`]
    /// allowed, failed: the growth went past the memory's maximum (which
    /// `memory_growing` was told), or the system refused the memory.
    /// `error` says which.
    ///
    /// Return `Ok(())` (the default) to let the growth fail as usual: the
    /// guest's `memory.grow` returns -1 and `Memory::grow` fails. Return an
    /// error to make it a trap instead: the guest stops, and the host call
    /// into Wasm returns this error as is (without a `WasmBacktrace`: the
    /// frames of a growth are not recorded); `Memory::grow` returns it.
    fn memory_grow_failed(&mut self, error: Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// Growing a table, which [`ResourceLimiter::table_growing`] allowed,
    /// failed (past its maximum). Return values as for
    /// [`ResourceLimiter::memory_grow_failed`].
    fn table_grow_failed(&mut self, error: Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// Most tables (defined by instances or created by the host).
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// Most memories (defined by instances or created by the host).
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
}

/// Default cap on instances per store.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// Default cap on tables per store.
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// Default cap on memories per store.
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// A limiter with fixed caps, built with [`StoreLimitsBuilder`].
#[derive(Debug, Clone)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<u64>,
    instances: usize,
    tables: usize,
    memories: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool> {
        Ok(self.memory_size.is_none_or(|limit| desired <= limit))
    }

    fn table_growing(&mut self, _current: u64, desired: u64, _max: Option<u64>) -> Result<bool> {
        Ok(self.table_elements.is_none_or(|limit| desired <= limit))
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

/// Builds a [`StoreLimits`].
#[derive(Debug, Clone, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits beyond the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most bytes any one linear memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// Most elements any one table may have.
    pub fn table_elements(mut self, elements: u64) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// Most instances in the store.
    pub fn instances(mut self, n: usize) -> Self {
        self.0.instances = n;
        self
    }

    /// Most tables in the store.
    pub fn tables(mut self, n: usize) -> Self {
        self.0.tables = n;
        self
    }

    /// Most memories in the store.
    pub fn memories(mut self, n: usize) -> Self {
        self.0.memories = n;
        self
    }

    /// The limiter.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// What to do when a store's epoch deadline is reached, as returned by an
/// epoch deadline callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDeadline {
    /// Keep running, with a new deadline this many ticks from now.
    Continue(u64),
}
