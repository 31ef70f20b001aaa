//! GC operators: structures, arrays, `i31`, `ref.eq`, casts and the
//! conversions between the internal and external hierarchies.
//!
//! References are encoded as `hayate_runtime::gc` describes (null 0, an
//! `i31` with its low bit set, a host value with low bits `10`, an object's
//! address otherwise). Allocation and the bulk array operations call
//! builtins; field and element accesses, null and bounds checks, and casts
//! are inline. A cast to a concrete type compares the object's type id
//! with the expected one, and only when they differ and the expected type
//! may have subtypes asks the `GcIsSubtype` builtin.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlagsData, Value, types};
use hayate_environ::builtins::Builtin;
use hayate_environ::wasmparser::{self, HeapType as WpHeapType};
use hayate_environ::{
    GC_HEADER_SIZE, HeapType, StorageType, Trap, TypeIndex, VMOffsets, gc_header, vm_func_ref,
};

use super::FuncTranslator;
use super::vmctx::immutable;
use crate::abi::{self, POINTER};
use crate::traps::trap_to_code;

/// Kinds in a GC object's header (`hayate_runtime::gc`).
const KIND_STRUCT: i64 = 0;
const KIND_ARRAY: i64 = 1;

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl FuncTranslator<'_, '_> {
    fn null_check(&mut self, v: Value) {
        self.b.ins().trapz(v, trap_to_code(Trap::NullReference));
    }

    fn type_const(&mut self, t: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(t))
    }

    /// Loads a field or element stored as `storage` at `addr + offset`;
    /// packed ones sign- or zero-extended by `signed`. A reference loaded
    /// is a root.
    fn load_storage(
        &mut self,
        storage: StorageType,
        addr: Value,
        offset: i32,
        signed: bool,
    ) -> Value {
        let b = self.b.ins();
        match (storage, signed) {
            (StorageType::I8, true) => b.sload8(types::I32, flags(), addr, offset),
            (StorageType::I8, false) => b.uload8(types::I32, flags(), addr, offset),
            (StorageType::I16, true) => b.sload16(types::I32, flags(), addr, offset),
            (StorageType::I16, false) => b.uload16(types::I32, flags(), addr, offset),
            (StorageType::Val(t), _) => {
                let v = b.load(abi::value_type(t), flags(), addr, offset);
                self.declare_root(v, t);
                v
            }
        }
    }

    fn store_storage(&mut self, storage: StorageType, value: Value, addr: Value, offset: i32) {
        let b = self.b.ins();
        match storage {
            StorageType::I8 => b.istore8(flags(), value, addr, offset),
            StorageType::I16 => b.istore16(flags(), value, addr, offset),
            StorageType::Val(_) => b.store(flags(), value, addr, offset),
        };
    }

    fn struct_field(&self, ty: u32, field: u32) -> (StorageType, i32) {
        let st = self.info().types[TypeIndex::from_u32(ty)]
            .as_struct()
            .expect("validated: a structure type");
        let (offsets, _) = st.layout();
        (
            st.fields[field as usize].storage,
            offsets[field as usize] as i32,
        )
    }

    fn array_storage(&self, ty: u32) -> StorageType {
        self.info().types[TypeIndex::from_u32(ty)]
            .as_array()
            .expect("validated: an array type")
            .element
            .storage
    }

    /// The address of element `index` of array `array` (checked for null
    /// and bounds) of element storage `storage`.
    fn element_address(&mut self, array: Value, index: Value, storage: StorageType) -> Value {
        self.null_check(array);
        let len = self
            .b
            .ins()
            .load(types::I32, flags(), array, gc_header::LENGTH as i32);
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b
            .ins()
            .trapnz(oob, trap_to_code(Trap::ArrayOutOfBounds));
        let index = self.b.ins().uextend(POINTER, index);
        let scaled = self
            .b
            .ins()
            .imul_imm_u(index, i64::from(storage.byte_size()));
        let base = self.b.ins().iadd(array, scaled);
        self.b.ins().iadd_imm_u(base, i64::from(GC_HEADER_SIZE))
    }

    /// The engine-wide id of module type `t`, read from the VMContext.
    fn engine_type_id(&mut self, t: TypeIndex) -> Value {
        let ids = self.b.ins().load(
            POINTER,
            immutable(),
            self.vmctx,
            self.env.offsets.type_ids() as i32,
        );
        self.b.ins().load(
            types::I32,
            immutable(),
            ids,
            VMOffsets::type_id_entry(t) as i32,
        )
    }

    /// 1 if engine type `actual` is module type `expected` or (when that
    /// type may have subtypes) a subtype of it, else 0; jumps to `done`.
    fn subtype_test_into(&mut self, actual: Value, expected: TypeIndex, done: ir::Block) {
        let id = self.engine_type_id(expected);
        let same = self.b.ins().icmp(IntCC::Equal, actual, id);
        let same = self.b.ins().uextend(types::I32, same);
        if self.info().types[expected].is_final {
            self.b.ins().jump(done, &[BlockArg::Value(same)]);
            return;
        }
        let slow = self.b.create_block();
        let one = self.b.ins().iconst(types::I32, 1);
        self.b
            .ins()
            .brif(same, done, &[BlockArg::Value(one)], slow, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let index = self.type_const(expected.as_u32());
        let r = self
            .call_builtin(Builtin::GcIsSubtype, &[actual, index])
            .expect("the builtin returns a flag");
        self.b.ins().jump(done, &[BlockArg::Value(r)]);
    }

    /// 1 if reference `v` is of type `(ref null? heap)`, else 0.
    pub(super) fn type_test(&mut self, v: Value, heap: HeapType, nullable: bool) -> Value {
        let is_null = self.b.ins().icmp_imm_u(IntCC::Equal, v, 0);
        let null_result = self.b.ins().iconst(types::I32, i64::from(nullable));
        let simple =
            |t: &mut Self, non_null: Value| t.b.ins().select(is_null, null_result, non_null);
        match heap {
            HeapType::Any | HeapType::Func | HeapType::Extern | HeapType::Exn => {
                let one = self.b.ins().iconst(types::I32, 1);
                return simple(self, one);
            }
            HeapType::None | HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn => {
                let zero = self.b.ins().iconst(types::I32, 0);
                return simple(self, zero);
            }
            HeapType::Eq => {
                let low = self.b.ins().band_imm_u(v, 3);
                let eq = self.b.ins().icmp_imm_u(IntCC::NotEqual, low, 2);
                let eq = self.b.ins().uextend(types::I32, eq);
                return simple(self, eq);
            }
            HeapType::I31 => {
                let bit = self.b.ins().band_imm_u(v, 1);
                let bit = self.b.ins().ireduce(types::I32, bit);
                return simple(self, bit);
            }
            _ => {}
        }
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, types::I32);
        let check = self.b.create_block();
        self.b
            .ins()
            .brif(is_null, done, &[BlockArg::Value(null_result)], check, &[]);
        self.b.seal_block(check);
        self.b.switch_to_block(check);
        match heap {
            HeapType::ConcreteFunc(r) => {
                let actual = self.b.ins().load(
                    types::I32,
                    flags().with_readonly(),
                    v,
                    vm_func_ref::TYPE_ID as i32,
                );
                self.subtype_test_into(actual, module_index(r), done);
            }
            _ => {
                let low = self.b.ins().band_imm_u(v, 3);
                let object = self.b.create_block();
                let zero = self.b.ins().iconst(types::I32, 0);
                self.b
                    .ins()
                    .brif(low, done, &[BlockArg::Value(zero)], object, &[]);
                self.b.seal_block(object);
                self.b.switch_to_block(object);
                match heap {
                    HeapType::Struct | HeapType::Array => {
                        let kind =
                            self.b
                                .ins()
                                .load(types::I32, flags(), v, gc_header::KIND as i32);
                        let want = match heap {
                            HeapType::Struct => KIND_STRUCT,
                            _ => KIND_ARRAY,
                        };
                        let is = self.b.ins().icmp_imm_u(IntCC::Equal, kind, want);
                        let is = self.b.ins().uextend(types::I32, is);
                        self.b.ins().jump(done, &[BlockArg::Value(is)]);
                    }
                    HeapType::ConcreteStruct(r) | HeapType::ConcreteArray(r) => {
                        let actual =
                            self.b
                                .ins()
                                .load(types::I32, flags(), v, gc_header::TYPE_ID as i32);
                        self.subtype_test_into(actual, module_index(r), done);
                    }
                    other => unreachable!("handled above: {other:?}"),
                }
            }
        }
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// The heap type `hty` names, with its concrete kind.
    fn heap(&self, hty: WpHeapType) -> super::Result<HeapType> {
        let h = HeapType::from_wasmparser_module(hty)
            .map_err(hayate_environ::CompileError::Unsupported)?;
        Ok(self.info().retag(h))
    }

    fn br_on_cast(
        &mut self,
        depth: u32,
        to: wasmparser::RefType,
        on_success: bool,
    ) -> super::Result<()> {
        let heap = self.heap(to.heap_type())?;
        let v = *self
            .stack
            .last()
            .expect("validated: a reference on the stack");
        let test = self.type_test(v, heap, to.is_nullable());
        let (target, n) = self.branch_target(depth);
        let args: Vec<BlockArg> = self
            .peekn_canonical(n)
            .into_iter()
            .map(BlockArg::Value)
            .collect();
        let cont = self.b.create_block();
        match on_success {
            true => self.b.ins().brif(test, target, &args, cont, &[]),
            false => self.b.ins().brif(test, cont, &[], target, &args),
        };
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        Ok(())
    }

    visit_methods! { self;
        visit_ref_eq() => {
            let (a, b) = self.pop2();
            let eq = self.b.ins().icmp(IntCC::Equal, a, b);
            let eq = self.b.ins().uextend(types::I32, eq);
            self.push(eq);
        };
        visit_ref_i31() => {
            let x = self.pop();
            let shifted = self.b.ins().ishl_imm_u(x, 1);
            let tagged = self.b.ins().bor_imm_u(shifted, 1);
            let r = self.b.ins().uextend(POINTER, tagged);
            self.push(r);
        };
        visit_i31_get_s() => self.i31_get(true);
        visit_i31_get_u() => self.i31_get(false);
        visit_any_convert_extern() | visit_extern_convert_any() => {};
        visit_struct_new(struct_type_index: u32) => {
            let st = self.info().types[TypeIndex::from_u32(struct_type_index)]
                .as_struct()
                .expect("validated: a structure type")
                .clone();
            let (offsets, size) = st.layout();
            let values = self.popn(st.fields.len());
            let ty = self.type_const(struct_type_index);
            let size = self.type_const(size);
            let obj = self
                .call_builtin(Builtin::GcAllocStruct, &[ty, size])
                .expect("the builtin returns the object");
            self.b.declare_value_needs_stack_map(obj);
            for ((field, offset), value) in st.fields.iter().zip(offsets).zip(values) {
                self.store_storage(field.storage, value, obj, offset as i32);
            }
            self.push(obj);
        };
        visit_struct_new_default(struct_type_index: u32) => {
            let (_, size) = self.info().types[TypeIndex::from_u32(struct_type_index)]
                .as_struct()
                .expect("validated: a structure type")
                .layout();
            let ty = self.type_const(struct_type_index);
            let size = self.type_const(size);
            let obj = self
                .call_builtin(Builtin::GcAllocStruct, &[ty, size])
                .expect("the builtin returns the object");
            self.b.declare_value_needs_stack_map(obj);
            self.push(obj);
        };
        visit_struct_get(struct_type_index: u32, field_index: u32) => {
            let (storage, offset) = self.struct_field(struct_type_index, field_index);
            let obj = self.pop();
            self.null_check(obj);
            let v = self.load_storage(storage, obj, offset, false);
            self.push(v);
        };
        visit_struct_get_s(struct_type_index: u32, field_index: u32) => {
            let (storage, offset) = self.struct_field(struct_type_index, field_index);
            let obj = self.pop();
            self.null_check(obj);
            let v = self.load_storage(storage, obj, offset, true);
            self.push(v);
        };
        visit_struct_get_u(struct_type_index: u32, field_index: u32) => {
            let (storage, offset) = self.struct_field(struct_type_index, field_index);
            let obj = self.pop();
            self.null_check(obj);
            let v = self.load_storage(storage, obj, offset, false);
            self.push(v);
        };
        visit_struct_set(struct_type_index: u32, field_index: u32) => {
            let (storage, offset) = self.struct_field(struct_type_index, field_index);
            let (obj, value) = self.pop2();
            self.null_check(obj);
            self.store_storage(storage, value, obj, offset);
        };
        visit_array_new(array_type_index: u32) => {
            let (value, len) = self.pop2();
            let ty = self.type_const(array_type_index);
            let value = self.canonical(value);
            let slot = self.spill_values(&[value]);
            let arr = self
                .call_builtin(Builtin::ArrayNew, &[ty, len, slot])
                .expect("the builtin returns the array");
            self.b.declare_value_needs_stack_map(arr);
            self.push(arr);
        };
        visit_array_new_default(array_type_index: u32) => {
            let len = self.pop();
            let ty = self.type_const(array_type_index);
            let arr = self
                .call_builtin(Builtin::GcAllocArray, &[ty, len])
                .expect("the builtin returns the array");
            self.b.declare_value_needs_stack_map(arr);
            self.push(arr);
        };
        visit_array_new_fixed(array_type_index: u32, array_size: u32) => {
            let storage = self.array_storage(array_type_index);
            let values = self.popn(array_size as usize);
            let ty = self.type_const(array_type_index);
            let len = self.type_const(array_size);
            let arr = self
                .call_builtin(Builtin::GcAllocArray, &[ty, len])
                .expect("the builtin returns the array");
            self.b.declare_value_needs_stack_map(arr);
            for (i, value) in values.into_iter().enumerate() {
                let offset = GC_HEADER_SIZE as usize + i * storage.byte_size() as usize;
                self.store_storage(storage, value, arr, offset as i32);
            }
            self.push(arr);
        };
        visit_array_new_data(array_type_index: u32, array_data_index: u32) => {
            let (offset, len) = self.pop2();
            let (ty, data) = (self.type_const(array_type_index), self.type_const(array_data_index));
            let arr = self
                .call_builtin(Builtin::ArrayNewData, &[ty, data, offset, len])
                .expect("the builtin returns the array");
            self.b.declare_value_needs_stack_map(arr);
            self.push(arr);
        };
        visit_array_new_elem(array_type_index: u32, array_elem_index: u32) => {
            let (offset, len) = self.pop2();
            let (ty, elem) = (self.type_const(array_type_index), self.type_const(array_elem_index));
            let arr = self
                .call_builtin(Builtin::ArrayNewElem, &[ty, elem, offset, len])
                .expect("the builtin returns the array");
            self.b.declare_value_needs_stack_map(arr);
            self.push(arr);
        };
        visit_array_get(array_type_index: u32) | visit_array_get_u(array_type_index: u32) => {
            let storage = self.array_storage(array_type_index);
            let (arr, index) = self.pop2();
            let addr = self.element_address(arr, index, storage);
            let v = self.load_storage(storage, addr, 0, false);
            self.push(v);
        };
        visit_array_get_s(array_type_index: u32) => {
            let storage = self.array_storage(array_type_index);
            let (arr, index) = self.pop2();
            let addr = self.element_address(arr, index, storage);
            let v = self.load_storage(storage, addr, 0, true);
            self.push(v);
        };
        visit_array_set(array_type_index: u32) => {
            let storage = self.array_storage(array_type_index);
            let (arr, index, value) = self.pop3();
            let addr = self.element_address(arr, index, storage);
            self.store_storage(storage, value, addr, 0);
        };
        visit_array_len() => {
            let arr = self.pop();
            self.null_check(arr);
            let len = self
                .b
                .ins()
                .load(types::I32, flags(), arr, gc_header::LENGTH as i32);
            self.push(len);
        };
        visit_array_fill(array_type_index: u32) => {
            let values = self.popn(4);
            let (arr, offset, value, len) = (values[0], values[1], values[2], values[3]);
            self.null_check(arr);
            let value = self.canonical(value);
            let slot = self.spill_values(&[value]);
            let ty = self.type_const(array_type_index);
            self.call_builtin(Builtin::ArrayFill, &[ty, arr, offset, slot, len]);
        };
        visit_array_copy(array_type_index_dst: u32, array_type_index_src: u32) => {
            let _ = array_type_index_src;
            let v = self.popn(5);
            self.null_check(v[0]);
            self.null_check(v[2]);
            let ty = self.type_const(array_type_index_dst);
            self.call_builtin(Builtin::ArrayCopy, &[ty, v[0], v[1], v[2], v[3], v[4]]);
        };
        visit_array_init_data(array_type_index: u32, array_data_index: u32) => {
            let v = self.popn(4);
            self.null_check(v[0]);
            let (ty, data) = (self.type_const(array_type_index), self.type_const(array_data_index));
            self.call_builtin(Builtin::ArrayInitData, &[ty, v[0], v[1], data, v[2], v[3]]);
        };
        visit_array_init_elem(array_type_index: u32, array_elem_index: u32) => {
            let v = self.popn(4);
            self.null_check(v[0]);
            let (ty, elem) = (self.type_const(array_type_index), self.type_const(array_elem_index));
            self.call_builtin(Builtin::ArrayInitElem, &[ty, v[0], v[1], elem, v[2], v[3]]);
        };
        visit_ref_test_non_null(hty: WpHeapType) => {
            let heap = self.heap(hty)?;
            let v = self.pop();
            let r = self.type_test(v, heap, false);
            self.push(r);
        };
        visit_ref_test_nullable(hty: WpHeapType) => {
            let heap = self.heap(hty)?;
            let v = self.pop();
            let r = self.type_test(v, heap, true);
            self.push(r);
        };
        visit_ref_cast_non_null(hty: WpHeapType) => {
            let heap = self.heap(hty)?;
            let v = self.pop();
            let r = self.type_test(v, heap, false);
            self.b.ins().trapz(r, trap_to_code(Trap::CastFailure));
            self.push(v);
        };
        visit_ref_cast_nullable(hty: WpHeapType) => {
            let heap = self.heap(hty)?;
            let v = self.pop();
            let r = self.type_test(v, heap, true);
            self.b.ins().trapz(r, trap_to_code(Trap::CastFailure));
            self.push(v);
        };
        visit_br_on_cast(
            relative_depth: u32,
            from_ref_type: wasmparser::RefType,
            to_ref_type: wasmparser::RefType
        ) => {
            let _ = from_ref_type;
            self.br_on_cast(relative_depth, to_ref_type, true)?;
        };
        visit_br_on_cast_fail(
            relative_depth: u32,
            from_ref_type: wasmparser::RefType,
            to_ref_type: wasmparser::RefType
        ) => {
            let _ = from_ref_type;
            self.br_on_cast(relative_depth, to_ref_type, false)?;
        };
    }

    /// `i31.get_s` and `i31.get_u`.
    fn i31_get(&mut self, signed: bool) {
        let v = self.pop();
        self.null_check(v);
        let low = self.b.ins().ireduce(types::I32, v);
        let r = match signed {
            true => self.b.ins().sshr_imm_u(low, 1),
            false => self.b.ins().ushr_imm_u(low, 1),
        };
        self.push(r);
    }
}

/// The module type index a concrete type of the module's code names.
fn module_index(r: hayate_environ::TypeRef) -> TypeIndex {
    match r {
        hayate_environ::TypeRef::Module(t) => t,
        other => unreachable!("code names module types, not {other:?}"),
    }
}
