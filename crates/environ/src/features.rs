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
    /// WebAssembly 3.0 (adds exception handling, tail calls, typed
    /// function references, GC, memory64, multi-memory, extended constant
    /// expressions and relaxed SIMD), as far as Hayate implements it: see
    /// [`wasm3`].
    V3,
}

/// The validator feature set for `version`, or, for `None`, every feature
/// Hayate implements.
pub fn features_for(version: Option<SpecVersion>) -> WasmFeatures {
    match version {
        Some(SpecVersion::V1) => WasmFeatures::WASM1,
        Some(SpecVersion::V2) => WasmFeatures::WASM2,
        Some(SpecVersion::V3) => wasm3() & implemented(),
        None => implemented(),
    }
}

/// The features of WebAssembly 3.0. `wasmparser`'s `WASM3` also has
/// threads, which 3.0 does not.
pub fn wasm3() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::GC
        | WasmFeatures::MEMORY64
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::RELAXED_SIMD
}

/// Every feature the compiler and runtime implement today. A module that
/// needs anything else is rejected by the validator with a clear message.
/// While WebAssembly 3.0 lands proposal by proposal, its proposals join
/// this set one at a time.
pub fn implemented() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MEMORY64
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::GC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_nest_and_stay_within_what_is_implemented() {
        let v1 = features_for(Some(SpecVersion::V1));
        let v2 = features_for(Some(SpecVersion::V2));
        let v3 = features_for(Some(SpecVersion::V3));
        assert!(v2.contains(v1) && v3.contains(v2));
        assert!(implemented().contains(v3));
        // Every proposal of WebAssembly 3.0 is implemented.
        assert_eq!(v3, wasm3());
        assert!(!wasm3().contains(WasmFeatures::THREADS));
    }
}
