//! Translation of one validated function body to Cranelift IR.
//!
//! [`FuncTranslator`] walks the operators with `wasmparser`'s
//! `OperatorsReader`, keeping the Wasm value stack as a stack of SSA values,
//! a control stack of blocks, and each local as a frontend `Variable`. Each
//! operator family lives in its own file (control, memory, numeric, SIMD,
//! table and reference, call, local and global variables) as `visit_*`
//! methods, one per operator; `visit.rs` routes `wasmparser`'s
//! `VisitOperator` calls to them, so an operator without a translation is
//! a compile-time error. Fuel and epoch instrumentation is in
//! `interrupts.rs`, VMContext addressing in `vmctx.rs`. This file holds the
//! shared state (value stack, alias regions) and the operator loop.

/// Defines `visit_*` methods of [`FuncTranslator`], the per-operator
/// entry points that `visit.rs` routes `wasmparser`'s visitor calls to:
///
/// ```text
/// visit_methods! { self;
///     visit_i32_add() | visit_i64_add() => self.binary(...);
///     visit_local_get(local_index: u32) => { ... };
/// }
/// ```
///
/// Each name before `=>` gets a method with those parameters (named and
/// typed as in `wasmparser`'s operator list) and the body after it, an
/// expression of type `()` in which `?` returns a `CompileError`.
macro_rules! visit_methods {
    ($self:ident; $( $( $visit:ident ( $($arg:ident: $ty:ty),* ) )|+ => $body:expr; )*) => {
        $( $(
            pub(super) fn $visit(&mut $self, $($arg: $ty),*) -> $crate::translate::Result<()> {
                $body;
                Ok(())
            }
        )+ )*
    };
}

mod call;
mod control;
mod exceptions;
mod gc;
mod interrupts;
mod memory;
mod numeric;
mod relaxed_simd;
mod simd;
mod simd_ops;
mod table;
mod variables;
mod visit;
pub(crate) mod vmctx;

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, Block, FuncRef, Function, InstBuilder, MemFlagsData, SigRef, SourceLoc, UserFuncName,
    Value, types,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::{BinaryReader, FunctionBody, Operator, VisitOperator};
use hayate_environ::{
    CompileError, DefinedFuncIndex, ModuleInfo, Trap, TypeIndex, VMOffsets, WasmError, WasmValType,
};

use crate::abi;
use crate::settings::CompilerSettings;
use crate::traps::trap_to_code;

use control::ControlFrame;

/// Everything about the module that translating one of its functions needs.
/// Shared read-only by all compilation threads.
pub(crate) struct ModuleEnv<'m> {
    /// The module.
    pub info: &'m ModuleInfo,
    /// Its VMContext layout.
    pub offsets: VMOffsets,
    /// The compiler's settings.
    pub settings: &'m CompilerSettings,
    /// The target.
    pub isa: &'m dyn TargetIsa,
    /// Calls between the module's functions go through the lazily
    /// compiled entries (`ModuleInput::lazy_calls`).
    pub lazy_calls: bool,
}

type Result<T, E = CompileError> = std::result::Result<T, E>;

fn wasm_err(e: hayate_environ::wasmparser::BinaryReaderError) -> CompileError {
    CompileError::Wasm(WasmError::from(e))
}

/// Byte order flags for vector bitcasts (required when lane counts change).
pub(crate) fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(ir::Endianness::Little)
}

/// Translates defined function `defined_index` of `env.info` into `func`.
pub(crate) fn translate_function(
    env: &ModuleEnv<'_>,
    defined_index: DefinedFuncIndex,
    wasm: &[u8],
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) -> Result<()> {
    let info = env.info;
    let func_index = info.func_index(defined_index);
    let ty = info.func_type(func_index);
    func.signature = abi::wasm_signature(ty);
    func.name = UserFuncName::user(0, defined_index.as_u32());
    let range = info
        .function_bodies
        .get(defined_index)
        .cloned()
        .ok_or_else(|| CompileError::Codegen(format!("no body for function {func_index}")))?;
    let bytes = wasm
        .get(range.clone())
        .ok_or_else(|| CompileError::Codegen("function body outside the module".into()))?;
    let body = FunctionBody::new(BinaryReader::new(bytes, range.start as u64));

    let regions = Regions::new(func);
    let mut builder = FunctionBuilder::new(func, fctx);
    builder.set_srcloc(SourceLoc::new(range.start as u32));
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let vmctx = builder.block_params(entry)[0];
    builder.ensure_inserted_block();

    let mut t = FuncTranslator {
        env,
        b: builder,
        stack: Vec::new(),
        control: Vec::new(),
        handlers: Vec::new(),
        reachable: true,
        unreachable_depth: 0,
        locals: Vec::new(),
        vmctx,
        entry,
        entry_srcloc: SourceLoc::new(range.start as u32),
        memory_bases: vec![None; info.memories.len()],
        sig_refs: HashMap::new(),
        func_refs: HashMap::new(),
        builtin_sigs: HashMap::new(),
        fuel_var: None,
        fuel_pending: 0,
        epoch_deadline_var: None,
        num_results: ty.results.len(),
        regions,
    };
    let result = t.translate_body(&ty.params, &ty.results, &body);
    match result {
        Ok(()) => {
            t.b.seal_all_blocks();
            t.b.finalize(env.isa.frontend_config());
        }
        Err(_) => {
            // The builder context must be empty for the next function.
            drop(t);
            *fctx = FunctionBuilderContext::new();
        }
    }
    result
}

/// State of the translation of one function.
struct FuncTranslator<'a, 'f> {
    env: &'a ModuleEnv<'a>,
    b: FunctionBuilder<'f>,
    /// The Wasm operand stack.
    stack: Vec<Value>,
    /// The Wasm control stack; the outermost frame is the function body.
    control: Vec<ControlFrame>,
    /// The catch clauses of the open `try_table`s, outermost first.
    handlers: Vec<exceptions::HandlerScope>,
    /// Whether the current position can be reached.
    reachable: bool,
    /// While unreachable: how many blocks opened in unreachable code are
    /// still open.
    unreachable_depth: u32,
    locals: Vec<Variable>,
    /// This instance's vmctx (the function's first parameter).
    vmctx: Value,
    /// The entry block, where values computed once per call are placed.
    entry: Block,
    /// Source location of the function's start.
    entry_srcloc: SourceLoc,
    /// Base of each 32-bit memory in guard-page mode, loaded in the entry
    /// block on first use.
    memory_bases: Vec<Option<Value>>,
    sig_refs: HashMap<TypeIndex, SigRef>,
    func_refs: HashMap<DefinedFuncIndex, FuncRef>,
    builtin_sigs: HashMap<Builtin, SigRef>,
    /// The fuel counter, cached in a variable while fuel is enabled.
    fuel_var: Option<Variable>,
    /// Fuel charged by operators since the counter variable was last updated.
    fuel_pending: i64,
    /// The store's epoch deadline, cached in a variable while epoch
    /// interruption is enabled; reloaded after the `EpochDeadline` builtin
    /// and after calls, which may move it.
    epoch_deadline_var: Option<Variable>,
    /// Number of results of the function.
    num_results: usize,
    /// Alias regions of the memory the function accesses.
    regions: Regions,
}

/// Disjoint kinds of memory, for Cranelift's alias analysis. Accesses
/// without a region (runtime limits, function references, stack arrays)
/// form one more region of their own.
#[derive(Clone, Copy)]
struct Regions {
    /// Linear memories.
    heap: ir::AliasRegion,
    /// Table element arrays.
    table: ir::AliasRegion,
    /// Mutable VMContext fields: globals, memory and table definitions.
    vmctx: ir::AliasRegion,
}

impl Regions {
    fn new(func: &mut Function) -> Regions {
        let mut region = |user_id, description: &'static str| {
            func.dfg.alias_regions.insert(ir::AliasRegionData {
                user_id,
                description: description.into(),
            })
        };
        Regions {
            heap: region(0, "heap"),
            table: region(1, "table"),
            vmctx: region(2, "vmctx"),
        }
    }

    /// Flags of a Wasm linear-memory access: little-endian, trapping with
    /// `HEAP_OUT_OF_BOUNDS` (a fault in a guard page is a Wasm trap).
    fn heap_flags(self) -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(ir::Endianness::Little)
            .with_trap_code(Some(trap_to_code(Trap::MemoryOutOfBounds)))
            .with_alias_region(Some(self.heap))
    }

    /// Flags of an access to a table's element array.
    fn table_flags(self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.table))
    }

    /// Flags of an access to a mutable VMContext field.
    fn vmctx_flags(self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.vmctx))
    }
}

impl<'a, 'f> FuncTranslator<'a, 'f> {
    fn info(&self) -> &'a ModuleInfo {
        self.env.info
    }

    /// Translates the locals and operators of the body.
    fn translate_body(
        &mut self,
        params: &[WasmValType],
        results: &[WasmValType],
        body: &FunctionBody<'_>,
    ) -> Result<()> {
        self.declare_locals(self.entry, params, body)?;
        self.set_stack_limit();
        if self.env.settings.tunables.consume_fuel {
            self.fuel_function_entry();
        }
        if self.env.settings.tunables.epoch_interruption {
            self.epoch_function_entry();
        }
        self.push_function_frame(results);

        let mut reader = body.get_operators_reader().map_err(wasm_err)?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset().map_err(wasm_err)?;
            self.b.set_srcloc(SourceLoc::new(offset as u32));
            self.translate_operator(&op)?;
        }
        if !self.control.is_empty() {
            return Err(CompileError::Codegen(
                "function body ended inside a block".into(),
            ));
        }
        Ok(())
    }

    /// The default value of a type: zero bits.
    fn zero_value(&mut self, ty: WasmValType) -> Value {
        match ty {
            WasmValType::I32 => self.b.ins().iconst(types::I32, 0),
            WasmValType::I64 | WasmValType::Ref(_) => self.b.ins().iconst(types::I64, 0),
            WasmValType::F32 => self.b.ins().f32const(0.0),
            WasmValType::F64 => self.b.ins().f64const(0.0),
            WasmValType::V128 => self.vconst(types::I8X16, 0),
        }
    }

    /// A vector constant of type `ty` with the given bits.
    fn vconst(&mut self, ty: ir::Type, bits: u128) -> Value {
        let c = self
            .b
            .func
            .dfg
            .constants
            .insert(bits.to_le_bytes().to_vec().into());
        self.b.ins().vconst(ty, c)
    }

    /// Makes `v`, a value of Wasm type `ty`, a root of the collector
    /// wherever it is live across a call, if `ty` may hold a GC
    /// reference: the frontend spills it around such calls and records
    /// the slot in the call's stack map. Every value of such a type gets
    /// here where it is made (locals are declared as variables), so the
    /// stack maps name every reference a frame keeps.
    fn declare_root(&mut self, v: Value, ty: WasmValType) {
        if ty.may_hold_gc() {
            self.b.declare_value_needs_stack_map(v);
        }
    }

    /// Declares the parameters of `block` as roots by their Wasm types.
    fn declare_block_roots(&mut self, block: Block, types: &[WasmValType]) {
        let params = self.b.block_params(block).to_vec();
        for (v, ty) in params.into_iter().zip(types) {
            self.declare_root(v, *ty);
        }
    }

    // ---- the value stack ----

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    /// Pops `n` values, in stack order.
    fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    /// The top `n` values in stack order, in canonical form, without popping.
    fn peekn_canonical(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        let values = self.stack[at..].to_vec();
        values.into_iter().map(|v| self.canonical(v)).collect()
    }

    /// Values that cross a block, call or local boundary carry their
    /// canonical type: vectors are `i8x16`.
    fn canonical(&mut self, v: Value) -> Value {
        let ty = self.b.func.dfg.value_type(v);
        if ty.is_vector() && ty != types::I8X16 {
            self.b.ins().bitcast(types::I8X16, little(), v)
        } else {
            v
        }
    }

    /// Reinterprets vector `v` as vector type `ty`.
    fn as_vector(&mut self, v: Value, ty: ir::Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, little(), v)
        }
    }

    // ---- dispatch ----

    fn translate_operator(&mut self, op: &Operator<'_>) -> Result<()> {
        if !self.reachable {
            return self.translate_unreachable_operator(op);
        }
        if self.fuel_var.is_some() {
            self.fuel_before_op(op);
        }
        // Routed to the operator's family by `visit.rs`.
        self.visit_operator(op)
    }
}
