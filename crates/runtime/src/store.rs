//! `VMStore`: the one up-call interface from the runtime to the embedding
//! layer. Every instance's VMContext points to its store through it, so that
//! builtins and host functions reach the store's data, its resource limiter
//! and (later) its fuel and epoch policy.

use std::any::Any;

/// The embedding layer's store, as the runtime sees it.
pub trait VMStore: Any {
    /// The store as `Any`, so the embedding layer can recover its own type.
    fn as_any_mut(&mut self) -> &mut dyn Any;

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
    fn memory_grow_failed(&mut self, reason: &str) -> Result<(), crate::HostError> {
        let _ = reason;
        Ok(())
    }

    /// Like `memory_grow_failed`, for a table growth `table_growing` allowed.
    fn table_grow_failed(&mut self, reason: &str) -> Result<(), crate::HostError> {
        let _ = reason;
        Ok(())
    }

    /// Compiled code ran out of fuel. Return `true` after adding fuel to
    /// continue, `false` to trap with `OutOfFuel`.
    fn out_of_fuel(&mut self) -> bool;

    /// Compiled code reached the store's epoch deadline. Return `Ok(true)`
    /// after moving the deadline to continue, `Ok(false)` to trap with
    /// `Interrupt`, or an error to stop with that error.
    fn epoch_deadline_reached(&mut self) -> Result<bool, crate::HostError>;
}
