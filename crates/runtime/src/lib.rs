//! Hayate's runtime: everything that touches raw memory. Code memory (mmap,
//! W^X), linear memories with guard pages, tables, the VMContext,
//! instantiation, trap handling with signals, and the builtins compiled code
//! calls. This is the only crate of Hayate with `unsafe` code; every unsafe
//! block says why it holds.
//!
//! # Resource bounds
//!
//! A guest may make the host spend what its limits grant (the store's
//! `ResourceLimiter`, the pooling slots, `max_wasm_stack`), and memory and
//! time in proportion to the size of its module, and nothing in proportion
//! to a number it chose. Concretely:
//!
//! - **Memories** reserve address space, not memory: pages become resident
//!   only when touched; data segments are a sparse copy-on-write image
//!   ([`cow`]), so a segment at a high offset costs its own bytes.
//!   `memory.grow` is admitted by the limiter before anything is mapped;
//!   with explicit bounds checks a memory that outgrows its reservation is
//!   moved by copying its current (granted) bytes.
//! - **Tables** come from zeroed pages ([`table`]): declaring ten million
//!   elements costs address space until elements are written. A table has
//!   at most [`table::MAX_TABLE_ELEMENTS`] elements whatever its type says,
//!   and its creation and growth are admitted by the limiter. Lazy tables
//!   ([`lazy_table`]) keep an image of at most twice the elements their
//!   segments place plus 4096, so a segment far into a huge table costs its
//!   own size; sparser tables are written eagerly.
//! - **Bulk operations** (`memory.fill/copy/init`, `table.fill/copy/init`)
//!   check their whole range first, with lengths that cannot wrap, then
//!   touch only that range: no host buffer in between, and `table.init`
//!   evaluates only the elements it copies.
//! - **Stack**: Wasm may use `max_wasm_stack` bytes below the entry, but
//!   never the last 128 KiB of the thread's stack (kept for host functions
//!   and the trap path); a thread too small for that traps at the first
//!   Wasm call (see `traphandlers::stack_limit`). Signal handlers run on
//!   an alternate stack of their own.
//! - **Traps** record at most a bounded number of frames, in a buffer
//!   sized before entering Wasm; the handler never allocates.
//!
//! Host-side loops that one guest instruction starts (a bulk operation, a
//! growth) run to completion: an epoch deadline or fuel stops the guest
//! at its next check, after the instruction.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod builtins;
pub mod call;
pub mod code_arena;
pub mod code_memory;
pub mod code_registry;
pub mod cow;
pub mod exceptions;
pub mod gc;
pub mod host_func;
pub mod instance;
pub mod isolate;
pub mod late_code;
pub mod lazy;
pub mod lazy_table;
pub mod libcalls;
pub mod memory;
pub mod mmap;
mod pagemap;
pub mod perfmap;
pub mod pooling;
pub mod store;
pub mod table;
pub mod traphandlers;
pub mod type_registry;
pub mod vmcontext;

pub use builtins::{grow_memory, grow_table};
pub use call::invoke;
pub use code_memory::CodeMemory;
pub use code_registry::{CodeLookup, lookup_code, lookup_code_memory};
pub use host_func::{HostFunc, host_state};
pub use instance::{
    ExportMemory, ExportTable, Imports, Instance, InstantiationError, ModuleRuntimeInfo,
    ReplaceCodeError, VMExport, VMStoreContext,
};
pub use late_code::LateCode;
pub use memory::{LinearMemory, MemoryConfig, MemoryError};
pub use mmap::{Mmap, page_size};
pub use pooling::{InstanceAllocator, PoolingAllocator, PoolingConfig};
pub use store::{HostError, HostState, VMStore};
pub use table::{Table, TableElement};
pub use traphandlers::{
    Backtrace, FrameInfo, UnwindReason, catch_traps, catch_traps_array, init_traps, is_in_wasm,
    set_pending_host_error, set_pending_panic,
};
pub use type_registry::TypeRegistry;
pub use vmcontext::{
    VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMHostFuncContext,
    VMMemoryDefinition, VMRuntimeLimits, VMTableDefinition, VMTagDefinition, ValRaw,
};
