//! Which WebAssembly features a spec version means, and what Hayate implements.

use wasmparser::WasmFeatures;

/// A version of the WebAssembly specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// WebAssembly 1.0 (MVP plus mutable-global import/export).
    V1,
    /// WebAssembly 2.0 (adds bulk memory, reference types, multi-value,
    /// sign extension, non-trapping conversions and SIMD).
    V2,
}

/// The validator feature set for `version`, or, for `None`, every feature
/// Hayate implements.
pub fn features_for(version: Option<SpecVersion>) -> WasmFeatures {
    match version {
        Some(SpecVersion::V1) => WasmFeatures::WASM1,
        Some(SpecVersion::V2) => WasmFeatures::WASM2,
        None => implemented(),
    }
}

/// Every feature the compiler and runtime implement today. A module that
/// needs anything else is rejected by the validator with a clear message.
pub fn implemented() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY
}
