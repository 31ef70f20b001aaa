//! Host functions: a Rust callback behind a `VMHostFuncContext`, callable
//! from compiled code through a wasm-to-array trampoline and through the
//! array calling convention.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::instance::Instance;
use crate::store::VMStore;
use crate::traphandlers::{set_pending_host_error, set_pending_panic};
use crate::vmcontext::{VMContext, VMFuncRef, VMHostFuncContext, ValRaw};

/// The error host callbacks return: opaque to the runtime, which only
/// carries it back to the embedding layer that made it (and downcasts it
/// to its own error type there).
pub type HostError = Box<dyn Any + Send + Sync>;

/// A host callback: receives the store, the calling instance's id (if called
/// from Wasm) and the argument array, which it overwrites with the results.
pub type HostCallback =
    dyn Fn(&mut dyn VMStore, Option<usize>, &mut [ValRaw]) -> Result<(), HostError> + Send + Sync;

/// A host function owned by a store.
pub struct HostFunc {
    ctx: Box<VMHostFuncContext>,
    callback: Box<Box<HostCallback>>,
}

// SAFETY: the context only holds pointers into this `HostFunc`'s own boxes
// and code pointers; the callback itself is `Send + Sync`.
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
    /// Wraps `callback` as a function of engine-wide type `type_id`.
    pub fn new(type_id: u32, callback: Box<HostCallback>) -> HostFunc {
        let mut callback = Box::new(callback);
        let mut ctx = Box::new(VMHostFuncContext {
            magic: VMHostFuncContext::MAGIC,
            array_call: host_array_call,
            func_ref: VMFuncRef {
                wasm_call: std::ptr::null(),
                array_call: host_array_call as *const u8,
                vmctx: std::ptr::null_mut(),
                type_id,
            },
            host_state: (&mut *callback as *mut Box<HostCallback>).cast::<c_void>(),
        });
        ctx.func_ref.vmctx = (&mut *ctx as *mut VMHostFuncContext).cast();
        HostFunc { ctx, callback }
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

    /// Calls the callback directly from the host.
    pub fn call(&self, store: &mut dyn VMStore, values: &mut [ValRaw]) -> Result<(), HostError> {
        (self.callback)(store, None, values)
    }
}

/// If `func_ref` is a host function, its callback.
///
/// # Safety
/// `func_ref` must point to a live `VMFuncRef` whose `vmctx` is either an
/// instance VMContext or a `VMHostFuncContext`, and the returned reference
/// must not outlive the function's owner.
pub unsafe fn host_callback<'a>(func_ref: *const VMFuncRef) -> Option<&'a HostCallback> {
    // SAFETY: the caller guarantees `func_ref` is live; both kinds of vmctx
    // start with a u32 magic number.
    unsafe {
        let ctx = (*func_ref).vmctx.cast::<VMHostFuncContext>();
        if (*ctx).magic != VMHostFuncContext::MAGIC {
            return None;
        }
        Some(&**(*ctx).host_state.cast::<Box<HostCallback>>())
    }
}

/// The array-call entry of every host function.
///
/// # Safety
/// Called only by compiled code (or `invoke`) with `callee` a live
/// `VMHostFuncContext`, `caller` a live instance VMContext, and `values`
/// valid for `len` slots.
unsafe extern "C" fn host_array_call(
    callee: *mut VMContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u8 {
    // SAFETY: per this function's contract; the store pointer in the
    // caller's VMContext is live for as long as the instance is, and the
    // embedding layer lent the store to this Wasm call.
    let result = unsafe {
        let ctx = callee.cast::<VMHostFuncContext>();
        let callback = &**(*ctx).host_state.cast::<Box<HostCallback>>();
        let values = std::slice::from_raw_parts_mut(values, len);
        let instance = Instance::from_vmctx(caller);
        let caller_id = instance.id();
        let store = &mut *instance.store_ptr();
        catch_unwind(AssertUnwindSafe(|| {
            callback(store, Some(caller_id), values)
        }))
    };
    match result {
        Ok(Ok(())) => 1,
        Ok(Err(error)) => {
            set_pending_host_error(error);
            0
        }
        Err(panic) => {
            set_pending_panic(panic);
            0
        }
    }
}
