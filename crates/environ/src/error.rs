//! Errors produced while decoding, validating or compiling a module.

use thiserror::Error;

/// A module failed to decode or validate.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{message} (at offset {offset:#x})")]
pub struct WasmError {
    /// What is wrong with the module, as `wasmparser` describes it.
    pub message: String,
    /// Byte offset in the module where the problem was found.
    pub offset: u64,
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        WasmError {
            message: e.message().to_string(),
            offset: e.offset(),
        }
    }
}

/// Compilation of a module failed.
#[derive(Debug, Error, Clone)]
pub enum CompileError {
    /// The module is malformed or invalid.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The module uses something Hayate does not implement yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The code generator failed.
    #[error("code generation failed: {0}")]
    Codegen(String),
}
