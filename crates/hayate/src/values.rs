//! Values crossing the API: `Val`, `Ref`, `ExternRef`, and their conversion
//! to and from the runtime's raw 16-byte form.

use std::any::Any;
use std::ffi::c_void;

use hayate_environ::{self as env, HeapType as EnvHeap, TypeRef};
use hayate_runtime::ValRaw;

use crate::error::{Error, Result};
use crate::exceptions::ExnRef;
use crate::func::Func;
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{RefType, ValType};

/// A WebAssembly value.
#[derive(Debug, Clone, Copy)]
pub enum Val {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`, as its bits (so NaN payloads survive).
    F32(u32),
    /// `f64`, as its bits.
    F64(u64),
    /// `v128`
    V128(u128),
    /// A function reference, or null.
    FuncRef(Option<Func>),
    /// An external reference, or null.
    ExternRef(Option<ExternRef>),
    /// An exception reference, or null.
    ExnRef(Option<ExnRef>),
    /// An internal (GC) reference, or null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
            Val::AnyRef(_) => ValType::ANYREF,
        }
    }

    /// The null function reference.
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }

    /// The null external reference.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }

    /// The default (zero or null) value of `ty`, if it has one: a
    /// non-nullable reference type has none, and neither (yet) do the
    /// internal and exception hierarchies, which Hayate does not
    /// implement.
    pub fn default_for_ty(ty: &ValType) -> Option<Val> {
        Some(match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if !r.is_nullable() => return None,
            ValType::Ref(r) => Val::from(Ref::null_of(r.heap_type().abstract_top()?)),
        })
    }

    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The `f32`, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    /// The `f64`, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::u32(v),
            Val::F64(v) => ValRaw::u64(v),
            Val::V128(v) => ValRaw::v128(v),
            Val::FuncRef(f) => ValRaw::ptr(func_to_raw(f, store)?),
            Val::ExternRef(e) => ValRaw::ptr(extern_to_raw(e, store)?),
            Val::ExnRef(e) => ValRaw::ptr(exn_to_raw(e, store)?),
            Val::AnyRef(a) => ValRaw::ptr(any_to_raw(a, store)?),
        })
    }

    /// The value `raw` holds, read as engine-form type `ty`.
    pub(crate) fn from_raw(raw: ValRaw, ty: env::WasmValType, store: StoreId) -> Val {
        match ty {
            env::WasmValType::I32 => Val::I32(raw.get_i32()),
            env::WasmValType::I64 => Val::I64(raw.get_i64()),
            env::WasmValType::F32 => Val::F32(raw.get_u32()),
            env::WasmValType::F64 => Val::F64(raw.get_u64()),
            env::WasmValType::V128 => Val::V128(raw.get_v128()),
            env::WasmValType::Ref(r) => Val::from(Ref::from_raw(raw.get_ptr(), r, store)),
        }
    }

    /// Whether this value is of engine-form type `ty` in `store`: a value
    /// of a subtype counts (a function of a concrete type is a `funcref`).
    pub(crate) fn matches(&self, store: &StoreOpaque, ty: env::WasmValType) -> bool {
        match (self, ty) {
            (Val::I32(_), env::WasmValType::I32)
            | (Val::I64(_), env::WasmValType::I64)
            | (Val::F32(_), env::WasmValType::F32)
            | (Val::F64(_), env::WasmValType::F64)
            | (Val::V128(_), env::WasmValType::V128) => true,
            (Val::FuncRef(f), env::WasmValType::Ref(r)) => Ref::Func(*f).matches(store, r),
            (Val::ExternRef(e), env::WasmValType::Ref(r)) => Ref::Extern(*e).matches(store, r),
            (Val::ExnRef(e), env::WasmValType::Ref(r)) => Ref::Exn(*e).matches(store, r),
            (Val::AnyRef(a), env::WasmValType::Ref(r)) => Ref::Any(*a).matches(store, r),
            _ => false,
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}

/// A reference value: what tables hold.
#[derive(Debug, Clone, Copy)]
pub enum Ref {
    /// A function reference, or null.
    Func(Option<Func>),
    /// An external reference, or null.
    Extern(Option<ExternRef>),
    /// An exception reference, or null.
    Exn(Option<ExnRef>),
    /// An internal (GC) reference, or null.
    Any(Option<AnyRef>),
}

impl Ref {
    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Ref::Func(None) | Ref::Extern(None) | Ref::Exn(None) | Ref::Any(None)
        )
    }

    /// The most general type of this reference (`funcref`, `externref`).
    pub fn ty(&self) -> RefType {
        match self {
            Ref::Func(_) => RefType::FUNCREF,
            Ref::Extern(_) => RefType::EXTERNREF,
            Ref::Exn(_) => RefType::EXNREF,
            Ref::Any(_) => RefType::ANYREF,
        }
    }

    /// The null reference of hierarchy `top` (`func` or `extern`).
    fn null_of(top: EnvHeap) -> Ref {
        match top {
            EnvHeap::Extern => Ref::Extern(None),
            EnvHeap::Exn => Ref::Exn(None),
            EnvHeap::Any => Ref::Any(None),
            _ => Ref::Func(None),
        }
    }

    /// Whether this reference is of engine-form type `ty` in `store`.
    pub(crate) fn matches(&self, store: &StoreOpaque, ty: env::RefType) -> bool {
        match self {
            Ref::Func(None) => ty.nullable && ty.heap.top() == EnvHeap::Func,
            Ref::Extern(None) => ty.nullable && ty.heap.top() == EnvHeap::Extern,
            Ref::Extern(Some(_)) => ty.heap == EnvHeap::Extern,
            Ref::Exn(None) => ty.nullable && ty.heap.top() == EnvHeap::Exn,
            Ref::Exn(Some(e)) => ty.heap == EnvHeap::Exn && store.check(e.store).is_ok(),
            Ref::Any(None) => ty.nullable && ty.heap.top() == EnvHeap::Any,
            Ref::Any(Some(a)) => store.check(a.store).is_ok() && a.is_of(store, ty.heap),
            Ref::Func(Some(f)) => match ty.heap {
                EnvHeap::Func => true,
                EnvHeap::ConcreteFunc(TypeRef::Engine(expected)) => {
                    store.check(f.store).is_ok()
                        && store
                            .engine
                            .is_subtype(f.ptr.type_id(f.store, store), expected)
                }
                _ => false,
            },
        }
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<*mut c_void> {
        match self {
            Ref::Func(f) => func_to_raw(f, store),
            Ref::Extern(e) => extern_to_raw(e, store),
            Ref::Exn(e) => exn_to_raw(e, store),
            Ref::Any(a) => any_to_raw(a, store),
        }
    }

    /// The reference `raw` holds, of engine-form type `ty`.
    pub(crate) fn from_raw(raw: *mut c_void, ty: env::RefType, store: StoreId) -> Ref {
        match ty.heap.top() {
            EnvHeap::Func => Ref::Func(Func::from_raw(store, raw)),
            EnvHeap::Extern => Ref::Extern(ExternRef::from_raw(store, raw)),
            EnvHeap::Exn => Ref::Exn(
                std::ptr::NonNull::new(raw.cast()).map(|e| crate::vm::exn_from_raw(store, e)),
            ),
            EnvHeap::Any => Ref::Any(AnyRef::from_raw(store, raw)),
            other => unreachable!("{other} is the top of no hierarchy"),
        }
    }
}

impl From<Ref> for Val {
    fn from(r: Ref) -> Val {
        match r {
            Ref::Func(f) => Val::FuncRef(f),
            Ref::Extern(e) => Val::ExternRef(e),
            Ref::Exn(e) => Val::ExnRef(e),
            Ref::Any(a) => Val::AnyRef(a),
        }
    }
}

fn func_to_raw(f: Option<Func>, store: &StoreOpaque) -> Result<*mut c_void> {
    match f {
        None => Ok(std::ptr::null_mut()),
        Some(f) => {
            store.check(f.store)?;
            f.ptr.ensure_wasm_call(f.store, store)?;
            Ok(f.ptr.as_raw())
        }
    }
}

fn any_to_raw(a: Option<AnyRef>, store: &StoreOpaque) -> Result<*mut c_void> {
    match a {
        None => Ok(std::ptr::null_mut()),
        Some(a) => {
            store.check(a.store)?;
            Ok(a.raw as *mut c_void)
        }
    }
}

/// A reference of the internal (GC) hierarchy: an `i31`, a structure, an
/// array, or host data made internal by `any.convert_extern`. Handles on
/// objects come from Wasm; the host makes `i31`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef {
    store: StoreId,
    /// The encoding of `hayate_runtime::gc`.
    raw: usize,
}

impl AnyRef {
    /// The `i31` of `value`'s low 31 bits.
    pub fn from_i31(store: impl AsContext, value: i32) -> AnyRef {
        AnyRef {
            store: store.as_context().0.opaque.id,
            raw: (((value as u32) << 1) | 1) as usize,
        }
    }

    /// The value of an `i31`, sign-extended from 31 bits.
    pub fn as_i31(&self) -> Option<i32> {
        (self.raw & 1 == 1).then_some((self.raw as u32 as i32) >> 1)
    }

    /// Whether this is a structure.
    pub fn is_struct(&self, store: impl AsContext) -> bool {
        self.kind(&store.as_context().0.opaque) == Some(hayate_runtime::gc::KIND_STRUCT)
    }

    /// Whether this is an array.
    pub fn is_array(&self, store: impl AsContext) -> bool {
        self.kind(&store.as_context().0.opaque) == Some(hayate_runtime::gc::KIND_ARRAY)
    }

    fn kind(&self, store: &StoreOpaque) -> Option<u32> {
        store.check(self.store).ok()?;
        crate::vm::object_header(store, self.raw).map(|(_, kind)| kind)
    }

    /// Whether this reference is of engine-form heap type `heap`.
    fn is_of(&self, store: &StoreOpaque, heap: EnvHeap) -> bool {
        let header = crate::vm::object_header(store, self.raw);
        match heap {
            EnvHeap::Any => true,
            EnvHeap::Eq => self.raw & 3 != 2,
            EnvHeap::I31 => self.raw & 1 == 1,
            EnvHeap::Struct => header.is_some_and(|(_, k)| k == hayate_runtime::gc::KIND_STRUCT),
            EnvHeap::Array => header.is_some_and(|(_, k)| k == hayate_runtime::gc::KIND_ARRAY),
            EnvHeap::ConcreteStruct(TypeRef::Engine(id))
            | EnvHeap::ConcreteArray(TypeRef::Engine(id)) => header.is_some_and(|(t, _)| {
                store
                    .engine
                    .is_subtype(hayate_environ::VMSharedTypeIndex::from_u32(t), id)
            }),
            _ => false,
        }
    }

    /// The structure this is, if it is one.
    pub fn as_struct(&self, store: impl AsContext) -> Option<StructRef> {
        self.is_struct(store).then_some(StructRef(*self))
    }

    /// The array this is, if it is one.
    pub fn as_array(&self, store: impl AsContext) -> Option<ArrayRef> {
        self.is_array(store).then_some(ArrayRef(*self))
    }

    /// `any.convert_extern`: the internal reference of `e` (the encodings
    /// are shared, so this is the same reference).
    pub fn convert_extern(e: ExternRef) -> AnyRef {
        AnyRef {
            store: e.store,
            raw: e.raw,
        }
    }

    /// `extern.convert_any`: the external reference of `self`.
    pub fn convert_to_extern(self) -> ExternRef {
        ExternRef {
            store: self.store,
            raw: self.raw,
        }
    }

    pub(crate) fn from_raw(store: StoreId, raw: *mut c_void) -> Option<AnyRef> {
        let raw = raw as usize;
        (raw != 0).then_some(AnyRef { store, raw })
    }
}

/// A structure (GC), for typed access to its fields from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StructRef(AnyRef);

impl StructRef {
    /// The storage of field `index` and its offset, with the store checked.
    fn field_of(
        &self,
        store: &StoreOpaque,
        index: usize,
    ) -> Result<(hayate_environ::FieldType, usize)> {
        store.check(self.0.store)?;
        let (type_id, _) = crate::vm::object_header(store, self.0.raw)
            .ok_or_else(|| Error::msg("not a structure"))?;
        let id = hayate_environ::VMSharedTypeIndex::from_u32(type_id);
        let st = store
            .engine
            .sub_type(id)
            .as_struct()
            .ok_or_else(|| Error::msg("not a structure"))?;
        let (offsets, _) = st.layout();
        let field = *st
            .fields
            .get(index)
            .ok_or_else(|| Error::msg(format!("no field {index}")))?;
        Ok((field, offsets[index] as usize))
    }

    /// The value of field `index` (a packed field reads zero-extended).
    pub fn field(&self, store: impl AsContext, index: usize) -> Result<Val> {
        let store = &store.as_context().0.opaque;
        let (field, offset) = self.field_of(store, index)?;
        let raw = crate::vm::read_object(
            store,
            self.0.raw,
            offset,
            field.storage.byte_size() as usize,
        );
        let ty = field.storage.unpacked();
        store.pin_if_gc(ty, raw);
        Ok(Val::from_raw(raw, ty, store.id))
    }

    /// Sets mutable field `index` to `value`, which must be of its type.
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (field, offset) = self.field_of(store, index)?;
        if !field.mutable {
            return Err(Error::msg(format!("field {index} is immutable")));
        }
        if !value.matches(store, field.storage.unpacked()) {
            return Err(Error::msg(format!("field {index} of the wrong type")));
        }
        let raw = value.to_raw(store)?;
        let size = field.storage.byte_size() as usize;
        crate::vm::write_object(store, self.0.raw, offset, size, raw);
        Ok(())
    }

    /// This structure as an `anyref`.
    pub fn to_anyref(&self) -> AnyRef {
        self.0
    }
}

/// An array (GC), for typed access to its elements from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayRef(AnyRef);

impl ArrayRef {
    /// The element type and length, with the store checked.
    fn shape(&self, store: &StoreOpaque) -> Result<(hayate_environ::FieldType, u32)> {
        store.check(self.0.store)?;
        let (type_id, _) = crate::vm::object_header(store, self.0.raw)
            .ok_or_else(|| Error::msg("not an array"))?;
        let id = hayate_environ::VMSharedTypeIndex::from_u32(type_id);
        let element = store
            .engine
            .sub_type(id)
            .as_array()
            .ok_or_else(|| Error::msg("not an array"))?
            .element;
        let len = crate::vm::read_object(
            store,
            self.0.raw,
            hayate_environ::gc_header::LENGTH as usize,
            4,
        )
        .get_u32();
        Ok((element, len))
    }

    /// Number of elements.
    pub fn len(&self, store: impl AsContext) -> Result<u32> {
        Ok(self.shape(&store.as_context().0.opaque)?.1)
    }

    /// Element `index` (a packed element reads zero-extended).
    pub fn get(&self, store: impl AsContext, index: u32) -> Result<Val> {
        let store = &store.as_context().0.opaque;
        let (element, len) = self.shape(store)?;
        if index >= len {
            return Err(Error::new(hayate_environ::Trap::ArrayOutOfBounds));
        }
        let size = element.storage.byte_size() as usize;
        let offset = hayate_environ::GC_HEADER_SIZE as usize + index as usize * size;
        let raw = crate::vm::read_object(store, self.0.raw, offset, size);
        let ty = element.storage.unpacked();
        store.pin_if_gc(ty, raw);
        Ok(Val::from_raw(raw, ty, store.id))
    }

    /// Sets element `index` of a mutable array to `value`.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (element, len) = self.shape(store)?;
        if !element.mutable {
            return Err(Error::msg("the array is immutable"));
        }
        if index >= len {
            return Err(Error::new(hayate_environ::Trap::ArrayOutOfBounds));
        }
        if !value.matches(store, element.storage.unpacked()) {
            return Err(Error::msg("element of the wrong type"));
        }
        let raw = value.to_raw(store)?;
        let size = element.storage.byte_size() as usize;
        let offset = hayate_environ::GC_HEADER_SIZE as usize + index as usize * size;
        crate::vm::write_object(store, self.0.raw, offset, size, raw);
        Ok(())
    }

    /// This array as an `anyref`.
    pub fn to_anyref(&self) -> AnyRef {
        self.0
    }
}

fn exn_to_raw(e: Option<ExnRef>, store: &StoreOpaque) -> Result<*mut c_void> {
    match e {
        None => Ok(std::ptr::null_mut()),
        Some(e) => e.to_raw(store),
    }
}

fn extern_to_raw(e: Option<ExternRef>, store: &StoreOpaque) -> Result<*mut c_void> {
    match e {
        None => Ok(std::ptr::null_mut()),
        Some(e) => {
            store.check(e.store)?;
            Ok(e.raw as *mut c_void)
        }
    }
}

/// A reference to host data that Wasm can hold and pass around but not
/// look into or forge. The data lives as long as the store. An
/// `externref` Wasm made from an internal reference (`extern.convert_any`)
/// holds that reference instead of host data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternRef {
    store: StoreId,
    /// The reference's encoding (`hayate_runtime::gc`): a host value's
    /// index, or an internal reference.
    raw: usize,
}

impl ExternRef {
    /// Puts `value` in the store and returns a reference to it.
    pub fn new<T: Any + Send + Sync>(mut store: impl AsContextMut, value: T) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.externrefs.push(Box::new(value));
        ExternRef {
            store: store.id,
            raw: hayate_runtime::gc::host_value_ref(store.externrefs.len() - 1),
        }
    }

    /// The referenced data.
    pub fn data<'a, C: AsContext + 'a>(&self, store: &'a C) -> Result<&'a (dyn Any + Send + Sync)> {
        let store = &store.as_context().0.opaque;
        store.check(self.store)?;
        let index = hayate_runtime::gc::host_value_index(self.raw)
            .ok_or_else(|| Error::msg("this externref holds a WebAssembly value, not host data"))?;
        store
            .externrefs
            .get(index)
            .map(|b| &**b)
            .ok_or_else(|| Error::msg("dangling externref"))
    }

    fn from_raw(store: StoreId, raw: *mut c_void) -> Option<ExternRef> {
        let raw = raw as usize;
        (raw != 0).then_some(ExternRef { store, raw })
    }
}
