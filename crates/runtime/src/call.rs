//! Calling into compiled code from the host through a function's array-call
//! entry, inside `catch_traps`.

use crate::traphandlers::{UnwindReason, catch_traps_array};
use crate::vmcontext::{ArrayCallFn, VMFuncRef, VMRuntimeLimits, ValRaw};

/// Lazy compilation: compiles the function of `func_ref`, which has no
/// code yet, before the host calls it.
///
/// # Safety
/// As for [`invoke`].
#[cold]
unsafe fn compile_lazily(func_ref: *mut VMFuncRef) -> Result<(), Box<UnwindReason>> {
    // SAFETY: guaranteed by the caller.
    unsafe { crate::lazy::ensure_compiled(func_ref) }.map_err(|e| {
        Box::new(UnwindReason::HostError {
            error: Box::new(format!("lazy compilation failed: {e}")),
            backtrace: Default::default(),
        })
    })
}

/// Calls `func_ref` with `values` holding its parameters; on return `values`
/// holds its results.
///
/// # Safety
/// `func_ref` must be a live function reference of the store whose limits
/// are `limits`, with an array-call entry; `values` must have room for
/// max(params, results) values of its signature, with the parameters of the
/// right types; the store must not be used except through Wasm during the call.
#[inline]
pub unsafe fn invoke(
    func_ref: *const VMFuncRef,
    values: &mut [ValRaw],
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
) -> Result<(), Box<UnwindReason>> {
    // SAFETY: guaranteed by the caller; `array_call` has the array-call ABI.
    unsafe {
        if (*func_ref).array_call.is_null() {
            compile_lazily(func_ref.cast_mut())?;
        }
        let f = *func_ref;
        assert!(!f.array_call.is_null(), "function has no array-call entry");
        let entry: ArrayCallFn = std::mem::transmute::<*const u8, ArrayCallFn>(f.array_call);
        catch_traps_array(
            limits,
            max_wasm_stack,
            entry,
            f.vmctx,
            f.vmctx,
            values.as_mut_ptr(),
            values.len(),
        )
    }
}
