//! The POSIX signal handler that turns faults in compiled code into traps,
//! and the per-thread alternate signal stack it runs on.
//!
//! [`init_traps`] installs one handler for SIGSEGV, SIGBUS, SIGILL and
//! SIGFPE with `SA_SIGINFO | SA_ONSTACK | SA_NODEFER` and an empty mask,
//! remembering the handlers it replaces. On a signal the handler reads the
//! faulting PC, frame pointer and stack pointer from the `ucontext`; if this
//! thread is inside `catch_traps` and registered code records a trap at
//! exactly that PC, or a Wasm function faulted on its own stack (see
//! [`super::backtrace::handle_fault`]), it records the backtrace and
//! `longjmp`s back (see the parent module). Anything else goes to the previous handler: called
//! directly if there was one (for example the Rust runtime's stack overflow
//! reporter), otherwise the previous disposition is restored and the fault
//! re-executes (or, for a signal sent by a process, is raised again), so the
//! process dies exactly as it would have without Hayate.
//!
//! Register access is implemented for Linux on x86_64 and aarch64. On other
//! targets the handler never recognises a trap and always passes the signal
//! on, so traps in compiled code there terminate the process.

use std::cell::{RefCell, UnsafeCell};
use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Once;

use crate::mmap::{Mmap, page_size, round_up_to_page};

/// The signals compiled code traps with.
const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers `init_traps` replaced, indexed like `SIGNALS`.
struct PreviousHandlers(UnsafeCell<[MaybeUninit<libc::sigaction>; 4]>);

// SAFETY: each slot is written once, inside `init_traps`'s `Once`, before
// the handler that reads it is installed; afterwards it is only read.
unsafe impl Sync for PreviousHandlers {}

static PREVIOUS: PreviousHandlers = PreviousHandlers(UnsafeCell::new([MaybeUninit::uninit(); 4]));

/// Installs the trap signal handlers, once per process. Later calls do
/// nothing. `catch_traps` calls it; call it earlier to install the handlers
/// before other code installs its own.
pub fn init_traps() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        for (i, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: `PREVIOUS` is only written here, under the `Once`,
            // and read by `handle_signal` only after the handler for this
            // signal is installed below. The new action is fully
            // initialised (zeroed, then the handler, flags and empty mask).
            unsafe {
                let slot = (*PREVIOUS.0.get())[i].as_mut_ptr();
                if libc::sigaction(signal, ptr::null(), slot) != 0 {
                    panic!(
                        "sigaction({signal}) failed: {}",
                        std::io::Error::last_os_error()
                    );
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handle_signal as HandlerFn as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, ptr::null_mut()) != 0 {
                    panic!(
                        "sigaction({signal}) failed: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
        }
    });
}

type HandlerFn = unsafe extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);

/// The registers the handler needs from the interrupted context.
#[derive(Debug, Clone, Copy)]
pub(super) struct Registers {
    /// Program counter of the faulting instruction.
    pub pc: usize,
    /// Frame pointer.
    pub fp: usize,
    /// Stack pointer.
    pub sp: usize,
}

/// Reads the registers from a signal handler's `ucontext_t`.
///
/// # Safety
/// `context` must be the third argument of an `SA_SIGINFO` handler.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn registers(context: *mut c_void) -> Option<Registers> {
    // SAFETY: the kernel passes a valid `ucontext_t` (caller's promise).
    let gregs = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    Some(Registers {
        pc: gregs[libc::REG_RIP as usize] as usize,
        fp: gregs[libc::REG_RBP as usize] as usize,
        sp: gregs[libc::REG_RSP as usize] as usize,
    })
}

/// Reads the registers from a signal handler's `ucontext_t`.
///
/// # Safety
/// `context` must be the third argument of an `SA_SIGINFO` handler.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn registers(context: *mut c_void) -> Option<Registers> {
    // SAFETY: the kernel passes a valid `ucontext_t` (caller's promise).
    let mcontext = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext };
    Some(Registers {
        pc: mcontext.pc as usize,
        fp: mcontext.regs[29] as usize,
        sp: mcontext.sp as usize,
    })
}

/// Register access is not implemented for this target: no trap is ever
/// recognised.
///
/// # Safety
/// Always safe; `unsafe` only to match the implemented targets.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
unsafe fn registers(_context: *mut c_void) -> Option<Registers> {
    None
}

/// The signal handler.
///
/// # Safety
/// Only the kernel calls it, as an `SA_SIGINFO` handler.
unsafe extern "C" fn handle_signal(
    signal: c_int,
    info: *mut libc::siginfo_t,
    context: *mut c_void,
) {
    let state = super::thread::current();
    if !state.is_null() {
        // SAFETY: a non-null current activation is this thread's innermost live
        // activation; `context` comes from the kernel.
        unsafe {
            let state = &*state;
            if !state.jmp_buf.get().is_null()
                && let Some(regs) = registers(context)
                && let Some(trap) =
                    super::backtrace::handle_fault(state, regs, memory_fault_address(signal, info))
            {
                // Nothing on this frame needs dropping: `handle_fault`
                // released the registry lock before returning.
                state.unwind_with_trap(trap);
            }
        }
    }
    // SAFETY: forwarding the kernel's arguments unchanged.
    unsafe { chain(signal, info, context) }
}

/// The address a SIGSEGV or SIGBUS faulted at; `None` for other signals,
/// whose `si_addr` is not a data address.
///
/// # Safety
/// `info` is the kernel's `siginfo_t` for `signal`.
unsafe fn memory_fault_address(signal: c_int, info: *mut libc::siginfo_t) -> Option<usize> {
    if signal != libc::SIGSEGV && signal != libc::SIGBUS {
        return None;
    }
    // SAFETY: for these signals the kernel fills `si_addr` (caller's promise).
    Some(unsafe { (*info).si_addr() } as usize)
}

/// Passes a signal that is not a Wasm trap to the handler `init_traps`
/// replaced.
///
/// # Safety
/// Only from `handle_signal`, with its arguments.
unsafe fn chain(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let Some(i) = SIGNALS.iter().position(|&s| s == signal) else {
        return;
    };
    // SAFETY: the slot was written before this handler was installed.
    let previous = unsafe { &*(*PREVIOUS.0.get())[i].as_ptr() };
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // SAFETY: restoring the action that was installed before ours;
            // `info` is the kernel's `siginfo_t`.
            unsafe {
                libc::sigaction(signal, previous, ptr::null_mut());
                // A fault re-executes on return and meets the restored
                // action; a signal sent by a process (si_code <= 0) would
                // not, so send it again.
                if (*info).si_code <= 0 {
                    libc::raise(signal);
                }
            }
        }
        handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous handler was installed with SA_SIGINFO,
            // so it has this signature; it gets the kernel's arguments.
            unsafe {
                let handler = std::mem::transmute::<usize, HandlerFn>(handler);
                handler(signal, info, context);
            }
        }
        handler => {
            // SAFETY: a handler installed without SA_SIGINFO takes the
            // signal number only.
            unsafe {
                let handler = std::mem::transmute::<usize, extern "C" fn(c_int)>(handler);
                handler(signal);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Alternate signal stacks.

/// Smallest alternate signal stack the handler is given: the Rust runtime's
/// default (`SIGSTKSZ`, often 8 KiB) is too tight for a handler that walks
/// stacks and may call the previous handler.
pub(super) const MIN_ALT_STACK: usize = 64 * 1024;

/// An alternate signal stack this module installed, with a guard page below.
struct AltStack {
    /// Owns the memory; unmapped after `drop` disabled the stack.
    _mmap: Mmap,
    stack: *mut u8,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: querying and disabling this thread's alternate stack; the
        // mapping is unmapped (by `mmap`'s drop) only after it is no longer
        // the alternate stack. A thread exiting is not running a handler.
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(ptr::null(), &mut current) == 0
                && current.ss_sp.cast::<u8>() == self.stack
                && current.ss_flags & libc::SS_DISABLE == 0
            {
                let disable = libc::stack_t {
                    ss_sp: ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: MIN_ALT_STACK,
                };
                libc::sigaltstack(&disable, ptr::null_mut());
            }
        }
    }
}

thread_local! {
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Makes sure this thread has an alternate signal stack of at least
/// [`MIN_ALT_STACK`] bytes, installing one (freed at thread exit) if not.
/// Best effort: if memory cannot be had, the handler runs on the thread's
/// own stack, which works for every trap but a fault caused by the stack
/// itself overflowing. Also installs the process's handlers
/// ([`init_traps`]). Called once per thread, by `thread::prepare`.
pub(super) fn per_thread_init() {
    init_traps();
    // SAFETY: an all-zero `stack_t` is valid; `sigaltstack` fills it.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: querying this thread's alternate stack.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return;
    }
    let enabled = current.ss_flags & libc::SS_DISABLE == 0;
    if (enabled && current.ss_size >= MIN_ALT_STACK) || current.ss_flags & libc::SS_ONSTACK != 0 {
        return;
    }
    let guard = page_size();
    let Some(size) = round_up_to_page(MIN_ALT_STACK) else {
        return;
    };
    let Ok(mut mmap) = Mmap::reserve(guard + size) else {
        return;
    };
    // SAFETY: `guard..guard + size` is page-aligned and inside the fresh
    // mapping; the page below stays inaccessible as a guard.
    if unsafe { mmap.make_accessible(guard, size) }.is_err() {
        return;
    }
    // SAFETY: `guard` is inside the mapping.
    let stack = unsafe { mmap.as_mut_ptr().add(guard) };
    let new = libc::stack_t {
        ss_sp: stack.cast(),
        ss_flags: 0,
        ss_size: size,
    };
    // SAFETY: `stack..stack + size` is read/write memory owned by the
    // `AltStack` stored below, which lives until the thread exits and
    // disables the alternate stack before unmapping it.
    if unsafe { libc::sigaltstack(&new, ptr::null_mut()) } != 0 {
        return;
    }
    let alt = AltStack { _mmap: mmap, stack };
    // If the thread is already exiting and its locals are gone, the closure
    // is dropped unrun, and `alt` with it: disabled, then unmapped.
    let _ = ALT_STACK.try_with(|slot| *slot.borrow_mut() = Some(alt));
}

// ---------------------------------------------------------------------------
// Thread stack bounds.

/// This thread's stack as `(lowest, highest)` address (the lowest
/// including any guard page), if the platform tells.
pub(super) fn query_thread_stack_bounds() -> Option<(usize, usize)> {
    platform_stack_bounds().filter(|&(low, high)| low != 0 && low < high)
}

#[cfg(target_os = "linux")]
fn platform_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is
    // read and destroyed after; the out-pointers are valid locals.
    unsafe {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut addr: *mut c_void = ptr::null_mut();
        let mut size: usize = 0;
        let rc = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        let low = addr as usize;
        (rc == 0).then_some((low, low.checked_add(size)?))
    }
}

#[cfg(not(target_os = "linux"))]
fn platform_stack_bounds() -> Option<(usize, usize)> {
    None
}
