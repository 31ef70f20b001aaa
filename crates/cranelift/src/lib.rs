//! Hayate's compiler: translates validated WebAssembly function bodies to
//! Cranelift IR and compiles them to native code for the host.
//!
//! The entry point is [`Compiler`], which implements the engine's compiler
//! seam, [`hayate_environ::Compiler`]: it turns one function or trampoline
//! into a backend-neutral [`CompiledBody`](hayate_environ::CompiledBody),
//! and a whole module into a
//! [`CompiledModule`](hayate_environ::CompiledModule) by compiling every
//! job in parallel and handing the bodies to the shared linker
//! (`hayate_environ::link`): every defined function (in defined-index
//! order), then the array-to-wasm entry trampolines of escaping functions,
//! then one wasm-to-array trampoline per type.
//!
//! The code follows the calling conventions and VMContext layout of
//! `hayate_environ::VMOffsets`; see `DESIGN.md` for the overall picture.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod abi;
mod body;
mod compiler;
mod inspect;
mod parallel;
mod settings;
mod trampolines;
mod translate;
mod traps;

pub use compiler::Compiler;
pub use hayate_environ::{BoundsChecks, Compiler as CompilerSeam, Tunables};
pub use settings::{CompilerSettings, OptLevel};
