//! Wasm backtraces: recording raw PCs in the signal handler by walking frame
//! pointers, and turning them into named frames afterwards.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hayate_environ::{FuncIndex, Trap};

use super::CallThreadState;
use super::signals::Registers;
use crate::code_registry::{CodeMeta, RegistryView, lookup_meta, with_registry};

/// A Wasm stack trace, innermost frame first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backtrace {
    /// The frames, innermost first.
    pub frames: Vec<FrameInfo>,
}

/// One Wasm frame of a [`Backtrace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The function's index in its module's function index space
    /// (imports first).
    pub func_index: FuncIndex,
    /// The function's name from the name section.
    pub func_name: Option<String>,
    /// The module's name from the name section.
    pub module_name: Option<String>,
    /// Byte offset in the module of the instruction executing (the trapping
    /// one in the innermost frame, a call in the others), if known.
    pub module_offset: Option<u32>,
}

impl fmt::Display for FrameInfo {
    /// `0x1a2 - module!func`, with `<unknown>` and `<wasm function N>` for
    /// what is missing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.module_offset {
            Some(offset) => write!(f, "{offset:#x} - ")?,
            None => write!(f, "<unknown> - ")?,
        }
        f.write_str(self.module_name.as_deref().unwrap_or("<unknown>"))?;
        match &self.func_name {
            Some(name) => write!(f, "!{name}"),
            None => write!(f, "!<wasm function {}>", self.func_index.as_u32()),
        }
    }
}

impl fmt::Display for Backtrace {
    /// One frame a line: `  0: 0x1a2 - module!func`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{i:>3}: {frame}")?;
        }
        Ok(())
    }
}

impl Backtrace {
    /// Symbolizes recorded PCs (each inside a compiled Wasm function or a
    /// call adapter: the trap PC or a return address minus one). PCs in
    /// call adapters, which are no Wasm frames, and PCs no longer in
    /// loaded code are skipped; a PC in inlined code is a frame for each
    /// function inlined there. Each distinct PC is looked up once (the
    /// maps are read from the start, and a deep recursion repeats a few
    /// PCs a million times).
    pub(crate) fn from_pcs(pcs: &[usize]) -> Backtrace {
        let mut frames = Vec::with_capacity(pcs.len());
        let mut last: Option<Arc<CodeMeta>> = None;
        let mut seen: HashMap<usize, Vec<FrameInfo>> = HashMap::new();
        for &pc in pcs {
            if let Some(known) = seen.get(&pc) {
                frames.extend_from_slice(known);
                continue;
            }
            let meta = match last.take() {
                Some(meta) if meta.contains_pc(pc) => meta,
                _ => match lookup_meta(pc) {
                    Some(meta) => meta,
                    None => continue,
                },
            };
            let info = meta.info();
            let at_pc: Vec<FrameInfo> = meta
                .frames_at_pc(pc)
                .into_iter()
                .map(|(func_index, module_offset)| FrameInfo {
                    func_index,
                    func_name: info.func_names.get(&func_index).cloned(),
                    module_name: info.name.clone(),
                    module_offset,
                })
                .collect();
            frames.extend_from_slice(&at_pc);
            seen.insert(pc, at_pc);
            last = Some(meta);
        }
        Backtrace { frames }
    }
}

/// The signal handler's question: is this fault a Wasm trap? If registered
/// code records a trap at exactly `regs.pc`, that is the trap. Otherwise,
/// a memory fault by a Wasm function within [`STACK_FAULT_BELOW`] bytes
/// below or a page above its own stack pointer is a `StackOverflow`: code
/// that probes its frame page by page before checking the stack limit (the
/// LLVM tier's prologues) meets the thread's guard page there when a frame
/// is larger than the stack left, and nothing else a Wasm function
/// addresses (linear memory, tables, the VMContext) lies next to its stack
/// pointer. Any other memory fault in a function compiled with
/// `guard_page_faults` is `MemoryOutOfBounds`: such code reaches nothing
/// that faults but its linear memories' guard regions (tables and the
/// VMContext are always mapped, and table accesses are checked). On a
/// trap, records the backtrace into `state`'s buffer. Holds
/// the registry's read lock only while it runs; neither allocates nor
/// frees.
///
/// # Safety
/// Only from the signal handler, with `state` this thread's innermost
/// activation, `regs` the interrupted registers and `fault_address` the
/// address a SIGSEGV or SIGBUS faulted at.
pub(super) unsafe fn handle_fault(
    state: &CallThreadState,
    regs: Registers,
    fault_address: Option<usize>,
) -> Option<Trap> {
    with_registry(|reg| {
        let code = reg.find(regs.pc)?;
        let trap = code.trap_at_pc(regs.pc).or_else(|| {
            let address = fault_address?;
            let near_sp = address >= regs.sp.saturating_sub(STACK_FAULT_BELOW)
                && address < regs.sp.saturating_add(STACK_FAULT_ABOVE);
            if near_sp && reg.is_wasm_code(regs.pc) {
                Some(Trap::StackOverflow)
            } else {
                code.guard_page_faults_at_pc(regs.pc)
                    .then_some(Trap::MemoryOutOfBounds)
            }
        })?;
        // SAFETY: per this function's contract.
        unsafe { record_frames(reg, state, regs) };
        Some(trap)
    })
    .flatten()
}

/// How far below the stack pointer a fault still counts as a stack
/// overflow: a `push` or `call` writes 8 bytes below it, a leaf function
/// may use the 128-byte red zone.
const STACK_FAULT_BELOW: usize = 256;

/// How far above the stack pointer a fault still counts as a stack
/// overflow: after probing whole pages a prologue allocates the rest of
/// its frame, less than a page, without probing, and the function body
/// touches it first.
const STACK_FAULT_ABOVE: usize = 4096;

/// Records the PCs of the Wasm frames at a trap, innermost first, across
/// nested activations (see the parent module's docs).
///
/// # Safety
/// As for [`handle_fault`].
unsafe fn record_frames(reg: &RegistryView<'_>, state: &CallThreadState, regs: Registers) {
    // SAFETY: the buffer belongs to this thread's outermost activation and
    // nobody else touches it while Wasm runs; pushes stay within capacity,
    // so nothing is allocated.
    let frames = unsafe { &mut *state.frames };
    frames.clear();
    let mut push = |pc: usize| {
        if frames.len() < frames.capacity() {
            frames.push(pc);
        }
    };
    // A trap inside a trampoline (the wasm-to-array trampoline's HostError)
    // is not a Wasm frame; the walk below starts from its caller either way.
    if reg.is_wasm_code(regs.pc) {
        push(regs.pc);
    }
    let mut walk = Walk {
        reg,
        min_fp: regs.sp,
        stack_top: state.stack_top,
    };
    // SAFETY: the bounds in `walk` keep every read on this thread's stack.
    unsafe { walk.follow(regs.fp, &mut push) };
    let mut activation = state;
    while let Some((exit_fp, _exit_pc)) = activation.prev_exit {
        // The enclosing activation's wasm-to-array trampoline frame: its
        // return address is the PC in the Wasm function that called the host.
        // SAFETY: as above.
        unsafe { walk.follow(exit_fp, &mut push) };
        // SAFETY: `prev_exit` is only set when there is an enclosing
        // activation, which is live (it is waiting for this one).
        activation = unsafe { &*activation.prev };
    }
}

/// A bounded frame-pointer walk (backtraces, and the unwinder's search
/// for a handler).
pub(super) struct Walk<'a, 'r> {
    pub(super) reg: &'a RegistryView<'r>,
    /// Lowest address the next frame record may start at: frame records
    /// must lie above the faulting stack pointer and strictly increase.
    pub(super) min_fp: usize,
    /// Highest address (exclusive) a frame record may end at: the
    /// outermost `catch_traps` frame.
    pub(super) stack_top: usize,
}

impl Walk<'_, '_> {
    /// The frame record at `fp`: its caller's frame pointer and its return
    /// address, if the record is in bounds and returns into a Wasm
    /// function; `None` ends the walk.
    ///
    /// # Safety
    /// `min_fp..stack_top` must be mapped, readable memory of this thread's
    /// stack.
    pub(super) unsafe fn step(&mut self, fp: usize) -> Option<(usize, usize)> {
        let in_bounds = fp >= self.min_fp
            && fp.is_multiple_of(std::mem::align_of::<usize>())
            && fp.checked_add(16).is_some_and(|end| end <= self.stack_top);
        if !in_bounds {
            return None;
        }
        // SAFETY: `fp..fp + 16` lies inside `min_fp..stack_top`, which the
        // caller promises is readable, and is aligned.
        let (caller_fp, return_address) =
            unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if return_address == 0 || !self.reg.is_wasm_code(return_address - 1) {
            return None;
        }
        self.min_fp = fp + 16;
        Some((caller_fp, return_address))
    }

    /// Follows the chain from the frame record at `fp`: records each return
    /// address (minus one) that lies in a Wasm function, and stops at the
    /// first that does not or at a frame pointer out of bounds.
    ///
    /// # Safety
    /// `min_fp..stack_top` must be mapped, readable memory of this thread's
    /// stack.
    unsafe fn follow(&mut self, mut fp: usize, push: &mut impl FnMut(usize)) {
        // SAFETY: the caller's promise.
        while let Some((caller_fp, return_address)) = unsafe { self.step(fp) } {
            push(return_address - 1);
            fp = caller_fp;
        }
    }
}
