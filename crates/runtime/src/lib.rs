//! Hayate's runtime: everything that touches raw memory. Code memory (mmap,
//! W^X), linear memories with guard pages, tables, the VMContext,
//! instantiation, trap handling with signals, and the builtins compiled code
//! calls. This is the only crate of Hayate with `unsafe` code; every unsafe
//! block says why it holds.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod call;
pub mod code_memory;
pub mod cow;
pub mod host_func;
pub mod instance;
pub mod lazy_table;
pub mod libcalls;
pub mod memory;
pub mod mmap;
pub mod perfmap;
pub mod pooling;
pub mod store;
pub mod table;
pub mod traphandlers;
pub mod vmcontext;

pub use call::invoke;
pub use code_memory::{CodeLookup, CodeMemory, lookup_code, lookup_code_memory};
pub use host_func::{HostCallback, HostError, HostFunc, host_callback};
pub use instance::{
    Export, ExportMemory, ExportTable, Imports, Instance, InstantiationError, ModuleRuntimeInfo,
    StoreContext,
};
pub use libcalls::{grow_memory, grow_table};
pub use memory::{LinearMemory, MemoryConfig, MemoryError};
pub use mmap::{Mmap, page_size};
pub use pooling::{InstanceAllocator, PoolingAllocator, PoolingConfig};
pub use store::VMStore;
pub use table::{Table, TableElement};
pub use traphandlers::{
    Backtrace, FrameInfo, UnwindReason, catch_traps, init_traps, is_in_wasm,
    set_pending_host_error, set_pending_panic,
};
pub use vmcontext::{
    VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMHostFuncContext,
    VMMemoryDefinition, VMRuntimeLimits, VMTableDefinition, ValRaw,
};
