//! Addresses of VMContext fields: the runtime limits, memory, table and
//! global definitions (defined inline or imported through a pointer), and
//! the stack limit every function checks in its prologue.

use cranelift_codegen::ir::{GlobalValueData, InstBuilder, MemFlagsData, Value};
use hayate_environ::{GlobalIndex, MemoryIndex, TableIndex, VMRuntimeLimitsOffsets};

use super::FuncTranslator;
use crate::abi::POINTER;

/// Flags for loads of VMContext fields that never change while the
/// instance lives (pointers set at instantiation).
pub(crate) fn immutable() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

impl FuncTranslator<'_, '_> {
    /// Sets the function's stack limit to
    /// `load(load(vmctx + runtime_limits) + STACK_LIMIT)`, which Cranelift
    /// checks in the prologue (trapping with `STACK_OVERFLOW`).
    pub(super) fn set_stack_limit(&mut self) {
        let flags = self
            .b
            .func
            .dfg
            .mem_flags
            .insert_unchecked(MemFlagsData::trusted().with_readonly());
        let vmctx = self.b.create_global_value(GlobalValueData::VMContext);
        let limits = self.b.create_global_value(GlobalValueData::Load {
            base: vmctx,
            offset: (self.env.offsets.runtime_limits() as i32).into(),
            global_type: POINTER,
            flags,
        });
        let limit = self.b.create_global_value(GlobalValueData::Load {
            base: limits,
            offset: (VMRuntimeLimitsOffsets::STACK_LIMIT as i32).into(),
            global_type: POINTER,
            flags,
        });
        self.b.func.stack_limit = Some(limit);
    }

    /// The store's `VMRuntimeLimits`.
    pub(super) fn runtime_limits(&mut self) -> Value {
        let off = self.env.offsets.runtime_limits() as i32;
        self.b.ins().load(POINTER, immutable(), self.vmctx, off)
    }

    /// Pointer and offset of memory `index`'s `VMMemoryDefinition`.
    pub(super) fn memory_definition(&mut self, index: MemoryIndex) -> (Value, i32) {
        match self.info().defined_memory(index) {
            Some(defined) => (self.vmctx, self.env.offsets.defined_memory(defined) as i32),
            None => {
                let off = self.env.offsets.imported_memory(index) as i32;
                (self.b.ins().load(POINTER, immutable(), self.vmctx, off), 0)
            }
        }
    }

    /// Pointer and offset of table `index`'s `VMTableDefinition`.
    pub(super) fn table_definition(&mut self, index: TableIndex) -> (Value, i32) {
        match self.info().defined_table(index) {
            Some(defined) => (self.vmctx, self.env.offsets.defined_table(defined) as i32),
            None => {
                let off = self.env.offsets.imported_table(index) as i32;
                (self.b.ins().load(POINTER, immutable(), self.vmctx, off), 0)
            }
        }
    }

    /// Pointer and offset of global `index`'s storage.
    pub(super) fn global_address(&mut self, index: GlobalIndex) -> (Value, i32) {
        match self.info().defined_global(index) {
            Some(defined) => (self.vmctx, self.env.offsets.defined_global(defined) as i32),
            None => {
                let off = self.env.offsets.imported_global(index) as i32;
                (self.b.ins().load(POINTER, immutable(), self.vmctx, off), 0)
            }
        }
    }
}
