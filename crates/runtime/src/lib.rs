//! Hayate's runtime: everything that touches raw memory. Code memory (mmap,
//! W^X), linear memories with guard pages, tables, the VMContext,
//! instantiation, trap handling with signals, and the builtins compiled code
//! calls. This is the only crate of Hayate with `unsafe` code; every unsafe
//! block says why it holds.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod vmcontext;

pub use vmcontext::{
    ValRaw, VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMHostFuncContext,
    VMMemoryDefinition, VMRuntimeLimits, VMTableDefinition,
};
