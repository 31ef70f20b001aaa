//! Linear memory: effective addresses (guard pages or explicit bounds
//! checks), scalar loads and stores, `memory.size`/`memory.grow`, and the
//! bulk-memory operators, which call runtime builtins.
//!
//! Every Wasm access is little-endian and carries the `HEAP_OUT_OF_BOUNDS`
//! trap code, so a fault in the guard region maps to `MemoryOutOfBounds`.

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::{MemArg, MemArgTarget};
use hayate_environ::{CompileError, Trap, VMOffsets};

use super::vmctx::immutable;
use super::{FuncTranslator, Result};
use crate::abi::POINTER;
use crate::traps::trap_to_code;
use hayate_environ::{BoundsChecks, EntityRef, MEMORY64_GUARD_SIZE, MemoryIndex};

impl FuncTranslator<'_, '_> {
    fn is_memory64(&self, memory: MemoryIndex) -> bool {
        self.info().memories[memory].memory64
    }

    /// Whether accesses to `memory` rely on guard pages.
    fn uses_guard_pages(&self, memory: MemoryIndex) -> bool {
        self.env.settings.tunables.bounds_checks == BoundsChecks::GuardPages
            && !self.is_memory64(memory)
    }

    /// In guard-page mode a memory's base never moves: load it once per
    /// call, at the top of the entry block, the first time it is needed.
    fn guarded_memory_base(&mut self, memory: MemoryIndex) -> Value {
        if let Some(base) = self.memory_bases[memory.index()] {
            return base;
        }
        let offsets = self.env.offsets;
        let defined = self.info().defined_memory(memory);
        let vmctx = self.vmctx;
        let mut pos = FuncCursor::new(self.b.func)
            .with_srcloc(self.entry_srcloc)
            .at_first_insertion_point(self.entry);
        let (def, off) = match defined {
            Some(defined) => (vmctx, offsets.defined_memory(defined) as i32),
            None => {
                let off = offsets.imported_memory(memory) as i32;
                (pos.ins().load(POINTER, immutable(), vmctx, off), 0)
            }
        };
        let off = off + VMOffsets::DEFINITION_BASE as i32;
        let base = pos.ins().load(POINTER, immutable(), def, off);
        self.memory_bases[memory.index()] = Some(base);
        base
    }

    /// Extends a memory index, offset or length operand to 64 bits.
    fn memory_operand64(&mut self, memory: MemoryIndex, v: Value) -> Value {
        if self.is_memory64(memory) {
            v
        } else {
            self.b.ins().uextend(types::I64, v)
        }
    }

    /// The current length in bytes of `memory`.
    fn memory_length(&mut self, memory: MemoryIndex) -> Value {
        let (def, off) = self.memory_definition(memory);
        let off = off + VMOffsets::DEFINITION_LENGTH as i32;
        self.b
            .ins()
            .load(types::I64, self.regions.vmctx_flags(), def, off)
    }

    /// Explicit bounds check of an access of `size` bytes at `index +
    /// offset` (`index + offset + size <= current_length`, trapping with
    /// `MemoryOutOfBounds`), then the current base of `memory`.
    ///
    /// A 64-bit memory in guard-page mode is followed by
    /// `MEMORY64_GUARD_SIZE` inaccessible bytes wherever its end is, so an
    /// access whose `offset + size` fits in them checks only `index <=
    /// length`: past the end it faults in the guard.
    fn checked_memory_base(
        &mut self,
        memory: MemoryIndex,
        index: Value,
        offset: u64,
        size: u32,
    ) -> Value {
        let len = self.memory_length(memory);
        let code = trap_to_code(Trap::MemoryOutOfBounds);
        let guarded = self.env.settings.tunables.bounds_checks == BoundsChecks::GuardPages;
        let reach = offset.checked_add(u64::from(size));
        let oob = match reach {
            Some(reach) if self.is_memory64(memory) && guarded && reach <= MEMORY64_GUARD_SIZE => {
                self.b.ins().icmp(IntCC::UnsignedGreaterThan, index, len)
            }
            Some(reach) => {
                let end = if self.is_memory64(memory) {
                    // A 64-bit index plus the reach may overflow.
                    let reach = self.b.ins().iconst(types::I64, reach as i64);
                    self.b.ins().uadd_overflow_trap(index, reach, code)
                } else {
                    // A 32-bit index plus a 32-bit offset cannot overflow
                    // 64 bits.
                    self.b.ins().iadd_imm_s(index, reach as i64)
                };
                self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len)
            }
            // An offset so large that offset + size wraps: every index is
            // out of bounds.
            None => self.b.ins().iconst(types::I8, 1),
        };
        self.b.ins().trapnz(oob, code);
        let (def, off) = self.memory_definition(memory);
        let off = off + VMOffsets::DEFINITION_BASE as i32;
        self.b
            .ins()
            .load(POINTER, self.regions.vmctx_flags(), def, off)
    }

    /// Pops the index operand of an access of `size` bytes and returns the
    /// native address and immediate offset to access.
    pub(super) fn memory_address(&mut self, memarg: &MemArg, size: u32) -> Result<(Value, i32)> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            return Err(CompileError::Unsupported("GC array memory access".into()));
        };
        let memory = MemoryIndex::from_u32(memory);
        let index = self.pop();
        let index = self.memory_operand64(memory, index);
        let base = if self.uses_guard_pages(memory) {
            self.guarded_memory_base(memory)
        } else {
            self.checked_memory_base(memory, index, memarg.offset, size)
        };
        let addr = self.b.ins().iadd(base, index);
        Ok(match i32::try_from(memarg.offset) {
            Ok(offset) => (addr, offset),
            Err(_) => (self.b.ins().iadd_imm_s(addr, memarg.offset as i64), 0),
        })
    }

    /// Pops the index and pushes the value `f` loads (given the heap's
    /// memory flags, the address and the immediate offset).
    fn wasm_load(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, i32) -> Value,
    ) -> Result<()> {
        let (addr, offset) = self.memory_address(memarg, size)?;
        let v = f(self, self.regions.heap_flags(), addr, offset);
        self.push(v);
        Ok(())
    }

    /// Pops the value, then the index, and stores with `f`.
    pub(super) fn wasm_store(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, Value, Value, i32),
    ) -> Result<()> {
        let value = self.pop();
        let (addr, offset) = self.memory_address(memarg, size)?;
        f(self, value, addr, offset);
        Ok(())
    }

    visit_methods! { self;
        visit_i32_load(memarg: MemArg) => {
            self.wasm_load(&memarg, 4, |t, fl, a, o| t.b.ins().load(I32, fl, a, o))?
        };
        visit_i64_load(memarg: MemArg) => {
            self.wasm_load(&memarg, 8, |t, fl, a, o| t.b.ins().load(I64, fl, a, o))?
        };
        visit_f32_load(memarg: MemArg) => {
            self.wasm_load(&memarg, 4, |t, fl, a, o| t.b.ins().load(F32, fl, a, o))?
        };
        visit_f64_load(memarg: MemArg) => {
            self.wasm_load(&memarg, 8, |t, fl, a, o| t.b.ins().load(F64, fl, a, o))?
        };
        visit_i32_load8_s(memarg: MemArg) => {
            self.wasm_load(&memarg, 1, |t, fl, a, o| t.b.ins().sload8(I32, fl, a, o))?
        };
        visit_i32_load8_u(memarg: MemArg) => {
            self.wasm_load(&memarg, 1, |t, fl, a, o| t.b.ins().uload8(I32, fl, a, o))?
        };
        visit_i32_load16_s(memarg: MemArg) => {
            self.wasm_load(&memarg, 2, |t, fl, a, o| t.b.ins().sload16(I32, fl, a, o))?
        };
        visit_i32_load16_u(memarg: MemArg) => {
            self.wasm_load(&memarg, 2, |t, fl, a, o| t.b.ins().uload16(I32, fl, a, o))?
        };
        visit_i64_load8_s(memarg: MemArg) => {
            self.wasm_load(&memarg, 1, |t, fl, a, o| t.b.ins().sload8(I64, fl, a, o))?
        };
        visit_i64_load8_u(memarg: MemArg) => {
            self.wasm_load(&memarg, 1, |t, fl, a, o| t.b.ins().uload8(I64, fl, a, o))?
        };
        visit_i64_load16_s(memarg: MemArg) => {
            self.wasm_load(&memarg, 2, |t, fl, a, o| t.b.ins().sload16(I64, fl, a, o))?
        };
        visit_i64_load16_u(memarg: MemArg) => {
            self.wasm_load(&memarg, 2, |t, fl, a, o| t.b.ins().uload16(I64, fl, a, o))?
        };
        visit_i64_load32_s(memarg: MemArg) => {
            self.wasm_load(&memarg, 4, |t, fl, a, o| t.b.ins().sload32(fl, a, o))?
        };
        visit_i64_load32_u(memarg: MemArg) => {
            self.wasm_load(&memarg, 4, |t, fl, a, o| t.b.ins().uload32(fl, a, o))?
        };
        visit_i32_store(memarg: MemArg) | visit_f32_store(memarg: MemArg) => {
            self.wasm_store(&memarg, 4, |t, v, a, o| {
                t.b.ins().store(t.regions.heap_flags(), v, a, o);
            })?
        };
        visit_i64_store(memarg: MemArg) | visit_f64_store(memarg: MemArg) => {
            self.wasm_store(&memarg, 8, |t, v, a, o| {
                t.b.ins().store(t.regions.heap_flags(), v, a, o);
            })?
        };
        visit_i32_store8(memarg: MemArg) | visit_i64_store8(memarg: MemArg) => {
            self.wasm_store(&memarg, 1, |t, v, a, o| {
                t.b.ins().istore8(t.regions.heap_flags(), v, a, o);
            })?
        };
        visit_i32_store16(memarg: MemArg) | visit_i64_store16(memarg: MemArg) => {
            self.wasm_store(&memarg, 2, |t, v, a, o| {
                t.b.ins().istore16(t.regions.heap_flags(), v, a, o);
            })?
        };
        visit_i64_store32(memarg: MemArg) => self.wasm_store(&memarg, 4, |t, v, a, o| {
            t.b.ins().istore32(t.regions.heap_flags(), v, a, o);
        })?;
        visit_memory_size(mem: u32) => {
            let mem = MemoryIndex::from_u32(mem);
            let len = self.memory_length(mem);
            let pages = self.b.ins().ushr_imm_u(len, 16);
            let v = if self.is_memory64(mem) {
                pages
            } else {
                self.b.ins().ireduce(I32, pages)
            };
            self.push(v);
        };
        visit_memory_grow(mem: u32) => {
            let mem = MemoryIndex::from_u32(mem);
            let delta = self.pop();
            let delta = self.memory_operand64(mem, delta);
            let index = self.b.ins().iconst(I32, i64::from(mem.as_u32()));
            let old = self
                .call_builtin(Builtin::MemoryGrow, &[index, delta])
                .unwrap();
            let v = if self.is_memory64(mem) {
                old
            } else {
                self.b.ins().ireduce(I32, old)
            };
            self.push(v);
        };
        visit_memory_fill(mem: u32) => {
            let mem = MemoryIndex::from_u32(mem);
            let (dst, byte, len) = self.pop3();
            let dst = self.memory_operand64(mem, dst);
            let len = self.memory_operand64(mem, len);
            let index = self.b.ins().iconst(I32, i64::from(mem.as_u32()));
            self.call_builtin(Builtin::MemoryFill, &[index, dst, byte, len]);
        };
        visit_memory_copy(dst_mem: u32, src_mem: u32) => {
            let (dst_mem, src_mem) = (MemoryIndex::from_u32(dst_mem), MemoryIndex::from_u32(src_mem));
            let (dst, src, len) = self.pop3();
            let dst = self.memory_operand64(dst_mem, dst);
            let src = self.memory_operand64(src_mem, src);
            // The length has the narrower of the two index types.
            let len = if self.is_memory64(dst_mem) && self.is_memory64(src_mem) {
                len
            } else {
                self.b.ins().uextend(I64, len)
            };
            let dst_index = self.b.ins().iconst(I32, i64::from(dst_mem.as_u32()));
            let src_index = self.b.ins().iconst(I32, i64::from(src_mem.as_u32()));
            self.call_builtin(Builtin::MemoryCopy, &[dst_index, dst, src_index, src, len]);
        };
        visit_memory_init(data_index: u32, mem: u32) => {
            let mem = MemoryIndex::from_u32(mem);
            let (dst, src, len) = self.pop3();
            let dst = self.memory_operand64(mem, dst);
            let index = self.b.ins().iconst(I32, i64::from(mem.as_u32()));
            let data = self.b.ins().iconst(I32, i64::from(data_index));
            self.call_builtin(Builtin::MemoryInit, &[index, data, dst, src, len]);
        };
        visit_data_drop(data_index: u32) => {
            let data = self.b.ins().iconst(I32, i64::from(data_index));
            self.call_builtin(Builtin::DataDrop, &[data]);
        };
    }
}
