//! A stand-in for runwasi's `containerd-shim-wasm-test-modules` 0.4.1,
//! which `containerd-shim-wasm`'s `testing` feature depends on and
//! re-exports as `testing::modules`. Its build script compiles some of its
//! test modules from Rust with `rustc --target=wasm32-wasi`, a target this
//! toolchain does not have (nor, under that name, any current one), so the
//! feature cannot be built with it here. The harness itself uses none of
//! the modules; the shim's tests bring their own, in the text format.

#![forbid(unsafe_code)]

/// A test module: its source text, if any, and its binary.
pub struct TestModule {
    /// The source the binary was built from.
    pub source: Option<&'static str>,
    /// The module's bytes.
    pub bytes: &'static [u8],
}

impl AsRef<[u8]> for TestModule {
    fn as_ref(&self) -> &[u8] {
        self.bytes
    }
}
