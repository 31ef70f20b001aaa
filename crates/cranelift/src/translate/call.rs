//! Calls: direct calls to functions of the module, calls to imported
//! functions through their `VMFunctionImport`, `call_indirect` through a
//! table with null and signature checks, and calls to runtime builtins
//! through the builtin table.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    BlockArg, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, SigRef,
    UserExternalName, Value, types,
};
use hayate_environ::builtins::Builtin;
use hayate_environ::{
    DefinedFuncIndex, FuncIndex, TableIndex, Trap, TypeIndex, VMOffsets, vm_func_ref,
};

use super::FuncTranslator;
use super::exceptions::CallTarget;
use super::vmctx::immutable;
use crate::abi::{self, POINTER};
use crate::traps::trap_to_code;

impl FuncTranslator<'_, '_> {
    /// The signature of type `type_index` in the Wasm convention.
    fn wasm_sig_ref(&mut self, type_index: TypeIndex) -> SigRef {
        if let Some(sig) = self.sig_refs.get(&type_index) {
            return *sig;
        }
        let sig = abi::wasm_signature(self.info().signature(type_index));
        let sig = self.b.import_signature(sig);
        self.sig_refs.insert(type_index, sig);
        sig
    }

    /// A direct, colocated reference to defined function `defined_index`
    /// (name `u0:defined_index`, patched when the text section is laid out).
    fn defined_func_ref(&mut self, defined_index: DefinedFuncIndex) -> FuncRef {
        if let Some(f) = self.func_refs.get(&defined_index) {
            return *f;
        }
        let type_index = self.info().defined_func_type_index(defined_index);
        let signature = self.wasm_sig_ref(type_index);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(0, defined_index.as_u32()));
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(defined_index, f);
        f
    }

    /// Lazy compilation: the Wasm entry of defined function `defined`, read
    /// from the module's entries (`VMOffsets::lazy_entries`), compiling it
    /// first through the `LazyCompile` builtin if the entry is still null.
    /// A failed compilation traps (`HostError`, the error left for the host).
    fn lazy_entry(&mut self, defined: DefinedFuncIndex) -> Value {
        let entries = self.b.ins().load(
            POINTER,
            immutable(),
            self.vmctx,
            self.env.offsets.lazy_entries() as i32,
        );
        // Not read-only: the runtime fills the entry in.
        let entry = self.b.ins().load(
            POINTER,
            MemFlagsData::trusted(),
            entries,
            (defined.as_u32() as usize * POINTER.bytes() as usize) as i32,
        );
        let index = self.b.ins().iconst(types::I32, i64::from(defined.as_u32()));
        self.compile_if_null(entry, Builtin::LazyCompile, index)
    }

    /// Lazy compilation: `wasm_call`, read from the `VMFuncRef` at
    /// `funcref`, or if it is null the entry the `LazyCompileFuncRef`
    /// builtin compiles and fills in.
    fn lazy_func_ref_entry(&mut self, funcref: Value, wasm_call: Value) -> Value {
        self.compile_if_null(wasm_call, Builtin::LazyCompileFuncRef, funcref)
    }

    /// Lazy compilation: the entry to call through the `VMFuncRef` at
    /// `funcref`, whose vmctx is `callee_vmctx`. A reference of this
    /// instance goes through the module's entries by its defined index, so
    /// it reaches the function's latest code (a second tier, the whole
    /// module) rather than the code current when it was filled in; any
    /// other goes through its `wasm_call` (see `lazy_func_ref_entry`).
    fn lazy_indirect_entry(&mut self, funcref: Value, callee_vmctx: Value) -> Value {
        let (own, other, done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let result = self.b.append_block_param(done, POINTER);
        let same = self.b.ins().icmp(IntCC::Equal, callee_vmctx, self.vmctx);
        self.b.ins().brif(same, own, &[], other, &[]);
        self.b.seal_block(own);
        self.b.seal_block(other);

        self.b.switch_to_block(own);
        let flags = MemFlagsData::trusted().with_readonly();
        let def = self.b.ins().load(
            types::I32,
            flags,
            funcref,
            vm_func_ref::DEFINED_INDEX as i32,
        );
        let entries = self.b.ins().load(
            POINTER,
            immutable(),
            self.vmctx,
            self.env.offsets.lazy_entries() as i32,
        );
        let index = self.b.ins().uextend(POINTER, def);
        let offset = self.b.ins().ishl_imm_u(index, 3);
        let slot = self.b.ins().iadd(entries, offset);
        // Not read-only: the runtime fills the entry in and replaces it.
        let entry = self.b.ins().load(POINTER, MemFlagsData::trusted(), slot, 0);
        let entry = self.compile_if_null(entry, Builtin::LazyCompile, def);
        self.b.ins().jump(done, &[BlockArg::Value(entry)]);

        self.b.switch_to_block(other);
        let flags = MemFlagsData::trusted().with_readonly();
        let wasm_call = self
            .b
            .ins()
            .load(POINTER, flags, funcref, vm_func_ref::WASM_CALL as i32);
        let wasm_call = self.lazy_func_ref_entry(funcref, wasm_call);
        self.b.ins().jump(done, &[BlockArg::Value(wasm_call)]);

        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// `entry` if it is not null; otherwise the result of `builtin(arg)`,
    /// trapping with `HostError` if that is null too.
    fn compile_if_null(&mut self, entry: Value, builtin: Builtin, arg: Value) -> Value {
        self.unless_zero_call_builtin(entry, entry, builtin, Some(Trap::HostError), |_| vec![arg])
    }

    /// `value` if `test` is not zero; otherwise, in a cold block, the result
    /// of `builtin` called with the arguments `args` makes there (trapping
    /// with `null_trap`, if given, when that result is null). The lazy paths
    /// (table elements, function references, function entries) take it.
    pub(super) fn unless_zero_call_builtin(
        &mut self,
        test: Value,
        value: Value,
        builtin: Builtin,
        null_trap: Option<Trap>,
        args: impl FnOnce(&mut Self) -> Vec<Value>,
    ) -> Value {
        let cold = self.b.create_block();
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, POINTER);
        self.b
            .ins()
            .brif(test, done, &[BlockArg::Value(value)], cold, &[]);
        self.b.seal_block(cold);
        self.b.set_cold_block(cold);
        self.b.switch_to_block(cold);
        let args = args(self);
        let from_builtin = self
            .call_builtin(builtin, &args)
            .expect("the builtin returns a pointer");
        if let Some(trap) = null_trap {
            self.b.ins().trapz(from_builtin, trap_to_code(trap));
        }
        self.b.ins().jump(done, &[BlockArg::Value(from_builtin)]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// Calls `builtin` with the vmctx and `args`. For builtins that can
    /// trap, traps when it returns 0 and returns `None`; otherwise returns
    /// its result.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let sig = match self.builtin_sigs.get(&builtin) {
            Some(sig) => *sig,
            None => {
                let sig = abi::builtin_signature(builtin, self.env.isa.default_call_conv());
                let sig = self.b.import_signature(sig);
                self.builtin_sigs.insert(builtin, sig);
                sig
            }
        };
        let table = self.b.ins().load(
            POINTER,
            immutable(),
            self.vmctx,
            self.env.offsets.builtins() as i32,
        );
        let callee = self
            .b
            .ins()
            .load(POINTER, immutable(), table, builtin.table_offset() as i32);
        let mut call_args = Vec::with_capacity(args.len() + 1);
        call_args.push(self.vmctx);
        call_args.extend_from_slice(args);
        let call = self.b.ins().call_indirect(sig, callee, &call_args);
        let result = self.b.inst_results(call).first().copied();
        match builtin.trap() {
            Some(trap) => {
                let ok = result.expect("trapping builtins return a status");
                self.b.ins().trapz(ok, trap_to_code(trap));
                None
            }
            None => result,
        }
    }

    /// Pops the arguments of a call of type `type_index` in canonical form.
    fn pop_call_args(&mut self, type_index: TypeIndex, callee_vmctx: Value) -> Vec<Value> {
        let n = self.info().signature(type_index).params.len();
        let mut args = Vec::with_capacity(n + 2);
        args.push(callee_vmctx);
        args.push(self.vmctx);
        args.extend(self.peekn_canonical(n));
        self.popn(n);
        args
    }

    fn push_call_results(&mut self, call: cranelift_codegen::ir::Inst, type_index: TypeIndex) {
        let results = self.b.inst_results(call).to_vec();
        self.push_results(results, type_index);
    }

    /// Pushes the results of a call of type `type_index`.
    fn push_results(&mut self, results: Vec<Value>, type_index: TypeIndex) {
        let info = self.info();
        for (v, ty) in results
            .iter()
            .zip(info.signature(type_index).results.iter())
        {
            self.declare_root(*v, *ty);
        }
        self.stack.extend(results);
        // The callee may have charged fuel or changed the store's counter,
        // or moved the epoch deadline.
        self.fuel_load();
        self.epoch_deadline_load();
    }

    /// Ends a call: for `tail`, the call was a tail call and the rest of
    /// the block is unreachable; otherwise its results are pushed.
    fn finish_call(
        &mut self,
        call: cranelift_codegen::ir::Inst,
        tail: bool,
        type_index: TypeIndex,
    ) {
        if tail {
            self.reachable = false;
        } else {
            self.push_call_results(call, type_index);
        }
    }

    /// A direct call (`call`), or with `tail` a tail call (`return_call`),
    /// of function `f`.
    fn translate_call(&mut self, f: FuncIndex, tail: bool) {
        let info = self.info();
        let type_index = info.functions[f];
        let (callee_vmctx, target) = match info.defined_func(f) {
            Some(defined) if !self.env.lazy_calls => {
                let callee = self.defined_func_ref(defined);
                let args = self.pop_call_args(type_index, self.vmctx);
                if !tail && self.in_try_scope() {
                    let sig = self.wasm_sig_ref(type_index);
                    let results = self.try_call(CallTarget::Direct(callee), sig, &args);
                    self.push_results(results, type_index);
                    return;
                }
                let call = match tail {
                    true => self.b.ins().return_call(callee, &args),
                    false => self.b.ins().call(callee, &args),
                };
                self.finish_call(call, tail, type_index);
                return;
            }
            Some(defined) => {
                let entry = self.lazy_entry(defined);
                (self.vmctx, entry)
            }
            None => {
                let offsets = self.env.offsets;
                let wasm_call = self.b.ins().load(
                    POINTER,
                    immutable(),
                    self.vmctx,
                    offsets.imported_function_wasm_call(f) as i32,
                );
                let callee_vmctx = self.b.ins().load(
                    POINTER,
                    immutable(),
                    self.vmctx,
                    offsets.imported_function_vmctx(f) as i32,
                );
                (callee_vmctx, wasm_call)
            }
        };
        let args = self.pop_call_args(type_index, callee_vmctx);
        self.call_through(type_index, target, &args, tail);
    }

    /// Calls (or with `tail` tail-calls) the code at `target`, a function
    /// of type `type_index`.
    fn call_through(&mut self, type_index: TypeIndex, target: Value, args: &[Value], tail: bool) {
        let sig = self.wasm_sig_ref(type_index);
        if !tail && self.in_try_scope() {
            let results = self.try_call(CallTarget::Indirect(target), sig, args);
            self.push_results(results, type_index);
            return;
        }
        let call = match tail {
            true => self.b.ins().return_call_indirect(sig, target, args),
            false => self.b.ins().call_indirect(sig, target, args),
        };
        self.finish_call(call, tail, type_index);
    }

    /// `call_indirect`, or with `tail` `return_call_indirect`: the element
    /// at the popped index of the table, checked for null and for its
    /// signature.
    fn translate_call_indirect(
        &mut self,
        type_index: TypeIndex,
        table_index: TableIndex,
        tail: bool,
    ) {
        let index = self.pop();
        let addr = self.table_element_address(table_index, index);
        let entry = self.load_funcref(table_index, index, addr);
        self.b
            .ins()
            .trapz(entry, trap_to_code(Trap::IndirectCallToNull));
        // A VMFuncRef changes only when the runtime gives its function
        // new code; an entry read before that still points to valid
        // code of the same function (every version is kept alive), so
        // its fields may be treated as read-only here.
        let funcref = MemFlagsData::trusted().with_readonly();
        let actual = self
            .b
            .ins()
            .load(types::I32, funcref, entry, vm_func_ref::TYPE_ID as i32);
        let type_ids = self.b.ins().load(
            POINTER,
            immutable(),
            self.vmctx,
            self.env.offsets.type_ids() as i32,
        );
        let expected = self.b.ins().load(
            types::I32,
            immutable(),
            type_ids,
            VMOffsets::type_id_entry(type_index) as i32,
        );
        let same = self.b.ins().icmp(IntCC::Equal, actual, expected);
        if self.info().types[type_index].is_final {
            self.b.ins().trapz(same, trap_to_code(Trap::BadSignature));
        } else {
            // The callee's type may be a declared subtype: ask the registry
            // when the ids differ.
            let (ok, slow) = (self.b.create_block(), self.b.create_block());
            self.b.ins().brif(same, ok, &[], slow, &[]);
            self.b.seal_block(slow);
            self.b.set_cold_block(slow);
            self.b.switch_to_block(slow);
            let index = self
                .b
                .ins()
                .iconst(types::I32, i64::from(type_index.as_u32()));
            let sub = self
                .call_builtin(Builtin::GcIsSubtype, &[actual, index])
                .expect("the builtin returns a flag");
            self.b.ins().trapz(sub, trap_to_code(Trap::BadSignature));
            self.b.ins().jump(ok, &[]);
            self.b.seal_block(ok);
            self.b.switch_to_block(ok);
        }
        let load = |t: &mut Self, field: u32| t.b.ins().load(POINTER, funcref, entry, field as i32);
        let (wasm_call, callee_vmctx) = if self.env.settings.tunables.lazy_compilation {
            let callee_vmctx = load(self, vm_func_ref::VMCTX);
            (self.lazy_indirect_entry(entry, callee_vmctx), callee_vmctx)
        } else {
            let wasm_call = load(self, vm_func_ref::WASM_CALL);
            (wasm_call, load(self, vm_func_ref::VMCTX))
        };
        let args = self.pop_call_args(type_index, callee_vmctx);
        self.call_through(type_index, wasm_call, &args, tail);
    }

    /// `call_ref`, or with `tail` `return_call_ref`: the popped function
    /// reference, checked for null only. Validation proved its type is a
    /// subtype of `type_index`, so there is no signature check.
    fn translate_call_ref(&mut self, type_index: TypeIndex, tail: bool) {
        let entry = self.pop();
        self.b.ins().trapz(entry, trap_to_code(Trap::NullReference));
        // Read-only for the reason `translate_call_indirect` gives.
        let funcref = MemFlagsData::trusted().with_readonly();
        let load = |t: &mut Self, field: u32| t.b.ins().load(POINTER, funcref, entry, field as i32);
        let callee_vmctx = load(self, vm_func_ref::VMCTX);
        let wasm_call = if self.env.settings.tunables.lazy_compilation {
            self.lazy_indirect_entry(entry, callee_vmctx)
        } else {
            load(self, vm_func_ref::WASM_CALL)
        };
        let args = self.pop_call_args(type_index, callee_vmctx);
        self.call_through(type_index, wasm_call, &args, tail);
    }

    visit_methods! { self;
        visit_call_ref(type_index: u32) => {
            self.translate_call_ref(TypeIndex::from_u32(type_index), false);
        };
        visit_return_call_ref(type_index: u32) => {
            self.translate_call_ref(TypeIndex::from_u32(type_index), true);
        };
        visit_call(function_index: u32) => {
            self.translate_call(FuncIndex::from_u32(function_index), false);
        };
        visit_return_call(function_index: u32) => {
            self.translate_call(FuncIndex::from_u32(function_index), true);
        };
        visit_call_indirect(type_index: u32, table_index: u32) => {
            let (ty, table) = (TypeIndex::from_u32(type_index), TableIndex::from_u32(table_index));
            self.translate_call_indirect(ty, table, false);
        };
        visit_return_call_indirect(type_index: u32, table_index: u32) => {
            let (ty, table) = (TypeIndex::from_u32(type_index), TableIndex::from_u32(table_index));
            self.translate_call_indirect(ty, table, true);
        };
    }
}
