//! How compiled code and the runtime keep linear-memory accesses in
//! bounds: one definition shared by the compiler (which emits checks or
//! not), the runtime (which lays memories out to match), the public
//! `Config` and the artifact header (which records what the code assumes).

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
