//! Linear memory and globals: loads and stores with their bounds checks,
//! `memory.size`/`memory.grow`, the bulk-memory operators (runtime
//! builtins), and `global.get`/`global.set`.
//!
//! With guard pages (`BoundsChecks::GuardPages`) an access has no check:
//! every 32-bit index plus offset lands in the memory's 8 GiB
//! reservation, and one beyond the length faults in the guard region,
//! which the runtime turns into `MemoryOutOfBounds` for any memory fault
//! of this tier's code (`CompiledBody::guard_page_faults`). LLVM does not
//! know an access may fault, so on its own it would delete a load whose
//! value goes unused, or move a store of the heap or of a global across
//! a faulting load, changing what a trap leaves behind. Such accesses are
//! therefore volatile: LLVM keeps every one, in program order with the
//! others and with calls, and treats each as a side effect no store may
//! cross. They still get LLVM's registers, addressing modes, unrolling
//! and scheduling around them.
//!
//! Without guard pages every access is checked explicitly (`index +
//! offset + size <= length`) and branches to a `MemoryOutOfBounds` trap
//! before it happens; the branch keeps it in order. The length is a
//! VMContext load LLVM keeps in a register between calls (type-based
//! alias analysis tells it heap stores cannot change it), and checks it
//! can prove redundant it removes.
//!
//! Accesses are byte aligned: Wasm's alignment is only a hint.

use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::{MemArg, MemArgTarget, Operator};
use hayate_environ::{CompileError, GlobalIndex, MemoryIndex, Trap, VMOffsets};
use inkwell::IntPredicate;
use inkwell::types::{BasicTypeEnum, IntType};
use inkwell::values::{BasicValue, BasicValueEnum, InstructionValue, IntValue, PointerValue};

use super::{FuncTranslator, Region, Result, unsupported};

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    pub(super) fn memory_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        let (i8t, i16t, i32t, i64t) = (
            self.cx.i8_type(),
            self.cx.i16_type(),
            self.cx.i32_type(),
            self.cx.i64_type(),
        );
        let (f32t, f64t) = (self.cx.f32_type(), self.cx.f64_type());
        use Operator as O;
        match op {
            O::I32Load { memarg } => self.load_op(memarg, i32t.into(), None)?,
            O::I64Load { memarg } => self.load_op(memarg, i64t.into(), None)?,
            O::F32Load { memarg } => self.load_op(memarg, f32t.into(), None)?,
            O::F64Load { memarg } => self.load_op(memarg, f64t.into(), None)?,
            O::I32Load8S { memarg } => self.load_op(memarg, i8t.into(), Some((i32t, true)))?,
            O::I32Load8U { memarg } => self.load_op(memarg, i8t.into(), Some((i32t, false)))?,
            O::I32Load16S { memarg } => self.load_op(memarg, i16t.into(), Some((i32t, true)))?,
            O::I32Load16U { memarg } => self.load_op(memarg, i16t.into(), Some((i32t, false)))?,
            O::I64Load8S { memarg } => self.load_op(memarg, i8t.into(), Some((i64t, true)))?,
            O::I64Load8U { memarg } => self.load_op(memarg, i8t.into(), Some((i64t, false)))?,
            O::I64Load16S { memarg } => self.load_op(memarg, i16t.into(), Some((i64t, true)))?,
            O::I64Load16U { memarg } => self.load_op(memarg, i16t.into(), Some((i64t, false)))?,
            O::I64Load32S { memarg } => self.load_op(memarg, i32t.into(), Some((i64t, true)))?,
            O::I64Load32U { memarg } => self.load_op(memarg, i32t.into(), Some((i64t, false)))?,
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.store_op(memarg, None)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store_op(memarg, Some(i8t))?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store_op(memarg, Some(i16t))?
            }
            O::I64Store32 { memarg } => self.store_op(memarg, Some(i32t))?,
            O::MemorySize { mem } => {
                let memory = self.memory32(*mem)?;
                let len = self.memory_length(memory)?;
                let pages = self
                    .b
                    .build_right_shift(len, i64t.const_int(16, false), false, "")?;
                let v = self.b.build_int_truncate(pages, i32t, "")?;
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                let memory = self.memory32(*mem)?;
                let delta = self.pop_int()?;
                let delta = self.b.build_int_z_extend(delta, i64t, "")?;
                let index = i32t.const_int(u64::from(memory.as_u32()), false);
                let old = self
                    .call_builtin(Builtin::MemoryGrow, &[index.into(), delta.into()])?
                    .expect("memory.grow returns the old size")
                    .into_int_value();
                let v = self.b.build_int_truncate(old, i32t, "")?;
                self.push(v);
            }
            O::MemoryFill { mem } => {
                let memory = self.memory32(*mem)?;
                let len = self.pop_index64()?;
                let byte = self.pop_int()?;
                let dst = self.pop_index64()?;
                let index = i32t.const_int(u64::from(memory.as_u32()), false);
                self.call_builtin(
                    Builtin::MemoryFill,
                    &[index.into(), dst.into(), byte.into(), len.into()],
                )?;
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst_memory, src_memory) = (self.memory32(*dst_mem)?, self.memory32(*src_mem)?);
                let len = self.pop_index64()?;
                let src = self.pop_index64()?;
                let dst = self.pop_index64()?;
                let dst_index = i32t.const_int(u64::from(dst_memory.as_u32()), false);
                let src_index = i32t.const_int(u64::from(src_memory.as_u32()), false);
                self.call_builtin(
                    Builtin::MemoryCopy,
                    &[
                        dst_index.into(),
                        dst.into(),
                        src_index.into(),
                        src.into(),
                        len.into(),
                    ],
                )?;
            }
            O::MemoryInit { data_index, mem } => {
                let memory = self.memory32(*mem)?;
                let len = self.pop_int()?;
                let src = self.pop_int()?;
                let dst = self.pop_index64()?;
                let index = i32t.const_int(u64::from(memory.as_u32()), false);
                let data = i32t.const_int(u64::from(*data_index), false);
                self.call_builtin(
                    Builtin::MemoryInit,
                    &[
                        index.into(),
                        data.into(),
                        dst.into(),
                        src.into(),
                        len.into(),
                    ],
                )?;
            }
            O::DataDrop { data_index } => {
                let data = i32t.const_int(u64::from(*data_index), false);
                self.call_builtin(Builtin::DataDrop, &[data.into()])?;
            }
            O::GlobalGet { global_index } => {
                let global = GlobalIndex::from_u32(*global_index);
                let ty = self.global_type(global)?;
                let (base, offset) = self.global_address(global)?;
                let v = self.load(ty, base, offset, Region::Global)?;
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let global = GlobalIndex::from_u32(*global_index);
                self.global_type(global)?;
                let v = self.pop()?;
                let (base, offset) = self.global_address(global)?;
                let inst = self.store(v, base, offset, Region::Global)?;
                self.keep_in_order_with_faults(inst)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Memory `mem`, which this tier handles if it is 32-bit and not
    /// shared.
    fn memory32(&self, mem: u32) -> Result<MemoryIndex> {
        let memory = MemoryIndex::from_u32(mem);
        let ty = self
            .env
            .input
            .info
            .memories
            .get(memory)
            .ok_or_else(|| CompileError::Codegen(format!("no memory {mem}")))?;
        if ty.memory64 || ty.shared {
            return unsupported("64-bit or shared memories");
        }
        Ok(memory)
    }

    /// Pops a 32-bit memory index or length, widened to 64 bits.
    fn pop_index64(&mut self) -> Result<IntValue<'ctx>> {
        let v = self.pop_int()?;
        Ok(self.b.build_int_z_extend(v, self.cx.i64_type(), "")?)
    }

    /// The pointer to memory `memory`'s `VMMemoryDefinition` and the
    /// offset of the definition from it.
    fn memory_definition(&mut self, memory: MemoryIndex) -> Result<(PointerValue<'ctx>, u64)> {
        let offsets = &self.env.input.offsets;
        Ok(match self.env.input.info.defined_memory(memory) {
            Some(defined) => (self.vmctx, u64::from(offsets.defined_memory(defined))),
            None => {
                let off = offsets.imported_memory(memory);
                (
                    self.in_entry(|t| t.load_vmctx_ptr(off, Region::Immutable))?,
                    0,
                )
            }
        })
    }

    /// The current length in bytes of `memory`.
    pub(super) fn memory_length(&mut self, memory: MemoryIndex) -> Result<IntValue<'ctx>> {
        let (def, off) = self.memory_definition(memory)?;
        let off = off + u64::from(VMOffsets::DEFINITION_LENGTH);
        Ok(self
            .load(self.cx.i64_type().into(), def, off, Region::Vmctx)?
            .into_int_value())
    }

    /// The base address of `memory`: loaded once at entry when it never
    /// moves (guard pages reserve its whole range), otherwise each time.
    pub(super) fn memory_base(&mut self, memory: MemoryIndex) -> Result<PointerValue<'ctx>> {
        if self.env.guard_pages {
            if let Some(base) = self.memory_bases.get(&memory.as_u32()) {
                return Ok(*base);
            }
            let base = self.in_entry(|t| {
                let (def, off) = t.memory_definition(memory)?;
                let off = off + u64::from(VMOffsets::DEFINITION_BASE);
                let ty = t.ptr_type();
                Ok(t.load(ty, def, off, Region::Immutable)?
                    .into_pointer_value())
            })?;
            self.memory_bases.insert(memory.as_u32(), base);
            return Ok(base);
        }
        let (def, off) = self.memory_definition(memory)?;
        let off = off + u64::from(VMOffsets::DEFINITION_BASE);
        let ty = self.ptr_type();
        Ok(self.load(ty, def, off, Region::Vmctx)?.into_pointer_value())
    }

    /// Pops the index of an access of `size` bytes, checks it and returns
    /// the native address.
    pub(super) fn heap_address(&mut self, memarg: &MemArg, size: u32) -> Result<HeapAccess<'ctx>> {
        let MemArgTarget::Memory(mem) = memarg.target else {
            return unsupported("GC array memory access");
        };
        let memory = self.memory32(mem)?;
        if let Some(ptr) = self.frame_address(mem, memarg.offset, size)? {
            return Ok(HeapAccess {
                ptr,
                may_fault: false,
            });
        }
        let index = self.pop_index64()?;
        if !self.env.guard_pages {
            // A 32-bit index plus a 32-bit offset and the size cannot
            // wrap 64 bits.
            let reach = memarg.offset + u64::from(size);
            let i64t = self.cx.i64_type();
            let end = self
                .b
                .build_int_add(index, i64t.const_int(reach, false), "")?;
            let len = self.memory_length(memory)?;
            let out = self.b.build_int_compare(IntPredicate::UGT, end, len, "")?;
            self.trap_if(out, Trap::MemoryOutOfBounds)?;
        }
        let base = self.memory_base(memory)?;
        let at = crate::gep::byte_offset(self.cx, &self.b, base, index)?;
        Ok(HeapAccess {
            ptr: self.offset_ptr(at, memarg.offset)?,
            may_fault: true,
        })
    }

    /// A load of `ty`, extended to `extend` (type, signed) if narrower.
    fn load_op(
        &mut self,
        memarg: &MemArg,
        ty: BasicTypeEnum<'ctx>,
        extend: Option<(IntType<'ctx>, bool)>,
    ) -> Result {
        let size = type_size(ty);
        let addr = self.heap_address(memarg, size)?;
        let v = self.b.build_load(ty, addr.ptr, "")?;
        let load = v.as_instruction_value().expect("a load is an instruction");
        self.mark_heap_access(load, addr)?;
        let v = match extend {
            None => v,
            Some((wide, true)) => self
                .b
                .build_int_s_extend(v.into_int_value(), wide, "")?
                .into(),
            Some((wide, false)) => self
                .b
                .build_int_z_extend(v.into_int_value(), wide, "")?
                .into(),
        };
        self.push(v);
        Ok(())
    }

    /// A store of the popped value, truncated to `narrow` if given.
    fn store_op(&mut self, memarg: &MemArg, narrow: Option<IntType<'ctx>>) -> Result {
        let v = self.pop()?;
        let v: BasicValueEnum<'ctx> = match narrow {
            Some(narrow) => self
                .b
                .build_int_truncate(v.into_int_value(), narrow, "")?
                .into(),
            None => v,
        };
        let size = type_size(v.get_type());
        let addr = self.heap_address(memarg, size)?;
        let inst = self.b.build_store(addr.ptr, v)?;
        self.mark_heap_access(inst, addr)
    }

    /// Marks `inst`, a load or store of linear memory at `access`: byte
    /// aligned (Wasm's alignment is a hint), in the heap's alias class,
    /// and in order with the faults of other accesses if it may fault.
    pub(super) fn mark_heap_access(
        &self,
        inst: InstructionValue<'ctx>,
        access: HeapAccess<'ctx>,
    ) -> Result {
        inst.set_alignment(1)
            .map_err(|e| CompileError::Codegen(format!("alignment: {e:?}")))?;
        self.tag(inst, Region::Heap)?;
        match access.may_fault {
            true => self.keep_in_order_with_faults(inst),
            false => Ok(()),
        }
    }

    /// Makes `inst`, an access of linear memory or a global store,
    /// volatile where heap accesses fault instead of branching to a trap
    /// (see the module docs).
    fn keep_in_order_with_faults(&self, inst: InstructionValue<'ctx>) -> Result {
        if self.env.guard_pages {
            inst.set_volatile(true)
                .map_err(|e| CompileError::Codegen(format!("volatile: {e:?}")))?;
        }
        Ok(())
    }

    fn global_type(&self, global: GlobalIndex) -> Result<BasicTypeEnum<'ctx>> {
        let ty = self
            .env
            .input
            .info
            .globals
            .get(global)
            .ok_or_else(|| CompileError::Codegen(format!("no global {}", global.as_u32())))?;
        self.env.val_type(ty.content)
    }

    /// Pointer and offset of global `global`'s value.
    fn global_address(&mut self, global: GlobalIndex) -> Result<(PointerValue<'ctx>, u64)> {
        let offsets = &self.env.input.offsets;
        Ok(match self.env.input.info.defined_global(global) {
            Some(defined) => (self.vmctx, u64::from(offsets.defined_global(defined))),
            None => {
                let off = offsets.imported_global(global);
                (
                    self.in_entry(|t| t.load_vmctx_ptr(off, Region::Immutable))?,
                    0,
                )
            }
        })
    }
}

/// The native address of a linear-memory access, and whether the access
/// may fault (see `frame.rs` for those that cannot).
#[derive(Clone, Copy)]
pub(super) struct HeapAccess<'ctx> {
    pub ptr: PointerValue<'ctx>,
    pub may_fault: bool,
}

/// Size in bytes of a value type.
fn type_size(ty: BasicTypeEnum<'_>) -> u32 {
    match ty {
        BasicTypeEnum::IntType(t) => t.get_bit_width() / 8,
        BasicTypeEnum::FloatType(t) if t == t.get_context().f32_type() => 4,
        BasicTypeEnum::VectorType(_) => 16,
        _ => 8,
    }
}
