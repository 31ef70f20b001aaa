//! Catching traps: running compiled code so that a trap comes back to the
//! host as a [`UnwindReason`] instead of killing the process.
//!
//! # How a trap unwinds
//!
//! Compiled code traps by faulting: `ud2` (SIGILL) for explicit traps, a
//! load or store in a memory's guard region (SIGSEGV/SIGBUS), or a hardware
//! division by zero (SIGFPE). The compiler records the trap code at the
//! faulting instruction's offset (`CompiledModule::traps`).
//!
//! 1. [`catch_traps`] pushes a `CallThreadState` (on its own stack frame)
//!    onto a thread-local chain, then calls `hayate_call_with_setjmp`
//!    (`helpers.c`: a few instructions of assembly on x86_64, `setjmp`
//!    elsewhere; see `entry.rs`), which saves the callee-saved registers on
//!    *its* stack frame, stores the resume point in the state, and calls
//!    either an array-call trampoline directly ([`catch_traps_array`]) or
//!    a shim back into Rust that runs the closure, and so the Wasm code.
//!    Rust cannot call `setjmp` itself (a function that returns twice
//!    breaks the compiler's assumptions); here the helper returns once,
//!    either normally (1) or after a `longjmp` (0), and to Rust it is an
//!    ordinary call that clobbers what the C ABI lets it clobber.
//! 2. On a fault the signal handler (see `signals.rs`) checks that this
//!    thread is inside `catch_traps` and that the faulting PC has a trap
//!    recorded in registered code (`code_memory`'s registry). If so it
//!    records the trap and PC, walks the Wasm frames (below) into a buffer
//!    allocated before entering Wasm, and `longjmp`s to the innermost
//!    `catch_traps`'s buffer. `catch_traps` then builds the error.
//!    Otherwise the fault is passed to the previously installed handler (or
//!    the default action), so faults outside Wasm are never swallowed.
//!
//! The `longjmp` abandons every frame between the helper and the fault
//! without running destructors: the Rust shim that runs the closure and the
//! closure itself (if any), the entry trampoline and the Wasm frames.
//! Compiled code owns nothing that needs dropping; the closure must not
//! hold values with destructors across its call into Wasm (see
//! [`catch_traps`]'s safety section). Host functions called from Wasm never
//! unwind through Wasm frames: they report errors and panics with
//! [`set_pending_host_error`]/[`set_pending_panic`] and return 0, and the
//! wasm-to-array trampoline then traps with `Trap::HostError`. The grow
//! builtins, whose result compiled code does not check, leave Wasm with a
//! store's error by `raise_host_error`: the same `longjmp`, from the
//! builtin's frame, with no backtrace.
//!
//! The signal mask: handlers are installed with `SA_NODEFER` and an empty
//! `sa_mask`, so the mask inside the handler equals the mask at the fault,
//! and a `longjmp` that does not restore the mask (glibc's `setjmp` saves
//! none) leaves it exactly as it was.
//!
//! # Backtraces
//!
//! Compiled code keeps frame pointers: a frame's `[fp]` holds the caller's
//! frame pointer and `[fp + 8]` the return address into the caller. The
//! handler starts at the faulting PC and frame pointer and follows that
//! chain while return addresses lie inside compiled Wasm *functions*; the
//! first return address into a trampoline (the array-to-wasm entry) ends
//! the activation. A trap inside a trampoline (the wasm-to-array
//! trampoline's `HostError` trap) is not itself a frame: the walk starts
//! from its caller.
//!
//! Nested activations (host → Wasm → host → Wasm): before calling the host,
//! a wasm-to-array trampoline stores *its own* frame pointer in
//! `VMRuntimeLimits::last_wasm_exit_fp` and its return address (a PC in the
//! calling Wasm function) in `last_wasm_exit_pc`. Each nested `catch_traps`
//! saves the enclosing activation's exit fp/pc at entry (and restores them
//! at exit, since the inner activation's own host calls overwrite them).
//! When the walk of an activation ends, it continues from the exit frame
//! saved by that activation's `catch_traps`, so one backtrace spans all
//! nested activations. Every frame pointer must lie between the faulting
//! stack pointer and the outermost `catch_traps` frame and increase
//! strictly, which bounds the walk even over stale values.
//!
//! Only raw PCs are recorded in the handler (no allocation, no locks other
//! than the registry's read lock); names and module offsets are looked up
//! after unwinding (`Backtrace::from_pcs`).

mod backtrace;
mod entry;
mod roots;
mod signals;
mod thread;
mod unwind;

pub(crate) use roots::wasm_stack_roots;

pub(crate) use unwind::throw;

use std::any::Any;
use std::cell::Cell;
use std::ffi::c_void;
use std::fmt;
use std::ptr;

use hayate_environ::Trap;

use crate::vmcontext::{ArrayCallFn, VMContext, VMRuntimeLimits, ValRaw};
use entry::{ArrayEntry, ClosureEntry, Entry};

pub use backtrace::{Backtrace, FrameInfo};
pub use signals::init_traps;

unsafe extern "C" {
    /// Jumps to a resume point stored by a helper of `entry.rs`.
    fn hayate_longjmp(jmp_buf: *const c_void) -> !;
    /// Makes the instruction cache coherent with `len` bytes written at `start`.
    fn hayate_flush_icache(start: *mut c_void, len: usize);
}

/// Makes the instruction cache see code just written at `start..start + len`
/// (a no-op on x86_64).
///
/// # Safety
/// `start..start + len` must be mapped.
pub(crate) unsafe fn flush_icache(start: *mut u8, len: usize) {
    // SAFETY: the range is mapped (the caller's promise); the helper only
    // issues cache maintenance for it.
    unsafe { hayate_flush_icache(start.cast(), len) }
}

/// Why a call into Wasm did not return normally.
pub enum UnwindReason {
    /// Compiled code trapped.
    Trap {
        /// The trap code.
        trap: Trap,
        /// Where: the Wasm frames at the trap, innermost first.
        backtrace: Backtrace,
    },
    /// A host function called from Wasm returned an error.
    HostError {
        /// The host function's error.
        error: crate::HostError,
        /// The Wasm frames below the host call, innermost first.
        backtrace: Backtrace,
    },
    /// A host function (or the closure given to [`catch_traps`]) panicked;
    /// resume the panic with `std::panic::resume_unwind`.
    Panic(Box<dyn Any + Send>),
}

impl fmt::Debug for UnwindReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnwindReason::Trap { trap, backtrace } => f
                .debug_struct("Trap")
                .field("trap", trap)
                .field("backtrace", backtrace)
                .finish(),
            UnwindReason::HostError { error, backtrace } => f
                .debug_struct("HostError")
                .field("error", error)
                .field("backtrace", backtrace)
                .finish(),
            UnwindReason::Panic(_) => f.write_str("Panic(..)"),
        }
    }
}

impl fmt::Display for UnwindReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, backtrace): (&dyn fmt::Display, _) = match self {
            UnwindReason::Trap { trap, backtrace } => (trap, backtrace),
            UnwindReason::HostError { backtrace, .. } => (&"a host function failed", backtrace),
            UnwindReason::Panic(_) => return f.write_str("a host function panicked"),
        };
        write!(f, "{what}")?;
        if !backtrace.frames.is_empty() {
            write!(f, "\nwasm backtrace:\n{backtrace}")?;
        }
        Ok(())
    }
}

/// A trap the signal handler recorded.
#[derive(Debug, Clone, Copy)]
struct TrapRecord {
    trap: Trap,
}

/// Something a host function left for [`catch_traps`] to report.
enum Pending {
    Error(crate::HostError),
    Panic(Box<dyn Any + Send>),
}

/// One activation of [`catch_traps`] on this thread. Lives on
/// `catch_traps`'s stack frame; the thread's block (`thread.rs`) points to the
/// innermost one. The signal handler reads it, so everything it touches is
/// a `Cell` or set before Wasm runs.
pub(crate) struct CallThreadState {
    /// The resume point of this activation (set by the `entry.rs` helper).
    jmp_buf: Cell<*const c_void>,
    /// The enclosing activation, or null.
    prev: *const CallThreadState,
    /// The limits of the store this activation runs (may be null).
    limits: *const VMRuntimeLimits,
    /// The enclosing activation's `last_wasm_exit_fp`/`pc` at entry: where
    /// its Wasm frames continue. `None` for the outermost activation.
    prev_exit: Option<(usize, usize)>,
    /// Stack address above every Wasm frame of every activation: a local
    /// of the outermost `catch_traps`.
    stack_top: usize,
    /// The trap the handler recorded before jumping back.
    trap: Cell<Option<TrapRecord>>,
    /// Backtrace buffer: PCs to look up (the trap PC, then return addresses
    /// minus one), filled by the handler within its preallocated capacity.
    /// Shared by all activations of the thread (only the innermost one can
    /// trap at a time).
    frames: *mut Vec<usize>,
    /// A host error or panic to report instead of the plain trap: one
    /// pointer, null on the common path, boxed only when a host call fails.
    pending: Cell<Option<Box<Pending>>>,
}

/// Most frames a backtrace records.
const MAX_FRAMES: usize = 1 << 20;

/// Whether the current thread is inside [`catch_traps`].
pub fn is_in_wasm() -> bool {
    !thread::current().is_null()
}

fn with_current<R>(f: impl FnOnce(&CallThreadState) -> R) -> Option<R> {
    let state = thread::current();
    // SAFETY: a non-null current activation points to the `CallThreadState` on the
    // frame of a `catch_traps` still running on this thread (it resets
    // the current activation before returning).
    (!state.is_null()).then(|| f(unsafe { &*state }))
}

/// Records `error` as the reason the current call into Wasm fails. A host
/// function shim calls this just before returning 0 to its wasm-to-array
/// trampoline; [`catch_traps`] then returns [`UnwindReason::HostError`]
/// with it. Outside [`catch_traps`] the error is dropped.
pub fn set_pending_host_error(error: crate::HostError) {
    with_current(|s| s.pending.set(Some(Box::new(Pending::Error(error)))));
}

/// Like [`set_pending_host_error`] for a caught panic: [`catch_traps`] then
/// returns [`UnwindReason::Panic`] with it.
pub fn set_pending_panic(panic: Box<dyn Any + Send>) {
    with_current(|s| s.pending.set(Some(Box::new(Pending::Panic(panic)))));
}

/// Stack space left below the Wasm stack limit for host code (host
/// functions, builtins, the trampolines' and the trap path's frames) when
/// the thread's stack is smaller than `max_wasm_stack` allows.
const HOST_STACK_RESERVE: usize = 128 * 1024;

/// The stack limit for Wasm entered at `sp`: `max_wasm_stack` below it, but
/// never closer than [`HOST_STACK_RESERVE`] to the end of this thread's
/// stack, so that a thread with a small stack gets a `StackOverflow` trap
/// rather than a fault on its guard page. When even the reserve is not
/// there, the limit is `sp` itself: the first Wasm frame traps.
///
/// When `sp` is not on the thread's stack as the platform reports it (an
/// embedder running on a stack of its own), the configuration is trusted.
#[inline]
fn stack_limit(sp: usize, max_wasm_stack: usize, bounds: Option<(usize, usize)>) -> usize {
    let configured = sp.saturating_sub(max_wasm_stack);
    match bounds {
        Some((low, high)) if (low..=high).contains(&sp) => {
            let floor = low.saturating_add(HOST_STACK_RESERVE);
            configured.max(floor).min(sp)
        }
        _ => configured,
    }
}

/// Runs `f` (which calls into compiled code through a trampoline) and
/// returns `Err` if Wasm trapped, a host function failed or panicked, or
/// `f` panicked.
///
/// On the outermost entry on this thread for `limits`, sets
/// `limits.stack_limit` to the current stack pointer minus `max_wasm_stack`
/// (or higher, leaving 128 KiB for host code, if the thread's stack is
/// smaller than that) and restores it on exit; nested entries (host → Wasm → host → Wasm) keep
/// the limit. Installs the signal handlers ([`init_traps`]) and, if this
/// thread has no big enough alternate signal stack, one of its own.
///
/// # Safety
/// * `limits` is null or points to a `VMRuntimeLimits` valid for the whole
///   call, which only this thread uses meanwhile.
/// * A trap abandons `f` with `longjmp`: the frames between this function
///   and the trapping instruction are discarded without running
///   destructors. So whenever `f` calls into compiled code it must hold no
///   value whose destructor matters (no guards, boxes or borrows it
///   expects to be released); after the call returns normally it may do
///   anything.
/// * The compiled code `f` runs must keep frame pointers and follow the
///   exit-fp/pc protocol described in the module docs, or backtraces will
///   be short (never unsound: every frame pointer is bounds-checked).
pub unsafe fn catch_traps(
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    mut f: impl FnMut(),
) -> Result<(), Box<UnwindReason>> {
    // One thread-local access per call; the first call on a thread also
    // installs the handlers and finds the stack bounds. The closure is
    // passed by reference: moving it copies its captures in wide moves
    // over the narrow stores that wrote them, a store-forwarding stall on
    // every call.
    // SAFETY: the caller's promises, passed on.
    thread::with_prepared(|thread| unsafe {
        catch_traps_on(
            thread,
            limits,
            max_wasm_stack,
            &mut ClosureEntry::new(&mut f),
        )
    })
}

/// [`catch_traps`] for a call of the array-call trampoline `entry` with
/// `callee` and `caller` VMContexts and `len` values at `values`, entered
/// without a closure: the host's usual way into Wasm.
///
/// # Safety
/// As for [`catch_traps`]; `entry` is an array-call trampoline that may
/// be called with these arguments.
#[inline]
pub unsafe fn catch_traps_array(
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    entry: ArrayCallFn,
    callee: *mut VMContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> Result<(), Box<UnwindReason>> {
    let mut entry = ArrayEntry {
        entry,
        callee,
        caller,
        values,
        len,
    };
    // SAFETY: the caller's promises, passed on.
    thread::with_prepared(|thread| unsafe {
        catch_traps_on(thread, limits, max_wasm_stack, &mut entry)
    })
}

/// [`catch_traps`] with this thread's block in hand.
///
/// # Safety
/// As for [`catch_traps`].
#[inline]
unsafe fn catch_traps_on(
    thread: &thread::ThreadState,
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    entry: &mut impl Entry,
) -> Result<(), Box<UnwindReason>> {
    let anchor = 0u8;
    let stack_here = &raw const anchor as usize;
    let prev = thread.current.get();

    // The backtrace buffer is the thread's, shared by nested activations.
    // Only its capacity is checked here (the handler must not allocate);
    // its contents are cleared by the handler when a trap is recorded.
    let frames = thread.frames.get();
    let wanted = (max_wasm_stack / 16).clamp(64, MAX_FRAMES) + 16;
    // SAFETY: `frames` is this thread's buffer, which only the activations
    // of this thread use, and none of them holds a reference to it across
    // this point (the handler only runs inside Wasm).
    unsafe {
        if (*frames).capacity() < wanted {
            reserve_frames(&mut *frames, wanted);
        }
    }

    // SAFETY: the caller guarantees `limits` is null or valid and used only
    // by this thread; `prev` and its chain are live activations.
    let (saved_stack_limit, prev_exit, stack_top) = unsafe {
        let mut outermost_for_limits = !limits.is_null();
        let mut s = prev;
        while !s.is_null() {
            outermost_for_limits &= (*s).limits != limits;
            s = (*s).prev;
        }
        let saved_stack_limit = outermost_for_limits.then(|| {
            let old = *(*limits).stack_limit.get();
            *(*limits).stack_limit.get() =
                stack_limit(stack_here, max_wasm_stack, thread.stack_bounds.get());
            old
        });
        let prev_exit = match prev.as_ref() {
            Some(p) if !p.limits.is_null() => Some((
                *(*p.limits).last_wasm_exit_fp.get(),
                *(*p.limits).last_wasm_exit_pc.get(),
            )),
            _ => None,
        };
        let stack_top = prev.as_ref().map_or(stack_here, |p| p.stack_top);
        (saved_stack_limit, prev_exit, stack_top)
    };

    let state = CallThreadState {
        jmp_buf: Cell::new(ptr::null()),
        prev,
        limits,
        prev_exit,
        stack_top,
        trap: Cell::new(None),
        frames,
        pending: Cell::new(None),
    };
    thread.current.set(&state);
    // SAFETY: `state.jmp_buf` outlives the call. A jump back here only
    // skips frames that `catch_traps`'s contract says may be skipped.
    let returned = unsafe { entry.enter(state.jmp_buf.as_ptr()) };
    thread.current.set(prev);

    // SAFETY: as above for `limits` and `prev`.
    unsafe {
        if let Some(old) = saved_stack_limit {
            *(*limits).stack_limit.get() = old;
        }
        if let (Some((fp, pc)), Some(p)) = (prev_exit, prev.as_ref()) {
            *(*p.limits).last_wasm_exit_fp.get() = fp;
            *(*p.limits).last_wasm_exit_pc.get() = pc;
        }
    }

    let pending = state.pending.take();
    let record = state.trap.get();
    // `pending`, just taken, was the only part of `state` with a
    // destructor; forgetting it spares a call to drop nothing on every call.
    std::mem::forget(state);
    let panic = entry.take_panic();
    if returned != 0 && panic.is_none() {
        return match pending {
            None => Ok(()),
            pending => Err(unwind_reason(None, pending, None)),
        };
    }
    let trap = (returned == 0).then(|| {
        let record = record.expect("trap handler jumped without recording a trap");
        // SAFETY: the handler is done with the buffer; this thread owns it.
        (record.trap, unsafe { &*frames })
    });
    Err(unwind_reason(trap, pending, panic))
}

/// Why a call did not return normally: `trap` is the trap recorded and the
/// frames' PCs, if the handler jumped back; `pending` what a host function
/// left; `panic` a panic of the closure.
#[cold]
#[inline(never)]
fn unwind_reason(
    trap: Option<(Trap, &Vec<usize>)>,
    pending: Option<Box<Pending>>,
    panic: Option<Box<dyn Any + Send>>,
) -> Box<UnwindReason> {
    Box::new(match (trap, pending.map(|p| *p), panic) {
        (Some((_, pcs)), Some(Pending::Error(error)), _) => UnwindReason::HostError {
            error,
            backtrace: Backtrace::from_pcs(pcs),
        },
        (Some(_), Some(Pending::Panic(panic)), _) => UnwindReason::Panic(panic),
        (Some((trap, pcs)), None, _) => UnwindReason::Trap {
            trap,
            backtrace: Backtrace::from_pcs(pcs),
        },
        (None, _, Some(panic)) => UnwindReason::Panic(panic),
        (None, Some(Pending::Error(error)), None) => UnwindReason::HostError {
            error,
            backtrace: Backtrace::default(),
        },
        (None, Some(Pending::Panic(panic)), None) => UnwindReason::Panic(panic),
        (None, None, None) => unreachable!("a call that returned normally is not unwound"),
    })
}

/// Grows the backtrace buffer to hold `wanted` PCs (rarely: once per
/// thread and stack size).
#[cold]
#[inline(never)]
fn reserve_frames(frames: &mut Vec<usize>, wanted: usize) {
    frames.reserve(wanted - frames.len());
}

/// Stops the Wasm code that called a builtin with `error`, as a failed host
/// function would stop it: jumps back to the innermost [`catch_traps`],
/// which returns [`UnwindReason::HostError`] with `error` (and no
/// backtrace). For builtins whose result compiled code does not check for
/// failure (`memory.grow`, `table.grow`) and whose failure must still stop
/// the guest.
///
/// # Safety
/// Only from a builtin called by compiled code on this thread, inside
/// [`catch_traps`]; the builtin's frame (like the Wasm frames it skips) must
/// hold nothing that needs dropping.
pub(crate) unsafe fn raise_host_error(error: crate::HostError) -> ! {
    let state = thread::current();
    // Builtins only run inside `catch_traps`; anything else is a bug that
    // must not continue (and must not unwind into compiled code).
    if state.is_null() {
        std::process::abort();
    }
    // SAFETY: a non-null current activation is this thread's innermost live
    // activation, running the compiled code that called the builtin; the
    // frame buffer is this thread's and unused while Wasm runs. The jump
    // skips only frames the caller vouches for.
    unsafe {
        let state = &*state;
        (*state.frames).clear();
        state.pending.set(Some(Box::new(Pending::Error(error))));
        state.unwind_with_trap(Trap::HostError)
    }
}

/// Leaves Wasm with `trap`, from a builtin (without a backtrace).
///
/// # Safety
/// As for [`raise_host_error`].
pub(crate) unsafe fn raise_trap(trap: Trap) -> ! {
    let state = thread::current();
    if state.is_null() {
        std::process::abort();
    }
    // SAFETY: as in `raise_host_error`.
    unsafe {
        let state = &*state;
        (*state.frames).clear();
        state.unwind_with_trap(trap)
    }
}

impl CallThreadState {
    /// Records `trap` and jumps back to this activation's `catch_traps`.
    ///
    /// # Safety
    /// Only from the signal handler (or [`raise_host_error`]), on the
    /// thread of this activation, while it is the innermost one; the
    /// skipped frames must hold nothing that needs dropping.
    unsafe fn unwind_with_trap(&self, trap: Trap) -> ! {
        self.trap.set(Some(TrapRecord { trap }));
        // SAFETY: `jmp_buf` was set by the entry helper, whose frame
        // is still live (this activation is running); the caller vouches for
        // the frames being skipped.
        unsafe { hayate_longjmp(self.jmp_buf.get()) }
    }
}
