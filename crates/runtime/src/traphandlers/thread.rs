//! What trap handling keeps per thread, in one thread-local block, so that
//! entering Wasm costs one thread-local access (in a shared library, such
//! as the SQLite extension, each distinct thread-local is a call to
//! `__tls_get_addr`): the innermost `catch_traps` activation, whether the
//! thread is set up, its stack bounds and its backtrace buffer.
//!
//! The block is const-initialised and has no destructor, so reading it
//! never allocates or registers anything, even in the signal handler, and
//! it lives as long as the thread. The backtrace buffer, which owns memory,
//! lives in a second thread-local that is touched only when a thread is set
//! up and when it exits.

use std::cell::{Cell, UnsafeCell};
use std::ptr;

use super::{CallThreadState, signals};

/// The per-thread block.
pub(super) struct ThreadState {
    /// The innermost `catch_traps` activation on this thread, or null.
    pub(super) current: Cell<*const CallThreadState>,
    /// Whether [`prepare`] ran on this thread.
    ready: Cell<bool>,
    /// This thread's stack as `(lowest, highest)` address, if the platform
    /// tells (set by [`prepare`]).
    pub(super) stack_bounds: Cell<Option<(usize, usize)>>,
    /// The backtrace buffer: PCs the signal handler records, within the
    /// capacity `catch_traps` reserved before entering Wasm. Points into
    /// [`FRAME_BUFFER`] (set by [`prepare`]).
    pub(super) frames: Cell<*mut Vec<usize>>,
}

/// Owner of a thread's backtrace buffer.
struct FrameBuffer(UnsafeCell<Vec<usize>>);

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        // The thread is exiting. Should Wasm still run on it (from another
        // thread-local's destructor), it gets a buffer of its own, leaked.
        THREAD.with(|t| {
            if ptr::eq(t.frames.get(), self.0.get()) {
                t.frames.set(Box::leak(Box::default()));
            }
        });
    }
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            current: Cell::new(ptr::null()),
            ready: Cell::new(false),
            stack_bounds: Cell::new(None),
            frames: Cell::new(ptr::null_mut()),
        }
    };
    static FRAME_BUFFER: FrameBuffer = const { FrameBuffer(UnsafeCell::new(Vec::new())) };
}

/// Runs `f` with this thread's block, set up ([`prepare`]) on first use.
#[inline]
pub(super) fn with_prepared<R>(f: impl FnOnce(&ThreadState) -> R) -> R {
    THREAD.with(|t| {
        if !t.ready.get() {
            prepare(t);
        }
        f(t)
    })
}

/// The innermost `catch_traps` activation on this thread, or null. Safe to
/// call from the signal handler.
#[inline]
pub(super) fn current() -> *const CallThreadState {
    THREAD.with(|t| t.current.get())
}

/// Sets up this thread on its first entry into Wasm: installs the signal
/// handlers and, if needed, an alternate signal stack; finds the stack
/// bounds; ties the backtrace buffer to the block.
#[cold]
#[inline(never)]
fn prepare(t: &ThreadState) {
    signals::per_thread_init();
    t.stack_bounds.set(signals::query_thread_stack_bounds());
    let frames = FRAME_BUFFER
        .try_with(|b| b.0.get())
        .unwrap_or_else(|_| Box::leak(Box::default()));
    t.frames.set(frames);
    t.ready.set(true);
}
