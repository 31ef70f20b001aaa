//! Trampolines between the array calling convention (how the host calls
//! and is called) and the Wasm calling convention.
//!
//! * array-to-wasm: `extern "C" (callee_vmctx, caller_vmctx, values, len) -> u8`
//!   loads the arguments from `values` (16 bytes each), calls the Wasm
//!   function directly, stores its results back and returns 1.
//! * wasm-to-array: a Wasm-convention function for a host function. It
//!   records its frame pointer and return address in the store's runtime
//!   limits (so the runtime can walk the Wasm frames), spills the arguments
//!   to a stack array, calls the host's array entry and traps with
//!   `HostError` when that returns 0.
//! * call adapter: `extern "C" (callee_vmctx, caller_vmctx, values, code)`
//!   for another backend's Wasm code, which cannot express the Wasm
//!   convention of every signature: loads the arguments from `values`,
//!   calls `code` in the Wasm convention and stores the results back.
//!   Wasm calling Wasm, it records nothing.

use cranelift_codegen::ir::{
    ExtFuncData, ExternalName, Function, Inst, InstBuilder, MemFlagsData, StackSlotData,
    StackSlotKind, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use hayate_environ::{
    DefinedFuncIndex, FuncType, Trap, VAL_RAW_SIZE, VMOffsets, VMRuntimeLimitsOffsets,
    host_func_ctx,
};

use crate::abi::{self, POINTER};
use crate::translate::ModuleEnv;
use crate::translate::vmctx::immutable;
use crate::traps::trap_to_code;

/// Flags for accesses to a `ValRaw` array (16-byte aligned, always valid).
fn val_raw_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_endianness(cranelift_codegen::ir::Endianness::Little)
}

fn slot_offset(i: usize) -> i32 {
    (i as u32 * VAL_RAW_SIZE) as i32
}

/// The arguments of a Wasm-convention call of `ty`: the two vmctx, then
/// the parameters loaded from the `ValRaw` array at `values`.
fn wasm_call_args(
    b: &mut FunctionBuilder<'_>,
    ty: &FuncType,
    callee_vmctx: Value,
    caller_vmctx: Value,
    values: Value,
) -> Vec<Value> {
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, p) in ty.params.iter().enumerate() {
        args.push(
            b.ins()
                .load(abi::value_type(*p), val_raw_flags(), values, slot_offset(i)),
        );
    }
    args
}

/// Stores the results of `call` into the `ValRaw` array at `values`.
fn store_results(b: &mut FunctionBuilder<'_>, call: Inst, values: Value) {
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins().store(val_raw_flags(), r, values, slot_offset(i));
    }
}

/// Builds the array-to-wasm trampoline of defined function `defined_index`.
pub(crate) fn array_to_wasm(
    env: &ModuleEnv<'_>,
    defined_index: DefinedFuncIndex,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) {
    let info = env.info;
    let ty = info.signature(info.defined_func_type_index(defined_index));
    func.signature = abi::array_call_signature(env.isa.default_call_conv());
    func.name = UserFuncName::user(1, defined_index.as_u32());

    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx, values) = (params[0], params[1], params[2]);

    let args = wasm_call_args(&mut b, ty, callee_vmctx, caller_vmctx, values);
    let signature = b.import_signature(abi::wasm_signature(ty));
    let name = b
        .func
        .declare_imported_user_function(UserExternalName::new(0, defined_index.as_u32()));
    let callee = b.import_function(ExtFuncData {
        name: ExternalName::User(name),
        signature,
        colocated: true,
        patchable: false,
    });
    let call = b.ins().call(callee, &args);
    store_results(&mut b, call, values);
    let ok = b.ins().iconst(types::I8, 1);
    b.ins().return_(&[ok]);
    b.finalize(env.isa.frontend_config());
}

/// Builds the wasm-to-array trampoline for signature `ty` (number `index`
/// among the trampolines being compiled).
pub(crate) fn wasm_to_array(
    isa: &dyn TargetIsa,
    offsets: &VMOffsets,
    ty: &FuncType,
    index: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) {
    func.signature = abi::wasm_signature(ty);
    func.name = UserFuncName::user(2, index);

    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx) = (params[0], params[1]);

    // Let the runtime find the Wasm frames below this one.
    let limits = b.ins().load(
        POINTER,
        immutable(),
        caller_vmctx,
        offsets.runtime_limits() as i32,
    );
    let fp = b.ins().get_frame_pointer(POINTER);
    let pc = b.ins().get_return_address(POINTER);
    let trusted = MemFlagsData::trusted();
    b.ins().store(
        trusted,
        fp,
        limits,
        VMRuntimeLimitsOffsets::LAST_WASM_EXIT_FP as i32,
    );
    b.ins().store(
        trusted,
        pc,
        limits,
        VMRuntimeLimitsOffsets::LAST_WASM_EXIT_PC as i32,
    );

    let len = ty.array_len();
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        (len.max(1) as u32) * VAL_RAW_SIZE,
        4,
    ));
    let values = b.ins().stack_addr(POINTER, slot, 0);
    for (i, p) in params[2..].iter().enumerate() {
        b.ins().store(val_raw_flags(), *p, values, slot_offset(i));
    }
    let host = b.ins().load(
        POINTER,
        immutable(),
        callee_vmctx,
        host_func_ctx::ARRAY_CALL as i32,
    );
    let sig = b.import_signature(abi::array_call_signature(isa.default_call_conv()));
    let len = b.ins().iconst(POINTER, len as i64);
    let call = b
        .ins()
        .call_indirect(sig, host, &[callee_vmctx, caller_vmctx, values, len]);
    let ok = b.inst_results(call)[0];
    b.ins().trapz(ok, trap_to_code(Trap::HostError));
    let mut results = Vec::with_capacity(ty.results.len());
    for (i, r) in ty.results.iter().enumerate() {
        results.push(
            b.ins()
                .load(abi::value_type(*r), val_raw_flags(), values, slot_offset(i)),
        );
    }
    b.ins().return_(&results);
    b.finalize(isa.frontend_config());
}

/// Builds the call adapter of signature `ty` (number `index` among the
/// adapters being compiled).
pub(crate) fn call_adapter(
    isa: &dyn TargetIsa,
    ty: &FuncType,
    index: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) {
    func.signature = abi::call_adapter_signature(isa.default_call_conv());
    func.name = UserFuncName::user(3, index);

    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx, values, code) = (params[0], params[1], params[2], params[3]);

    let args = wasm_call_args(&mut b, ty, callee_vmctx, caller_vmctx, values);
    let sig = b.import_signature(abi::wasm_signature(ty));
    let call = b.ins().call_indirect(sig, code, &args);
    store_results(&mut b, call, values);
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
}
