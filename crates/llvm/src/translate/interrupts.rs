//! Interruption: fuel metering and epoch deadline checks, emitted when
//! `consume_fuel` or `epoch_interruption` is set, charging and checking
//! exactly where Cranelift's code does, so a call stops at the same
//! instruction under either compiler.
//!
//! Fuel: the store's `fuel_consumed` counter is negative while fuel
//! remains. A function keeps it in a local (an `alloca` that becomes a
//! register), adds one per operator (structure such as `block`, `end`,
//! `nop` and `drop` is free), writes it back before calls and returns,
//! and at function entry and loop headers calls the `OutOfFuel` builtin
//! when it is zero or more. Epochs: at the same points the engine's epoch
//! counter is compared with the store's deadline (kept in a local,
//! reloaded after calls and after the `EpochDeadline` builtin), and the
//! builtin is called when it is reached. The counter, which another
//! thread increments, is read with a monotonic atomic load, so LLVM can
//! neither hoist it out of a loop nor assume it unchanged.

use hayate_environ::VMRuntimeLimitsOffsets;
use hayate_environ::builtins::Builtin;
use hayate_environ::fuel::{self, FuelSettle};
use hayate_environ::wasmparser::Operator;
use inkwell::AtomicOrdering;
use inkwell::IntPredicate;
use inkwell::values::{BasicValue, IntValue, PointerValue};

use super::{FuncTranslator, Region, Result};
use hayate_environ::CompileError;

/// The locals interruption keeps.
#[derive(Default)]
pub(crate) struct Interrupts<'ctx> {
    /// The fuel counter's local, with fuel metering.
    fuel: Option<PointerValue<'ctx>>,
    /// Cost of the operators since the last addition to it.
    pub(super) pending: u64,
    /// The epoch deadline's local, with epoch interruption.
    deadline: Option<PointerValue<'ctx>>,
}

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    /// Sets up the locals and makes the entry checks.
    pub(super) fn interrupts_at_entry(&mut self) -> Result {
        let i64t = self.cx.i64_type();
        let tunables = *self.env.tunables;
        if tunables.consume_fuel {
            let slot = self.in_entry(|t| Ok(t.b.build_alloca(i64t, "fuel")?))?;
            self.interrupts.fuel = Some(slot);
            self.fuel_load()?;
            self.fuel_check()?;
        }
        if tunables.epoch_interruption {
            let slot = self.in_entry(|t| Ok(t.b.build_alloca(i64t, "deadline")?))?;
            self.interrupts.deadline = Some(slot);
            self.epoch_deadline_load()?;
            self.epoch_check()?;
        }
        Ok(())
    }

    /// The checks at a loop header.
    pub(super) fn interrupts_at_loop(&mut self) -> Result {
        self.epoch_check()?;
        self.fuel_check()
    }

    /// Charges for `op`, which is about to be translated, and settles the
    /// count where every compiler does (`hayate_environ::fuel`).
    pub(super) fn fuel_before_op(&mut self, op: &Operator<'_>) -> Result {
        if self.interrupts.fuel.is_none() {
            return Ok(());
        }
        self.interrupts.pending += fuel::operator_cost(op);
        match fuel::settle_before(op) {
            FuelSettle::FlushAndSave => {
                self.fuel_flush()?;
                self.fuel_save()
            }
            FuelSettle::Flush => self.fuel_flush(),
            FuelSettle::None => Ok(()),
        }
    }

    /// Adds the pending cost to the counter's local.
    fn fuel_flush(&mut self) -> Result {
        let Some(slot) = self.interrupts.fuel else {
            return Ok(());
        };
        let cost = std::mem::take(&mut self.interrupts.pending);
        if cost != 0 {
            let i64t = self.cx.i64_type();
            let fuel = self.b.build_load(i64t, slot, "")?.into_int_value();
            let fuel = self
                .b
                .build_int_add(fuel, i64t.const_int(cost, false), "")?;
            self.b.build_store(slot, fuel)?;
        }
        Ok(())
    }

    /// The store's `VMRuntimeLimits`.
    fn runtime_limits(&mut self) -> Result<PointerValue<'ctx>> {
        let at = self.env.input.offsets.runtime_limits();
        self.in_entry(|t| t.load_vmctx_ptr(at, Region::Immutable))
    }

    /// Loads the store's fuel counter into the local.
    pub(super) fn fuel_load(&mut self) -> Result {
        let Some(slot) = self.interrupts.fuel else {
            return Ok(());
        };
        let limits = self.runtime_limits()?;
        let i64t = self.cx.i64_type().into();
        let off = u64::from(VMRuntimeLimitsOffsets::FUEL_CONSUMED);
        let fuel = self.load(i64t, limits, off, Region::Vmctx)?;
        self.b.build_store(slot, fuel)?;
        Ok(())
    }

    /// Stores the local back into the store's fuel counter.
    pub(super) fn fuel_save(&mut self) -> Result {
        let Some(slot) = self.interrupts.fuel else {
            return Ok(());
        };
        let fuel = self.b.build_load(self.cx.i64_type(), slot, "")?;
        let limits = self.runtime_limits()?;
        let off = u64::from(VMRuntimeLimitsOffsets::FUEL_CONSUMED);
        self.store(fuel, limits, off, Region::Vmctx)?;
        Ok(())
    }

    /// Calls the `OutOfFuel` builtin when the counter reached zero.
    fn fuel_check(&mut self) -> Result {
        let Some(slot) = self.interrupts.fuel else {
            return Ok(());
        };
        self.fuel_flush()?;
        let i64t = self.cx.i64_type();
        let fuel = self.b.build_load(i64t, slot, "")?.into_int_value();
        let exhausted = self
            .b
            .build_int_compare(IntPredicate::SGE, fuel, i64t.const_zero(), "")?;
        self.cold_path(exhausted, |t| {
            t.fuel_save()?;
            t.call_builtin(Builtin::OutOfFuel, &[])?;
            t.fuel_load()
        })
    }

    /// Loads the store's epoch deadline into the local.
    pub(super) fn epoch_deadline_load(&mut self) -> Result {
        let Some(slot) = self.interrupts.deadline else {
            return Ok(());
        };
        let limits = self.runtime_limits()?;
        let i64t = self.cx.i64_type().into();
        let off = u64::from(VMRuntimeLimitsOffsets::EPOCH_DEADLINE);
        let deadline = self.load(i64t, limits, off, Region::Vmctx)?;
        self.b.build_store(slot, deadline)?;
        Ok(())
    }

    /// Calls the `EpochDeadline` builtin when the engine's epoch reached
    /// the store's deadline.
    fn epoch_check(&mut self) -> Result {
        let Some(slot) = self.interrupts.deadline else {
            return Ok(());
        };
        let i64t = self.cx.i64_type();
        let at = self.env.input.offsets.epoch_counter();
        let counter = self.in_entry(|t| t.load_vmctx_ptr(at, Region::Immutable))?;
        let epoch = self.b.build_load(i64t, counter, "")?;
        let inst = epoch
            .as_instruction_value()
            .expect("a load is an instruction");
        let atomic = |r: std::result::Result<(), inkwell::values::InstructionValueError>| {
            r.map_err(|e| CompileError::Codegen(format!("atomic epoch load: {e:?}")))
        };
        atomic(inst.set_alignment(8))?;
        atomic(inst.set_atomic_ordering(AtomicOrdering::Monotonic))?;
        let deadline = self.b.build_load(i64t, slot, "")?.into_int_value();
        let reached =
            self.b
                .build_int_compare(IntPredicate::UGE, epoch.into_int_value(), deadline, "")?;
        self.cold_path(reached, |t| {
            t.fuel_save()?;
            t.call_builtin(Builtin::EpochDeadline, &[])?;
            t.fuel_load()?;
            // The builtin (or the embedder's callback) may have moved the
            // deadline.
            t.epoch_deadline_load()
        })
    }

    /// Runs `slow` in a block entered when `cond` holds, then continues
    /// after it.
    fn cold_path(
        &mut self,
        cond: IntValue<'ctx>,
        slow: impl FnOnce(&mut Self) -> Result,
    ) -> Result {
        let (slow_block, cont) = (
            self.cx.append_basic_block(self.func, "slow"),
            self.cx.append_basic_block(self.func, ""),
        );
        self.b.build_conditional_branch(cond, slow_block, cont)?;
        self.b.position_at_end(slow_block);
        slow(self)?;
        self.b.build_unconditional_branch(cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }
}
