//! Signatures of the calling conventions compiled code uses: Wasm functions
//! (Cranelift `tail`), array calls and builtins (the platform C convention),
//! and how Wasm value types map to Cranelift types.

use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, Signature, types};
use cranelift_codegen::isa::CallConv;
use hayate_environ::builtins::{AbiType, Builtin};
use hayate_environ::{FuncType, WasmValType};

/// The pointer type of every supported host.
pub(crate) const POINTER: ir::Type = types::I64;

/// The Cranelift type holding a Wasm value. `v128` is canonically `i8x16`;
/// references are pointers (null is 0).
pub(crate) fn value_type(ty: WasmValType) -> ir::Type {
    match ty {
        WasmValType::I32 => types::I32,
        WasmValType::I64 => types::I64,
        WasmValType::F32 => types::F32,
        WasmValType::F64 => types::F64,
        WasmValType::V128 => types::I8X16,
        WasmValType::Ref(_) => POINTER,
    }
}

/// `(callee_vmctx, caller_vmctx, params...) -> results` in the `tail`
/// convention: the signature of every Wasm function and wasm-to-array
/// trampoline.
pub(crate) fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(value_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(value_type(*t))));
    sig
}

/// `(callee_vmctx, caller_vmctx, values, len) -> ok` in the C convention.
pub(crate) fn array_call_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend([AbiParam::new(POINTER); 4]);
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

/// `(callee_vmctx, caller_vmctx, values, code)` in the C convention: a
/// call adapter's signature.
pub(crate) fn call_adapter_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend([AbiParam::new(POINTER); 4]);
    sig
}

fn abi_type(ty: AbiType) -> ir::Type {
    match ty {
        AbiType::Pointer => POINTER,
        AbiType::I8 => types::I8,
        AbiType::I32 => types::I32,
        AbiType::I64 => types::I64,
    }
}

/// `(vmctx, params...) -> result` in the C convention.
pub(crate) fn builtin_signature(builtin: Builtin, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(builtin.params().iter().map(|t| AbiParam::new(abi_type(*t))));
    if let Some(r) = builtin.result() {
        sig.returns.push(AbiParam::new(abi_type(r)));
    }
    sig
}
