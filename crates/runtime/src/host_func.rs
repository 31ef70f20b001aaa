//! Host functions: an embedding layer's [`HostState`] behind a
//! `VMHostFuncContext`, callable from compiled code through a wasm-to-array
//! trampoline and from the host through the array calling convention.
//!
//! Calling one always goes through the store: the host entry reads the
//! store from the *caller's* VMContext and hands it the function's state
//! ([`VMStore::call_host`]), so the runtime has a single up-call interface
//! and never needs to know what a host function is.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use hayate_environ::VMSharedTypeIndex;

use crate::exceptions::UncaughtException;
use crate::instance::Instance;
use crate::store::{HostState, VMStore};
use crate::traphandlers::{set_pending_host_error, set_pending_panic};
use crate::vmcontext::{VMContext, VMFuncRef, VMHostFuncContext, ValRaw};

/// A host function owned by a store.
pub struct HostFunc {
    ctx: Box<VMHostFuncContext>,
    /// What `ctx.host_state` points to; boxed twice so the context holds a
    /// thin pointer, and never moved or mutated while the function lives.
    state: Box<Box<HostState>>,
}

// SAFETY: the context only holds pointers into this `HostFunc`'s own boxes
// and code pointers; the state itself is `Send + Sync`.
unsafe impl Send for HostFunc {}
// SAFETY: as above.
unsafe impl Sync for HostFunc {}

impl std::fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFunc")
            .field("type_id", &self.ctx.func_ref.type_id)
            .finish()
    }
}

impl HostFunc {
    /// A host function of engine-wide type `type_id` whose calls go to the
    /// store with `state` ([`VMStore::call_host`]).
    pub fn new(type_id: VMSharedTypeIndex, state: Box<HostState>) -> HostFunc {
        let state = Box::new(state);
        let host_state = (&*state as *const Box<HostState>)
            .cast::<c_void>()
            .cast_mut();
        let mut ctx = Box::new(VMHostFuncContext {
            magic: VMHostFuncContext::MAGIC,
            array_call: host_array_call,
            func_ref: VMFuncRef {
                wasm_call: std::ptr::null(),
                array_call: host_array_call as *const u8,
                vmctx: std::ptr::null_mut(),
                type_id: type_id.as_u32(),
                defined_index: 0,
            },
            host_state,
        });
        ctx.func_ref.vmctx = (&mut *ctx as *mut VMHostFuncContext).cast();
        HostFunc { ctx, state }
    }

    /// This function as a function reference. Valid while `self` lives.
    pub fn func_ref(&mut self) -> *mut VMFuncRef {
        &mut self.ctx.func_ref
    }

    /// Sets the Wasm-convention entry (a wasm-to-array trampoline of this
    /// function's type), so the function can be called from a table.
    pub fn set_wasm_call(&mut self, wasm_call: *const u8) {
        self.ctx.func_ref.wasm_call = wasm_call;
    }

    /// The embedding layer's state of this function.
    pub fn state(&self) -> &HostState {
        &**self.state
    }
}

/// If `func_ref` is a host function, its state (to call it directly
/// through [`VMStore::call_host`], without a trampoline).
///
/// # Safety
/// `func_ref` must point to a live `VMFuncRef` whose `vmctx` is either an
/// instance VMContext or a `VMHostFuncContext`, and the returned reference
/// must not outlive the function's owner.
#[inline]
pub unsafe fn host_state<'a>(func_ref: *const VMFuncRef) -> Option<&'a HostState> {
    // SAFETY: the caller guarantees `func_ref` is live; both kinds of vmctx
    // start with a u32 magic number, and a host function context's
    // `host_state` points to its `HostFunc`'s boxed state.
    unsafe {
        let ctx = (*func_ref).vmctx.cast::<VMHostFuncContext>();
        if (*ctx).magic != VMHostFuncContext::MAGIC {
            return None;
        }
        Some(&**(*ctx).host_state.cast::<Box<HostState>>())
    }
}

/// The array-call entry of every host function.
///
/// # Safety
/// Called only by compiled code (or `invoke`) with `callee` a live
/// `VMHostFuncContext`, `caller` a live instance VMContext of the store
/// that made the function, and `values` valid for `len` slots.
unsafe extern "C" fn host_array_call(
    callee: *mut VMContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u8 {
    // SAFETY: per this function's contract. The calling instance is only
    // read (its id) and its borrow ends before the store is borrowed; the
    // store pointer in the caller's VMContext is live for as long as the
    // instance is, and the embedding layer lent the store to this Wasm
    // call. The state is immutable and owned by a `HostFunc` the store
    // keeps alive, outside the store's own bytes.
    let result = unsafe {
        let ctx = callee.cast::<VMHostFuncContext>();
        let state: &HostState = &**(*ctx).host_state.cast::<Box<HostState>>();
        let values = std::slice::from_raw_parts_mut(values, len);
        let (caller_id, store) = {
            let instance = &*Instance::from_vmctx(caller);
            (instance.id(), instance.store_ptr())
        };
        let store: &mut dyn VMStore = &mut *store;
        catch_unwind(AssertUnwindSafe(|| {
            store.call_host(state, Some(caller_id), values)
        }))
    };
    match result {
        Ok(Ok(())) => 1,
        Ok(Err(error)) => {
            if let Some(exn) = error.downcast_ref::<UncaughtException>().map(|u| u.0) {
                drop(error);
                // The host function threw a Wasm exception: it goes on
                // into the calling Wasm frames, from the wasm-to-array
                // trampoline, which stored its frame pointer as the
                // store's last exit from Wasm before calling.
                // SAFETY: the caller is a live instance whose limits are
                // the running store's; nothing on this frame needs
                // dropping any more, and the exception is the store's.
                unsafe {
                    let limits = (*Instance::from_vmctx(caller)).limits();
                    let fp = *(*limits).last_wasm_exit_fp.get();
                    crate::traphandlers::throw(exn, fp)
                }
            }
            set_pending_host_error(error);
            0
        }
        Err(panic) => {
            set_pending_panic(panic);
            0
        }
    }
}
