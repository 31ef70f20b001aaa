//! The collector's roots on the stack: the references the Wasm frames of
//! this thread keep alive across their calls, read from each frame's
//! stack map (`hayate_environ::stack_maps`) while walking the frames as a
//! backtrace does ([`Walk`]), across nested activations.
//!
//! The walk starts at the frame record of the innermost activation's last
//! exit (`VMRuntimeLimits::last_wasm_exit_fp`), which the GC allocation
//! builtins' entries record exactly as a wasm-to-host trampoline does
//! (`gc::builtins`): its caller is the Wasm frame that is allocating.
//! Each Wasm frame is stopped at a call, whose return address names the
//! stack map: the slots at those offsets from the frame's stack pointer
//! (its frame pointer minus the map's frame size) hold its references.
//! Frames of host code and trampolines hold none: the host's handles are
//! pinned, and trampolines only pass values through.

use super::backtrace::Walk;
use super::thread;
use crate::code_registry::with_registry;

/// Pushes to `out` the contents of every stack-map slot of every Wasm
/// frame of this thread, innermost first. Returns `false` (and pushes
/// nothing) outside Wasm.
///
/// # Safety
/// Only from a builtin entered through a GC allocation entry (which
/// recorded the calling Wasm frame as the innermost activation's exit),
/// on this thread, while that call runs.
pub(crate) unsafe fn wasm_stack_roots(out: &mut Vec<usize>) -> bool {
    let state = thread::current();
    if state.is_null() {
        return false;
    }
    // SAFETY: the innermost activation is live (it runs the caller); its
    // limits were recorded by the allocation entry (the caller's
    // promise), and the enclosing activations wait for it.
    unsafe {
        let state = &*state;
        if state.limits.is_null() {
            return false;
        }
        let mut exit_fp = *(*state.limits).last_wasm_exit_fp.get();
        with_registry(|reg| {
            let mut walk = Walk {
                reg,
                min_fp: exit_fp,
                stack_top: state.stack_top,
            };
            let mut activation = state;
            loop {
                let mut fp = exit_fp;
                // SAFETY: the bounds in `walk` keep every frame record read
                // on this thread's live stack.
                while let Some((caller_fp, return_address)) = walk.step(fp) {
                    let Some(meta) = reg.find(return_address - 1) else {
                        break;
                    };
                    let offset = u32::try_from(return_address - meta.start).ok();
                    if let Some(site) = offset.and_then(|o| meta.compiled.stack_maps.lookup(o)) {
                        // The frame's stack pointer at the call is just
                        // above the callee's frame record.
                        let sp = caller_fp.checked_sub(site.frame_size as usize);
                        if sp != Some(fp + 16) || caller_fp > state.stack_top {
                            debug_assert!(false, "a frame that does not match its stack map");
                            break;
                        }
                        // The map's slots lie between this stack pointer
                        // and the frame pointer (checked when the code was
                        // loaded): inside the live frame, on the stack
                        // the walk keeps to.
                        for slot in &site.slots {
                            out.push(*((fp + 16 + *slot as usize) as *const usize));
                        }
                    }
                    fp = caller_fp;
                }
                match activation.prev_exit {
                    Some((prev_fp, _)) => {
                        exit_fp = prev_fp;
                        // `prev_exit` is only set when there is an
                        // enclosing activation, which is live.
                        activation = &*activation.prev;
                    }
                    None => break,
                }
            }
        });
        true
    }
}
