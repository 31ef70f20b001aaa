//! Structured control flow: `block`, `loop`, `if`/`else`, the branches,
//! `return`, `unreachable`, `select` and `drop`, and the skipping of code
//! that cannot run.
//!
//! Every construct has a merge block after its `end`, with a phi per
//! result; a loop also has a header with a phi per parameter, which its
//! branches target. Values flow along branches into those phis. A merge
//! block no branch reaches is closed with `unreachable`, and the code
//! after it is skipped until the enclosing construct ends.

use hayate_environ::wasmparser::{BlockType, BrTable, Operator};
use hayate_environ::{CompileError, Trap, TypeIndex, WasmValType};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, PhiValue};

use super::{FuncTranslator, Result};
use crate::plan::Abi;

/// What kind of construct a frame is.
pub(crate) enum FrameKind<'ctx> {
    /// The function body: its merge block returns.
    Function,
    Block,
    /// A loop: branches go to `header`.
    Loop {
        header: BasicBlock<'ctx>,
        header_phis: Vec<PhiValue<'ctx>>,
    },
    /// An `if`: `else_block` runs when the condition is zero, starting
    /// with `params`; `has_else` once its `else` was seen.
    If {
        else_block: BasicBlock<'ctx>,
        params: Vec<BasicValueEnum<'ctx>>,
        has_else: bool,
    },
}

/// An open construct.
pub(crate) struct Frame<'ctx> {
    kind: FrameKind<'ctx>,
    /// The block after `end`, with a phi per result.
    merge: BasicBlock<'ctx>,
    merge_phis: Vec<PhiValue<'ctx>>,
    /// Whether any edge reaches `merge`.
    merge_reached: bool,
    /// Operand-stack height below the construct's parameters.
    height: usize,
}

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    /// Parameter and result types of a block type.
    fn block_signature(
        &self,
        bt: BlockType,
    ) -> Result<(Vec<BasicTypeEnum<'ctx>>, Vec<BasicTypeEnum<'ctx>>)> {
        match bt {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(t) => {
                let t = WasmValType::from_wasmparser(t).map_err(CompileError::Unsupported)?;
                Ok((Vec::new(), vec![self.env.val_type(t)?]))
            }
            BlockType::FuncType(index) => {
                let ty = self.env.input.info.signature(TypeIndex::from_u32(index));
                let map = |tys: &[WasmValType]| {
                    tys.iter()
                        .map(|t| self.env.val_type(*t))
                        .collect::<Result<Vec<_>>>()
                };
                Ok((map(&ty.params)?, map(&ty.results)?))
            }
        }
    }

    /// A new block with a phi of each type in `types`.
    fn block_with_phis(
        &mut self,
        types: &[BasicTypeEnum<'ctx>],
    ) -> Result<(BasicBlock<'ctx>, Vec<PhiValue<'ctx>>)> {
        let here = self.current_block();
        let block = self.cx.append_basic_block(self.func, "");
        self.b.position_at_end(block);
        let phis = types
            .iter()
            .map(|t| self.b.build_phi(*t, ""))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.b.position_at_end(here);
        Ok((block, phis))
    }

    /// Whether the Wasm condition `v` holds (is not zero), as an `i1`.
    fn is_nonzero(
        &mut self,
        v: inkwell::values::IntValue<'ctx>,
    ) -> Result<inkwell::values::IntValue<'ctx>> {
        Ok(self
            .b
            .build_int_compare(IntPredicate::NE, v, v.get_type().const_zero(), "")?)
    }

    pub(super) fn push_function_frame(&mut self) -> Result {
        let results = self.result_types()?;
        let (merge, merge_phis) = self.block_with_phis(&results)?;
        self.control.push(Frame {
            kind: FrameKind::Function,
            merge,
            merge_phis,
            merge_reached: false,
            height: 0,
        });
        Ok(())
    }

    /// The frame `depth` levels out.
    fn frame(&mut self, depth: u32) -> Result<&mut Frame<'ctx>> {
        let len = self.control.len();
        let i = len
            .checked_sub(depth as usize + 1)
            .ok_or_else(|| CompileError::Codegen(format!("branch depth {depth} out of range")))?;
        Ok(&mut self.control[i])
    }

    /// Where a branch to the frame `depth` levels out goes, and the phis
    /// its values feed; marks the target reached.
    fn branch_target(&mut self, depth: u32) -> Result<(BasicBlock<'ctx>, Vec<PhiValue<'ctx>>)> {
        let frame = self.frame(depth)?;
        Ok(match &frame.kind {
            FrameKind::Loop {
                header,
                header_phis,
            } => (*header, header_phis.clone()),
            _ => {
                frame.merge_reached = true;
                (frame.merge, frame.merge_phis.clone())
            }
        })
    }

    /// Feeds the values on top of the stack into `phis` from the current
    /// block.
    fn feed_phis(&mut self, phis: &[PhiValue<'ctx>]) -> Result {
        let from = self.current_block();
        let at = self
            .stack
            .len()
            .checked_sub(phis.len())
            .ok_or_else(|| CompileError::Codegen("operand stack underflow".into()))?;
        for (phi, v) in phis.iter().zip(&self.stack[at..]) {
            phi.add_incoming(&[(v as &dyn BasicValue<'ctx>, from)]);
        }
        Ok(())
    }

    /// Branches to the frame `depth` levels out with the values on top of
    /// the stack.
    fn branch(&mut self, depth: u32) -> Result {
        let (target, phis) = self.branch_target(depth)?;
        self.feed_phis(&phis)?;
        self.b.build_unconditional_branch(target)?;
        Ok(())
    }

    fn push_frame(
        &mut self,
        kind: FrameKind<'ctx>,
        results: &[BasicTypeEnum<'ctx>],
        params: usize,
    ) -> Result {
        let (merge, merge_phis) = self.block_with_phis(results)?;
        let height = self
            .stack
            .len()
            .checked_sub(params)
            .ok_or_else(|| CompileError::Codegen("operand stack underflow".into()))?;
        self.control.push(Frame {
            kind,
            merge,
            merge_phis,
            merge_reached: false,
            height,
        });
        Ok(())
    }

    pub(super) fn control_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        match op {
            Operator::Nop => {}
            Operator::Drop => {
                self.pop()?;
            }
            Operator::Unreachable => self.trap(Trap::UnreachableCodeReached)?,
            Operator::Block { blockty } => {
                let (params, results) = self.block_signature(*blockty)?;
                self.push_frame(FrameKind::Block, &results, params.len())?;
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_signature(*blockty)?;
                let (header, header_phis) = self.block_with_phis(&params)?;
                self.feed_phis(&header_phis)?;
                self.b.build_unconditional_branch(header)?;
                self.b.position_at_end(header);
                self.popn(params.len())?;
                self.stack
                    .extend(header_phis.iter().map(|p| p.as_basic_value()));
                self.push_frame(
                    FrameKind::Loop {
                        header,
                        header_phis,
                    },
                    &results,
                    params.len(),
                )?;
                self.interrupts_at_loop()?;
            }
            Operator::If { blockty } => {
                let cond = self.pop_int()?;
                let (params, results) = self.block_signature(*blockty)?;
                let cond = self.is_nonzero(cond)?;
                let then_block = self.cx.append_basic_block(self.func, "then");
                let else_block = self.cx.append_basic_block(self.func, "else");
                self.b
                    .build_conditional_branch(cond, then_block, else_block)?;
                self.b.position_at_end(then_block);
                let at = self.stack.len().saturating_sub(params.len());
                let saved = self.stack[at..].to_vec();
                self.push_frame(
                    FrameKind::If {
                        else_block,
                        params: saved,
                        has_else: false,
                    },
                    &results,
                    params.len(),
                )?;
            }
            Operator::Else => self.translate_else()?,
            Operator::End => self.translate_end()?,
            Operator::Br { relative_depth } => {
                self.branch(*relative_depth)?;
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop_int()?;
                let cond = self.is_nonzero(cond)?;
                let (target, phis) = self.branch_target(*relative_depth)?;
                self.feed_phis(&phis)?;
                let cont = self.cx.append_basic_block(self.func, "");
                self.b.build_conditional_branch(cond, target, cont)?;
                self.b.position_at_end(cont);
            }
            Operator::BrTable { targets } => self.translate_br_table(targets)?,
            Operator::Return => {
                let depth = self.control.len() as u32 - 1;
                self.branch(depth)?;
                self.reachable = false;
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let cond = self.pop_int()?;
                let (a, b) = (self.pop()?, self.pop()?);
                let cond = self.is_nonzero(cond)?;
                let v = self.b.build_select(cond, b, a, "")?;
                self.push(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn translate_br_table(&mut self, targets: &BrTable<'_>) -> Result {
        let index = self.pop_int()?;
        let default = targets.default();
        let depths = targets
            .targets()
            .collect::<std::result::Result<Vec<u32>, _>>()?;
        // Each distinct depth gets one edge block that feeds the target's
        // phis (a switch may reach one block along several edges, but a
        // phi takes one value per predecessor block).
        let mut edges: Vec<(u32, BasicBlock<'ctx>)> = Vec::new();
        let mut edge = |t: &mut Self, depth: u32| -> Result<BasicBlock<'ctx>> {
            if let Some((_, b)) = edges.iter().find(|(d, _)| *d == depth) {
                return Ok(*b);
            }
            let (target, phis) = t.branch_target(depth)?;
            let block = if phis.is_empty() {
                target
            } else {
                let here = t.current_block();
                let block = t.cx.append_basic_block(t.func, "");
                t.b.position_at_end(block);
                t.feed_phis(&phis)?;
                t.b.build_unconditional_branch(target)?;
                t.b.position_at_end(here);
                block
            };
            edges.push((depth, block));
            Ok(block)
        };
        let default_block = edge(self, default)?;
        let i32t = self.cx.i32_type();
        let mut cases = Vec::with_capacity(depths.len());
        for (i, depth) in depths.iter().enumerate() {
            let block = edge(self, *depth)?;
            cases.push((i32t.const_int(i as u64, false), block));
        }
        self.b.build_switch(index, default_block, &cases)?;
        self.reachable = false;
        Ok(())
    }

    fn translate_else(&mut self) -> Result {
        if self.reachable {
            let depth = 0;
            self.branch(depth)?;
        }
        let frame = self
            .control
            .last_mut()
            .ok_or_else(|| CompileError::Codegen("else outside a block".into()))?;
        let height = frame.height;
        let FrameKind::If {
            else_block,
            params,
            has_else,
        } = &mut frame.kind
        else {
            return Err(CompileError::Codegen("else outside an if".into()).into());
        };
        *has_else = true;
        let (else_block, params) = (*else_block, params.clone());
        self.stack.truncate(height);
        self.stack.extend(params);
        self.b.position_at_end(else_block);
        self.reachable = true;
        Ok(())
    }

    fn translate_end(&mut self) -> Result {
        if self.reachable {
            let (target, phis) = {
                let frame = self
                    .control
                    .last_mut()
                    .ok_or_else(|| CompileError::Codegen("end outside a block".into()))?;
                frame.merge_reached = true;
                (frame.merge, frame.merge_phis.clone())
            };
            self.feed_phis(&phis)?;
            self.b.build_unconditional_branch(target)?;
        }
        let mut frame = self
            .control
            .pop()
            .ok_or_else(|| CompileError::Codegen("end outside a block".into()))?;
        if let FrameKind::If {
            else_block,
            params,
            has_else: false,
        } = &frame.kind
        {
            // No `else`: a zero condition takes the parameters through.
            self.b.position_at_end(*else_block);
            for (phi, v) in frame.merge_phis.iter().zip(params) {
                phi.add_incoming(&[(v as &dyn BasicValue<'ctx>, *else_block)]);
            }
            self.b.build_unconditional_branch(frame.merge)?;
            frame.merge_reached = true;
        }
        self.stack.truncate(frame.height);
        self.b.position_at_end(frame.merge);
        if !frame.merge_reached {
            self.b.build_unreachable()?;
            self.reachable = false;
            return Ok(());
        }
        self.stack
            .extend(frame.merge_phis.iter().map(|p| p.as_basic_value()));
        self.reachable = true;
        if let FrameKind::Function = frame.kind {
            self.fuel_save()?;
            self.build_return()?;
            self.reachable = false;
        }
        Ok(())
    }

    /// Returns the values on the stack (the function's results).
    fn build_return(&mut self) -> Result {
        let results = self.popn(self.ty.results.len())?;
        match (results.as_slice(), self.abi) {
            ([], _) => self.b.build_return(None)?,
            ([one], _) => self.b.build_return(Some(one))?,
            (_, Abi::Internal) => self.b.build_aggregate_return(&results)?,
            (_, Abi::Wasm) => {
                return Err(
                    CompileError::Codegen("several results in the Wasm convention".into()).into(),
                );
            }
        };
        Ok(())
    }

    /// Operators where code cannot run: only the nesting is followed,
    /// until the construct that became unreachable ends or reaches its
    /// `else`.
    pub(super) fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else()?,
            Operator::End if self.unreachable_depth == 0 => self.translate_end()?,
            Operator::End => self.unreachable_depth -= 1,
            _ => {}
        }
        Ok(())
    }
}
