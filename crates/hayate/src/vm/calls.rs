//! Calls across the boundary: the host calling a function (Wasm or host)
//! through the runtime, a host function's body found for its store, and
//! the runtime's unwind reasons turned into this crate's errors.

use hayate_runtime::traphandlers::{Backtrace, UnwindReason};
use hayate_runtime::{HostState, VMRuntimeLimits, VMStore, ValRaw};

use super::FuncRefPtr;
use crate::error::{Error, FrameInfo, Result, WasmBacktrace};
use crate::func::HostBody;
use crate::store::StoreId;

/// The body of host function `host`, called with store `store` of data
/// type `T`.
///
/// Every host state this crate gives the runtime is a `HostBody<_>` made
/// by `Func::new_raw_typed` for the store whose id it records, and a store
/// with a given id is a `StoreInner` of one data type. So a host state
/// whose `owner` is `store` is a `HostBody<T>`. That is checked here with
/// one comparison, in release builds too (a `TypeId` check through `Any`
/// would cost a virtual call on every host call); a mismatch panics.
#[inline]
pub(crate) fn host_body<T: 'static>(host: &HostState, store: StoreId) -> &HostBody<T> {
    let ptr = (host as *const HostState).cast::<HostBody<T>>();
    // SAFETY: `host` is a `HostBody<U>` for some `U` (see above), and
    // `owner` is its first field of a `#[repr(C)]` struct, at offset 0
    // whatever `U` is; reading it needs no knowledge of `U`.
    let owner = unsafe { ptr.cast::<StoreId>().read() };
    assert!(
        owner == store,
        "a host function was called with a store it does not belong to"
    );
    // SAFETY: `owner == store`, so `U` is the data type of store `store`,
    // which is `T`; the state lives as long as the borrow of `host`.
    unsafe { &*ptr }
}

/// Calls `func` with `values` (parameters in, results out).
#[inline(always)]
pub(crate) fn call_raw(
    store: *mut dyn VMStore,
    store_id: StoreId,
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    func: FuncRefPtr,
    values: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: `func` is live (its store id was checked by the caller) and
    // `values` was sized for its signature; `store` is the exclusive borrow
    // of the store the caller holds and does not use during the call.
    unsafe {
        if let Some(host) = hayate_runtime::host_state(func.as_ptr()) {
            return (*store)
                .call_host(host, None, values)
                .map_err(|e| error_of(store_id, e));
        }
        hayate_runtime::invoke(func.as_ptr(), values, limits, max_wasm_stack)
            .map_err(|reason| unwind_to_error(store_id, *reason))
    }
}

/// A host error of a call in store `store`: an uncaught exception becomes
/// a [`ThrownException`](crate::ThrownException), anything else as
/// [`host_error`] says.
fn error_of(store: StoreId, error: hayate_runtime::HostError) -> Error {
    match error.downcast::<hayate_runtime::exceptions::UncaughtException>() {
        Ok(exn) => super::exns::thrown(store, &exn),
        Err(other) => host_error(other),
    }
}

fn unwind_to_error(store: StoreId, reason: UnwindReason) -> Error {
    match reason {
        UnwindReason::Trap { trap, backtrace } => {
            crate::error::with_backtrace(Error::new(trap), convert(backtrace))
        }
        UnwindReason::HostError { error, backtrace } => {
            crate::error::with_backtrace(error_of(store, error), convert(backtrace))
        }
        UnwindReason::Panic(payload) => std::panic::resume_unwind(payload),
    }
}

/// The error a host function of this crate returned (see `Func::new_raw`),
/// back from the runtime, which carries it opaquely.
pub(super) fn host_error(error: hayate_runtime::HostError) -> Error {
    match error.downcast::<Error>() {
        Ok(e) => *e,
        // The runtime's own failures (lazy compilation) are messages.
        Err(other) => match other.downcast::<String>() {
            Ok(message) => Error::msg(*message),
            Err(_) => Error::msg("a host function failed"),
        },
    }
}

fn convert(bt: Backtrace) -> WasmBacktrace {
    WasmBacktrace {
        frames: bt
            .frames
            .into_iter()
            .map(|f| FrameInfo {
                func_index: f.func_index.as_u32(),
                func_name: f.func_name,
                module_name: f.module_name,
                module_offset: f.module_offset,
            })
            .collect(),
    }
}
