//! Throwing an exception: finding the handler in the Wasm frames of the
//! current activation and resuming there, or leaving the activation with
//! the exception as its error (see ARCHITECTURE.md, "Unwinding").
//!
//! The walk follows frame pointers from the throwing frame, bounded as a
//! backtrace is ([`Walk`](super::backtrace)): each return address into a
//! Wasm function is looked up in its module's exception table. A call
//! site there (a `try_call` in a `try_table`) lists its handlers in the
//! order they are tried, their tags as tag indices of the calling
//! instance, whose vmctx the call site keeps on its stack. The first
//! handler whose tag is the exception's (tags compare by identity) or
//! that catches all wins: the stack and frame pointers are set to the
//! calling frame's, and execution jumps to the handler with the exception
//! in the first payload register. The callee frames in between are
//! discarded; `try_call` sites keep no value in a register across the
//! call, so nothing needs restoring.
//!
//! A return address outside Wasm functions (the activation's entry
//! trampoline) ends the search: the exception leaves the activation like
//! a host error, as an [`UncaughtException`], through `catch_traps`.

use std::ptr::NonNull;

use hayate_environ::TagIndex;

use super::backtrace::Walk;
use super::thread;
use crate::code_registry::{RegistryView, with_registry};
use crate::exceptions::{UncaughtException, VMException};
use crate::instance::Instance;
use crate::vmcontext::VMContext;

/// Where a throw resumes: a handler, and the frame it runs in.
struct Resume {
    pc: usize,
    sp: usize,
    fp: usize,
}

/// Throws `exn` from the frame whose frame pointer is `fp` (a Wasm
/// function that has no handler for it itself, or the wasm-to-array
/// trampoline of a host function that threw). Never returns.
///
/// # Safety
/// Only from a builtin called by that frame, on this thread, inside
/// [`catch_traps`](super::catch_traps); `exn` must be a live exception
/// object of the running store; the builtin's frames, like the Wasm frames
/// skipped, must hold nothing that needs dropping.
pub(crate) unsafe fn throw(exn: NonNull<VMException>, fp: usize) -> ! {
    let state = thread::current();
    // Builtins only run inside `catch_traps`: anything else is a bug that
    // must not continue.
    if state.is_null() {
        std::process::abort();
    }
    // SAFETY: the current activation is live (it runs the caller); the
    // exception is live (the caller's promise).
    let resume = unsafe {
        let stack_top = (*state).stack_top;
        let tag = exn.as_ref().tag;
        with_registry(|reg| find_handler(reg, tag, fp, stack_top)).flatten()
    };
    match resume {
        // SAFETY: the handler's frame is live below the skipped ones, and
        // the exception is passed as its payload as the handler expects.
        Some(resume) => unsafe { resume_at(resume, exn.as_ptr() as usize) },
        // SAFETY: per this function's contract; the host gets a handle on
        // the exception, so it must never be reused.
        None => unsafe {
            (*exn.as_ptr()).escaped = 1;
            super::raise_host_error(Box::new(UncaughtException(exn)))
        },
    }
}

/// The first handler for an exception of `tag` in the Wasm frames above
/// the frame at `fp`, in this activation.
///
/// # Safety
/// `fp` must be a frame of this thread's stack below `stack_top`, whose
/// callers up to the activation's entry are Wasm frames or trampolines
/// keeping frame pointers.
unsafe fn find_handler(
    reg: &RegistryView<'_>,
    tag: *const crate::vmcontext::VMTagDefinition,
    mut fp: usize,
    stack_top: usize,
) -> Option<Resume> {
    let mut walk = Walk {
        reg,
        min_fp: fp,
        stack_top,
    };
    loop {
        // SAFETY: `fp..stack_top` is this thread's live stack (the
        // caller's promise).
        let (caller_fp, return_address) = unsafe { walk.step(fp) }?;
        let meta = reg.find(return_address - 1)?;
        let offset = u32::try_from(return_address - meta.start).ok()?;
        if let Some(site) = meta.compiled.exceptions.lookup(offset) {
            let sp = caller_fp.checked_sub(site.frame_offset as usize)?;
            // SAFETY: the call site keeps its vmctx at this offset from its
            // stack pointer (the compiler's exception table says so), in
            // the caller's live frame.
            let vmctx = unsafe { *((sp + site.vmctx_sp_offset as usize) as *const *mut VMContext) };
            // SAFETY: the vmctx of the live instance running the caller.
            let instance = unsafe { &*Instance::from_vmctx(vmctx) };
            let catches = |t: Option<TagIndex>| match t {
                None => true,
                Some(t) => std::ptr::eq(instance.tag(t), tag),
            };
            if let Some(h) = site.handlers.iter().find(|h| catches(h.tag)) {
                return Some(Resume {
                    pc: meta.start + h.target as usize,
                    sp,
                    fp: caller_fp,
                });
            }
        }
        fp = caller_fp;
    }
}

/// Jumps to `resume.pc` with the stack and frame pointers of its frame and
/// `payload` in the first exception payload register.
///
/// # Safety
/// `resume` must describe a live frame of this thread and a handler of a
/// call site of that frame, and every frame below it must be discardable.
#[cfg(target_arch = "x86_64")]
unsafe fn resume_at(resume: Resume, payload: usize) -> ! {
    // SAFETY: per the contract; Cranelift's exception ABI on x86-64 passes
    // the payload in `rax` (and a second one, unused, in `rdx`) and
    // expects no other register restored.
    unsafe {
        std::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) resume.sp,
            fp = in(reg) resume.fp,
            pc = in(reg) resume.pc,
            in("rax") payload,
            in("rdx") 0usize,
            options(noreturn),
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn resume_at(_resume: Resume, _payload: usize) -> ! {
    // Hayate runs compiled code on x86-64 only.
    std::process::abort()
}
