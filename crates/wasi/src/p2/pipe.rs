//! Where Wasmtime keeps its in-memory pipes (`p2::pipe`), so that code
//! naming them by that path compiles: the pipes of [`crate::pipe`].

pub use crate::pipe::{MemoryInputPipe, MemoryOutputPipe};
