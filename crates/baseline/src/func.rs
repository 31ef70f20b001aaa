//! One function, translated in a single pass: the frame, the operand
//! stack, the prologue and epilogue, and the operator loop, which hands
//! each operator to its family (`control`, `numeric`, `float`, `memory`,
//! `call`).
//!
//! Every local and every operand-stack depth has a home slot in the frame
//! (`[rbp - …]`, 8 bytes each). An operand is either in its slot, or a
//! constant or a local not yet copied there (`Loc`), which saves most of
//! the copies a stack machine would make, or in one of a few operand
//! registers (`Loc::Reg`): operators load their operands into scratch
//! registers and leave their result in an operand register. At every
//! control-flow boundary and call all operands are written to their
//! slots, so that each join point sees one layout and calls clobber
//! nothing live. `rbp` is the frame pointer (backtraces
//! walk it), `r14` holds the vmctx and `r15` the base of memory 0; both
//! are callee-saved in the `tail` convention, as are `r12`/`r13`, which
//! calls use as scratch, and `rbx`, an operand register; all five are
//! saved in the frame.

use hayate_environ::wasmparser::{BinaryReader, FunctionBody, Operator};
use hayate_environ::{
    BoundsChecks, CompileError, DefinedFuncIndex, MemoryIndex, ModuleInput, Trap,
    VMRuntimeLimitsOffsets, WasmValType,
};

use crate::asm::{Assembler, Label, mem, reg};
use crate::control::Frame;

pub(crate) type Result<T = ()> = std::result::Result<T, CompileError>;

/// Declines the function: the fallback compiler gets it.
pub(crate) fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(CompileError::Unsupported(what.into()))
}

/// Integer argument registers of the `tail` convention after the two
/// vmctx parameters (`rdi`, `rsi`).
pub(crate) const INT_ARGS: [u8; 4] = [reg::RDX, reg::RCX, reg::R8, reg::R9];
/// Float argument registers, and float result registers.
pub(crate) const FLOAT_REGS: usize = 8;
/// Integer result registers of the `tail` convention.
pub(crate) const INT_RESULTS: [u8; 8] = [
    reg::RAX,
    reg::RCX,
    reg::RDX,
    reg::RSI,
    reg::RDI,
    reg::R8,
    reg::R9,
    reg::R10,
];

/// The callee-saved registers the frame saves, at `[rbp - 8]` down.
const SAVED_REGISTERS: [u8; 5] = [reg::R12, reg::R13, reg::R14, reg::R15, reg::RBX];

/// Bytes of saved registers at the top of the frame.
const SAVED: i32 = 8 * SAVED_REGISTERS.len() as i32;

/// How many operands at the top of the stack may be outside their slots.
const WINDOW: usize = 16;

/// Registers that hold operands between operators. No operator uses them
/// as scratch; calls clobber all but `rbx`, so operands are written to
/// their slots before calls (and before control flow).
const OPERAND_REGISTERS: [u8; 6] = [reg::RBX, reg::RSI, reg::RDI, reg::R8, reg::R9, reg::R10];

/// Where an operand is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    /// In its home slot.
    Slot,
    /// A constant (its bits), not yet in its slot.
    Const(i64),
    /// The current value of a local, not yet copied to its slot.
    Local(u32),
    /// In this register (one of `OPERAND_REGISTERS`), not in its slot.
    Reg(u8),
}

/// An operand on the stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operand {
    pub ty: WasmValType,
    pub loc: Loc,
}

/// Whether a value type is handled (scalars; 32-bit ones use 32-bit
/// instructions and slots whose upper half is unspecified).
pub(crate) fn scalar(ty: WasmValType) -> Result<bool> {
    match ty {
        WasmValType::I32 | WasmValType::F32 => Ok(false),
        WasmValType::I64 | WasmValType::F64 => Ok(true),
        other => unsupported(format!("values of type {other:?}")),
    }
}

pub(crate) fn is_float(ty: WasmValType) -> bool {
    matches!(ty, WasmValType::F32 | WasmValType::F64)
}

/// Where a function's parameters (or a callee's arguments) go: an integer
/// register, an xmm register, or, once those run out, an 8-byte stack slot
/// at this offset from `rsp` at the call (the callee pops them).
pub(crate) enum ArgReg {
    Int(u8),
    Xmm(u8),
    Stack(i32),
}

/// The location of each of `params`, and the bytes of stack they take
/// (a multiple of 16).
pub(crate) fn arg_registers(params: &[WasmValType]) -> Result<(Vec<ArgReg>, i32)> {
    let (mut ints, mut floats, mut stack) = (0, 0, 0i32);
    let locations = params
        .iter()
        .map(|ty| {
            scalar(*ty)?;
            let register = if is_float(*ty) {
                floats += 1;
                (floats <= FLOAT_REGS).then(|| ArgReg::Xmm(floats as u8 - 1))
            } else {
                ints += 1;
                INT_ARGS.get(ints - 1).map(|r| ArgReg::Int(*r))
            };
            Ok(register.unwrap_or_else(|| {
                stack += 8;
                ArgReg::Stack(stack - 8)
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((locations, (stack as u32).next_multiple_of(16) as i32))
}

pub(crate) fn result_registers(results: &[WasmValType]) -> Result<Vec<ArgReg>> {
    let (mut ints, mut floats) = (0, 0);
    results
        .iter()
        .map(|ty| {
            scalar(*ty)?;
            if is_float(*ty) {
                floats += 1;
                if floats > FLOAT_REGS {
                    return unsupported("results returned on the stack");
                }
                Ok(ArgReg::Xmm(floats as u8 - 1))
            } else {
                ints += 1;
                match INT_RESULTS.get(ints - 1) {
                    Some(r) => Ok(ArgReg::Int(*r)),
                    None => unsupported("results returned on the stack"),
                }
            }
        })
        .collect()
}

/// A trap stub to emit after the body: a `ud2` for `trap`, reached from
/// the operator at `wasm_offset`.
struct TrapStub {
    label: Label,
    trap: Trap,
    wasm_offset: u32,
}

/// The translation state of one function.
pub(crate) struct FuncCompiler<'a> {
    pub module: &'a ModuleInput<'a>,
    pub asm: Assembler,
    pub stack: Vec<Operand>,
    pub control: Vec<Frame>,
    /// Whether the code being emitted can be reached.
    pub reachable: bool,
    /// While unreachable: blocks opened since.
    pub unreachable_depth: u32,
    pub locals: Vec<WasmValType>,
    /// The deepest the operand stack got.
    max_depth: usize,
    traps: Vec<TrapStub>,
    /// Wasm offset of the operator being translated.
    pub wasm_offset: u32,
    /// Where control goes with the results in their registers.
    pub return_label: Label,
    pub results: Vec<WasmValType>,
    /// Whether memory 0's base is in `r15`.
    pub has_memory_base: bool,
    /// The host CPU has `lzcnt`, `tzcnt` (BMI1) and `popcnt`.
    pub has_bit_counts: bool,
    /// Calls through function references may find them not compiled yet.
    pub lazy_compilation: bool,
    /// Bytes of parameters passed on the stack.
    stack_params: i32,
}

impl<'a> FuncCompiler<'a> {
    /// Translates defined function `index` of `module`.
    pub fn compile(
        module: &'a ModuleInput<'a>,
        index: DefinedFuncIndex,
        tunables: &hayate_environ::Tunables,
        has_bit_counts: bool,
    ) -> Result<hayate_environ::CompiledBody> {
        if tunables.consume_fuel || tunables.epoch_interruption {
            return unsupported("fuel and epochs");
        }
        if tunables.bounds_checks != BoundsChecks::GuardPages {
            return unsupported("explicit bounds checks");
        }
        let info = module.info;
        let ty = info.func_type(info.func_index(index)).clone();
        let range = info.function_bodies[index].clone();
        let bytes = module
            .wasm
            .get(range.clone())
            .ok_or_else(|| CompileError::Codegen("function body outside the module".into()))?;
        let body = FunctionBody::new(BinaryReader::new(bytes, range.start as u64));
        let mut asm = Assembler::default();
        let return_label = asm.new_label();
        let memory0 = MemoryIndex::from_u32(0);
        let has_memory_base = info.memories.get(memory0).is_some_and(|m| !m.memory64);
        let mut f = FuncCompiler {
            module,
            asm,
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            unreachable_depth: 0,
            locals: ty.params.to_vec(),
            max_depth: 0,
            traps: Vec::new(),
            wasm_offset: range.start as u32,
            return_label,
            results: ty.results.to_vec(),
            has_memory_base,
            has_bit_counts,
            lazy_compilation: tunables.lazy_compilation,
            stack_params: 0,
        };
        let mut locals = body.get_locals_reader().map_err(crate::wasm_err)?;
        for _ in 0..locals.get_count() {
            let (count, ty) = locals.read().map_err(crate::wasm_err)?;
            let ty = WasmValType::from_wasmparser(ty).map_err(CompileError::Unsupported)?;
            scalar(ty)?;
            if f.locals.len() + count as usize > 50_000 {
                return unsupported("more locals than the frame handles");
            }
            f.locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        let (params, stack_params) = arg_registers(&ty.params)?;
        f.stack_params = stack_params;
        result_registers(&ty.results)?;
        let frame_fields = f.prologue(&params);
        f.push_function_frame();
        let mut reader = body.get_operators_reader().map_err(crate::wasm_err)?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset().map_err(crate::wasm_err)?;
            f.wasm_offset = offset as u32;
            f.asm.source(offset as u32);
            f.operator(&op)?;
        }
        if !f.control.is_empty() {
            return Err(CompileError::Codegen(
                "function body ended inside a block".into(),
            ));
        }
        f.epilogue();
        f.emit_trap_stubs();
        let frame = f.frame_size();
        for at in frame_fields {
            f.asm.patch32(at, frame);
        }
        Ok(f.asm.finish())
    }

    /// Bytes below `rbp`: saved registers, locals and the operand stack,
    /// keeping `rsp` 16-byte aligned.
    fn frame_size(&self) -> i32 {
        let bytes = SAVED as usize + 8 * (self.locals.len() + self.max_depth);
        bytes.next_multiple_of(16) as i32
    }

    /// The home slot of local `index`: `[rbp + disp]`.
    pub fn local_disp(&self, index: u32) -> i32 {
        -SAVED - 8 * (index as i32 + 1)
    }

    /// The home slot of operand-stack depth `depth`.
    pub fn slot_disp(&self, depth: usize) -> i32 {
        -SAVED - 8 * (self.locals.len() as i32 + depth as i32 + 1)
    }

    /// Sets up the frame, checks the stack limit, saves registers and
    /// moves the parameters to their slots. Returns where the frame size
    /// is to be patched in.
    fn prologue(&mut self, params: &[ArgReg]) -> Vec<u32> {
        let a = &mut self.asm;
        a.push(reg::RBP);
        a.mov64(reg::RBP, reg::RSP);
        // Trap if rsp - frame < the store's stack limit.
        let offsets = &self.module.offsets;
        a.load64(reg::R11, reg::RDI, offsets.runtime_limits() as i32);
        a.load64(
            reg::R11,
            reg::R11,
            VMRuntimeLimitsOffsets::STACK_LIMIT as i32,
        );
        let limit_field = a.add_placeholder(reg::R11);
        a.cmp(true, reg::RSP, reg::R11);
        let overflow = a.new_label();
        a.jcc(crate::asm::Cond::LtU, overflow);
        self.traps.push(TrapStub {
            label: overflow,
            trap: Trap::StackOverflow,
            wasm_offset: self.wasm_offset,
        });
        let a = &mut self.asm;
        let frame_field = a.sub_rsp_placeholder();
        for (i, r) in SAVED_REGISTERS.into_iter().enumerate() {
            a.store64(reg::RBP, -8 * (i as i32 + 1), r);
        }
        a.mov64(reg::R14, reg::RDI);
        if self.has_memory_base {
            self.load_memory_base(reg::R15);
        }
        for (i, p) in params.iter().enumerate() {
            let disp = self.local_disp(i as u32);
            match p {
                ArgReg::Int(r) => self.asm.store64(reg::RBP, disp, *r),
                ArgReg::Xmm(x) => {
                    self.asm.xmm_to_gpr(reg::R11, *x);
                    self.asm.store64(reg::RBP, disp, reg::R11);
                }
                // Above the saved rbp and the return address.
                ArgReg::Stack(off) => {
                    self.asm.load64(reg::R11, reg::RBP, 16 + off);
                    self.asm.store64(reg::RBP, disp, reg::R11);
                }
            }
        }
        // Declared locals start at zero: a store each for a few, else one
        // `rep stosq` over all of them (a declaration of thousands takes
        // three bytes of Wasm, and must not take a store each).
        let declared = params.len()..self.locals.len();
        self.asm.mov_imm(reg::RAX, 0);
        if declared.len() <= 8 {
            for i in declared {
                let disp = self.local_disp(i as u32);
                self.asm.store64(reg::RBP, disp, reg::RAX);
            }
        } else {
            // Upward from the last one, the lowest in the frame; the
            // argument registers are free once the parameters are stored.
            let lowest = self.local_disp(declared.end as u32 - 1);
            self.asm.lea(reg::RDI, mem(reg::RBP, lowest));
            self.asm.mov_imm(reg::RCX, declared.len() as i64);
            self.asm.rep_stosq();
        }
        vec![limit_field, frame_field]
    }

    /// Loads the base of memory 0 into `dst`.
    pub fn load_memory_base(&mut self, dst: u8) {
        let (def, off) = self.memory_definition(dst);
        let base = hayate_environ::VMOffsets::DEFINITION_BASE as i32;
        self.asm.load64(dst, def, off + base);
    }

    /// The `VMMemoryDefinition` of memory 0, as `[reg + disp]` of its
    /// first field (`scratch` holds the pointer of an imported one).
    pub fn memory_definition(&mut self, scratch: u8) -> (u8, i32) {
        let memory = MemoryIndex::from_u32(0);
        let offsets = &self.module.offsets;
        match self.module.info.defined_memory(memory) {
            Some(defined) => (reg::R14, offsets.defined_memory(defined) as i32),
            None => {
                let off = offsets.imported_memory(memory) as i32;
                self.asm.load64(scratch, reg::R14, off);
                (scratch, 0)
            }
        }
    }

    /// Restores the saved registers and returns; the results are in their
    /// registers.
    fn epilogue(&mut self) {
        let a = &mut self.asm;
        a.bind(self.return_label);
        for (i, r) in SAVED_REGISTERS.into_iter().enumerate() {
            a.load64(r, reg::RBP, -8 * (i as i32 + 1));
        }
        a.mov64(reg::RSP, reg::RBP);
        a.pop(reg::RBP);
        // The `tail` convention: the callee pops its stack arguments.
        a.ret(self.stack_params as u16);
    }

    fn emit_trap_stubs(&mut self) {
        for stub in std::mem::take(&mut self.traps) {
            self.asm.bind(stub.label);
            self.asm.source(stub.wasm_offset);
            self.asm.ud2(stub.trap);
        }
    }

    /// A label that traps with `trap` (a stub emitted after the body).
    pub fn trap_label(&mut self, trap: Trap) -> Label {
        let label = self.asm.new_label();
        self.traps.push(TrapStub {
            label,
            trap,
            wasm_offset: self.wasm_offset,
        });
        label
    }

    // ---- the operand stack ----

    /// Pushes an operand. The one that leaves the window goes to its slot
    /// (clobbering `rax`): only the top [`WINDOW`] operands may be
    /// elsewhere, so the scans of the stack each operator makes cost at
    /// most that, however deep the guest makes it.
    pub fn push(&mut self, ty: WasmValType, loc: Loc) {
        self.stack.push(Operand { ty, loc });
        self.max_depth = self.max_depth.max(self.stack.len());
        if let Some(leaving) = self.stack.len().checked_sub(WINDOW + 1) {
            self.materialize(leaving);
        }
    }

    /// The depth of the deepest operand that may be outside its slot.
    fn window_start(&self) -> usize {
        self.stack.len().saturating_sub(WINDOW)
    }

    pub fn pop(&mut self) -> Operand {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    /// Loads `operand`, which was at depth `depth`, into `dst`.
    pub fn load_operand(&mut self, dst: u8, operand: Operand, depth: usize) -> Result {
        let wide = scalar(operand.ty)?;
        let disp = match operand.loc {
            Loc::Const(bits) => {
                self.asm.mov_imm(dst, bits);
                return Ok(());
            }
            // 32-bit values are zero-extended on the way, as 32-bit loads
            // do: their register's upper half is unspecified.
            Loc::Reg(r) if wide => {
                self.asm.mov64(dst, r);
                return Ok(());
            }
            Loc::Reg(r) => {
                self.asm.mov32(dst, r);
                return Ok(());
            }
            Loc::Slot => self.slot_disp(depth),
            Loc::Local(i) => self.local_disp(i),
        };
        if wide {
            self.asm.load64(dst, reg::RBP, disp);
        } else {
            self.asm.load32(dst, reg::RBP, disp);
        }
        Ok(())
    }

    /// Loads operand `depth` where a call passes it: an integer or xmm
    /// register, or the outgoing stack slot at that offset from `rsp`.
    pub fn load_into(&mut self, place: &ArgReg, depth: usize) -> Result {
        let operand = self.stack[depth];
        match place {
            ArgReg::Int(r) => self.load_operand(*r, operand, depth)?,
            ArgReg::Xmm(x) => {
                self.load_operand(reg::R11, operand, depth)?;
                self.asm.gpr_to_xmm(*x, reg::R11);
            }
            ArgReg::Stack(off) => {
                self.load_operand(reg::R11, operand, depth)?;
                self.asm.store64(reg::RSP, *off, reg::R11);
            }
        }
        Ok(())
    }

    /// Pops the top operand into `dst`.
    pub fn pop_into(&mut self, dst: u8) -> Result<WasmValType> {
        let operand = self.pop();
        let depth = self.stack.len();
        self.load_operand(dst, operand, depth)?;
        Ok(operand.ty)
    }

    /// Pushes the value in `src` as a new operand of type `ty`, kept in an
    /// operand register.
    pub fn push_reg(&mut self, ty: WasmValType, src: u8) {
        let r = self.free_operand_register();
        self.asm.mov64(r, src);
        self.push(ty, Loc::Reg(r));
    }

    /// Pushes the value in `src` as a new operand in its slot (for values
    /// arriving in registers that operands may also be in).
    pub fn push_slot(&mut self, ty: WasmValType, src: u8) {
        let disp = self.slot_disp(self.stack.len());
        self.asm.store64(reg::RBP, disp, src);
        self.push(ty, Loc::Slot);
    }

    /// An operand register no operand is in, writing the deepest one held
    /// in a register to its slot if all are taken.
    fn free_operand_register(&mut self) -> u8 {
        let start = self.window_start();
        let window = &self.stack[start..];
        let taken = |r: u8| window.iter().any(|o| o.loc == Loc::Reg(r));
        if let Some(r) = OPERAND_REGISTERS.into_iter().find(|r| !taken(*r)) {
            return r;
        }
        let depth = start
            + window
                .iter()
                .position(|o| matches!(o.loc, Loc::Reg(_)))
                .expect("all operand registers are taken by operands");
        let Loc::Reg(r) = self.stack[depth].loc else {
            unreachable!()
        };
        self.materialize(depth);
        r
    }

    /// Writes operand `depth` to its home slot if it is not there.
    fn materialize(&mut self, depth: usize) {
        let operand = self.stack[depth];
        if operand.loc != Loc::Slot {
            let disp = self.slot_disp(depth);
            self.store_operand(disp, operand, depth);
            self.stack[depth].loc = Loc::Slot;
        }
    }

    /// Writes `operand`, at stack depth `depth`, to the 8 bytes at
    /// `[rbp + disp]` (a 32-bit value's upper half unspecified), with `rax`
    /// as scratch.
    pub fn store_operand(&mut self, disp: i32, operand: Operand, depth: usize) {
        let from = match operand.loc {
            Loc::Reg(r) => return self.asm.store64(reg::RBP, disp, r),
            Loc::Const(bits) => {
                let wide = matches!(operand.ty, WasmValType::I64 | WasmValType::F64);
                match i32::try_from(bits) {
                    Ok(imm) => self.asm.store64_imm(reg::RBP, disp, imm),
                    Err(_) if !wide => self.asm.store64_imm(reg::RBP, disp, bits as i32),
                    Err(_) => {
                        self.asm.mov_imm(reg::RAX, bits);
                        self.asm.store64(reg::RBP, disp, reg::RAX);
                    }
                }
                return;
            }
            Loc::Slot => self.slot_disp(depth),
            Loc::Local(i) => self.local_disp(i),
        };
        self.asm.load64(reg::RAX, reg::RBP, from);
        self.asm.store64(reg::RBP, disp, reg::RAX);
    }

    /// Writes every operand to its home slot (before control flow).
    pub fn materialize_all(&mut self) {
        for depth in self.window_start()..self.stack.len() {
            self.materialize(depth);
        }
    }

    /// Writes the operands that read local `index` to their slots, before
    /// the local changes.
    pub fn materialize_local(&mut self, index: u32) {
        for depth in self.window_start()..self.stack.len() {
            if self.stack[depth].loc == Loc::Local(index) {
                self.materialize(depth);
            }
        }
    }

    // ---- dispatch ----

    fn operator(&mut self, op: &Operator<'_>) -> Result {
        if !self.reachable {
            return self.unreachable_operator(op);
        }
        if self.control_operator(op)? {
            return Ok(());
        }
        if self.numeric_operator(op)? {
            return Ok(());
        }
        if self.float_operator(op)? {
            return Ok(());
        }
        if self.memory_operator(op)? {
            return Ok(());
        }
        if self.call_operator(op)? {
            return Ok(());
        }
        unsupported(format!("operator {op:?}"))
    }
}
