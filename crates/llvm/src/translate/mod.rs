//! One Wasm function to LLVM IR: the function's frame (locals as
//! `alloca`s that `mem2reg` turns into SSA values), the operand stack of
//! LLVM values, the stack-limit check at entry, traps, and the operator
//! loop, which hands each operator to its family (`control`, `numeric`,
//! `float`, `memory`, `call`).
//!
//! Nothing the translator emits is undefined behaviour in LLVM's sense
//! for any input: every operator that traps in Wasm (division by zero,
//! overflow, bad conversions, out-of-bounds accesses, bad indirect calls)
//! is an explicit test and branch to a trap block, and the operation
//! itself follows in the branch where it is defined; shift counts are
//! masked; float-to-int conversions run only on values in range.

mod call;
mod control;
mod float;
mod frame;
mod interrupts;
mod locations;
mod memory;
mod numeric;
mod simd;

use std::collections::HashMap;

use hayate_environ::wasmparser::{BinaryReader, FunctionBody, Operator};
use hayate_environ::{
    CompileError, DefinedFuncIndex, FuncType, ModuleInput, Trap, Tunables, TypeIndex,
    VMRuntimeLimitsOffsets, WasmValType,
};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum, FunctionType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, CallSiteValue, FloatValue, FunctionValue,
    InstructionValue, IntValue, PointerValue, ValueKind,
};
use inkwell::{AddressSpace, IntPredicate};

use crate::plan::{Abi, Plan};
use control::Frame;

/// Errors while translating: LLVM's builder refusing an instruction (a
/// bug here), or the function being declined or malformed.
#[derive(Debug)]
pub(crate) enum Error {
    Builder(BuilderError),
    Compile(CompileError),
}

impl From<BuilderError> for Error {
    fn from(e: BuilderError) -> Error {
        Error::Builder(e)
    }
}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Error {
        Error::Compile(e)
    }
}

impl From<hayate_environ::wasmparser::BinaryReaderError> for Error {
    fn from(e: hayate_environ::wasmparser::BinaryReaderError) -> Error {
        Error::Compile(CompileError::Wasm(e.into()))
    }
}

impl From<Error> for CompileError {
    fn from(e: Error) -> CompileError {
        match e {
            Error::Builder(e) => CompileError::Codegen(format!("LLVM IR builder: {e}")),
            Error::Compile(e) => e,
        }
    }
}

pub(crate) type Result<T = ()> = std::result::Result<T, Error>;

/// Declines the function: the fallback compiler gets it.
pub(crate) fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(Error::Compile(CompileError::Unsupported(what.into())))
}

/// The name of defined function `index` in the LLVM module and the object.
pub(crate) fn function_symbol(index: DefinedFuncIndex) -> String {
    format!("wasm_f{}", index.as_u32())
}

/// The name of defined function `index`'s checked function, whose code
/// follows the function's in its body (see `frame.rs`).
pub(crate) fn checked_symbol(index: DefinedFuncIndex) -> String {
    format!("wasm_f{}_checked", index.as_u32())
}

/// The name of the function whose calls become `ud2` traps with code
/// `trap` (see `emit.rs`).
pub(crate) fn trap_symbol(trap: Trap) -> String {
    format!("hayate_trap_{}", trap as u8)
}

/// What the module's functions share while their IR is built: the LLVM
/// module, the plan, the declarations made so far and the type-based
/// alias analysis tags.
pub(crate) struct ModuleEnv<'a, 'ctx> {
    pub cx: &'ctx Context,
    pub module: &'a Module<'ctx>,
    pub input: &'a ModuleInput<'a>,
    pub plan: &'a Plan,
    pub tunables: &'a Tunables,
    pub guard_pages: bool,
    functions: HashMap<DefinedFuncIndex, FunctionValue<'ctx>>,
    checked: HashMap<DefinedFuncIndex, FunctionValue<'ctx>>,
    /// Checked functions declared and not yet translated, in order.
    untranslated_checked: std::collections::VecDeque<DefinedFuncIndex>,
    traps: HashMap<Trap, FunctionValue<'ctx>>,
    /// Call adapters declared so far (see `call.rs`).
    adapters: HashMap<TypeIndex, FunctionValue<'ctx>>,
    /// The `call_indirect` sites translated so far that dispatch to
    /// direct calls (see `call.rs`).
    pub dispatching_call_sites: usize,
    tbaa: Tbaa<'ctx>,
    locations: locations::Locations<'ctx>,
}

/// Type-based alias analysis tags: linear memory, VMContext fields,
/// globals and tables never alias each other, which lets LLVM keep a
/// memory's length or a global in a register across stores to the heap.
#[derive(Clone, Copy)]
struct Tbaa<'ctx> {
    kind: u32,
    heap: inkwell::values::MetadataValue<'ctx>,
    vmctx: inkwell::values::MetadataValue<'ctx>,
    global: inkwell::values::MetadataValue<'ctx>,
    table: inkwell::values::MetadataValue<'ctx>,
    invariant_kind: u32,
    empty: inkwell::values::MetadataValue<'ctx>,
}

/// Which memory a load or store touches, for alias analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    /// Linear memory.
    Heap,
    /// A VMContext field (or a definition it points to) that may change.
    Vmctx,
    /// A VMContext field set at instantiation that never changes.
    Immutable,
    /// A global's value.
    Global,
    /// A table's elements.
    Table,
}

impl<'ctx> Tbaa<'ctx> {
    fn new(cx: &'ctx Context) -> Tbaa<'ctx> {
        let i64t = cx.i64_type();
        let root = cx.metadata_node(&[cx.metadata_string("hayate").into()]);
        let tag = |name: &str| {
            let ty = cx.metadata_node(&[
                cx.metadata_string(name).into(),
                root.into(),
                i64t.const_zero().into(),
            ]);
            cx.metadata_node(&[ty.into(), ty.into(), i64t.const_zero().into()])
        };
        Tbaa {
            kind: cx.get_kind_id("tbaa"),
            heap: tag("heap"),
            vmctx: tag("vmctx"),
            global: tag("global"),
            table: tag("table"),
            invariant_kind: cx.get_kind_id("invariant.load"),
            empty: cx.metadata_node(&[]),
        }
    }
}

impl<'a, 'ctx> ModuleEnv<'a, 'ctx> {
    pub fn new(
        cx: &'ctx Context,
        module: &'a Module<'ctx>,
        input: &'a ModuleInput<'a>,
        plan: &'a Plan,
        tunables: &'a Tunables,
    ) -> ModuleEnv<'a, 'ctx> {
        ModuleEnv {
            cx,
            module,
            input,
            plan,
            tunables,
            guard_pages: tunables.bounds_checks == hayate_environ::BoundsChecks::GuardPages,
            functions: HashMap::new(),
            checked: HashMap::new(),
            untranslated_checked: Default::default(),
            traps: HashMap::new(),
            adapters: HashMap::new(),
            dispatching_call_sites: 0,
            tbaa: Tbaa::new(cx),
            locations: locations::Locations::new(cx, module),
        }
    }

    /// Completes the module's debug information; after the last function
    /// is translated.
    pub fn finish(&self) {
        self.locations.finish();
    }

    /// The LLVM type of a Wasm value type this tier handles.
    pub fn val_type(&self, ty: WasmValType) -> Result<BasicTypeEnum<'ctx>> {
        Ok(match ty {
            WasmValType::I32 => self.cx.i32_type().into(),
            WasmValType::I64 => self.cx.i64_type().into(),
            WasmValType::F32 => self.cx.f32_type().into(),
            WasmValType::F64 => self.cx.f64_type().into(),
            WasmValType::V128 => self.cx.i32_type().vec_type(4).into(),
            other => return unsupported(format!("values of type {other:?}")),
        })
    }

    /// The LLVM function type of Wasm signature `ty` under `abi`: the
    /// callee's and the caller's vmctx, then the parameters; no result,
    /// one, or (internal functions only) a structure of several.
    pub fn function_type(&self, ty: &FuncType, abi: Abi) -> Result<FunctionType<'ctx>> {
        let ptr = self.cx.ptr_type(AddressSpace::default());
        let mut params: Vec<BasicMetadataTypeEnum> = vec![ptr.into(), ptr.into()];
        for p in ty.params.iter() {
            params.push(self.val_type(*p)?.into());
        }
        let results = ty
            .results
            .iter()
            .map(|r| self.val_type(*r))
            .collect::<Result<Vec<_>>>()?;
        Ok(match (results.as_slice(), abi) {
            ([], _) => self.cx.void_type().fn_type(&params, false),
            ([one], _) => one.fn_type(&params, false),
            (_, Abi::Internal) => self.cx.struct_type(&results, false).fn_type(&params, false),
            (_, Abi::Wasm) => return unsupported("several results in the Wasm convention"),
        })
    }

    /// The LLVM function of defined function `index`: its definition if
    /// this partition compiles it, otherwise a declaration the linker
    /// resolves to another partition's code or the fallback's (which then
    /// has the Wasm convention).
    pub fn function(&mut self, index: DefinedFuncIndex) -> Result<FunctionValue<'ctx>> {
        if let Some(f) = self.functions.get(&index) {
            return Ok(*f);
        }
        let info = self.input.info;
        let ty = info.signature(info.defined_func_type_index(index));
        let abi = self.plan.abi(index);
        let fn_type = match self.plan.compiles(index) || crate::plan::wasm_compatible(ty) {
            true => self.function_type(ty, abi)?,
            // The fallback's function, which this tier's code calls
            // through an adapter, by its address only.
            false => self.cx.void_type().fn_type(&[], false),
        };
        let linkage = match self.plan.is_local(index) {
            true => Linkage::Internal,
            false => Linkage::External,
        };
        let f = self
            .module
            .add_function(&function_symbol(index), fn_type, Some(linkage));
        if abi == Abi::Internal {
            f.set_call_conventions(crate::plan::FASTCC);
        }
        if linkage == Linkage::External {
            f.as_global_value()
                .set_visibility(inkwell::GlobalVisibility::Hidden);
        }
        self.functions.insert(index, f);
        Ok(f)
    }

    /// The checked function of defined function `index` (see
    /// `frame.rs`): its type and convention, local to the module, never
    /// optimised nor inlined.
    pub fn checked_function(&mut self, index: DefinedFuncIndex) -> Result<FunctionValue<'ctx>> {
        if let Some(f) = self.checked.get(&index) {
            return Ok(*f);
        }
        let function = self.function(index)?;
        let f = self.module.add_function(
            &checked_symbol(index),
            function.get_type(),
            Some(Linkage::Internal),
        );
        f.set_call_conventions(function.get_call_conventions());
        for attr in ["optnone", "noinline", "cold"] {
            f.add_attribute(AttributeLoc::Function, self.enum_attr(attr));
        }
        for (key, value) in frame::CHECKED_CALL_INLINE_COST {
            f.add_attribute(
                AttributeLoc::Function,
                self.cx.create_string_attribute(key, value),
            );
        }
        self.checked.insert(index, f);
        self.untranslated_checked.push_back(index);
        Ok(f)
    }

    /// The first checked function declared and not yet translated, which
    /// its caller is to translate now.
    pub fn next_untranslated_checked(&mut self) -> Option<DefinedFuncIndex> {
        self.untranslated_checked.pop_front()
    }

    /// The function whose call is a trap with code `trap`: it never
    /// returns, and every call to it becomes a `ud2` with that code in the
    /// trap table when the object is read back.
    fn trap_function(&mut self, trap: Trap) -> FunctionValue<'ctx> {
        if let Some(f) = self.traps.get(&trap) {
            return *f;
        }
        let ty = self.cx.void_type().fn_type(&[], false);
        let f = self
            .module
            .add_function(&trap_symbol(trap), ty, Some(Linkage::External));
        for attr in ["noreturn", "nounwind", "cold", "nomerge"] {
            f.add_attribute(AttributeLoc::Function, self.enum_attr(attr));
        }
        f.as_global_value()
            .set_visibility(inkwell::GlobalVisibility::Hidden);
        self.traps.insert(trap, f);
        f
    }

    pub fn enum_attr(&self, name: &str) -> Attribute {
        let kind = Attribute::get_named_enum_kind_id(name);
        self.cx.create_enum_attribute(kind, 0)
    }
}

/// The translation of one function.
pub(crate) struct FuncTranslator<'e, 'a, 'ctx> {
    env: &'e mut ModuleEnv<'a, 'ctx>,
    cx: &'ctx Context,
    b: Builder<'ctx>,
    /// The defined function translated.
    index: DefinedFuncIndex,
    func: FunctionValue<'ctx>,
    /// The function's signature.
    ty: FuncType,
    abi: Abi,
    vmctx: PointerValue<'ctx>,
    /// The entry block, where `alloca`s and loads of values that never
    /// change go, before its final branch.
    entry: BasicBlock<'ctx>,
    locals: Vec<(PointerValue<'ctx>, BasicTypeEnum<'ctx>)>,
    stack: Vec<BasicValueEnum<'ctx>>,
    control: Vec<Frame<'ctx>>,
    /// Whether the operator being translated can run.
    reachable: bool,
    /// Blocks opened while unreachable, not translated.
    unreachable_depth: u32,
    /// The trap blocks made so far, one per trap and operator offset.
    trap_blocks: HashMap<(Trap, u32), BasicBlock<'ctx>>,
    /// The base of each memory whose base never moves, loaded at entry.
    memory_bases: HashMap<u32, PointerValue<'ctx>>,
    interrupts: interrupts::Interrupts<'ctx>,
    /// The frame pointer, once the frame's opening is translated.
    frame: Option<frame::FramePointer<'ctx>>,
    /// Whether this is a checked function (`frame.rs`).
    checked: bool,
    /// The function's debug scope (`locations.rs`).
    scope: inkwell::debug_info::DIScope<'ctx>,
    /// The module offset of the body's start, and of each operator.
    body_start: u32,
    op_offsets: Vec<u32>,
    /// The module offset of the operator being translated.
    offset: u32,
}

/// The body of defined function `index`, its operators and their byte
/// offsets in the module.
fn operators<'m>(
    input: &ModuleInput<'m>,
    index: DefinedFuncIndex,
) -> Result<(FunctionBody<'m>, Vec<Operator<'m>>, Vec<u32>)> {
    let range = input.info.function_bodies[index].clone();
    let bytes = input
        .wasm
        .get(range.clone())
        .ok_or_else(|| CompileError::Codegen("function body outside the module".into()))?;
    let body = FunctionBody::new(BinaryReader::new(bytes, range.start as u64));
    let mut reader = body.get_operators_reader()?;
    let mut ops = Vec::new();
    let mut offsets = Vec::new();
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        ops.push(op);
        offsets.push(offset as u32);
    }
    Ok((body, ops, offsets))
}

impl<'e, 'a, 'ctx> FuncTranslator<'e, 'a, 'ctx> {
    /// Translates the body of defined function `index` into its LLVM
    /// function; says whether it is a frame function (`frame.rs`), whose
    /// checked function it declared.
    pub fn translate(env: &'e mut ModuleEnv<'a, 'ctx>, index: DefinedFuncIndex) -> Result<bool> {
        let (body, ops, offsets) = operators(env.input, index)?;
        let func = env.function(index)?;
        let mut t = FuncTranslator::new(env, index, func, &body, offsets)?;
        let with_frame = match frame::frame_opening(&ops) {
            Some((at, local)) => t.translate_with_frame(&ops, at, local)?,
            None => {
                t.translate_body(&ops)?;
                false
            }
        };
        t.finish()?;
        Ok(with_frame)
    }

    /// Translates the checked function of defined function `index`: the
    /// usual translation of its body (see `frame.rs`).
    pub fn translate_checked(env: &'e mut ModuleEnv<'a, 'ctx>, index: DefinedFuncIndex) -> Result {
        let (body, ops, offsets) = operators(env.input, index)?;
        let func = env.checked_function(index)?;
        let mut t = FuncTranslator::new(env, index, func, &body, offsets)?;
        t.checked = true;
        t.translate_body(&ops)?;
        t.finish()
    }

    /// A translator into `func`, the LLVM function of defined function
    /// `index` or its checked function, with the locals of `body`
    /// declared; `op_offsets` are the module offsets of its operators.
    fn new(
        env: &'e mut ModuleEnv<'a, 'ctx>,
        index: DefinedFuncIndex,
        func: FunctionValue<'ctx>,
        body: &FunctionBody<'_>,
        op_offsets: Vec<u32>,
    ) -> Result<Self> {
        let info = env.input.info;
        let ty = info.signature(info.defined_func_type_index(index)).clone();
        // A section of its own, which becomes its body or follows it (see
        // `emit.rs`).
        let name = func.get_name().to_string_lossy().into_owned();
        func.as_global_value()
            .set_section(Some(&format!(".text.{name}")));
        let cx = env.cx;
        for attr in ["nounwind", "noredzone"] {
            func.add_attribute(AttributeLoc::Function, env.enum_attr(attr));
        }
        for (key, value) in crate::emit::FUNCTION_ATTRIBUTES {
            func.add_attribute(
                AttributeLoc::Function,
                cx.create_string_attribute(key, value),
            );
        }
        let entry = cx.append_basic_block(func, "entry");
        let first = cx.append_basic_block(func, "body");
        let body_start = env.input.info.function_bodies[index].start as u32;
        let scope = env
            .locations
            .subprogram(func, &function_symbol(index), body_start);
        let b = cx.create_builder();
        b.set_current_debug_location(env.locations.at(cx, scope, body_start));
        b.position_at_end(entry);
        let jump = b.build_unconditional_branch(first)?;
        b.position_before(&jump);
        let vmctx = func
            .get_nth_param(0)
            .expect("vmctx parameter")
            .into_pointer_value();
        let mut t = FuncTranslator {
            abi: env.plan.abi(index),
            env,
            cx,
            b,
            index,
            func,
            ty,
            vmctx,
            entry,
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            unreachable_depth: 0,
            trap_blocks: HashMap::new(),
            memory_bases: HashMap::new(),
            interrupts: Default::default(),
            frame: None,
            checked: false,
            scope,
            body_start,
            op_offsets,
            offset: body_start,
        };
        t.declare_locals(body)?;
        t.b.position_at_end(first);
        Ok(t)
    }

    /// The usual translation of `ops`, the whole body: the entry checks,
    /// then every operator.
    fn translate_body(&mut self, ops: &[Operator<'_>]) -> Result {
        self.check_stack_limit()?;
        self.interrupts_at_entry()?;
        self.push_function_frame()?;
        self.translate_operators(ops, 0)
    }

    /// Checks that the body closed every construct it opened.
    fn finish(&self) -> Result {
        if !self.control.is_empty() {
            return Err(CompileError::Codegen("function body ended inside a block".into()).into());
        }
        Ok(())
    }

    /// Parameters and declared locals, each in an `alloca` of the entry
    /// block; declared locals start at zero.
    fn declare_locals(&mut self, body: &FunctionBody<'_>) -> Result {
        let params = self.ty.params.clone();
        for (i, p) in params.iter().enumerate() {
            let ty = self.env.val_type(*p)?;
            let slot = self.b.build_alloca(ty, "")?;
            let value = self
                .func
                .get_nth_param(i as u32 + 2)
                .expect("declared parameter");
            self.b.build_store(slot, value)?;
            self.locals.push((slot, ty));
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let (count, ty) = reader.read()?;
            let ty = WasmValType::from_wasmparser(ty).map_err(CompileError::Unsupported)?;
            let ty = self.env.val_type(ty)?;
            if self.locals.len() + count as usize > 50_000 {
                return unsupported("more than 50000 locals");
            }
            for _ in 0..count {
                let slot = self.b.build_alloca(ty, "")?;
                self.b.build_store(slot, ty.const_zero())?;
                self.locals.push((slot, ty));
            }
        }
        Ok(())
    }

    /// Traps with `StackOverflow` when the stack pointer, after this
    /// function's frame is allocated, is below the store's limit. Nothing
    /// but the saved registers is written below the caller's frame before
    /// this check; the runtime keeps a reserve of host stack below the
    /// limit for that (`HOST_STACK_RESERVE`).
    fn check_stack_limit(&mut self) -> Result {
        let i64t = self.cx.i64_type();
        let read_register = Intrinsic::find("llvm.read_register")
            .and_then(|i| i.get_declaration(self.env.module, &[i64t.into()]))
            .ok_or_else(|| CompileError::Codegen("no llvm.read_register".into()))?;
        let rsp = self
            .cx
            .metadata_node(&[self.cx.metadata_string("rsp").into()]);
        let sp = call_result(self.b.build_call(
            read_register,
            &[BasicMetadataValueEnum::MetadataValue(rsp)],
            "",
        )?)
        .expect("read_register returns the register")
        .into_int_value();
        let limits =
            self.load_vmctx_ptr(self.env.input.offsets.runtime_limits(), Region::Immutable)?;
        let limit = self.load(
            i64t.into(),
            limits,
            VMRuntimeLimitsOffsets::STACK_LIMIT as u64,
            Region::Vmctx,
        )?;
        let over = self
            .b
            .build_int_compare(IntPredicate::ULT, sp, limit.into_int_value(), "")?;
        self.trap_if(over, Trap::StackOverflow)
    }

    /// Translates `ops`, the body's operators from number `first` on.
    fn translate_operators(&mut self, ops: &[Operator<'_>], first: usize) -> Result {
        for (i, op) in ops.iter().enumerate() {
            let offset = self.op_offsets.get(first + i).copied();
            self.at_offset(offset.unwrap_or(self.body_start));
            self.operator(op)?;
        }
        Ok(())
    }

    /// Makes the instructions built from now on those of the operator at
    /// module offset `offset` (`locations.rs`).
    fn at_offset(&mut self, offset: u32) {
        self.offset = offset;
        let location = self.env.locations.at(self.cx, self.scope, offset);
        self.b.set_current_debug_location(location);
    }

    /// Builds with `f` the instructions of module offset `offset`, then
    /// goes on at the operator's.
    fn at_offset_for<T>(
        &mut self,
        offset: u32,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let here = self.offset;
        self.at_offset(offset);
        let out = f(self);
        self.at_offset(here);
        out
    }

    fn operator(&mut self, op: &Operator<'_>) -> Result {
        if !self.reachable {
            return self.unreachable_operator(op);
        }
        self.fuel_before_op(op)?;
        if self.control_operator(op)?
            || self.numeric_operator(op)?
            || self.float_operator(op)?
            || self.memory_operator(op)?
            || self.call_operator(op)?
            || self.simd_operator(op)?
        {
            return Ok(());
        }
        unsupported(format!("operator {op:?}"))
    }

    /// The block the builder appends to.
    fn current_block(&self) -> BasicBlock<'ctx> {
        self.b
            .get_insert_block()
            .expect("the builder is in a block")
    }

    // ----- The operand stack -----

    fn push(&mut self, v: impl BasicValue<'ctx>) {
        self.stack.push(v.as_basic_value_enum());
    }

    fn pop(&mut self) -> Result<BasicValueEnum<'ctx>> {
        self.stack
            .pop()
            .ok_or_else(|| CompileError::Codegen("operand stack underflow".into()).into())
    }

    fn pop_int(&mut self) -> Result<IntValue<'ctx>> {
        match self.pop()? {
            BasicValueEnum::IntValue(v) => Ok(v),
            other => {
                Err(CompileError::Codegen(format!("expected an integer, found {other:?}")).into())
            }
        }
    }

    fn pop_float(&mut self) -> Result<FloatValue<'ctx>> {
        match self.pop()? {
            BasicValueEnum::FloatValue(v) => Ok(v),
            other => {
                Err(CompileError::Codegen(format!("expected a float, found {other:?}")).into())
            }
        }
    }

    /// Pops `n` operands, in push order.
    fn popn(&mut self, n: usize) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let len = self.stack.len();
        let at = len
            .checked_sub(n)
            .ok_or_else(|| CompileError::Codegen("operand stack underflow".into()))?;
        Ok(self.stack.split_off(at))
    }

    // ----- Memory of the VMContext -----

    /// Loads a `ty` at `base + offset`, tagged with `region`.
    fn load(
        &mut self,
        ty: BasicTypeEnum<'ctx>,
        base: PointerValue<'ctx>,
        offset: u64,
        region: Region,
    ) -> Result<BasicValueEnum<'ctx>> {
        let addr = self.offset_ptr(base, offset)?;
        let v = self.b.build_load(ty, addr, "")?;
        let inst = v.as_instruction_value().expect("a load is an instruction");
        self.tag(inst, region)?;
        Ok(v)
    }

    /// Stores `value` at `base + offset`, tagged with `region`; the store.
    fn store(
        &mut self,
        value: BasicValueEnum<'ctx>,
        base: PointerValue<'ctx>,
        offset: u64,
        region: Region,
    ) -> Result<InstructionValue<'ctx>> {
        let addr = self.offset_ptr(base, offset)?;
        let inst = self.b.build_store(addr, value)?;
        self.tag(inst, region)?;
        Ok(inst)
    }

    fn tag(&self, inst: InstructionValue<'ctx>, region: Region) -> Result {
        let tbaa = self.env.tbaa;
        let (tag, invariant) = match region {
            Region::Heap => (tbaa.heap, false),
            Region::Vmctx => (tbaa.vmctx, false),
            Region::Immutable => (tbaa.vmctx, true),
            Region::Global => (tbaa.global, false),
            Region::Table => (tbaa.table, false),
        };
        let set = |md, kind| {
            inst.set_metadata(md, kind)
                .map_err(|e| CompileError::Codegen(format!("metadata: {e:?}")))
        };
        set(tag, tbaa.kind)?;
        if invariant {
            set(tbaa.empty, tbaa.invariant_kind)?;
        }
        Ok(())
    }

    /// `base + offset` as a pointer.
    fn offset_ptr(&mut self, base: PointerValue<'ctx>, offset: u64) -> Result<PointerValue<'ctx>> {
        if offset == 0 {
            return Ok(base);
        }
        let offset = self.cx.i64_type().const_int(offset, false);
        Ok(crate::gep::byte_offset(self.cx, &self.b, base, offset)?)
    }

    fn ptr_type(&self) -> BasicTypeEnum<'ctx> {
        self.cx.ptr_type(AddressSpace::default()).into()
    }

    /// Loads the pointer in VMContext field `offset`.
    fn load_vmctx_ptr(&mut self, offset: u32, region: Region) -> Result<PointerValue<'ctx>> {
        let ty = self.ptr_type();
        Ok(self
            .load(ty, self.vmctx, u64::from(offset), region)?
            .into_pointer_value())
    }

    /// Runs `f` with the builder in the entry block (for values that
    /// never change while the function runs), then returns to where it
    /// was.
    fn in_entry<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let here = self.current_block();
        if here == self.entry {
            return f(self);
        }
        let jump = self
            .entry
            .get_terminator()
            .expect("the entry block ends with a branch");
        // Positioning before an instruction also takes its location: the
        // operator's is set again on the way back.
        self.b.position_before(&jump);
        let out = f(self);
        self.b.position_at_end(here);
        self.at_offset(self.offset);
        out
    }

    // ----- Traps -----

    /// Branches to a trap with code `trap` when `cond` (an `i1`) holds;
    /// continues in a new block otherwise.
    fn trap_if(&mut self, cond: IntValue<'ctx>, trap: Trap) -> Result {
        let trap_block = self.trap_block(trap)?;
        let cont = self.cx.append_basic_block(self.func, "");
        self.b.build_conditional_branch(cond, trap_block, cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Traps unconditionally; the code after it is unreachable.
    fn trap(&mut self, trap: Trap) -> Result {
        let trap_block = self.trap_block(trap)?;
        self.b.build_unconditional_branch(trap_block)?;
        self.reachable = false;
        Ok(())
    }

    /// The block that traps with `trap` at the operator being translated
    /// (its own, so that the trap gives the operator's offset).
    fn trap_block(&mut self, trap: Trap) -> Result<BasicBlock<'ctx>> {
        if let Some(block) = self.trap_blocks.get(&(trap, self.offset)) {
            return Ok(*block);
        }
        let here = self.current_block();
        let block = self.cx.append_basic_block(self.func, "trap");
        self.b.position_at_end(block);
        let f = self.env.trap_function(trap);
        self.b.build_call(f, &[], "")?;
        self.b.build_unreachable()?;
        self.b.position_at_end(here);
        self.trap_blocks.insert((trap, self.offset), block);
        Ok(block)
    }

    /// The integer type of `bits` bits (8, 16, 32 or 64).
    fn int_type(&self, bits: u32) -> inkwell::types::IntType<'ctx> {
        match bits {
            8 => self.cx.i8_type(),
            16 => self.cx.i16_type(),
            32 => self.cx.i32_type(),
            _ => self.cx.i64_type(),
        }
    }

    /// An `i1` as the `i32` 0 or 1 Wasm comparisons produce.
    fn bool_to_i32(&mut self, v: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(self.b.build_int_z_extend(v, self.cx.i32_type(), "")?)
    }

    /// Calls intrinsic `name` overloaded on `types`.
    fn intrinsic(
        &mut self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.env.module, types))
            .ok_or_else(|| CompileError::Codegen(format!("no intrinsic {name}")))?;
        Ok(call_result(self.b.build_call(f, args, "")?)
            .ok_or_else(|| CompileError::Codegen(format!("{name} returns nothing")))?)
    }
}

/// The value a call returns, if it returns one.
pub(crate) fn call_result(call: CallSiteValue<'_>) -> Option<BasicValueEnum<'_>> {
    match call.try_as_basic_value() {
        ValueKind::Basic(v) => Some(v),
        ValueKind::Instruction(_) => None,
    }
}

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    /// The results of the function's signature, as LLVM types.
    fn result_types(&self) -> Result<Vec<BasicTypeEnum<'ctx>>> {
        self.ty
            .results
            .iter()
            .map(|r| self.env.val_type(*r))
            .collect()
    }
}
