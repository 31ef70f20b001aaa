//! Calls: to the module's own functions (directly, or through the lazy
//! entries when functions are compiled on first call), to imports, through
//! tables (`call_indirect`, with the bounds, null and signature checks),
//! and to runtime builtins.
//!
//! Wasm calls follow Cranelift's `tail` convention, so that code from
//! either compiler calls the other: `rdi` the callee's vmctx, `rsi` the
//! caller's, integer arguments in `rdx`, `rcx`, `r8`, `r9`, floats in
//! `xmm0`–`xmm7`, results in `rax`, `rcx`, `rdx`, `rsi`, `rdi`, `r8`–`r10`
//! and `xmm0`–`xmm7`. Further arguments go in 8-byte stack slots, which
//! the callee pops; results that would need the stack are declined. The
//! callee's address is kept in `r12` and its vmctx in `r13`, which survive
//! the builtin calls made to find them.

use cranelift_assembler_x64::Scale;
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::Operator;
use hayate_environ::{
    FuncIndex, RelocationTarget, TableIndex, Trap, TypeIndex, VMOffsets, vm_func_ref,
};

use crate::asm::{Cond, mem, mem_scaled, reg};
use crate::func::{ArgReg, FuncCompiler, Result, arg_registers, result_registers, unsupported};

/// Whose vmctx the callee gets.
enum CalleeVmctx {
    /// This instance's (`r14`).
    Own,
    /// The one loaded into `r13`.
    Loaded,
}

impl FuncCompiler<'_> {
    /// Calls `builtin` (C convention) with this vmctx and the arguments
    /// already in `rsi`, `rdx`, …; the result is in `rax`.
    pub(crate) fn call_builtin(&mut self, builtin: Builtin) {
        let table = self.module.offsets.builtins() as i32;
        self.asm.mov64(reg::RDI, reg::R14);
        self.asm.load64(reg::RAX, reg::R14, table);
        self.asm
            .call_mem(mem(reg::RAX, builtin.table_offset() as i32));
    }

    /// Traps with `HostError` if `rax` is null (a failed compilation left
    /// its error for the host).
    fn trap_if_null(&mut self, trap: Trap) {
        self.asm.test(true, reg::RAX);
        let label = self.trap_label(trap);
        self.asm.jcc(Cond::Eq, label);
    }

    /// Pops the arguments of a call of type `ty` into their registers,
    /// calls (`r12`, or `target` directly), and pushes the results.
    fn call_with(
        &mut self,
        ty: TypeIndex,
        vmctx: CalleeVmctx,
        target: Option<RelocationTarget>,
    ) -> Result {
        let ft = self.module.info.signature(ty).clone();
        let (args, stack_bytes) = arg_registers(&ft.params)?;
        let results = result_registers(&ft.results)?;
        let base = self.stack.len() - args.len();
        // Argument registers overlap operand registers.
        self.materialize_all();
        if stack_bytes > 0 {
            // The callee pops it.
            self.asm.sub_rsp(stack_bytes);
        }
        for (i, place) in args.iter().enumerate() {
            self.load_into(place, base + i)?;
        }
        self.stack.truncate(base);
        match vmctx {
            CalleeVmctx::Own => self.asm.mov64(reg::RDI, reg::R14),
            CalleeVmctx::Loaded => self.asm.mov64(reg::RDI, reg::R13),
        }
        self.asm.mov64(reg::RSI, reg::R14);
        match target {
            Some(target) => self.asm.call_relocated(target),
            None => self.asm.call_reg(reg::R12),
        }
        for (ty, r) in ft.results.iter().zip(&results) {
            match r {
                // Result registers overlap operand registers.
                ArgReg::Int(r) => self.push_slot(*ty, *r),
                ArgReg::Xmm(x) => {
                    self.asm.xmm_to_gpr(reg::R11, *x);
                    self.push_slot(*ty, reg::R11);
                }
                ArgReg::Stack(_) => unreachable!("results are in registers"),
            }
        }
        Ok(())
    }

    fn call(&mut self, function_index: u32) -> Result {
        let f = FuncIndex::from_u32(function_index);
        let info = self.module.info;
        let ty = info.functions[f];
        // Checked before any code is emitted for the call.
        arg_registers(&info.signature(ty).params)?;
        result_registers(&info.signature(ty).results)?;
        let offsets = &self.module.offsets;
        match info.defined_func(f) {
            Some(defined) if self.module.lazy_calls => {
                // The builtin may be called: nothing live in registers.
                self.materialize_all();
                let entries = offsets.lazy_entries() as i32;
                self.asm.load64(reg::RAX, reg::R14, entries);
                self.asm
                    .load64(reg::R12, reg::RAX, 8 * defined.as_u32() as i32);
                let index = i64::from(defined.as_u32());
                self.compile_if_null(Builtin::LazyCompile, |f| {
                    f.asm.mov_imm(reg::RSI, index);
                });
                self.call_with(ty, CalleeVmctx::Own, None)
            }
            Some(defined) => self.call_with(
                ty,
                CalleeVmctx::Own,
                Some(RelocationTarget::Function(defined)),
            ),
            None => {
                let wasm_call = offsets.imported_function_wasm_call(f) as i32;
                let vmctx = offsets.imported_function_vmctx(f) as i32;
                self.asm.load64(reg::R12, reg::R14, wasm_call);
                self.asm.load64(reg::R13, reg::R14, vmctx);
                self.call_with(ty, CalleeVmctx::Loaded, None)
            }
        }
    }

    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result {
        let info = self.module.info;
        if !info.tables[table].element.is_func() {
            return unsupported("call_indirect through a table of typed references");
        }
        if info.tables[table].table64 {
            return unsupported("call_indirect through a 64-bit table");
        }
        arg_registers(&info.signature(ty).params)?;
        result_registers(&info.signature(ty).results)?;
        let offsets = self.module.offsets;
        self.pop_into(reg::RDX)?;
        // Builtins may be called: nothing live in registers.
        self.materialize_all();
        let (def, off) = match info.defined_table(table) {
            Some(defined) => (reg::R14, offsets.defined_table(defined) as i32),
            None => {
                let off = offsets.imported_table(table) as i32;
                self.asm.load64(reg::RAX, reg::R14, off);
                (reg::RAX, 0)
            }
        };
        // Bounds.
        self.asm
            .load64(reg::RCX, def, off + VMOffsets::DEFINITION_LENGTH as i32);
        self.asm.cmp(true, reg::RDX, reg::RCX);
        let out_of_bounds = self.trap_label(Trap::TableOutOfBounds);
        self.asm.jcc(Cond::GeU, out_of_bounds);
        // The element: tagged, or 0 if not initialised yet.
        self.asm
            .load64(reg::RCX, def, off + VMOffsets::DEFINITION_BASE as i32);
        let element = mem_scaled(reg::RCX, reg::RDX, Scale::Eight, 0);
        self.asm.load_sized(reg::RAX, element, 8, false, true);
        self.asm.test(true, reg::RAX);
        let (initialised, have) = (self.asm.new_label(), self.asm.new_label());
        self.asm.jcc(Cond::Ne, initialised);
        // table_get_lazy_init_funcref(vmctx, table, index): index in rdx.
        self.asm.mov_imm(reg::RSI, i64::from(table.as_u32()));
        self.call_builtin(Builtin::TableGetLazyInitFuncRef);
        self.asm.jmp(have);
        self.asm.bind(initialised);
        self.asm
            .and_imm64(reg::RAX, !(hayate_environ::FUNCREF_INIT_BIT as i32));
        self.asm.bind(have);
        self.trap_if_null(Trap::IndirectCallToNull);
        self.asm.mov64(reg::R13, reg::RAX);
        // Signature.
        self.asm
            .load32(reg::RCX, reg::R13, vm_func_ref::TYPE_ID as i32);
        self.asm
            .load64(reg::RAX, reg::R14, offsets.type_ids() as i32);
        self.asm
            .load32(reg::RDX, reg::RAX, VMOffsets::type_id_entry(ty) as i32);
        self.asm.cmp(false, reg::RCX, reg::RDX);
        let bad_signature = self.trap_label(Trap::BadSignature);
        self.asm.jcc(Cond::Ne, bad_signature);
        // The code, compiled first if need be.
        if self.lazy_compilation {
            self.lazy_indirect_entry();
        } else {
            self.asm
                .load64(reg::R12, reg::R13, vm_func_ref::WASM_CALL as i32);
        }
        // The callee's vmctx, in r13 from the funcref.
        self.asm
            .load64(reg::R13, reg::R13, vm_func_ref::VMCTX as i32);
        self.call_with(ty, CalleeVmctx::Loaded, None)
    }

    /// Lazy compilation: the entry to call through the function reference
    /// in `r13`, into `r12`. A reference of this instance goes through the
    /// module's entries by its defined index, so it reaches the function's
    /// latest code (the second tier, the whole module); any other through
    /// its `wasm_call`. Either is compiled first if still null.
    fn lazy_indirect_entry(&mut self) {
        let (other, have) = (self.asm.new_label(), self.asm.new_label());
        self.asm
            .load64(reg::RCX, reg::R13, vm_func_ref::VMCTX as i32);
        self.asm.cmp(true, reg::RCX, reg::R14);
        self.asm.jcc(Cond::Ne, other);
        // lazy_compile(vmctx, defined index): the index is in rsi.
        self.asm
            .load32(reg::RSI, reg::R13, vm_func_ref::DEFINED_INDEX as i32);
        let entries = self.module.offsets.lazy_entries() as i32;
        self.asm.load64(reg::RAX, reg::R14, entries);
        let slot = mem_scaled(reg::RAX, reg::RSI, Scale::Eight, 0);
        self.asm.load_sized(reg::R12, slot, 8, false, true);
        self.compile_if_null(Builtin::LazyCompile, |_| {});
        self.asm.jmp(have);
        // lazy_compile_func_ref(vmctx, funcref).
        self.asm.bind(other);
        self.asm
            .load64(reg::R12, reg::R13, vm_func_ref::WASM_CALL as i32);
        self.compile_if_null(Builtin::LazyCompileFuncRef, |f| {
            f.asm.mov64(reg::RSI, reg::R13);
        });
        self.asm.bind(have);
    }

    /// If the entry in `r12` is null: sets the builtin's arguments with
    /// `args` and calls `builtin`, which compiles the function and returns
    /// its entry (into `r12`), trapping with `HostError` if that is null
    /// too (a failed compilation left its error for the host).
    fn compile_if_null(&mut self, builtin: Builtin, args: impl FnOnce(&mut Self)) {
        let have = self.asm.new_label();
        self.asm.test(true, reg::R12);
        self.asm.jcc(Cond::Ne, have);
        args(self);
        self.call_builtin(builtin);
        self.trap_if_null(Trap::HostError);
        self.asm.mov64(reg::R12, reg::RAX);
        self.asm.bind(have);
    }

    /// Handles `op` if it is a call.
    pub(crate) fn call_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        match *op {
            Operator::Call { function_index } => self.call(function_index)?,
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex::from_u32(type_index),
                TableIndex::from_u32(table_index),
            )?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}
