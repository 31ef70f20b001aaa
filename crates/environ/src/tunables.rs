//! The settings that change what compiled code assumes about its runtime,
//! defined once: the compiler reads them to decide which checks to emit,
//! the runtime lays memories out to match, the public `Config` chooses
//! them, and the artifact header records them (as fields, never parsed
//! out of text) so a loader refuses code made for other ones.

/// How accesses to 32-bit linear memories are kept inside the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoundsChecks {
    /// Reserve 8 GiB of address space per 32-bit memory and let the guard
    /// region fault: no checks in compiled code, and the signal handler
    /// turns the fault into a trap (the default on 64-bit hosts).
    GuardPages,
    /// Check every access against the memory's current length; memories
    /// reserve only what they use.
    Explicit,
}

impl Default for BoundsChecks {
    /// [`BoundsChecks::host_default`].
    fn default() -> Self {
        BoundsChecks::host_default()
    }
}

impl BoundsChecks {
    /// The default: guard pages where there is the address space for them
    /// (64-bit hosts), explicit checks elsewhere.
    pub const fn host_default() -> BoundsChecks {
        if cfg!(target_pointer_width = "64") {
            BoundsChecks::GuardPages
        } else {
            BoundsChecks::Explicit
        }
    }

    /// Whether 32-bit memories rely on guard pages.
    pub const fn guard_pages(self) -> bool {
        matches!(self, BoundsChecks::GuardPages)
    }
}

/// Every setting the generated code depends on besides the target and the
/// code generator's own optimisation flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunables {
    /// How memory accesses are kept in bounds.
    pub bounds_checks: BoundsChecks,
    /// Charge fuel per operator and call the `OutOfFuel` builtin when it
    /// runs out.
    pub consume_fuel: bool,
    /// Check the epoch deadline at function entries and loop headers.
    pub epoch_interruption: bool,
    /// Functions are compiled on first call, not at load: calls between a
    /// module's functions go through per-function entries reached from the
    /// VMContext (`VMOffsets::lazy_entries`), and calls through function
    /// references check for a missing entry, asking the runtime to compile
    /// the callee (the `LazyCompile*` builtins).
    pub lazy_compilation: bool,
}
