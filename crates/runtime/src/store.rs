//! `VMStore`: the one up-call interface from the runtime to the embedding
//! layer. Every instance's VMContext points to its store through it, so that
//! builtins and host functions reach the store's data, its resource
//! limiter, its fuel and epoch policy, and the host functions it defined.
//!
//! The runtime never knows what a host function *is*: a [`HostFunc`]
//! carries an opaque [`HostState`] the embedding layer made, and calling
//! it means handing that state back to the store ([`VMStore::call_host`]),
//! whose concrete type knows what to do with it.
//!
//! [`HostFunc`]: crate::host_func::HostFunc

use std::any::Any;

use crate::vmcontext::ValRaw;

/// The error host functions and store up-calls return: opaque to the
/// runtime, which only carries it back to the embedding layer that made it
/// (and downcasts it to its own error type there).
pub type HostError = Box<dyn Any + Send + Sync>;

/// What the embedding layer keeps for one host function (its body, its
/// signature, ...). The runtime owns it inside a `HostFunc` and only lends
/// it back to [`VMStore::call_host`]; it is never mutated while lent.
pub type HostState = dyn Any + Send + Sync;

/// The embedding layer's store, as the runtime sees it.
pub trait VMStore: Any {
    /// Calls the host function described by `host`, which this store made
    /// (host functions are only reachable from the instances of the store
    /// that defined them). `caller` is the id of the calling instance when
    /// Wasm calls it, `None` when the host calls it directly; `values`
    /// holds the arguments on entry and must hold the results on return.
    /// An error stops the Wasm caller with it.
    fn call_host(
        &mut self,
        host: &HostState,
        caller: Option<usize>,
        values: &mut [ValRaw],
    ) -> Result<(), HostError>;

    /// A memory wants to grow from `current` to `desired` bytes (`maximum`
    /// is the most it may ever have). Returning `false` makes the growth fail
    /// (`memory.grow` returns -1).
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool;

    /// A memory growth that `memory_growing` allowed failed (`reason`
    /// says why: past the maximum, or the system refused the memory).
    /// `Ok` lets it fail as usual (`memory.grow` returns -1); an error
    /// stops the Wasm caller with it, as a failed host function does.
    fn memory_grow_failed(&mut self, reason: &str) -> Result<(), HostError> {
        let _ = reason;
        Ok(())
    }

    /// Like `memory_grow_failed`, for a table growth `table_growing` allowed.
    fn table_grow_failed(&mut self, reason: &str) -> Result<(), HostError> {
        let _ = reason;
        Ok(())
    }

    /// Whether engine type `actual` is a subtype of `expected` (the
    /// engine's type registry answers).
    fn is_subtype(
        &self,
        actual: hayate_environ::VMSharedTypeIndex,
        expected: hayate_environ::VMSharedTypeIndex,
    ) -> bool;

    /// Calls `f` with every word of the store's storage that may hold a
    /// GC reference: the globals and tables of every instance and of the
    /// host, the payloads of exceptions, and the objects the host holds
    /// handles on. Missing one would let the collector free a live object.
    fn gc_roots(&mut self, f: &mut dyn FnMut(usize));

    /// Where the references are in objects of engine type `type_id`.
    fn gc_layout(&self, type_id: u32) -> crate::gc::GcLayout;

    /// The store's GC heap.
    fn gc_heap(&mut self) -> &mut crate::gc::GcHeap;

    /// The store's exception objects.
    fn exceptions(&mut self) -> &mut crate::exceptions::ExceptionHeap;

    /// Compiled code ran out of fuel. Return `true` after adding fuel to
    /// continue, `false` to trap with `OutOfFuel`.
    fn out_of_fuel(&mut self) -> bool;

    /// Compiled code reached the store's epoch deadline. Return `Ok(true)`
    /// after moving the deadline to continue, `Ok(false)` to trap with
    /// `Interrupt`, or an error to stop with that error.
    fn epoch_deadline_reached(&mut self) -> Result<bool, HostError>;
}
