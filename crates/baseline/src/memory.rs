//! Memory 0 and globals: scalar loads and stores, `memory.size`,
//! `memory.grow` (through the runtime builtin) and `global.get`/`set`.
//!
//! Accesses rely on guard pages, as Cranelift's code does: `r15` holds the
//! memory's base (which never moves in that mode), the index is
//! zero-extended and the offset added, and an access that lands in the
//! guard region faults at an instruction recorded as trapping with
//! `MemoryOutOfBounds`. Other memories, 64-bit memories and explicit
//! bounds checks are declined (the fallback compiles those functions).

use cranelift_assembler_x64::Amode;
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::{MemArg, MemArgTarget, Operator};
use hayate_environ::{GlobalIndex, Trap, VMOffsets, WasmValType};

use crate::asm::{Alu, mem, mem_indexed, reg};
use crate::func::{FuncCompiler, Result, scalar, unsupported};

use WasmValType::{F32, F64, I32, I64};

impl FuncCompiler<'_> {
    /// Pops the index operand of an access through `memarg` and returns
    /// the address to access (using `rax`, and `rcx` for huge offsets).
    fn address(&mut self, memarg: &MemArg) -> Result<Amode<u8>> {
        match memarg.target {
            MemArgTarget::Memory(0) if self.has_memory_base => {}
            _ => return unsupported("accesses to memories other than a 32-bit memory 0"),
        }
        self.pop_into(reg::RAX)?;
        Ok(match i32::try_from(memarg.offset) {
            Ok(offset) => mem_indexed(reg::R15, reg::RAX, offset),
            Err(_) => {
                self.asm.mov_imm(reg::RCX, memarg.offset as i64);
                self.asm.alu(Alu::Add, true, reg::RAX, reg::RCX);
                mem_indexed(reg::R15, reg::RAX, 0)
            }
        })
    }

    fn load(&mut self, memarg: &MemArg, ty: WasmValType, size: u8, signed: bool) -> Result {
        let addr = self.address(memarg)?;
        self.asm.trap_here(Trap::MemoryOutOfBounds);
        let wide = matches!(ty, I64 | F64);
        self.asm.load_sized(reg::RAX, addr, size, signed, wide);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, size: u8) -> Result {
        self.pop_into(reg::RDX)?;
        let addr = self.address(memarg)?;
        self.asm.trap_here(Trap::MemoryOutOfBounds);
        self.asm.store_sized(addr, reg::RDX, size);
        Ok(())
    }

    /// `[rax + offset]` is global `index`'s storage.
    fn global_address(&mut self, index: GlobalIndex) -> Result<Amode<u8>> {
        let info = self.module.info;
        scalar(info.globals[index].content)?;
        let offsets = &self.module.offsets;
        Ok(match info.defined_global(index) {
            Some(defined) => mem(reg::R14, offsets.defined_global(defined) as i32),
            None => {
                let off = offsets.imported_global(index) as i32;
                self.asm.load64(reg::RAX, reg::R14, off);
                mem(reg::RAX, 0)
            }
        })
    }

    /// Handles `op` if it is a memory or global operator.
    pub(crate) fn memory_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator as O;
        match op {
            O::I32Load { memarg } => self.load(memarg, I32, 4, false)?,
            O::I64Load { memarg } => self.load(memarg, I64, 8, false)?,
            O::F32Load { memarg } => self.load(memarg, F32, 4, false)?,
            O::F64Load { memarg } => self.load(memarg, F64, 8, false)?,
            O::I32Load8S { memarg } => self.load(memarg, I32, 1, true)?,
            O::I32Load8U { memarg } => self.load(memarg, I32, 1, false)?,
            O::I32Load16S { memarg } => self.load(memarg, I32, 2, true)?,
            O::I32Load16U { memarg } => self.load(memarg, I32, 2, false)?,
            O::I64Load8S { memarg } => self.load(memarg, I64, 1, true)?,
            O::I64Load8U { memarg } => self.load(memarg, I64, 1, false)?,
            O::I64Load16S { memarg } => self.load(memarg, I64, 2, true)?,
            O::I64Load16U { memarg } => self.load(memarg, I64, 2, false)?,
            O::I64Load32S { memarg } => self.load(memarg, I64, 4, true)?,
            O::I64Load32U { memarg } => self.load(memarg, I64, 4, false)?,
            O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
                self.store(memarg, 4)?
            }
            O::I64Store { memarg } | O::F64Store { memarg } => self.store(memarg, 8)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, 1)?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, 2)?,
            O::MemorySize { mem: 0 } if self.has_memory_base => {
                let (def, off) = self.memory_definition(reg::RAX);
                let len = off + VMOffsets::DEFINITION_LENGTH as i32;
                self.asm.load64(reg::RAX, def, len);
                self.asm.mov_imm(reg::RCX, 16);
                self.asm.shift(crate::asm::Shift::ShrU, true, reg::RAX);
                self.push_reg(I32, reg::RAX);
            }
            O::MemoryGrow { mem: 0 } if self.has_memory_base => {
                // memory_grow(vmctx, memory, delta: u64) -> old pages or -1.
                self.pop_into(reg::RDX)?;
                self.materialize_all();
                self.asm.mov_imm(reg::RSI, 0);
                self.call_builtin(Builtin::MemoryGrow);
                self.push_reg(I32, reg::RAX);
            }
            O::GlobalGet { global_index } => {
                let index = GlobalIndex::from_u32(*global_index);
                let ty = self.module.info.globals[index].content;
                let addr = self.global_address(index)?;
                let wide = scalar(ty)?;
                self.asm
                    .load_sized(reg::RAX, addr, if wide { 8 } else { 4 }, false, wide);
                self.push_reg(ty, reg::RAX);
            }
            O::GlobalSet { global_index } => {
                let index = GlobalIndex::from_u32(*global_index);
                let ty = self.module.info.globals[index].content;
                self.pop_into(reg::RDX)?;
                let addr = self.global_address(index)?;
                let wide = scalar(ty)?;
                self.asm
                    .store_sized(addr, reg::RDX, if wide { 8 } else { 4 });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
