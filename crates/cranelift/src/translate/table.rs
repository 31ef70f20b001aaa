//! References and tables: `ref.null`, `ref.is_null`, `ref.func`, element
//! access, and the table operators.
//!
//! Table elements are pointers (`*const VMFuncRef` or an externref handle;
//! null is 0) in the array a `VMTableDefinition` points to; element
//! accesses check the index against `current_elements`. Funcref elements
//! are stored tagged with `FUNCREF_INIT_BIT`, and a stored 0 is an element
//! the runtime initialises lazily (`load_funcref`). Operators that may
//! resize or copy tables call runtime builtins.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::HeapType;
use hayate_environ::{FUNCREF_INIT_BIT, FuncIndex, TableIndex, Trap, VMOffsets, vm_func_ref};

use super::FuncTranslator;
use crate::abi::POINTER;
use crate::traps::trap_to_code;

impl FuncTranslator<'_, '_> {
    /// The current number of elements of the table whose definition is at
    /// `def + off`, as an `i64`.
    fn table_length(&mut self, (def, off): (Value, i32)) -> Value {
        self.b.ins().load(
            types::I64,
            self.regions.vmctx_flags(),
            def,
            off + VMOffsets::DEFINITION_LENGTH as i32,
        )
    }

    /// Whether `table` is indexed by `i64`s (memory64's tables).
    fn is_table64(&self, table: TableIndex) -> bool {
        self.info().tables[table].table64
    }

    /// An index or length of `table`'s index type as an `i64`.
    fn table_index_i64(&mut self, table: TableIndex, value: Value) -> Value {
        match self.is_table64(table) {
            true => value,
            false => self.b.ins().uextend(types::I64, value),
        }
    }

    /// An `i64` result (a size, an old size or -1) as `table`'s index type.
    fn table_index_result(&mut self, table: TableIndex, value: Value) -> Value {
        match self.is_table64(table) {
            true => value,
            false => self.b.ins().ireduce(types::I32, value),
        }
    }

    /// Address of element `index` (of the table's index type) of `table`,
    /// trapping with `TableOutOfBounds` when the index is not below the
    /// table's size.
    pub(super) fn table_element_address(&mut self, table: TableIndex, index: Value) -> Value {
        let (def, off) = self.table_definition(table);
        let len = self.table_length((def, off));
        let index = self.table_index_i64(table, index);
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b
            .ins()
            .trapnz(oob, trap_to_code(Trap::TableOutOfBounds));
        let base = self.b.ins().load(
            POINTER,
            self.regions.vmctx_flags(),
            def,
            off + VMOffsets::DEFINITION_BASE as i32,
        );
        let scaled = self.b.ins().ishl_imm_u(index, 3);
        self.b.ins().iadd(base, scaled)
    }

    /// Loads element `index` (in bounds, of the table's index type) of
    /// funcref `table` (at `addr`) as a plain reference: elements are
    /// stored tagged, and one still 0 has not been initialised yet, so the
    /// `TableGetLazyInitFuncRef` builtin computes it (see
    /// `hayate_runtime::lazy_table`). The builtin takes an `i32` index,
    /// which an index below a table's size always fits.
    pub(super) fn load_funcref(&mut self, table: TableIndex, index: Value, addr: Value) -> Value {
        let index = match self.is_table64(table) {
            true => self.b.ins().ireduce(types::I32, index),
            false => index,
        };
        let raw = self
            .b
            .ins()
            .load(POINTER, self.regions.table_flags(), addr, 0);
        let untagged = self.b.ins().band_imm_s(raw, !(FUNCREF_INIT_BIT as i64));
        self.unless_zero_call_builtin(raw, untagged, Builtin::TableGetLazyInitFuncRef, None, |t| {
            vec![t.iconst32(table.as_u32()), index]
        })
    }

    /// The `VMFuncRef` of defined function `func` at `addr`, filled in by
    /// the runtime first if it is not yet (its `vmctx` field is null).
    fn lazy_func_ref(&mut self, func: FuncIndex, addr: Value) -> Value {
        // Not read-only: the runtime writes it on first use.
        let flags = MemFlagsData::trusted();
        let filled = self
            .b
            .ins()
            .load(POINTER, flags, addr, vm_func_ref::VMCTX as i32);
        self.unless_zero_call_builtin(filled, addr, Builtin::RefFunc, None, |t| {
            vec![t.iconst32(func.as_u32())]
        })
    }

    fn is_funcref_table(&self, table: TableIndex) -> bool {
        self.info().tables[table].element.is_func()
    }

    fn iconst32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v))
    }

    visit_methods! { self;
        visit_ref_as_non_null() => {
            let reference = self.pop();
            self.b
                .ins()
                .trapz(reference, trap_to_code(Trap::NullReference));
            self.push(reference);
        };
        visit_ref_null(_hty: HeapType) => {
            let v = self.b.ins().iconst(POINTER, 0);
            self.push(v);
        };
        visit_ref_is_null() => {
            let r = self.pop();
            let c = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
            let v = self.b.ins().uextend(types::I32, c);
            self.push(v);
        };
        visit_ref_func(function_index: u32) => {
            let func = FuncIndex::from_u32(function_index);
            let off = self.env.offsets.func_ref(func);
            let addr = self.b.ins().iadd_imm_s(self.vmctx, i64::from(off));
            let v = if self.info().defined_func(func).is_some() {
                self.lazy_func_ref(func, addr)
            } else {
                // Imported functions' references are copied in at
                // instantiation.
                addr
            };
            self.push(v);
        };
        visit_table_get(table: u32) => {
            let table = TableIndex::from_u32(table);
            let index = self.pop();
            let addr = self.table_element_address(table, index);
            let v = if self.is_funcref_table(table) {
                self.load_funcref(table, index, addr)
            } else {
                let v = self
                    .b
                    .ins()
                    .load(POINTER, self.regions.table_flags(), addr, 0);
                let ty = hayate_environ::WasmValType::Ref(self.info().tables[table].element);
                self.declare_root(v, ty);
                v
            };
            self.push(v);
        };
        visit_table_set(table: u32) => {
            let table = TableIndex::from_u32(table);
            let (index, value) = self.pop2();
            let addr = self.table_element_address(table, index);
            let value = if self.is_funcref_table(table) {
                self.b.ins().bor_imm_u(value, FUNCREF_INIT_BIT as i64)
            } else {
                value
            };
            self.b
                .ins()
                .store(self.regions.table_flags(), value, addr, 0);
        };
        visit_table_size(table: u32) => {
            let table = TableIndex::from_u32(table);
            let definition = self.table_definition(table);
            let len = self.table_length(definition);
            let v = self.table_index_result(table, len);
            self.push(v);
        };
        visit_table_grow(table: u32) => {
            let index = TableIndex::from_u32(table);
            let (init, delta) = self.pop2();
            let delta = self.table_index_i64(index, delta);
            let t = self.iconst32(table);
            let old = self
                .call_builtin(Builtin::TableGrow, &[t, delta, init])
                .unwrap();
            let v = self.table_index_result(index, old);
            self.push(v);
        };
        visit_table_fill(table: u32) => {
            let index = TableIndex::from_u32(table);
            let (dst, value, len) = self.pop3();
            let dst = self.table_index_i64(index, dst);
            let len = self.table_index_i64(index, len);
            let t = self.iconst32(table);
            self.call_builtin(Builtin::TableFill, &[t, dst, value, len]);
        };
        visit_table_copy(dst_table: u32, src_table: u32) => {
            let (dst_index, src_index) =
                (TableIndex::from_u32(dst_table), TableIndex::from_u32(src_table));
            let (dst, src, len) = self.pop3();
            let dst = self.table_index_i64(dst_index, dst);
            let src = self.table_index_i64(src_index, src);
            // The length is an `i64` only when both tables are 64-bit.
            let len = match self.is_table64(dst_index) && self.is_table64(src_index) {
                true => len,
                false => self.b.ins().uextend(types::I64, len),
            };
            let d = self.iconst32(dst_table);
            let s = self.iconst32(src_table);
            self.call_builtin(Builtin::TableCopy, &[d, s, dst, src, len]);
        };
        visit_table_init(elem_index: u32, table: u32) => {
            let (dst, src, len) = self.pop3();
            let dst = self.table_index_i64(TableIndex::from_u32(table), dst);
            let t = self.iconst32(table);
            let e = self.iconst32(elem_index);
            self.call_builtin(Builtin::TableInit, &[t, e, dst, src, len]);
        };
        visit_elem_drop(elem_index: u32) => {
            let e = self.iconst32(elem_index);
            self.call_builtin(Builtin::ElemDrop, &[e]);
        };
    }
}
