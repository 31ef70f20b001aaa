//! Control flow: blocks, loops, `if`/`else`, branches, `return`,
//! `unreachable`, `drop` and `select`, and skipping unreachable code.
//!
//! Every Wasm block gets a continuation block whose parameters are the
//! block's results; a loop also gets a header block whose parameters are
//! its inputs. Branch arguments are passed as block arguments in canonical
//! form (vectors as `i8x16`).

use cranelift_codegen::ir::JumpTableData;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value};
use hayate_environ::wasmparser::{BlockType, BrTable, Operator, ValType};
use hayate_environ::{CompileError, Trap, WasmValType};

use super::{FuncTranslator, Result, wasm_err};
use crate::abi;
use crate::traps::trap_to_code;

/// What kind of construct a control frame is.
pub(super) enum FrameKind {
    /// A `block` (or the function body).
    Block,
    /// A `loop`; branches go to its header.
    Loop {
        /// The loop header, whose parameters are the loop's inputs.
        header: Block,
    },
    /// An `if`.
    If {
        /// Entered when the condition is false.
        else_block: Block,
        /// The block's inputs, which the `else` arm starts with again.
        else_params: Vec<Value>,
        /// Whether an `else` was seen.
        has_else: bool,
    },
    /// A `try_table`: a block whose catch clauses' landing blocks are
    /// sealed at its end.
    TryTable {
        /// The landing blocks of its catch clauses.
        landings: Vec<Block>,
    },
}

/// One entry of the control stack.
pub(super) struct ControlFrame {
    kind: FrameKind,
    /// Where control continues after the frame; its parameters are the results.
    next: Block,
    num_params: usize,
    num_results: usize,
    /// Height of the operand stack below the frame's inputs.
    stack_height: usize,
    /// Whether anything jumps to `next`.
    exit_reachable: bool,
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl FuncTranslator<'_, '_> {
    /// Parameter and result types of a block type.
    pub(super) fn block_signature(
        &self,
        ty: BlockType,
    ) -> Result<(Vec<WasmValType>, Vec<WasmValType>)> {
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => {
                let t = WasmValType::from_wasmparser(t).map_err(CompileError::Unsupported)?;
                (vec![], vec![self.info().retag_val(t)])
            }
            BlockType::FuncType(index) => {
                let ft = self
                    .info()
                    .signature(hayate_environ::TypeIndex::from_u32(index));
                (ft.params.to_vec(), ft.results.to_vec())
            }
        })
    }

    /// A new block with parameters of Wasm types `types` (those that may
    /// hold GC references declared as roots).
    pub(super) fn block_with_params(&mut self, types: &[WasmValType]) -> Block {
        let block = self.b.create_block();
        for ty in types {
            self.b.append_block_param(block, abi::value_type(*ty));
        }
        self.declare_block_roots(block, types);
        block
    }

    pub(super) fn jump(&mut self, target: Block, args: &[Value]) {
        let args = block_args(args);
        self.b.ins().jump(target, &args);
    }

    /// Pushes the frame of a `block` (or, with `landings`, a `try_table`)
    /// whose inputs of types `params` are on the stack.
    pub(super) fn push_block_frame(
        &mut self,
        params: &[WasmValType],
        results: &[WasmValType],
        landings: Option<Vec<Block>>,
    ) {
        let next = self.block_with_params(results);
        self.control.push(ControlFrame {
            kind: match landings {
                Some(landings) => FrameKind::TryTable { landings },
                None => FrameKind::Block,
            },
            next,
            num_params: params.len(),
            num_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            exit_reachable: false,
        });
    }

    /// Pushes the frame of the function body, whose exit returns.
    pub(super) fn push_function_frame(&mut self, results: &[WasmValType]) {
        let next = self.block_with_params(results);
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            next,
            num_params: 0,
            num_results: results.len(),
            stack_height: 0,
            exit_reachable: false,
        });
    }

    visit_methods! { self;
        visit_nop() => {};
        visit_unreachable() => {
            self.b
                .ins()
                .trap(trap_to_code(Trap::UnreachableCodeReached));
            self.reachable = false;
        };
        visit_block(blockty: BlockType) => {
            let (params, results) = self.block_signature(blockty)?;
            self.push_block_frame(&params, &results, None);
        };
        visit_loop(blockty: BlockType) => {
            let (params, results) = self.block_signature(blockty)?;
            let header = self.block_with_params(&params);
            let args = self.peekn_canonical(params.len());
            self.jump(header, &args);
            self.popn(params.len());
            self.b.switch_to_block(header);
            let header_params = self.b.block_params(header).to_vec();
            self.stack.extend(header_params);
            let next = self.block_with_params(&results);
            self.control.push(ControlFrame {
                kind: FrameKind::Loop { header },
                next,
                num_params: params.len(),
                num_results: results.len(),
                stack_height: self.stack.len() - params.len(),
                exit_reachable: false,
            });
            if self.env.settings.tunables.epoch_interruption {
                self.epoch_check();
            }
            if self.fuel_var.is_some() {
                self.fuel_check();
            }
        };
        visit_if(blockty: BlockType) => {
            let cond = self.pop();
            let (params, results) = self.block_signature(blockty)?;
            let then_block = self.b.create_block();
            let else_block = self.b.create_block();
            let next = self.block_with_params(&results);
            self.b.ins().brif(cond, then_block, &[], else_block, &[]);
            self.b.seal_block(then_block);
            self.b.seal_block(else_block);
            self.b.switch_to_block(then_block);
            let height = self.stack.len() - params.len();
            self.control.push(ControlFrame {
                kind: FrameKind::If {
                    else_block,
                    else_params: self.stack[height..].to_vec(),
                    has_else: false,
                },
                next,
                num_params: params.len(),
                num_results: results.len(),
                stack_height: height,
                exit_reachable: false,
            });
        };
        visit_else() => self.translate_else();
        visit_end() => self.translate_end();
        visit_br(relative_depth: u32) => {
            let (target, n) = self.branch_target(relative_depth);
            let args = self.peekn_canonical(n);
            self.jump(target, &args);
            self.popn(n);
            self.reachable = false;
        };
        visit_br_if(relative_depth: u32) => {
            let cond = self.pop();
            let (target, n) = self.branch_target(relative_depth);
            let args = block_args(&self.peekn_canonical(n));
            let cont = self.b.create_block();
            self.b.ins().brif(cond, target, &args, cont, &[]);
            self.b.seal_block(cont);
            self.b.switch_to_block(cont);
        };
        visit_br_on_null(relative_depth: u32) => {
            // Branch without the reference when it is null; keep it
            // (now known non-null) otherwise.
            let reference = self.pop();
            let (target, n) = self.branch_target(relative_depth);
            let args = block_args(&self.peekn_canonical(n));
            let cont = self.b.create_block();
            self.b.ins().brif(reference, cont, &[], target, &args);
            self.b.seal_block(cont);
            self.b.switch_to_block(cont);
            self.push(reference);
        };
        visit_br_on_non_null(relative_depth: u32) => {
            // Branch with the reference when it is not null; drop it
            // otherwise.
            let reference = *self.stack.last().expect("validated: a reference on the stack");
            let (target, n) = self.branch_target(relative_depth);
            let args = block_args(&self.peekn_canonical(n));
            let cont = self.b.create_block();
            self.b.ins().brif(reference, target, &args, cont, &[]);
            self.b.seal_block(cont);
            self.b.switch_to_block(cont);
            self.pop();
        };
        visit_br_table(targets: BrTable<'_>) => {
            let depths = targets
                .targets()
                .collect::<Result<Vec<u32>, _>>()
                .map_err(wasm_err)?;
            self.translate_br_table(&depths, targets.default());
        };
        visit_return() => self.translate_return();
        visit_drop() => {
            self.pop();
        };
        visit_select() => self.translate_select(None)?;
        visit_typed_select(ty: ValType) => self.translate_select(Some(ty))?;
    }

    /// `select`, typed (`ty`) or not (numbers and vectors only).
    fn translate_select(&mut self, ty: Option<ValType>) -> Result<()> {
        let (mut a, mut b, cond) = self.pop3();
        let (ta, tb) = (self.b.func.dfg.value_type(a), self.b.func.dfg.value_type(b));
        if ta != tb {
            a = self.canonical(a);
            b = self.canonical(b);
        }
        let v = self.b.ins().select(cond, a, b);
        if let Some(ty) = ty {
            let ty = WasmValType::from_wasmparser(ty).map_err(CompileError::Unsupported)?;
            self.declare_root(v, self.info().retag_val(ty));
        }
        self.push(v);
        Ok(())
    }

    /// `select` with several results parses but no proposal makes it valid.
    pub(super) fn visit_typed_select_multi(&mut self, _tys: Vec<ValType>) -> Result<()> {
        Err(CompileError::Unsupported(
            "select with several results".into(),
        ))
    }

    /// Where a branch to `depth` goes and how many values it carries.
    pub(super) fn branch_target(&mut self, depth: u32) -> (Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.num_params),
            _ => {
                frame.exit_reachable = true;
                (frame.next, frame.num_results)
            }
        }
    }

    fn translate_br_table(&mut self, depths: &[u32], default: u32) {
        let index = self.pop();
        let (_, n) = self.branch_target(default);
        let mut table = Vec::with_capacity(depths.len());
        if n == 0 {
            for &depth in depths {
                let (target, _) = self.branch_target(depth);
                table.push(self.b.func.dfg.block_call(target, &[]));
            }
            let (target, _) = self.branch_target(default);
            let def = self.b.func.dfg.block_call(target, &[]);
            let jt = self.b.create_jump_table(JumpTableData::new(def, &table));
            self.b.ins().br_table(index, jt);
        } else {
            // Jump tables carry no arguments: split each edge with a block
            // that jumps to the real target with the branch values.
            let args = self.peekn_canonical(n);
            let mut edges: Vec<(u32, Block)> = Vec::new();
            let mut edge_for = |this: &mut Self, depth: u32| -> Block {
                if let Some((_, b)) = edges.iter().find(|(d, _)| *d == depth) {
                    return *b;
                }
                let block = this.b.create_block();
                edges.push((depth, block));
                block
            };
            for &depth in depths {
                let edge = edge_for(self, depth);
                table.push(self.b.func.dfg.block_call(edge, &[]));
            }
            let def_edge = edge_for(self, default);
            let def = self.b.func.dfg.block_call(def_edge, &[]);
            let jt = self.b.create_jump_table(JumpTableData::new(def, &table));
            self.b.ins().br_table(index, jt);
            for (depth, edge) in edges {
                self.b.switch_to_block(edge);
                self.b.seal_block(edge);
                let (target, _) = self.branch_target(depth);
                self.jump(target, &args);
            }
        }
        self.popn(n);
        self.reachable = false;
    }

    fn translate_return(&mut self) {
        let n = self.num_results;
        let args = self.peekn_canonical(n);
        self.b.ins().return_(&args);
        self.popn(n);
        self.reachable = false;
    }

    fn translate_else(&mut self) {
        let reachable = self.reachable;
        let frame = self.control.last_mut().expect("validated: else inside if");
        let FrameKind::If {
            else_block,
            ref else_params,
            ref mut has_else,
        } = frame.kind
        else {
            unreachable!("validated: else inside if");
        };
        *has_else = true;
        let else_params = else_params.clone();
        let (next, num_results, height) = (frame.next, frame.num_results, frame.stack_height);
        if reachable {
            frame.exit_reachable = true;
            let args = self.peekn_canonical(num_results);
            self.jump(next, &args);
        }
        self.stack.truncate(height);
        self.b.switch_to_block(else_block);
        self.stack.extend(else_params);
        self.reachable = true;
    }

    fn translate_end(&mut self) {
        let mut frame = self.control.pop().expect("validated: end closes a frame");
        if self.reachable {
            let args = self.peekn_canonical(frame.num_results);
            self.jump(frame.next, &args);
            frame.exit_reachable = true;
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                else_params,
                has_else: false,
            } => {
                // Without `else`, a false condition passes the inputs through
                // (validation ensures inputs and results have the same types).
                self.b.switch_to_block(else_block);
                let args: Vec<Value> = else_params.into_iter().map(|v| self.canonical(v)).collect();
                self.jump(frame.next, &args);
                frame.exit_reachable = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            FrameKind::TryTable { landings } => self.close_try_table(landings),
            _ => {}
        }
        self.b.switch_to_block(frame.next);
        self.b.seal_block(frame.next);
        self.stack.truncate(frame.stack_height);
        self.reachable = frame.exit_reachable;
        if self.reachable {
            let results = self.b.block_params(frame.next).to_vec();
            self.stack.extend(results);
        }
        if self.control.is_empty() && self.reachable {
            self.fuel_save();
            self.translate_return();
        }
    }

    /// Skips an operator in unreachable code, tracking nesting so that the
    /// matching `else` or `end` makes code reachable again.
    pub(super) fn translate_unreachable_operator(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::End => {
                if self.unreachable_depth == 0 {
                    self.translate_end();
                } else {
                    self.unreachable_depth -= 1;
                }
            }
            // Anything else in unreachable code emits nothing.
            _ => {}
        }
        Ok(())
    }
}
