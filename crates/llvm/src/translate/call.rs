//! Calls: to the module's functions (direct; LLVM may inline them), to
//! imports through their `VMFunctionImport`, through tables
//! (`call_indirect`, with the bounds, null and signature checks), and to
//! runtime builtins through the builtin table (C convention).
//!
//! A call that leaves this tier's code (an import, a table element, a
//! function the fallback compiles) uses the Wasm convention. LLVM can
//! express it for the signatures `plan::wasm_compatible` accepts; for
//! the others (more than four integer or eight float parameters, several
//! results) the call goes through the signature's *call adapter*, a
//! C-convention function the fallback compiles
//! (`Compiler::compile_call_adapter`): the arguments go into a buffer on
//! the stack, 16 bytes each, the adapter makes the Wasm-convention call
//! and leaves the results in the buffer. A call with reference-typed
//! values is declined. A `call_indirect` of such a signature first
//! dispatches: an element of the caller's own instance is one of the
//! module's escaping functions, which its `defined_index` names, and a
//! `switch` on it calls this tier's copy of the function directly
//! (`plan::IndirectTargets`); only elements of other instances, and
//! functions the fallback compiles, take the adapter.

use hayate_environ::builtins::{AbiType, Builtin};
use hayate_environ::wasmparser::Operator;
use hayate_environ::{
    CompileError, DefinedFuncIndex, FUNCREF_INIT_BIT, FuncIndex, TableIndex, Trap, TypeIndex,
    VAL_RAW_SIZE, VMOffsets, vm_func_ref,
};
use inkwell::IntPredicate;
use inkwell::intrinsics::Intrinsic;
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, CallSiteValue, FunctionValue, PointerValue,
};

use super::{FuncTranslator, ModuleEnv, Region, Result, unsupported};
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

    /// The values `call`, a call of type `ty`, returns.
    fn call_results(
        &mut self,
        call: CallSiteValue<'ctx>,
        ty: TypeIndex,
    ) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let count = self.env.input.info.signature(ty).results.len();
        let Some(value) = super::call_result(call) else {
            return Ok(Vec::new());
        };
        if count == 1 {
            return Ok(vec![value]);
        }
        let aggregate = value.into_struct_value();
        (0..count as u32)
            .map(|i| Ok(self.b.build_extract_value(aggregate, i, "")?))
            .collect()
    }

    /// Pushes the results of a call, `results`; reloads what the callee
    /// may have changed (fuel, the epoch deadline).
    fn push_call_results(&mut self, results: Vec<BasicValueEnum<'ctx>>) -> Result {
        self.fuel_load()?;
        self.epoch_deadline_load()?;
        results.into_iter().for_each(|v| self.push(v));
        Ok(())
    }

    /// Calls defined function `defined` of type `ty` (which this tier
    /// compiles, or whose signature is compatible) directly with `args`
    /// (the vmctx twice, then the parameters): its results. A checked
    /// function calls the checked function of a callee it alone calls
    /// (see `frame.rs`).
    fn call_defined(
        &mut self,
        defined: DefinedFuncIndex,
        ty: TypeIndex,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let callee = match self.checked && self.env.plan.only_caller(defined) == Some(self.index) {
            true => self.env.checked_function(defined)?,
            false => self.env.function(defined)?,
        };
        let call = self.b.build_call(callee, args, "")?;
        not_a_tail_call(call);
        if self.env.plan.abi(defined) == Abi::Internal {
            call.set_call_convention(plan::FASTCC);
        }
        self.call_results(call, ty)
    }

    fn translate_call(&mut self, f: FuncIndex) -> Result {
        let info = self.env.input.info;
        let ty = info.functions[f];
        match info.defined_func(f) {
            Some(defined) => {
                if !self.env.plan.compiles(defined) && !plan::wasm_compatible(info.signature(ty)) {
                    let code = self.env.function(defined)?;
                    let code = code.as_global_value().as_pointer_value();
                    return self.call_through_adapter(ty, code, self.vmctx);
                }
                let args = self.call_args(ty, self.vmctx)?;
                let results = self.call_defined(defined, ty, &args)?;
                self.push_call_results(results)
            }
            None => {
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

    /// Calls the Wasm-convention code at `code` of type `ty`: directly,
    /// or through the type's call adapter.
    fn call_wasm_indirect(
        &mut self,
        ty: TypeIndex,
        code: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
    ) -> Result {
        let sig = self.env.input.info.signature(ty);
        if !plan::wasm_compatible(sig) {
            return self.call_through_adapter(ty, code, callee_vmctx);
        }
        let fn_type = self.env.function_type(sig, Abi::Wasm)?;
        let args = self.call_args(ty, callee_vmctx)?;
        let call = self.b.build_indirect_call(fn_type, code, &args, "")?;
        not_a_tail_call(call);
        let results = self.call_results(call, ty)?;
        self.push_call_results(results)
    }

    /// Calls the Wasm-convention code at `code` of type `ty` through the
    /// type's call adapter: the arguments and results pass through a
    /// buffer in this frame, whose lifetime is the call's (so LLVM can
    /// give the buffers of several calls one stack slot).
    fn call_through_adapter(
        &mut self,
        ty: TypeIndex,
        code: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
    ) -> Result {
        let n = self.env.input.info.signature(ty).params.len();
        let args = self.popn(n)?;
        let results = self.adapter_call(ty, code, callee_vmctx, args)?;
        self.push_call_results(results)
    }

    /// Calls the Wasm-convention code at `code` of type `ty` with `args`
    /// through the type's call adapter: its results.
    fn adapter_call(
        &mut self,
        ty: TypeIndex,
        code: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
        args: Vec<BasicValueEnum<'ctx>>,
    ) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let sig = self.env.input.info.signature(ty);
        if !plan::adaptable(sig) {
            return unsupported("a call with references in its signature");
        }
        let slots = sig.params.len().max(sig.results.len()).max(1);
        let size = slots as u64 * u64::from(VAL_RAW_SIZE);
        let buffer_type = self.cx.i8_type().array_type(size as u32);
        let values = self.in_entry(|t| {
            let values = t.b.build_alloca(buffer_type, "values")?;
            values
                .as_instruction()
                .expect("an alloca is an instruction")
                .set_alignment(VAL_RAW_SIZE)
                .map_err(|e| CompileError::Codegen(e.to_string()))?;
            Ok(values)
        })?;
        self.lifetime("llvm.lifetime.start", size, values)?;
        for (i, arg) in args.into_iter().enumerate() {
            let slot = self.value_slot(values, i)?;
            self.b.build_store(slot, arg)?;
        }
        let adapter = self.env.call_adapter(ty);
        let args = [callee_vmctx, self.vmctx, values, code].map(BasicMetadataValueEnum::from);
        not_a_tail_call(self.b.build_call(adapter, &args, "")?);
        let mut results = Vec::with_capacity(sig.results.len());
        for (i, result) in sig.results.iter().enumerate() {
            let slot = self.value_slot(values, i)?;
            let ty = self.env.val_type(*result)?;
            results.push(self.b.build_load(ty, slot, "")?);
        }
        self.lifetime("llvm.lifetime.end", size, values)?;
        Ok(results)
    }

    /// Slot `i` of a call adapter's buffer at `values`.
    fn value_slot(&self, values: PointerValue<'ctx>, i: usize) -> Result<PointerValue<'ctx>> {
        let offset = self
            .cx
            .i64_type()
            .const_int(i as u64 * u64::from(VAL_RAW_SIZE), false);
        Ok(crate::gep::byte_offset(self.cx, &self.b, values, offset)?)
    }

    /// Marks the start or end (`intrinsic`) of the `size` bytes at `at`
    /// being in use.
    fn lifetime(&mut self, intrinsic: &str, size: u64, at: PointerValue<'ctx>) -> Result {
        let f = Intrinsic::find(intrinsic)
            .and_then(|i| i.get_declaration(self.env.module, &[self.ptr_type()]))
            .ok_or_else(|| CompileError::Codegen(format!("no intrinsic {intrinsic}")))?;
        let size = self.cx.i64_type().const_int(size, false);
        self.b.build_call(f, &[size.into(), at.into()], "")?;
        Ok(())
    }

    fn translate_call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result {
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
        let from = self.current_block();
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
        let lazy_end = self.current_block();
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
        let targets: Vec<_> = self.env.plan.direct_targets(info.signature(ty)).collect();
        match targets.is_empty() {
            true => self.call_wasm_indirect(ty, code, callee_vmctx),
            false => self.dispatch_indirect(ty, funcref, code, callee_vmctx, &targets),
        }
    }

    /// Calls the element `funcref` of type `ty`, whose signature needs a
    /// call adapter, at `code` with `callee_vmctx`: when it belongs to
    /// this instance and is one of `targets`, the element's functions
    /// this tier compiles (see `plan::IndirectTargets`), by a direct call
    /// that its `defined_index` selects; otherwise through the adapter.
    fn dispatch_indirect(
        &mut self,
        ty: TypeIndex,
        funcref: PointerValue<'ctx>,
        code: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
        targets: &[DefinedFuncIndex],
    ) -> Result {
        self.env.dispatching_call_sites += 1;
        let sig = self.env.input.info.signature(ty);
        let args = self.popn(sig.params.len())?;
        let result_types = sig
            .results
            .iter()
            .map(|r| self.env.val_type(*r))
            .collect::<Result<Vec<_>>>()?;
        let (dispatch, adapter, merge) = (
            self.cx.append_basic_block(self.func, "dispatch"),
            self.cx.append_basic_block(self.func, "adapter"),
            self.cx.append_basic_block(self.func, ""),
        );
        let (i64t, i32t) = (self.cx.i64_type(), self.cx.i32_type());
        let [callee_at, own] =
            [callee_vmctx, self.vmctx].map(|p| self.b.build_ptr_to_int(p, i64t, ""));
        let same = self
            .b
            .build_int_compare(IntPredicate::EQ, callee_at?, own?, "")?;
        self.b.build_conditional_branch(same, dispatch, adapter)?;

        self.b.position_at_end(dispatch);
        let defined_index = self
            .load(
                i32t.into(),
                funcref,
                u64::from(vm_func_ref::DEFINED_INDEX),
                Region::Vmctx,
            )?
            .into_int_value();
        let cases: Vec<_> = targets
            .iter()
            .map(|d| {
                let index = i32t.const_int(u64::from(d.as_u32()), false);
                (index, self.cx.append_basic_block(self.func, "direct"))
            })
            .collect();
        self.b.build_switch(defined_index, adapter, &cases)?;
        let mut incoming = Vec::with_capacity(targets.len() + 1);
        let mut direct_args: Vec<BasicMetadataValueEnum> =
            vec![self.vmctx.into(), self.vmctx.into()];
        direct_args.extend(args.iter().map(|a| BasicMetadataValueEnum::from(*a)));
        for (&target, (_, block)) in targets.iter().zip(&cases) {
            self.b.position_at_end(*block);
            let results = self.call_defined(target, ty, &direct_args)?;
            incoming.push((results, self.current_block()));
            self.b.build_unconditional_branch(merge)?;
        }

        self.b.position_at_end(adapter);
        let results = self.adapter_call(ty, code, callee_vmctx, args)?;
        incoming.push((results, self.current_block()));
        self.b.build_unconditional_branch(merge)?;

        self.b.position_at_end(merge);
        let mut results = Vec::with_capacity(result_types.len());
        for (i, ty) in result_types.into_iter().enumerate() {
            let phi = self.b.build_phi(ty, "")?;
            for (values, block) in &incoming {
                phi.add_incoming(&[(&values[i], *block)]);
            }
            results.push(phi.as_basic_value());
        }
        self.push_call_results(results)
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

/// The symbol of the call adapter of type `ty` (see `emit.rs`).
pub(crate) fn call_adapter_symbol(ty: TypeIndex) -> String {
    format!("hayate_call_adapter_{}", ty.as_u32())
}

impl<'ctx> ModuleEnv<'_, 'ctx> {
    /// The call adapter of type `ty`:
    /// `void (ptr callee_vmctx, ptr caller_vmctx, ptr values, ptr code)`
    /// in the C convention, which the linker resolves to the fallback's
    /// code.
    fn call_adapter(&mut self, ty: TypeIndex) -> FunctionValue<'ctx> {
        if let Some(f) = self.adapters.get(&ty) {
            return *f;
        }
        let ptr = self.cx.ptr_type(Default::default());
        let fn_type = self.cx.void_type().fn_type(&[ptr.into(); 4], false);
        let f = self.module.add_function(
            &call_adapter_symbol(ty),
            fn_type,
            Some(inkwell::module::Linkage::External),
        );
        self.adapters.insert(ty, f);
        f
    }
}
