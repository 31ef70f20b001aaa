//! WASIp1 under the names a Wasmtime embedder uses: `p1::WasiP1Ctx` (the
//! context in the store's data) and `p1::add_to_linker_sync`, built with
//! [`crate::WasiCtxBuilder::build_p1`]. With these (and
//! [`crate::pipe`]), a program written against `wasmtime_wasi`'s
//! preview1 API compiles against `hayate_wasi` with the crate name changed.

use hayate::Linker;

use crate::WasiCtx;

/// The WASIp1 state of one guest (Hayate's [`WasiCtx`]).
pub type WasiP1Ctx = WasiCtx;

/// Adds every `wasi_snapshot_preview1` function to `linker`; `f` finds the
/// guest's context in the store's data (see [`crate::add_to_linker`]).
pub fn add_to_linker_sync<T: 'static>(
    linker: &mut Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiP1Ctx + Copy + Send + Sync + 'static,
) -> hayate::Result<()> {
    crate::add_to_linker(linker, f)
}
