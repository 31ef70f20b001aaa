//! Where Wasmtime keeps its in-memory pipes (`p2::pipe`), so that code
//! naming them by that path compiles. WASI 0.2 itself is not implemented
//! yet; these are the preview1 pipes of [`crate::pipe`].

/// [`crate::pipe`] under Wasmtime's path.
pub mod pipe {
    pub use crate::pipe::{MemoryInputPipe, MemoryOutputPipe};
}
