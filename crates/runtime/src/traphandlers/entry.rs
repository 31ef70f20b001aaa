//! The ways `catch_traps` enters the code it guards, both through the one
//! helper of `helpers.c` that a trap can jump back out of, which calls a
//! function of the array-call signature: a Rust closure, through a shim of
//! that signature ([`ClosureEntry`], for anything), or an array-call
//! trampoline called directly ([`ArrayEntry`], the host's usual call into
//! Wasm, which needs no closure, no panic catching and no extra frames
//! between).

use std::any::Any;
use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::vmcontext::{ArrayCallFn, VMContext, ValRaw};

unsafe extern "C" {
    /// Saves the callee-saved registers on its own frame, stores the resume
    /// point in `*jmp_buf_out`, calls `entry(callee, caller, values, len)`
    /// and returns 1; returns 0 when `hayate_longjmp` jumps to the resume
    /// point.
    fn hayate_call_with_setjmp(
        jmp_buf_out: *mut *const c_void,
        entry: ArrayCallFn,
        callee: *mut VMContext,
        caller: *mut VMContext,
        values: *mut ValRaw,
        len: usize,
    ) -> c_int;
}

/// How `catch_traps` enters the guarded code.
pub(super) trait Entry {
    /// Runs the code through a helper that stores its resume point in
    /// `*jmp_buf_out`: 1 when it returned, 0 after a jump back.
    ///
    /// # Safety
    /// `jmp_buf_out` is valid for a write; whatever the code requires.
    unsafe fn enter(&mut self, jmp_buf_out: *mut *const c_void) -> c_int;

    /// A panic the code raised, caught before it reached the helper.
    fn take_panic(&mut self) -> Option<Box<dyn Any + Send>>;
}

/// A closure, run with panics caught (they must not unwind into the helper).
pub(super) struct ClosureEntry<'a, F> {
    f: &'a mut F,
    panic: Option<Box<dyn Any + Send>>,
}

impl<'a, F: FnMut()> ClosureEntry<'a, F> {
    pub(super) fn new(f: &'a mut F) -> Self {
        ClosureEntry { f, panic: None }
    }
}

/// Runs the closure of a `ClosureEntry<F>` for `hayate_call_with_setjmp`,
/// with the array-call signature the helper calls: `payload` in the
/// callee's place, the other arguments unused.
///
/// # Safety
/// `payload` must point to a live `ClosureEntry<F>`.
unsafe extern "C" fn call_closure<F: FnMut()>(
    payload: *mut VMContext,
    _: *mut VMContext,
    _: *mut ValRaw,
    _: usize,
) -> u8 {
    // SAFETY: `enter` passes a pointer to itself, which outlives this call
    // and is not otherwise used meanwhile.
    let entry = unsafe { &mut *payload.cast::<ClosureEntry<'_, F>>() };
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (entry.f)())) {
        entry.panic = Some(panic);
    }
    1
}

impl<F: FnMut()> Entry for ClosureEntry<'_, F> {
    unsafe fn enter(&mut self, jmp_buf_out: *mut *const c_void) -> c_int {
        // SAFETY: `self` outlives the call and `call_closure::<F>` matches
        // its type; the caller vouches for the rest.
        unsafe {
            hayate_call_with_setjmp(
                jmp_buf_out,
                call_closure::<F>,
                (self as *mut Self).cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        }
    }

    fn take_panic(&mut self) -> Option<Box<dyn Any + Send>> {
        self.panic.take()
    }
}

/// A call of an array-call trampoline: `entry(callee, caller, values, len)`.
/// Compiled code does not panic, and host functions it calls catch their
/// own panics, so nothing needs catching here.
pub(super) struct ArrayEntry {
    pub(super) entry: ArrayCallFn,
    pub(super) callee: *mut VMContext,
    pub(super) caller: *mut VMContext,
    pub(super) values: *mut ValRaw,
    pub(super) len: usize,
}

impl Entry for ArrayEntry {
    #[inline]
    unsafe fn enter(&mut self, jmp_buf_out: *mut *const c_void) -> c_int {
        // SAFETY: the caller vouches for the trampoline and its arguments.
        unsafe {
            hayate_call_with_setjmp(
                jmp_buf_out,
                self.entry,
                self.callee,
                self.caller,
                self.values,
                self.len,
            )
        }
    }

    #[inline]
    fn take_panic(&mut self) -> Option<Box<dyn Any + Send>> {
        None
    }
}
