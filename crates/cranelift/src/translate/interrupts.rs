//! Interruption: fuel metering and epoch deadline checks, emitted when
//! `consume_fuel` or `epoch_interruption` is set.
//!
//! Fuel: the store's `fuel_consumed` counter is negative while fuel remains.
//! A function caches it in a variable, adds one per operator (structure
//! such as `block`, `end`, `nop` and `drop` is free), writes it back before
//! calls and returns, and at function entry and loop headers calls the
//! `OutOfFuel` builtin when it is zero or more. Epochs: at the same points
//! the engine's epoch counter is compared with the store's deadline, and
//! the `EpochDeadline` builtin is called when the deadline is reached. The
//! deadline is cached in a variable, loaded at entry and reloaded only after
//! that builtin and after calls; the counter is loaded at every check.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use hayate_environ::builtins::Builtin;
use hayate_environ::fuel::{self, FuelSettle};
use hayate_environ::wasmparser::Operator;

use super::FuncTranslator;
use super::vmctx;
use crate::abi::POINTER;

impl FuncTranslator<'_, '_> {
    pub(super) fn fuel_function_entry(&mut self) {
        let var = self.b.declare_var(types::I64);
        self.fuel_var = Some(var);
        self.fuel_load();
        self.fuel_check();
    }

    pub(super) fn fuel_before_op(&mut self, op: &Operator<'_>) {
        self.fuel_pending += fuel::operator_cost(op) as i64;
        match fuel::settle_before(op) {
            FuelSettle::FlushAndSave => {
                self.fuel_flush();
                self.fuel_save();
            }
            FuelSettle::Flush => self.fuel_flush(),
            FuelSettle::None => {}
        }
    }

    /// Adds the pending cost to the fuel variable.
    fn fuel_flush(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let cost = std::mem::take(&mut self.fuel_pending);
        if cost != 0 {
            let fuel = self.b.use_var(var);
            let fuel = self.b.ins().iadd_imm_s(fuel, cost);
            self.b.def_var(var, fuel);
        }
    }

    fn fuel_addr(&mut self) -> (Value, i32) {
        let limits = self.runtime_limits();
        (
            limits,
            hayate_environ::VMRuntimeLimitsOffsets::FUEL_CONSUMED as i32,
        )
    }

    /// Loads the store's fuel counter into the variable.
    pub(super) fn fuel_load(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let (base, off) = self.fuel_addr();
        let fuel = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), base, off);
        self.b.def_var(var, fuel);
    }

    /// Stores the variable back into the store's fuel counter.
    pub(super) fn fuel_save(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let (base, off) = self.fuel_addr();
        let fuel = self.b.use_var(var);
        self.b.ins().store(MemFlagsData::trusted(), fuel, base, off);
    }

    /// Calls the `OutOfFuel` builtin when the counter reached zero.
    pub(super) fn fuel_check(&mut self) {
        let Some(var) = self.fuel_var else { return };
        self.fuel_flush();
        let fuel = self.b.use_var(var);
        let exhausted =
            self.b
                .ins()
                .icmp_imm_s(ir::condcodes::IntCC::SignedGreaterThanOrEqual, fuel, 0);
        let out_of_fuel = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(out_of_fuel);
        self.b.ins().brif(exhausted, out_of_fuel, &[], cont, &[]);
        self.b.seal_block(out_of_fuel);
        self.b.switch_to_block(out_of_fuel);
        self.fuel_save();
        self.call_builtin(Builtin::OutOfFuel, &[]);
        self.fuel_load();
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }

    pub(super) fn epoch_function_entry(&mut self) {
        let var = self.b.declare_var(types::I64);
        self.epoch_deadline_var = Some(var);
        self.epoch_deadline_load();
        self.epoch_check();
    }

    /// Loads the store's epoch deadline into the cached variable.
    pub(super) fn epoch_deadline_load(&mut self) {
        let Some(var) = self.epoch_deadline_var else {
            return;
        };
        let limits = self.runtime_limits();
        let deadline = self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            limits,
            hayate_environ::VMRuntimeLimitsOffsets::EPOCH_DEADLINE as i32,
        );
        self.b.def_var(var, deadline);
    }

    /// Calls the `EpochDeadline` builtin when the engine's epoch reached the
    /// store's deadline. The epoch counter is loaded at every check (another
    /// thread increments it); the deadline comes from the cached variable.
    pub(super) fn epoch_check(&mut self) {
        let Some(var) = self.epoch_deadline_var else {
            return;
        };
        let flags = vmctx::immutable();
        let counter_ptr = self.b.ins().load(
            POINTER,
            flags,
            self.vmctx,
            self.env.offsets.epoch_counter() as i32,
        );
        let epoch = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), counter_ptr, 0);
        let deadline = self.b.use_var(var);
        let reached = self.b.ins().icmp(
            ir::condcodes::IntCC::UnsignedGreaterThanOrEqual,
            epoch,
            deadline,
        );
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(reached, slow, &[], cont, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        self.fuel_save();
        self.call_builtin(Builtin::EpochDeadline, &[]);
        self.fuel_load();
        // The builtin (or the embedder's callback) may have moved the deadline.
        self.epoch_deadline_load();
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }
}
