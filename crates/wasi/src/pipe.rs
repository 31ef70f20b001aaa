//! In-memory standard streams under Wasmtime's names:
//! [`MemoryInputPipe`] for a guest's stdin and [`MemoryOutputPipe`] (with
//! a capacity) for its stdout or stderr. They are [`ReadPipe`] and
//! [`WritePipe`] underneath, and the builder's `stdin`/`stdout`/`stderr`
//! take either.

use crate::stdio::{ReadPipe, WritePipe};

/// A guest's stdin that yields fixed bytes, then end of file.
#[derive(Clone)]
pub struct MemoryInputPipe(ReadPipe);

impl MemoryInputPipe {
    /// A pipe that yields `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> MemoryInputPipe {
        MemoryInputPipe(ReadPipe::from_bytes(bytes))
    }
}

impl From<MemoryInputPipe> for ReadPipe {
    fn from(pipe: MemoryInputPipe) -> ReadPipe {
        pipe.0
    }
}

/// A guest's stdout or stderr collected in memory, up to `capacity` bytes
/// (a write past it is short, and a write to a full pipe fails with
/// `nospc`). Clones share the same buffer: keep one to read the output.
#[derive(Clone)]
pub struct MemoryOutputPipe(WritePipe);

impl MemoryOutputPipe {
    /// A pipe that keeps at most `capacity` bytes.
    pub fn new(capacity: usize) -> MemoryOutputPipe {
        MemoryOutputPipe(WritePipe::new_in_memory_with_capacity(capacity))
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.contents()
    }

    /// The bytes written so far, consuming the pipe.
    pub fn try_into_inner(self) -> Option<Vec<u8>> {
        Some(self.0.contents())
    }
}

impl From<MemoryOutputPipe> for WritePipe {
    fn from(pipe: MemoryOutputPipe) -> WritePipe {
        pipe.0
    }
}
