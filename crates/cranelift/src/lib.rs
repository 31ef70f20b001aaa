//! Hayate's compiler: translates validated WebAssembly function bodies to
//! Cranelift IR and compiles them to native code for the host.
//!
//! The entry point is [`Compiler`]. It produces a
//! [`CompiledModule`](hayate_environ::CompiledModule): one text section
//! holding every defined function (in defined-index order), then the
//! array-to-wasm entry trampolines of escaping functions, then one
//! wasm-to-array trampoline per type. Calls between functions of the module
//! are already resolved; only float libcall relocations may remain.
//!
//! The code follows the calling conventions and VMContext layout of
//! `hayate_environ::VMOffsets`; see `DESIGN.md` for the overall picture.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod abi;
mod compiler;
mod inspect;
mod link;
mod parallel;
mod settings;
mod trampolines;
mod translate;
mod traps;

pub use compiler::Compiler;
pub use hayate_environ::BoundsChecks;
pub use settings::{CompilerSettings, OptLevel};
