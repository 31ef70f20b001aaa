//! Locals and globals: each local is a frontend `Variable` (parameters
//! first, defined from the entry block's parameters, then the declared
//! locals, defined as zero); globals are loads and stores of their
//! VMContext slot (or of the imported global it points to), marked
//! read-only when the global is immutable.

use cranelift_codegen::ir::{Block, InstBuilder};
use hayate_environ::wasmparser::FunctionBody;
use hayate_environ::{CompileError, GlobalIndex, WasmValType};

use super::{FuncTranslator, Result, wasm_err};
use crate::abi;

impl FuncTranslator<'_, '_> {
    /// Declares a variable per parameter (from the entry block's
    /// parameters, after the two vmctx) and per declared local (zero).
    pub(super) fn declare_locals(
        &mut self,
        entry: Block,
        params: &[WasmValType],
        body: &FunctionBody<'_>,
    ) -> Result<()> {
        for (i, ty) in params.iter().enumerate() {
            let var = self.b.declare_var(abi::value_type(*ty));
            if ty.may_hold_gc() {
                self.b.declare_var_needs_stack_map(var);
            }
            let value = self.b.block_params(entry)[i + 2];
            self.b.def_var(var, value);
            self.locals.push(var);
        }
        let mut reader = body.get_locals_reader().map_err(wasm_err)?;
        for _ in 0..reader.get_count() {
            let (count, ty) = reader.read().map_err(wasm_err)?;
            let ty = WasmValType::from_wasmparser(ty).map_err(CompileError::Unsupported)?;
            let ty = self.info().retag_val(ty);
            if count == 0 {
                continue;
            }
            let zero = self.zero_value(ty);
            for _ in 0..count {
                let var = self.b.declare_var(abi::value_type(ty));
                if ty.may_hold_gc() {
                    self.b.declare_var_needs_stack_map(var);
                }
                self.b.def_var(var, zero);
                self.locals.push(var);
            }
        }
        Ok(())
    }

    visit_methods! { self;
        visit_local_get(local_index: u32) => {
            let v = self.b.use_var(self.locals[local_index as usize]);
            self.push(v);
        };
        visit_local_set(local_index: u32) => {
            let v = self.pop();
            let v = self.canonical(v);
            self.b.def_var(self.locals[local_index as usize], v);
        };
        visit_local_tee(local_index: u32) => {
            let v = *self.stack.last().expect("validated: local.tee operand");
            let v = self.canonical(v);
            self.b.def_var(self.locals[local_index as usize], v);
        };
        visit_global_get(global_index: u32) => {
            let global_index = GlobalIndex::from_u32(global_index);
            let ty = self.info().globals[global_index];
            let (ptr, off) = self.global_address(global_index);
            let flags = if ty.mutable {
                self.regions.vmctx_flags()
            } else {
                self.regions.vmctx_flags().with_readonly()
            };
            let v = self
                .b
                .ins()
                .load(abi::value_type(ty.content), flags, ptr, off);
            self.declare_root(v, ty.content);
            self.push(v);
        };
        visit_global_set(global_index: u32) => {
            let global_index = GlobalIndex::from_u32(global_index);
            let v = self.pop();
            let v = self.canonical(v);
            let (ptr, off) = self.global_address(global_index);
            self.b.ins().store(self.regions.vmctx_flags(), v, ptr, off);
        };
    }
}
