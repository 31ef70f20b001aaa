//! Structured control flow: `block`, `loop`, `if`/`else`, `end`, the
//! branches (`br`, `br_if`, `br_table`, `return`), `unreachable`, `drop`,
//! `select` and `nop`, and skipping code that cannot be reached.
//!
//! A block's values live in the slots of the depths they occupy: a branch
//! copies the values it carries to the slots at the target's height, then
//! jumps. `br_table` jumps through a table of 32-bit offsets placed in the
//! code, so dispatch costs the same for any number of targets.

use hayate_environ::wasmparser::{BlockType, BrTable, Operator};
use hayate_environ::{CompileError, Trap, TypeIndex, WasmValType};

use cranelift_assembler_x64::Scale;

use crate::asm::{Cond, Label, mem_scaled, reg};
use crate::func::{FuncCompiler, Loc, Result, result_registers, unsupported};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

/// An open block.
#[derive(Debug)]
pub(crate) struct Frame {
    kind: FrameKind,
    /// Operand-stack height below the block's parameters.
    height: usize,
    params: Vec<WasmValType>,
    results: Vec<WasmValType>,
    /// Where branches go: the loop's head, or the block's end.
    target: Label,
    /// An `if` without its `else` yet: where the false condition goes.
    else_label: Option<Label>,
    /// A branch to the block's end was emitted.
    branched_to: bool,
}

impl Frame {
    /// Types of the values a branch to this block carries.
    fn branch_types(&self) -> &[WasmValType] {
        if self.kind == FrameKind::Loop {
            &self.params
        } else {
            &self.results
        }
    }
}

impl FuncCompiler<'_> {
    fn block_type(&self, ty: BlockType) -> Result<(Vec<WasmValType>, Vec<WasmValType>)> {
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => {
                let t = WasmValType::from_wasmparser(t).map_err(CompileError::Unsupported)?;
                (vec![], vec![t])
            }
            BlockType::FuncType(index) => {
                let ft = self.module.info.signature(TypeIndex::from_u32(index));
                (ft.params.to_vec(), ft.results.to_vec())
            }
        })
    }

    pub(crate) fn push_function_frame(&mut self) {
        let target = self.return_label;
        self.control.push(Frame {
            kind: FrameKind::Function,
            height: 0,
            params: vec![],
            results: self.results.clone(),
            target,
            else_label: None,
            branched_to: false,
        });
    }

    fn open(&mut self, kind: FrameKind, ty: BlockType) -> Result<Label> {
        let (params, results) = self.block_type(ty)?;
        for t in params.iter().chain(&results) {
            crate::func::scalar(*t)?;
        }
        self.materialize_all();
        let target = self.asm.new_label();
        self.control.push(Frame {
            kind,
            height: self.stack.len() - params.len(),
            params,
            results,
            target,
            else_label: None,
            branched_to: false,
        });
        Ok(target)
    }

    /// Copies the top `n` operands (in their slots) to the slots starting
    /// at depth `height`.
    fn move_values(&mut self, n: usize, height: usize) {
        let from = self.stack.len() - n;
        if from == height {
            return;
        }
        for i in 0..n {
            let src = self.slot_disp(from + i);
            let dst = self.slot_disp(height + i);
            self.asm.load64(reg::RAX, reg::RBP, src);
            self.asm.store64(reg::RBP, dst, reg::RAX);
        }
    }

    /// Loads the function's results (the top operands) into their
    /// registers.
    fn load_results(&mut self) -> Result {
        let types = self.results.clone();
        let registers = result_registers(&types)?;
        let base = self.stack.len() - types.len();
        for (i, place) in registers.iter().enumerate() {
            self.load_into(place, base + i)?;
        }
        Ok(())
    }

    /// Emits a branch to the frame `depth` levels out: the operands are
    /// already in their slots.
    fn branch(&mut self, depth: u32) -> Result {
        let index = self.control.len() - 1 - depth as usize;
        if self.control[index].kind == FrameKind::Function {
            self.load_results()?;
            let target = self.return_label;
            self.asm.jmp(target);
            return Ok(());
        }
        let frame = &mut self.control[index];
        if frame.kind != FrameKind::Loop {
            frame.branched_to = true;
        }
        let (n, height, target) = (frame.branch_types().len(), frame.height, frame.target);
        self.move_values(n, height);
        self.asm.jmp(target);
        Ok(())
    }

    /// Handles `op` if it is a control operator.
    pub(crate) fn control_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        match op {
            Operator::Nop => {}
            Operator::Unreachable => {
                let trap = self.trap_label(Trap::UnreachableCodeReached);
                self.asm.jmp(trap);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                self.open(FrameKind::Block, *blockty)?;
            }
            Operator::Loop { blockty } => {
                let head = self.open(FrameKind::Loop, *blockty)?;
                self.asm.bind(head);
            }
            Operator::If { blockty } => {
                // Conditions go to rdx: writing operands to their slots
                // uses rax.
                self.pop_into(reg::RDX)?;
                self.open(FrameKind::If, *blockty)?;
                let else_label = self.asm.new_label();
                self.asm.test(false, reg::RDX);
                self.asm.jcc(Cond::Eq, else_label);
                self.control.last_mut().expect("just pushed").else_label = Some(else_label);
            }
            Operator::Else => self.else_()?,
            Operator::End => self.end()?,
            Operator::Br { relative_depth } => {
                self.materialize_all();
                self.branch(*relative_depth)?;
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                self.pop_into(reg::RDX)?;
                self.materialize_all();
                let skip = self.asm.new_label();
                self.asm.test(false, reg::RDX);
                self.asm.jcc(Cond::Eq, skip);
                self.branch(*relative_depth)?;
                self.asm.bind(skip);
            }
            Operator::BrTable { targets } => self.br_table(targets)?,
            Operator::Return => {
                self.materialize_all();
                self.load_results()?;
                let target = self.return_label;
                self.asm.jmp(target);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => self.select()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn select(&mut self) -> Result {
        self.pop_into(reg::RDX)?;
        let ty = self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.test(false, reg::RDX);
        self.asm.cmov(Cond::Eq, reg::RAX, reg::RCX);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    fn br_table(&mut self, targets: &BrTable<'_>) -> Result {
        let depths: Vec<u32> = targets
            .targets()
            .collect::<std::result::Result<_, _>>()
            .map_err(crate::wasm_err)?;
        let default = targets.default();
        self.pop_into(reg::RDX)?;
        self.materialize_all();
        self.asm.mov32(reg::RAX, reg::RDX);
        // One stub per distinct target, which moves the values and jumps;
        // found by depth, which is below the control stack's height.
        let mut stubs: Vec<(u32, Label)> = Vec::new();
        let mut by_depth: Vec<Option<Label>> = vec![None; self.control.len()];
        let mut stub_for = |this: &mut Self, depth: u32| -> Label {
            *by_depth[depth as usize].get_or_insert_with(|| {
                let label = this.asm.new_label();
                stubs.push((depth, label));
                label
            })
        };
        let default_label = stub_for(self, default);
        let n = i32::try_from(depths.len()).or_else(|_| unsupported("a huge br_table"))?;
        self.asm.cmp_imm(false, reg::RAX, n);
        self.asm.jcc(Cond::GeU, default_label);
        let table = self.asm.new_label();
        self.asm.lea_label(reg::RCX, table);
        let entry = mem_scaled(reg::RCX, reg::RAX, Scale::Four, 0);
        self.asm.load_sized(reg::RAX, entry, 4, true, true);
        self.asm.alu(crate::asm::Alu::Add, true, reg::RAX, reg::RCX);
        self.asm.jmp_reg(reg::RAX);
        self.asm.bind(table);
        for depth in &depths {
            let label = stub_for(self, *depth);
            self.asm.table_entry(table, label);
        }
        for (depth, label) in stubs {
            self.asm.bind(label);
            self.branch(depth)?;
        }
        self.reachable = false;
        Ok(())
    }

    fn else_(&mut self) -> Result {
        if self.reachable {
            self.materialize_all();
            let frame = self.control.last_mut().expect("validated: else in an if");
            frame.branched_to = true;
            let target = frame.target;
            self.asm.jmp(target);
        }
        let frame = self.control.last_mut().expect("validated: else in an if");
        let else_label = frame.else_label.take().expect("validated: one else per if");
        frame.kind = FrameKind::Else;
        let (height, params) = (frame.height, frame.params.clone());
        self.asm.bind(else_label);
        self.stack.truncate(height);
        for ty in params {
            self.push(ty, Loc::Slot);
        }
        self.reachable = true;
        Ok(())
    }

    fn end(&mut self) -> Result {
        let falls_through = self.reachable;
        if falls_through {
            self.materialize_all();
        }
        let frame = self.control.pop().expect("validated: end of a block");
        if frame.kind == FrameKind::Function {
            if falls_through {
                self.load_results()?;
            }
            // The epilogue follows at the return label.
            self.reachable = false;
            return Ok(());
        }
        let mut reachable = falls_through || frame.branched_to;
        if let Some(else_label) = frame.else_label {
            // An `if` without `else`: the false condition arrives here
            // with the parameters, which are the results.
            self.asm.bind(else_label);
            reachable = true;
        }
        if frame.kind != FrameKind::Loop {
            self.asm.bind(frame.target);
        }
        self.stack.truncate(frame.height);
        for ty in &frame.results {
            self.push(*ty, Loc::Slot);
        }
        self.reachable = reachable;
        Ok(())
    }

    /// Skips `op` in unreachable code, except the `else` or `end` that
    /// makes code reachable again.
    pub(crate) fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.else_()?,
            Operator::End if self.unreachable_depth == 0 => self.end()?,
            Operator::End => self.unreachable_depth -= 1,
            _ => {}
        }
        Ok(())
    }
}
