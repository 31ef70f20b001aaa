//! The function's frame on its shadow stack: accesses that cannot fault.
//!
//! Code from C keeps a stack in linear memory. Clang's functions open
//! with `global.get $sp; i32.const N; i32.sub; local.set $fp` and reach
//! their locals at constant offsets from `$fp` (`local.get $fp;
//! i32.load offset=K`). Under guard pages every linear-memory access is
//! volatile (see `memory.rs`), which keeps LLVM from forwarding a value
//! stored to the frame to a load of it a few instructions later; an
//! interpreter loop that keeps its state in its frame loses a third of
//! its speed to that.
//!
//! When such a local is set once in the whole body, and nothing before
//! its set has an effect (locals, constants, global reads and integer
//! arithmetic that cannot trap), the function is compiled twice:
//!
//! - The *frame* function, the one called, computes `$fp` and, before
//!   anything else (fuel and epoch checks included), checks `fp + reach
//!   <= length` of memory 0, where `reach` is the highest end (`K` plus
//!   size) of its accesses whose address is exactly the value of `$fp`.
//!   A memory only grows and under guard pages its base never moves, so
//!   once that holds none of those accesses can fault, and they are
//!   ordinary: LLVM may forward, merge, move or delete them. Without
//!   guard pages they skip their bounds check.
//! - When the check fails, the frame function tail-calls the *checked*
//!   function (`wasm_fN_checked`), the usual translation of the same
//!   body, with the same arguments: nothing has happened yet that it
//!   would not do again, so a frame out of bounds traps exactly where it
//!   would. It runs only for a stack pointer gone wrong, so it is neither
//!   optimised nor inlined (`optnone`), which keeps its compile time
//!   small; its code follows the frame function's in the same body
//!   (`emit.rs`), so traps and backtraces name the function.
//! - A checked function calls the checked function of a callee that only
//!   its function calls, once: LLVM inlines a local function with one
//!   call site whatever its size, which a second call from the checked
//!   function would prevent. Those checked functions follow the same
//!   rule, so a chain of such callees is copied.
//! - The call to a checked function costs nothing to LLVM's inliner,
//!   which also allows the frame function the cost of its check
//!   ([`CHECKED_CALL_INLINE_COST`]): a small frame function is inlined
//!   where its usual translation would be.
//!
//! An ordinary access could still be moved across one that faults, which
//! would change what a trap leaves in memory. Under guard pages the frame
//! function's frame accesses therefore go through a pointer LLVM cannot
//! see into (the result of an empty inline assembly statement, computed
//! once), while every other heap access goes through the memory's base.
//! Alias analysis separates two accesses only when it can trace them to
//! distinct objects or to one base at disjoint offsets; it can do
//! neither here, so it must assume each frame store may be read by each
//! volatile access, and it keeps them in program order. Calls and trap
//! calls may read any memory, so frame stores before them stay too.
//!
//! A body with no such access is compiled once, as usual.

use hayate_environ::fuel::{self, FuelSettle};
use hayate_environ::wasmparser::Operator;
use hayate_environ::{AddressMap, MemoryIndex};
use inkwell::attributes::AttributeLoc;
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, IntValue, LLVMTailCallKind, PointerValue,
};
use inkwell::{AddressSpace, IntPredicate};

use super::{FuncTranslator, Result};

/// What LLVM's inliner is to count for a call to a checked function when
/// it weighs inlining the function making it, which reads these from the
/// callee: no cost, and a threshold raised by what the frame's check
/// costs (30 on LLVM 19, measured). A frame function then weighs what its
/// usual translation weighs: the check and its call run only for a stack
/// pointer gone wrong, and without this they cost 85, a third of the
/// inliner's threshold, which kept small functions (Lua's `lua_geti`)
/// from being inlined.
pub(crate) const CHECKED_CALL_INLINE_COST: &[(&str, &str)] =
    &[("call-inline-cost", "0"), ("call-threshold-bonus", "30")];

/// The frame pointer's local and what the frame function knows of it.
pub(crate) struct FramePointer<'ctx> {
    /// The local holding the frame pointer.
    local: u32,
    /// Its value, from its only set on.
    value: IntValue<'ctx>,
    /// The pointer to its frame (guard pages only), opaque to alias
    /// analysis.
    opaque: Option<PointerValue<'ctx>>,
    /// The highest end of a frame access so far, from the frame pointer.
    reach: Option<u64>,
}

/// Where the frame opens: the position of the only set of a local whose
/// value is `global.get; i32.const; i32.sub`, with nothing before it but
/// operators without effect, and the local.
pub(crate) fn frame_opening(ops: &[Operator<'_>]) -> Option<(usize, u32)> {
    let at = ops.iter().position(|op| !without_effect(op))?;
    let window = ops[..at].windows(4).position(|w| {
        matches!(
            w,
            [
                Operator::GlobalGet { .. },
                Operator::I32Const { .. },
                Operator::I32Sub,
                Operator::LocalSet { .. } | Operator::LocalTee { .. }
            ]
        )
    })?;
    let at = window + 3;
    let local = set_local(&ops[at])?;
    let sets = ops.iter().filter(|op| set_local(op) == Some(local)).count();
    (sets == 1).then_some((at, local))
}

/// Whether running `op` again from the function's entry changes nothing
/// anyone sees: it touches only locals and the operand stack, cannot
/// trap, and its fuel is settled later.
fn without_effect(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::LocalGet { .. }
            | O::LocalSet { .. }
            | O::LocalTee { .. }
            | O::GlobalGet { .. }
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::I32Add
            | O::I32Sub
            | O::I32And
            | O::I64Add
            | O::I64Sub
            | O::Nop
            | O::Drop
    ) && fuel::settle_before(op) == FuelSettle::None
}

fn set_local(op: &Operator<'_>) -> Option<u32> {
    match op {
        Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
            Some(*local_index)
        }
        _ => None,
    }
}

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    /// Translates the frame function: `ops[..=at]`, the frame's opening,
    /// which sets `local`, then the check and the rest (see the module
    /// docs). Says whether the body has frame accesses, in which case it
    /// declared the checked function, to be translated too; otherwise the
    /// function is the usual translation.
    pub(super) fn translate_with_frame(
        &mut self,
        ops: &[Operator<'_>],
        at: usize,
        local: u32,
    ) -> Result<bool> {
        let (opening, rest) = ops.split_at(at + 1);
        self.check_stack_limit()?;
        self.push_function_frame()?;
        // Without effect, the opening runs before the entry checks and is
        // charged fuel after them, as if it had run after them.
        self.translate_operators(opening, 0)?;
        let opening_fuel: u64 = opening.iter().map(fuel::operator_cost).sum();
        let usable =
            self.reachable && self.control.len() == 1 && !self.env.input.info.memories.is_empty();
        let (slot, ty) = self.local(local)?;
        let value = self.b.build_load(ty, slot, "fp")?.into_int_value();
        let split = self.current_block();
        let frame = self.cx.append_basic_block(self.func, "frame");
        self.b.position_at_end(frame);
        self.at_offset_for(self.body_start, |t| t.interrupts_at_entry())?;
        self.interrupts.pending += opening_fuel;
        if usable {
            let opaque = match self.env.guard_pages {
                true => Some(self.opaque_frame_pointer(value)?),
                false => None,
            };
            self.frame = Some(FramePointer {
                local,
                value,
                opaque,
                reach: None,
            });
        }
        self.translate_operators(rest, at + 1)?;
        let reach = self.frame.take().and_then(|f| f.reach);
        self.b.position_at_end(split);
        let Some(reach) = reach else {
            self.b.build_unconditional_branch(frame)?;
            return Ok(false);
        };
        let checked = self.cx.append_basic_block(self.func, "frame_checked");
        let i64t = self.cx.i64_type();
        let len = self.memory_length(MemoryIndex::from_u32(0))?;
        let start = self.b.build_int_z_extend(value, i64t, "")?;
        let end = self
            .b
            .build_int_add(start, i64t.const_int(reach, false), "")?;
        let fits = self.b.build_int_compare(IntPredicate::ULE, end, len, "")?;
        let branch = self.b.build_conditional_branch(fits, frame, checked)?;
        self.likely_first(branch)?;
        self.b.position_at_end(checked);
        self.tail_call_checked()?;
        Ok(true)
    }

    /// Calls the checked function with this function's arguments, as a
    /// tail call, and returns what it returns. Where LLVM inlines this
    /// function, the call is no longer a tail call, and the caller's
    /// frame holds this function's, which the checked function's frame
    /// stands for: the call's location says so (`CONTINUED_IN_CALLEE`),
    /// and backtraces leave that frame out.
    fn tail_call_checked(&mut self) -> Result {
        let checked = self.env.checked_function(self.index)?;
        let args: Vec<BasicMetadataValueEnum<'ctx>> =
            self.func.get_params().into_iter().map(Into::into).collect();
        let call = self.at_offset_for(AddressMap::CONTINUED_IN_CALLEE, |t| {
            Ok(t.b.build_call(checked, &args, "")?)
        })?;
        call.set_call_convention(self.func.get_call_conventions());
        call.set_tail_call_kind(LLVMTailCallKind::LLVMTailCallKindMustTail);
        match super::call_result(call) {
            Some(v) => self.b.build_return(Some(&v))?,
            None => self.b.build_return(None)?,
        };
        Ok(())
    }

    /// The value `local.get` of `local` pushes in the frame function,
    /// which is the frame pointer's value from its only set on.
    pub(super) fn frame_pointer_value(&self, local: u32) -> Option<IntValue<'ctx>> {
        self.frame
            .as_ref()
            .filter(|f| f.local == local)
            .map(|f| f.value)
    }

    /// The address of an access of `size` bytes at `offset` in memory
    /// `memory` whose index, on top of the stack, is the frame pointer in
    /// the frame function: pops it and returns the address, which needs
    /// no check and cannot fault. `None` for every other access.
    pub(super) fn frame_address(
        &mut self,
        memory: u32,
        offset: u64,
        size: u32,
    ) -> Result<Option<PointerValue<'ctx>>> {
        let Some(frame) = self.frame.as_ref() else {
            return Ok(None);
        };
        let (value, opaque) = (frame.value, frame.opaque);
        if memory != 0 || self.stack.last() != Some(&value.as_basic_value_enum()) {
            return Ok(None);
        }
        self.pop()?;
        let end = offset + u64::from(size);
        if let Some(frame) = self.frame.as_mut() {
            frame.reach = Some(frame.reach.map_or(end, |r| r.max(end)));
        }
        let at = match opaque {
            Some(opaque) => opaque,
            None => {
                let base = self.memory_base(MemoryIndex::from_u32(0))?;
                let index = self.b.build_int_z_extend(value, self.cx.i64_type(), "")?;
                crate::gep::byte_offset(self.cx, &self.b, base, index)?
            }
        };
        Ok(Some(self.offset_ptr(at, offset)?))
    }

    /// `base + fp` of memory 0 through an empty inline assembly statement
    /// that reads and writes no memory: the same address, which alias
    /// analysis cannot relate to the memory's base.
    fn opaque_frame_pointer(&mut self, value: IntValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let base = self.memory_base(MemoryIndex::from_u32(0))?;
        let index = self.b.build_int_z_extend(value, self.cx.i64_type(), "")?;
        let address = crate::gep::byte_offset(self.cx, &self.b, base, index)?;
        let ptr = self.cx.ptr_type(AddressSpace::default());
        let ty = ptr.fn_type(&[ptr.into()], false);
        let asm =
            self.cx
                .create_inline_asm(ty, String::new(), "=r,0".into(), false, false, None, false);
        let call = self
            .b
            .build_indirect_call(ty, asm, &[address.into()], "frame")?;
        for attr in ["nounwind", "willreturn"] {
            call.add_attribute(AttributeLoc::Function, self.env.enum_attr(attr));
        }
        let memory = inkwell::attributes::Attribute::get_named_enum_kind_id("memory");
        call.add_attribute(
            AttributeLoc::Function,
            self.cx.create_enum_attribute(memory, 0),
        );
        Ok(super::call_result(call)
            .expect("the statement returns the pointer")
            .into_pointer_value())
    }

    /// Marks the conditional `branch` as almost always taking its first
    /// successor.
    fn likely_first(&self, branch: inkwell::values::InstructionValue<'ctx>) -> Result {
        let i32t = self.cx.i32_type();
        let weights = self.cx.metadata_node(&[
            self.cx.metadata_string("branch_weights").into(),
            i32t.const_int(2000, false).into(),
            i32t.const_int(1, false).into(),
        ]);
        branch
            .set_metadata(weights, self.cx.get_kind_id("prof"))
            .map_err(|e| hayate_environ::CompileError::Codegen(format!("metadata: {e:?}")).into())
    }
}
