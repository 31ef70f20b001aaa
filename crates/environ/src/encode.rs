//! A small binary encoding of Hayate's own structures, for precompiled
//! artifacts: little-endian fixed-size integers, `u32` lengths before
//! strings, byte strings and sequences, one tag byte before each enum
//! variant and `Option`. There is no self-description: reader and writer
//! agree because they are the same code, and the artifact's format version
//! (`artifact::FORMAT_VERSION`) changes whenever this encoding does.
//!
//! Decoding never panics and never allocates more than the input could
//! hold: every length is checked against the bytes that remain.
//!
//! Bulk byte strings ([`SharedBytes`]: data segments, address maps) are not
//! written inline: the encoder appends them to a second buffer, the *bulk*,
//! and writes only their place in it. An artifact stores the bulk after the
//! metadata, outside its checksum; a loader that maps the artifact decodes
//! them as slices of the mapping ([`Decoder::with_shared_bulk`]), so
//! megabytes of data are neither copied nor read at load.

use std::collections::HashMap;

use cranelift_entity::PrimaryMap;
use std::ops::Range;

use thiserror::Error;

use crate::address_map::AddressMap;
use crate::bytes::{ByteOwner, SharedBytes};
use crate::compiled::{CompiledFunction, CompiledModule, FloatLibcall, FunctionLoc, Relocation};
use crate::entity::{
    DataIndex, DefinedFuncIndex, DefinedGlobalIndex, ElemIndex, EntityRef, FuncIndex, GlobalIndex,
    MemoryIndex, TableIndex, TagIndex, TypeIndex,
};
use crate::exception_table::{ExceptionHandler, ExceptionSite, ExceptionTable};
use crate::inline_map::InlineMap;
use crate::module::{
    DataSegment, DataSegmentKind, ElemItems, ElemSegment, ElemSegmentKind, EntityIndex, Export,
    Import, ModuleInfo,
};
use crate::stack_maps::{StackMapSite, StackMaps};
use crate::trap::Trap;
use crate::trap_table::TrapTable;
use crate::types::{
    ArrayType, CompositeType, ConstExpr, ConstOp, FieldType, FuncType, GlobalType, HeapType,
    MemoryType, RefType, StorageType, StructType, SubType, TableType, TypeRef, WasmValType,
};

/// Encoded data could not be decoded: it is truncated or malformed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed artifact metadata at byte {offset}: {message}")]
pub struct DecodeError {
    /// What is wrong.
    pub message: String,
    /// Offset in the encoded bytes.
    pub offset: usize,
}

/// Appends encoded values to a byte vector.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
    /// The bulk byte strings written so far, which `bytes` refers to.
    pub bulk: Vec<u8>,
}

/// Reads encoded values from a byte slice.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    bulk: Bulk<'a>,
}

/// Where a decoder finds the bulk byte strings.
enum Bulk<'a> {
    /// Copied out of these bytes.
    Borrowed(&'a [u8]),
    /// Sliced out of `owner`'s bytes `start..start + len`.
    Shared {
        owner: &'a ByteOwner,
        start: usize,
        len: usize,
    },
}

impl std::fmt::Debug for Bulk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bulk::Borrowed(b) => write!(f, "Borrowed({} bytes)", b.len()),
            Bulk::Shared { start, len, .. } => write!(f, "Shared({start}, {len})"),
        }
    }
}

/// A value with an encoding.
pub trait Encode {
    /// Appends the encoding of `self`.
    fn encode(&self, e: &mut Encoder);
}

/// A value that can be decoded.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError>;
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends `value`.
    pub fn put<T: Encode + ?Sized>(&mut self, value: &T) -> &mut Self {
        value.encode(self);
        self
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    fn len(&mut self, n: usize) {
        // Sizes beyond 4 GiB never occur in a module (wasmparser limits
        // them far below), so a `u32` length is enough.
        let n = u32::try_from(n).expect("length fits in u32");
        n.encode(self);
    }
}

impl<'a> Decoder<'a> {
    /// A decoder reading `bytes` from the start, with no bulk: decoding a
    /// [`SharedBytes`] that is not empty fails.
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder::with_bulk(bytes, &[])
    }

    /// A decoder reading `bytes`, whose bulk byte strings are copied out of
    /// `bulk`.
    pub fn with_bulk(bytes: &'a [u8], bulk: &'a [u8]) -> Decoder<'a> {
        Decoder {
            bytes,
            pos: 0,
            bulk: Bulk::Borrowed(bulk),
        }
    }

    /// A decoder reading `bytes`, whose bulk is `owner`'s bytes `range`:
    /// bulk byte strings are slices of `owner`, not copies. Fails if
    /// `range` does not lie in `owner`.
    pub fn with_shared_bulk(
        bytes: &'a [u8],
        owner: &'a ByteOwner,
        range: Range<usize>,
    ) -> Result<Decoder<'a>, DecodeError> {
        if range.start > range.end || range.end > (**owner).as_ref().len() {
            return Err(DecodeError {
                message: format!("bulk {range:?} lies outside its owner"),
                offset: 0,
            });
        }
        Ok(Decoder {
            bytes,
            pos: 0,
            bulk: Bulk::Shared {
                owner,
                start: range.start,
                len: range.len(),
            },
        })
    }

    /// Reads the place of a bulk byte string and returns it.
    fn bulk_bytes(&mut self) -> Result<SharedBytes, DecodeError> {
        let at = self.pos;
        let start = u64::decode(self)?;
        let len = u64::decode(self)?;
        let bulk_len = match self.bulk {
            Bulk::Borrowed(b) => b.len(),
            Bulk::Shared { len, .. } => len,
        };
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(s, l)| Some(s..s.checked_add(l)?))
            .filter(|r| r.end <= bulk_len)
            .ok_or_else(|| DecodeError {
                message: format!("{len} bytes at {start} lie outside the {bulk_len}-byte bulk"),
                offset: at,
            })?;
        Ok(match self.bulk {
            Bulk::Borrowed(b) => SharedBytes::from(&b[range]),
            Bulk::Shared { owner, start, .. } => {
                SharedBytes::slice_of(owner, start + range.start..start + range.end)
                    .expect("the bulk lies inside its owner")
            }
        })
    }

    /// Reads one value.
    pub fn get<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error(format!(
                "{} unexpected trailing bytes",
                self.bytes.len() - self.pos
            )))
        }
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            message: message.into(),
            offset: self.pos,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error(format!("truncated: {n} more bytes expected")))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    /// A length prefix for items of at least `min_item_size` bytes each,
    /// checked against what remains.
    fn len(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let n = u32::decode(self)? as usize;
        let remaining = self.bytes.len() - self.pos;
        if n.saturating_mul(min_item_size.max(1)) > remaining {
            return Err(self.error(format!(
                "length {n} exceeds the {remaining} bytes that remain"
            )));
        }
        Ok(n)
    }

    fn tag(&mut self, what: &str, max: u8) -> Result<u8, DecodeError> {
        let tag = u8::decode(self)?;
        if tag > max {
            return Err(DecodeError {
                message: format!("invalid {what} tag {tag}"),
                offset: self.pos - 1,
            });
        }
        Ok(tag)
    }
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, e: &mut Encoder) {
                e.raw(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(d.array()?))
            }
        }
    )*};
}

int!(u8, u32, u64, i32, i64, u128);

impl Encode for bool {
    fn encode(&self, e: &mut Encoder) {
        (*self as u8).encode(e);
    }
}

impl Decode for bool {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(d.tag("bool", 1)? == 1)
    }
}

impl Encode for usize {
    fn encode(&self, e: &mut Encoder) {
        (*self as u64).encode(e);
    }
}

impl Decode for usize {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let v = u64::decode(d)?;
        usize::try_from(v).map_err(|_| d.error(format!("{v} does not fit in usize")))
    }
}

impl Encode for str {
    fn encode(&self, e: &mut Encoder) {
        e.len(self.len());
        e.raw(self.as_bytes());
    }
}

impl Encode for String {
    fn encode(&self, e: &mut Encoder) {
        self.as_str().encode(e);
    }
}

impl Decode for String {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = d.len(1)?;
        let at = d.pos;
        let bytes = d.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError {
            message: "string is not UTF-8".into(),
            offset: at,
        })
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, e: &mut Encoder) {
        e.len(self.len());
        for item in self {
            item.encode(e);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, e: &mut Encoder) {
        self.as_slice().encode(e);
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = d.len(1)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode(d)?);
        }
        Ok(v)
    }
}

impl<T: Encode> Encode for Box<[T]> {
    fn encode(&self, e: &mut Encoder) {
        (**self).encode(e);
    }
}

impl<T: Decode> Decode for Box<[T]> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Vec::<T>::decode(d).map(Vec::into_boxed_slice)
    }
}

macro_rules! entity {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, e: &mut Encoder) {
                self.as_u32().encode(e);
            }
        }
        impl Decode for $t {
            fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                // `u32::MAX` is reserved by `EntityRef` (the "none" value).
                match u32::decode(d)? {
                    u32::MAX => Err(d.error("entity index out of range")),
                    index => Ok(<$t>::from_u32(index)),
                }
            }
        }
    )*};
}

entity!(
    FuncIndex,
    DefinedFuncIndex,
    TypeIndex,
    TableIndex,
    MemoryIndex,
    GlobalIndex,
    DefinedGlobalIndex,
    DataIndex,
    ElemIndex,
    TagIndex
);

impl<K: EntityRef, V: Encode> Encode for PrimaryMap<K, V> {
    fn encode(&self, e: &mut Encoder) {
        self.as_values_slice().encode(e);
    }
}

impl<K: EntityRef, V: Decode> Decode for PrimaryMap<K, V> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Vec::<V>::decode(d).map(PrimaryMap::from)
    }
}

/// A bulk byte string: appended to the bulk, its place written inline.
impl Encode for SharedBytes {
    fn encode(&self, e: &mut Encoder) {
        let start = e.bulk.len() as u64;
        e.bulk.extend_from_slice(self);
        start.encode(e);
        (self.len() as u64).encode(e);
    }
}

impl Decode for SharedBytes {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.bulk_bytes()
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, e: &mut Encoder) {
        match self {
            None => 0u8.encode(e),
            Some(v) => {
                1u8.encode(e);
                v.encode(e);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(match d.tag("option", 1)? {
            0 => None,
            _ => Some(T::decode(d)?),
        })
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, e: &mut Encoder) {
        self.0.encode(e);
        self.1.encode(e);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok((A::decode(d)?, B::decode(d)?))
    }
}

impl Encode for Range<usize> {
    fn encode(&self, e: &mut Encoder) {
        self.start.encode(e);
        self.end.encode(e);
    }
}

impl Decode for Range<usize> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(usize::decode(d)?..usize::decode(d)?)
    }
}

// ---------------------------------------------------------------------------
// Types.

impl Encode for HeapType {
    fn encode(&self, e: &mut Encoder) {
        let tag: u8 = match self {
            HeapType::Func => 0,
            HeapType::NoFunc => 1,
            HeapType::Extern => 2,
            HeapType::NoExtern => 3,
            HeapType::Any => 4,
            HeapType::Eq => 5,
            HeapType::I31 => 6,
            HeapType::Struct => 7,
            HeapType::Array => 8,
            HeapType::None => 9,
            HeapType::Exn => 10,
            HeapType::NoExn => 11,
            HeapType::ConcreteFunc(r) => {
                e.put(&12u8).put(r);
                return;
            }
            HeapType::ConcreteStruct(r) => {
                e.put(&13u8).put(r);
                return;
            }
            HeapType::ConcreteArray(r) => {
                e.put(&14u8).put(r);
                return;
            }
        };
        e.put(&tag);
    }
}

impl Decode for HeapType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(match d.tag("heap type", 14)? {
            0 => HeapType::Func,
            1 => HeapType::NoFunc,
            2 => HeapType::Extern,
            3 => HeapType::NoExtern,
            4 => HeapType::Any,
            5 => HeapType::Eq,
            6 => HeapType::I31,
            7 => HeapType::Struct,
            8 => HeapType::Array,
            9 => HeapType::None,
            10 => HeapType::Exn,
            11 => HeapType::NoExn,
            12 => HeapType::ConcreteFunc(d.get()?),
            13 => HeapType::ConcreteStruct(d.get()?),
            _ => HeapType::ConcreteArray(d.get()?),
        })
    }
}

/// Only a module's own indices are ever written: artifacts hold module
/// types, which the engine canonicalises when it loads them.
impl Encode for TypeRef {
    fn encode(&self, e: &mut Encoder) {
        match self {
            TypeRef::Module(i) => e.put(i),
            other => unreachable!("artifacts hold module types only, not {other:?}"),
        };
    }
}

impl Decode for TypeRef {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(TypeRef::Module(d.get()?))
    }
}

impl Encode for RefType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.nullable).put(&self.heap);
    }
}

impl Decode for RefType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RefType::new(d.get()?, d.get()?))
    }
}

impl Encode for FieldType {
    fn encode(&self, e: &mut Encoder) {
        match self.storage {
            StorageType::I8 => e.put(&0u8),
            StorageType::I16 => e.put(&1u8),
            StorageType::Val(v) => e.put(&2u8).put(&v),
        };
        e.put(&self.mutable);
    }
}

impl Decode for FieldType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let storage = match d.tag("storage type", 2)? {
            0 => StorageType::I8,
            1 => StorageType::I16,
            _ => StorageType::Val(d.get()?),
        };
        Ok(FieldType {
            storage,
            mutable: d.get()?,
        })
    }
}

impl Encode for SubType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.is_final).put(&self.supertype);
        match &self.composite {
            CompositeType::Func(f) => e.put(&0u8).put(f),
            CompositeType::Struct(s) => e.put(&1u8).put(&s.fields),
            CompositeType::Array(a) => e.put(&2u8).put(&a.element),
        };
    }
}

impl Decode for SubType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let is_final = d.get()?;
        let supertype = d.get()?;
        let composite = match d.tag("composite type", 2)? {
            0 => CompositeType::Func(d.get()?),
            1 => CompositeType::Struct(StructType { fields: d.get()? }),
            _ => CompositeType::Array(ArrayType { element: d.get()? }),
        };
        Ok(SubType {
            is_final,
            supertype,
            composite,
        })
    }
}

impl Encode for WasmValType {
    fn encode(&self, e: &mut Encoder) {
        match self {
            WasmValType::I32 => e.put(&0u8),
            WasmValType::I64 => e.put(&1u8),
            WasmValType::F32 => e.put(&2u8),
            WasmValType::F64 => e.put(&3u8),
            WasmValType::V128 => e.put(&4u8),
            WasmValType::Ref(r) => e.put(&5u8).put(r),
        };
    }
}

impl Decode for WasmValType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(match d.tag("value type", 5)? {
            0 => WasmValType::I32,
            1 => WasmValType::I64,
            2 => WasmValType::F32,
            3 => WasmValType::F64,
            4 => WasmValType::V128,
            _ => WasmValType::Ref(d.get()?),
        })
    }
}

impl Encode for FuncType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.params).put(&self.results);
    }
}

impl Decode for FuncType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(FuncType {
            params: d.get()?,
            results: d.get()?,
        })
    }
}

impl Encode for TableType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.element)
            .put(&self.minimum)
            .put(&self.maximum)
            .put(&self.table64);
    }
}

impl Decode for TableType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(TableType {
            element: d.get()?,
            minimum: d.get()?,
            maximum: d.get()?,
            table64: d.get()?,
        })
    }
}

impl Encode for MemoryType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.minimum)
            .put(&self.maximum)
            .put(&self.memory64)
            .put(&self.shared);
    }
}

impl Decode for MemoryType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(MemoryType {
            minimum: d.get()?,
            maximum: d.get()?,
            memory64: d.get()?,
            shared: d.get()?,
        })
    }
}

impl Encode for GlobalType {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.content).put(&self.mutable);
    }
}

impl Decode for GlobalType {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(GlobalType {
            content: d.get()?,
            mutable: d.get()?,
        })
    }
}

impl Encode for ConstOp {
    fn encode(&self, e: &mut Encoder) {
        match *self {
            ConstOp::I32Const(v) => e.put(&0u8).put(&v),
            ConstOp::I64Const(v) => e.put(&1u8).put(&v),
            ConstOp::F32Const(v) => e.put(&2u8).put(&v),
            ConstOp::F64Const(v) => e.put(&3u8).put(&v),
            ConstOp::V128Const(v) => e.put(&4u8).put(&v),
            ConstOp::GlobalGet(v) => e.put(&5u8).put(&v),
            ConstOp::RefNull(r) => e.put(&6u8).put(&r),
            ConstOp::RefFunc(v) => e.put(&7u8).put(&v),
            ConstOp::I32Add => e.put(&8u8),
            ConstOp::I32Sub => e.put(&9u8),
            ConstOp::I32Mul => e.put(&10u8),
            ConstOp::I64Add => e.put(&11u8),
            ConstOp::I64Sub => e.put(&12u8),
            ConstOp::I64Mul => e.put(&13u8),
            ConstOp::RefI31 => e.put(&14u8),
            ConstOp::StructNew(t) => e.put(&15u8).put(&t),
            ConstOp::StructNewDefault(t) => e.put(&16u8).put(&t),
            ConstOp::ArrayNew(t) => e.put(&17u8).put(&t),
            ConstOp::ArrayNewDefault(t) => e.put(&18u8).put(&t),
            ConstOp::ArrayNewFixed(t, n) => e.put(&19u8).put(&t).put(&n),
            ConstOp::AnyConvertExtern => e.put(&20u8),
            ConstOp::ExternConvertAny => e.put(&21u8),
        };
    }
}

impl Decode for ConstOp {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(match d.tag("constant operator", 21)? {
            0 => ConstOp::I32Const(d.get()?),
            1 => ConstOp::I64Const(d.get()?),
            2 => ConstOp::F32Const(d.get()?),
            3 => ConstOp::F64Const(d.get()?),
            4 => ConstOp::V128Const(d.get()?),
            5 => ConstOp::GlobalGet(d.get()?),
            6 => ConstOp::RefNull(d.get()?),
            7 => ConstOp::RefFunc(d.get()?),
            8 => ConstOp::I32Add,
            9 => ConstOp::I32Sub,
            10 => ConstOp::I32Mul,
            11 => ConstOp::I64Add,
            12 => ConstOp::I64Sub,
            13 => ConstOp::I64Mul,
            14 => ConstOp::RefI31,
            15 => ConstOp::StructNew(d.get()?),
            16 => ConstOp::StructNewDefault(d.get()?),
            17 => ConstOp::ArrayNew(d.get()?),
            18 => ConstOp::ArrayNewDefault(d.get()?),
            19 => ConstOp::ArrayNewFixed(d.get()?, d.get()?),
            20 => ConstOp::AnyConvertExtern,
            _ => ConstOp::ExternConvertAny,
        })
    }
}

impl Encode for ConstExpr {
    fn encode(&self, e: &mut Encoder) {
        e.put(self.ops());
    }
}

impl Decode for ConstExpr {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = d.len(1)?;
        if n == 1 {
            return Ok(ConstExpr::One(d.get()?));
        }
        let ops = (0..n)
            .map(|_| d.get())
            .collect::<Result<Vec<ConstOp>, _>>()?;
        Ok(ConstExpr::from(ops))
    }
}

// ---------------------------------------------------------------------------
// The module.

impl Encode for EntityIndex {
    fn encode(&self, e: &mut Encoder) {
        match *self {
            EntityIndex::Function(i) => e.put(&0u8).put(&i),
            EntityIndex::Table(i) => e.put(&1u8).put(&i),
            EntityIndex::Memory(i) => e.put(&2u8).put(&i),
            EntityIndex::Global(i) => e.put(&3u8).put(&i),
            EntityIndex::Tag(i) => e.put(&4u8).put(&i),
        };
    }
}

impl Decode for EntityIndex {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(match d.tag("entity", 4)? {
            0 => EntityIndex::Function(d.get()?),
            1 => EntityIndex::Table(d.get()?),
            2 => EntityIndex::Memory(d.get()?),
            3 => EntityIndex::Global(d.get()?),
            _ => EntityIndex::Tag(d.get()?),
        })
    }
}

impl Encode for Import {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.module).put(&self.name).put(&self.index);
    }
}

impl Decode for Import {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Import {
            module: d.get()?,
            name: d.get()?,
            index: d.get()?,
        })
    }
}

impl Encode for Export {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.name).put(&self.index);
    }
}

impl Decode for Export {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Export {
            name: d.get()?,
            index: d.get()?,
        })
    }
}

impl Encode for DataSegment {
    fn encode(&self, e: &mut Encoder) {
        match &self.kind {
            DataSegmentKind::Active { memory, offset } => e.put(&0u8).put(memory).put(offset),
            DataSegmentKind::Passive => e.put(&1u8),
        };
        e.put(&self.data);
    }
}

impl Decode for DataSegment {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let kind = match d.tag("data segment", 1)? {
            0 => DataSegmentKind::Active {
                memory: d.get()?,
                offset: d.get()?,
            },
            _ => DataSegmentKind::Passive,
        };
        Ok(DataSegment {
            kind,
            data: d.get()?,
        })
    }
}

impl Encode for ElemSegment {
    fn encode(&self, e: &mut Encoder) {
        match &self.kind {
            ElemSegmentKind::Active { table, offset } => e.put(&0u8).put(table).put(offset),
            ElemSegmentKind::Passive => e.put(&1u8),
            ElemSegmentKind::Declared => e.put(&2u8),
        };
        match &self.items {
            ElemItems::Functions(f) => e.put(&0u8).put(f),
            ElemItems::Expressions(ty, exprs) => e.put(&1u8).put(ty).put(exprs),
        };
    }
}

impl Decode for ElemSegment {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let kind = match d.tag("element segment", 2)? {
            0 => ElemSegmentKind::Active {
                table: d.get()?,
                offset: d.get()?,
            },
            1 => ElemSegmentKind::Passive,
            _ => ElemSegmentKind::Declared,
        };
        let items = match d.tag("element items", 1)? {
            0 => ElemItems::Functions(d.get()?),
            _ => ElemItems::Expressions(d.get()?, d.get()?),
        };
        Ok(ElemSegment { kind, items })
    }
}

impl Encode for ModuleInfo {
    fn encode(&self, e: &mut Encoder) {
        let mut names: Vec<(FuncIndex, &String)> =
            self.func_names.iter().map(|(k, v)| (*k, v)).collect();
        names.sort_unstable_by_key(|(k, _)| *k);
        e.put(&self.types)
            .put(&self.rec_groups)
            .put(&self.functions)
            .put(&self.tables)
            .put(&self.table_inits)
            .put(&self.tags)
            .put(&self.memories)
            .put(&self.globals)
            .put(&self.global_inits)
            .put(&self.imports)
            .put(&self.exports)
            .put(&self.start)
            .put(&self.data)
            .put(&self.elements)
            .put(&self.function_bodies)
            .put(&self.num_imported_funcs)
            .put(&self.num_imported_tables)
            .put(&self.num_imported_memories)
            .put(&self.num_imported_globals)
            .put(&self.num_imported_tags);
        e.len(names.len());
        for (index, name) in names {
            e.put(&index).put(name);
        }
        e.put(&self.name).put(&self.escaping_funcs);
    }
}

impl Decode for ModuleInfo {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut info = ModuleInfo {
            types: d.get()?,
            rec_groups: d.get()?,
            functions: d.get()?,
            tables: d.get()?,
            table_inits: d.get()?,
            tags: d.get()?,
            memories: d.get()?,
            globals: d.get()?,
            global_inits: d.get()?,
            imports: d.get()?,
            exports: d.get()?,
            start: d.get()?,
            data: d.get()?,
            elements: d.get()?,
            function_bodies: d.get()?,
            num_imported_funcs: d.get()?,
            num_imported_tables: d.get()?,
            num_imported_memories: d.get()?,
            num_imported_globals: d.get()?,
            num_imported_tags: d.get()?,
            func_names: HashMap::new(),
            name: None,
            escaping_funcs: PrimaryMap::new(),
        };
        let names: Vec<(FuncIndex, String)> = d.get()?;
        info.func_names = names.into_iter().collect();
        info.name = d.get()?;
        info.escaping_funcs = d.get()?;
        Ok(info)
    }
}

// ---------------------------------------------------------------------------
// Compiled code metadata.

impl Encode for FunctionLoc {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.start).put(&self.length);
    }
}

impl Decode for FunctionLoc {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(FunctionLoc {
            start: d.get()?,
            length: d.get()?,
        })
    }
}

impl Encode for CompiledFunction {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.loc)
            .put(self.address_map.as_bytes())
            .put(self.inline_map.as_bytes())
            .put(&self.guard_page_faults);
    }
}

impl Decode for CompiledFunction {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(CompiledFunction {
            loc: d.get()?,
            address_map: AddressMap::from_bytes(d.get()?),
            inline_map: InlineMap::from_bytes(d.get()?),
            guard_page_faults: d.get()?,
        })
    }
}

impl Encode for Trap {
    fn encode(&self, e: &mut Encoder) {
        e.put(&(*self as u8));
    }
}

impl Decode for Trap {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let code = u8::decode(d)?;
        Trap::from_u8(code).ok_or_else(|| d.error(format!("invalid trap code {code}")))
    }
}

impl Encode for FloatLibcall {
    fn encode(&self, e: &mut Encoder) {
        let index = FloatLibcall::ALL
            .iter()
            .position(|l| l == self)
            .expect("every libcall is listed");
        e.put(&(index as u8));
    }
}

impl Decode for FloatLibcall {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let tag = d.tag("float libcall", FloatLibcall::ALL.len() as u8 - 1)?;
        Ok(FloatLibcall::ALL[tag as usize])
    }
}

impl Encode for Relocation {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.offset).put(&self.target).put(&self.addend);
    }
}

impl Decode for Relocation {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Relocation {
            offset: d.get()?,
            target: d.get()?,
            addend: d.get()?,
        })
    }
}

/// Everything but the text, which an artifact stores separately.
impl Encode for ExceptionHandler {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.tag).put(&self.target);
    }
}

impl Decode for ExceptionHandler {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExceptionHandler {
            tag: d.get()?,
            target: d.get()?,
        })
    }
}

impl Encode for ExceptionSite {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.ret_addr)
            .put(&self.frame_offset)
            .put(&self.vmctx_sp_offset)
            .put(&self.handlers);
    }
}

impl Decode for ExceptionSite {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExceptionSite {
            ret_addr: d.get()?,
            frame_offset: d.get()?,
            vmctx_sp_offset: d.get()?,
            handlers: d.get()?,
        })
    }
}

impl Encode for StackMapSite {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.ret_addr).put(&self.frame_size).put(&self.slots);
    }
}

impl Decode for StackMapSite {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(StackMapSite {
            ret_addr: d.get()?,
            frame_size: d.get()?,
            slots: d.get()?,
        })
    }
}

impl Encode for CompiledModule {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.functions)
            .put(&self.array_to_wasm_trampolines)
            .put(&self.wasm_to_array_trampolines)
            .put(&self.call_adapters)
            .put(self.traps.as_bytes())
            .put(&self.relocations)
            .put(self.exceptions.sites())
            .put(self.stack_maps.sites());
    }
}

/// Decodes the metadata; `text` is left empty.
impl Decode for CompiledModule {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(CompiledModule {
            text: Vec::new(),
            functions: d.get()?,
            array_to_wasm_trampolines: d.get()?,
            wasm_to_array_trampolines: d.get()?,
            call_adapters: d.get()?,
            traps: TrapTable::from_bytes(d.get()?).map_err(|m| d.error(m))?,
            relocations: d.get()?,
            exceptions: ExceptionTable::new(d.get()?),
            stack_maps: StackMaps::new(d.get()?),
        })
    }
}
