//! Calls: to the module's functions (direct; LLVM may inline them), to
//! imports through their `VMFunctionImport`, through tables
//! (`call_indirect`, with the bounds, null and signature checks), and to
//! runtime builtins through the builtin table (C convention).
//!
//! A call that leaves this tier's code (an import, a table element, a
//! function the fallback compiles) uses the Wasm convention, which only
//! signatures that `plan::wasm_compatible` accepts can be expressed in;
//! a function making any other such call is declined.

use hayate_environ::builtins::{AbiType, Builtin};
use hayate_environ::wasmparser::Operator;
use hayate_environ::{
    CompileError, FUNCREF_INIT_BIT, FuncIndex, TableIndex, Trap, TypeIndex, VMOffsets, vm_func_ref,
};
use inkwell::IntPredicate;
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, CallSiteValue, PointerValue};

use super::{FuncTranslator, Region, Result, unsupported};
use crate::plan::{self, Abi};

/// Marks a Wasm call `notail`: LLVM must not turn it into a jump (tail
/// recursion elimination would make a recursion that exhausts the stack,
/// which Wasm traps on, into an endless loop).
fn not_a_tail_call(call: CallSiteValue<'_>) {
    call.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindNoTail);
}

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    pub(super) fn call_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        match op {
            Operator::Call { function_index } => {
                self.translate_call(FuncIndex::from_u32(*function_index))?
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(
                TypeIndex::from_u32(*type_index),
                TableIndex::from_u32(*table_index),
            )?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Pops the arguments of a call of type `ty` to a function whose
    /// vmctx is `callee_vmctx`.
    fn call_args(
        &mut self,
        ty: TypeIndex,
        callee_vmctx: PointerValue<'ctx>,
    ) -> Result<Vec<BasicMetadataValueEnum<'ctx>>> {
        let n = self.env.input.info.signature(ty).params.len();
        let mut args: Vec<BasicMetadataValueEnum> = vec![callee_vmctx.into(), self.vmctx.into()];
        args.extend(self.popn(n)?.into_iter().map(BasicMetadataValueEnum::from));
        Ok(args)
    }

    /// Pushes the results of `call`, a call of type `ty`; reloads what
    /// the callee may have changed (fuel, the epoch deadline).
    fn push_call_results(&mut self, call: CallSiteValue<'ctx>, ty: TypeIndex) -> Result {
        self.fuel_load()?;
        self.epoch_deadline_load()?;
        let count = self.env.input.info.signature(ty).results.len();
        let Some(value) = super::call_result(call) else {
            return Ok(());
        };
        if count == 1 {
            self.push(value);
            return Ok(());
        }
        let aggregate = value.into_struct_value();
        for i in 0..count as u32 {
            let v = self.b.build_extract_value(aggregate, i, "")?;
            self.push(v);
        }
        Ok(())
    }

    /// Declines the function if a call of type `ty` in the Wasm
    /// convention cannot be expressed.
    fn require_wasm_convention(&self, ty: TypeIndex) -> Result {
        if plan::wasm_compatible(self.env.input.info.signature(ty)) {
            Ok(())
        } else {
            unsupported("a call in the Wasm convention with this signature")
        }
    }

    fn translate_call(&mut self, f: FuncIndex) -> Result {
        let info = self.env.input.info;
        let ty = info.functions[f];
        match info.defined_func(f) {
            Some(defined) => {
                let abi = self.env.plan.abi(defined);
                if !self.env.plan.compiles(defined) {
                    self.require_wasm_convention(ty)?;
                }
                // A checked function calls the checked function of a
                // callee it alone calls (see `frame.rs`).
                let callee =
                    match self.checked && self.env.plan.only_caller(defined) == Some(self.index) {
                        true => self.env.checked_function(defined)?,
                        false => self.env.function(defined)?,
                    };
                let args = self.call_args(ty, self.vmctx)?;
                let call = self.b.build_call(callee, &args, "")?;
                not_a_tail_call(call);
                if abi == Abi::Internal {
                    call.set_call_convention(plan::FASTCC);
                }
                self.push_call_results(call, ty)
            }
            None => {
                self.require_wasm_convention(ty)?;
                let offsets = &self.env.input.offsets;
                let (code_at, vmctx_at) = (
                    offsets.imported_function_wasm_call(f),
                    offsets.imported_function_vmctx(f),
                );
                let code = self.in_entry(|t| t.load_vmctx_ptr(code_at, Region::Immutable))?;
                let callee_vmctx =
                    self.in_entry(|t| t.load_vmctx_ptr(vmctx_at, Region::Immutable))?;
                self.call_wasm_indirect(ty, code, callee_vmctx)
            }
        }
    }

    /// Calls the Wasm-convention code at `code` of type `ty`.
    fn call_wasm_indirect(
        &mut self,
        ty: TypeIndex,
        code: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
    ) -> Result {
        let sig = self.env.input.info.signature(ty);
        let fn_type = self.env.function_type(sig, Abi::Wasm)?;
        let args = self.call_args(ty, callee_vmctx)?;
        let call = self.b.build_indirect_call(fn_type, code, &args, "")?;
        not_a_tail_call(call);
        self.push_call_results(call, ty)
    }

    fn translate_call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result {
        self.require_wasm_convention(ty)?;
        let info = self.env.input.info;
        let table_type = info
            .tables
            .get(table)
            .ok_or_else(|| CompileError::Codegen(format!("no table {}", table.as_u32())))?;
        if table_type.table64 || !table_type.element.is_func() {
            return unsupported("call_indirect through a 64-bit or non-funcref table");
        }
        let (i32t, i64t) = (self.cx.i32_type(), self.cx.i64_type());
        let index32 = self.pop_int()?;
        let index = self.b.build_int_z_extend(index32, i64t, "")?;
        let (def, off) = self.table_definition(table)?;
        let len = self
            .load(
                i64t.into(),
                def,
                off + u64::from(VMOffsets::DEFINITION_LENGTH),
                Region::Vmctx,
            )?
            .into_int_value();
        let out = self
            .b
            .build_int_compare(IntPredicate::UGE, index, len, "")?;
        self.trap_if(out, Trap::TableOutOfBounds)?;
        let ptr = self.ptr_type();
        let base = self
            .load(
                ptr,
                def,
                off + u64::from(VMOffsets::DEFINITION_BASE),
                Region::Vmctx,
            )?
            .into_pointer_value();
        let scaled = self
            .b
            .build_left_shift(index, i64t.const_int(3, false), "")?;
        let slot = crate::gep::byte_offset(self.cx, &self.b, base, scaled)?;
        let raw = self.load(ptr, slot, 0, Region::Table)?.into_pointer_value();

        // A stored 0 is an element not initialised yet: the runtime
        // computes it. Others are tagged with FUNCREF_INIT_BIT.
        let from = self
            .b
            .get_insert_block()
            .expect("the builder is in a block");
        let (lazy, done) = (
            self.cx.append_basic_block(self.func, "lazy"),
            self.cx.append_basic_block(self.func, ""),
        );
        let is_zero = self.b.build_is_null(raw, "")?;
        let raw_int = self.b.build_ptr_to_int(raw, i64t, "")?;
        let untagged = self.b.build_and(
            raw_int,
            i64t.const_int(!(FUNCREF_INIT_BIT as u64), false),
            "",
        )?;
        let untagged =
            self.b
                .build_int_to_ptr(untagged, self.cx.ptr_type(Default::default()), "")?;
        self.b.build_conditional_branch(is_zero, lazy, done)?;
        self.b.position_at_end(lazy);
        let table_arg = i32t.const_int(u64::from(table.as_u32()), false);
        let initialised = self
            .call_builtin(
                Builtin::TableGetLazyInitFuncRef,
                &[table_arg.into(), index32.into()],
            )?
            .expect("the builtin returns a reference")
            .into_pointer_value();
        let lazy_end = self
            .b
            .get_insert_block()
            .expect("the builder is in a block");
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        let funcref = self.b.build_phi(ptr, "")?;
        funcref.add_incoming(&[(&untagged, from), (&initialised, lazy_end)]);
        let funcref = funcref.as_basic_value().into_pointer_value();

        let null = self.b.build_is_null(funcref, "")?;
        self.trap_if(null, Trap::IndirectCallToNull)?;
        let actual = self
            .load(
                i32t.into(),
                funcref,
                u64::from(vm_func_ref::TYPE_ID),
                Region::Vmctx,
            )?
            .into_int_value();
        let type_ids = self.in_entry(|t| {
            let at = t.env.input.offsets.type_ids();
            t.load_vmctx_ptr(at, Region::Immutable)
        })?;
        let expected = self
            .load(
                i32t.into(),
                type_ids,
                u64::from(VMOffsets::type_id_entry(ty)),
                Region::Immutable,
            )?
            .into_int_value();
        let differs = self
            .b
            .build_int_compare(IntPredicate::NE, actual, expected, "")?;
        if info.types[ty].is_final {
            self.trap_if(differs, Trap::BadSignature)?;
        } else {
            // The callee's type may be a declared subtype: ask the
            // registry when the ids differ.
            let (slow, ok) = (
                self.cx.append_basic_block(self.func, "subtype"),
                self.cx.append_basic_block(self.func, ""),
            );
            self.b.build_conditional_branch(differs, slow, ok)?;
            self.b.position_at_end(slow);
            let index = i32t.const_int(u64::from(ty.as_u32()), false);
            let sub = self
                .call_builtin(Builtin::GcIsSubtype, &[actual.into(), index.into()])?
                .expect("the builtin returns a flag")
                .into_int_value();
            let not_sub = self
                .b
                .build_int_compare(IntPredicate::EQ, sub, i32t.const_zero(), "")?;
            self.trap_if(not_sub, Trap::BadSignature)?;
            self.b.build_unconditional_branch(ok)?;
            self.b.position_at_end(ok);
        }
        let code = self
            .load(
                ptr,
                funcref,
                u64::from(vm_func_ref::WASM_CALL),
                Region::Vmctx,
            )?
            .into_pointer_value();
        let callee_vmctx = self
            .load(ptr, funcref, u64::from(vm_func_ref::VMCTX), Region::Vmctx)?
            .into_pointer_value();
        self.call_wasm_indirect(ty, code, callee_vmctx)
    }

    /// Pointer to table `table`'s `VMTableDefinition` and its offset.
    fn table_definition(&mut self, table: TableIndex) -> Result<(PointerValue<'ctx>, u64)> {
        let offsets = &self.env.input.offsets;
        Ok(match self.env.input.info.defined_table(table) {
            Some(defined) => (self.vmctx, u64::from(offsets.defined_table(defined))),
            None => {
                let off = offsets.imported_table(table);
                (
                    self.in_entry(|t| t.load_vmctx_ptr(off, Region::Immutable))?,
                    0,
                )
            }
        })
    }

    fn abi_type(&self, ty: AbiType) -> BasicTypeEnum<'ctx> {
        match ty {
            AbiType::Pointer => self.ptr_type(),
            AbiType::I8 => self.cx.i8_type().into(),
            AbiType::I32 => self.cx.i32_type().into(),
            AbiType::I64 => self.cx.i64_type().into(),
        }
    }

    /// Calls `builtin` (C convention) with this vmctx and `args`. For a
    /// builtin that can trap, traps when it returns 0 and returns `None`;
    /// otherwise returns its result.
    pub(super) fn call_builtin(
        &mut self,
        builtin: Builtin,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<Option<BasicValueEnum<'ctx>>> {
        let mut params: Vec<BasicMetadataTypeEnum> = vec![self.ptr_type().into()];
        params.extend(
            builtin
                .params()
                .iter()
                .map(|t| BasicMetadataTypeEnum::from(self.abi_type(*t))),
        );
        let fn_type = match builtin.result() {
            Some(r) => self.abi_type(r).fn_type(&params, false),
            None => self.cx.void_type().fn_type(&params, false),
        };
        let table = self.in_entry(|t| {
            let at = t.env.input.offsets.builtins();
            t.load_vmctx_ptr(at, Region::Immutable)
        })?;
        let ptr = self.ptr_type();
        let callee = self
            .load(
                ptr,
                table,
                u64::from(builtin.table_offset()),
                Region::Immutable,
            )?
            .into_pointer_value();
        let mut call_args: Vec<BasicMetadataValueEnum> = vec![self.vmctx.into()];
        call_args.extend_from_slice(args);
        let result = super::call_result(
            self.b
                .build_indirect_call(fn_type, callee, &call_args, "")?,
        );
        match builtin.trap() {
            Some(trap) => {
                let ok = result
                    .ok_or_else(|| {
                        CompileError::Codegen("trapping builtins return a status".into())
                    })?
                    .into_int_value();
                let failed = self.b.build_int_compare(
                    IntPredicate::EQ,
                    ok,
                    ok.get_type().const_zero(),
                    "",
                )?;
                self.trap_if(failed, trap)?;
                Ok(None)
            }
            None => Ok(result),
        }
    }
}
