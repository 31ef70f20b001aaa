//! The component model's canonical ABI: the size, alignment and core
//! flattening of every component value type, and the lifting and lowering
//! of component [`Val`]s to and from linear memory and flat core values,
//! following `design/mvp/CanonicalABI.md`. Flat lifting and lowering
//! live in `flat`, string lifting and transcoding in `strings`.
//!
//! Linear memory belongs to the guest and is hostile: every access is
//! bounds-checked with overflow-safe arithmetic, pointers are checked for
//! the alignment the spec requires, and nothing is allocated on the host
//! in proportion to a guest-chosen length before the bytes it describes
//! are known to exist. Malformed input is an error, never a panic.

mod flat;
mod strings;

pub(crate) use flat::{lift_case, lift_flat, lower_case, lower_flat};
pub(crate) use strings::{load as load_string, store as store_string};

use anyhow::{Context as _, Result, bail, ensure};
use hayate::ValType;

use crate::types::{ResourceIndex, Type};
use crate::values::Val;

/// A core WebAssembly value.
type Core = hayate::Val;

/// String encoding of a lift/lower's canonical options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringEncoding {
    /// `string-encoding=utf8`.
    Utf8,
    /// `string-encoding=utf16`.
    Utf16,
    /// `string-encoding=latin1+utf16`.
    CompactUtf16,
}

/// Linear memory and allocator access during one lift or lower.
pub(crate) trait Memory {
    /// The memory's bytes.
    fn bytes(&self) -> &[u8];
    /// The memory's bytes, for writing.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Calls the component's `realloc(old_ptr, old_size, align, new_size) -> ptr`.
    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32>;
    /// Counts `units` (list elements, string bytes) against what one
    /// lift may build on the host. Lists and strings may alias one
    /// another in guest memory, so without a budget a small guest could
    /// make the host build a huge value (a list of a million pointers to
    /// one large string); the budget keeps the host's work proportional
    /// to the guest's memory.
    fn charge(&self, units: u64) -> Result<()> {
        let _ = units;
        Ok(())
    }
    /// Lifts the handle at table index `index`, of resource `res`, owned
    /// or borrowed (`lift_own`, `lift_borrow`).
    fn lift_handle(&self, index: u32, res: ResourceIndex, own: bool) -> Result<Val> {
        let _ = (index, res, own);
        bail!("resource handles cannot be passed here")
    }
    /// Lowers handle `val` of resource `res` into the instance's table,
    /// returning what the guest sees (`lower_own`, `lower_borrow`).
    fn lower_handle(&mut self, val: &Val, res: ResourceIndex, own: bool) -> Result<u32> {
        let _ = (val, res, own);
        bail!("resource handles cannot be passed here")
    }
}

/// Flat core parameters beyond which parameters are passed in memory.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// Flat core results beyond which results are passed in memory.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;

/// The largest byte length of a list that can be lifted.
const MAX_LIST_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// The canonical NaN that lifting and lowering give every `f32` NaN.
const CANONICAL_F32_NAN: u32 = 0x7fc0_0000;
/// The canonical NaN that lifting and lowering give every `f64` NaN.
const CANONICAL_F64_NAN: u64 = 0x7ff8_0000_0000_0000;

// ---------------------------------------------------------------------------
// Variants and records, despecialized.

/// The cases of a variant-like type (`variant`, `enum`, `option`,
/// `result`), which the spec despecializes to `variant`. Any other type
/// has no cases.
#[derive(Clone, Copy)]
struct Cases<'a>(&'a Type);

impl<'a> Cases<'a> {
    /// The number of cases.
    fn len(self) -> usize {
        match self.0 {
            Type::Variant(cases) => cases.len(),
            Type::Enum(names) => names.len(),
            Type::Option(_) | Type::Result { .. } => 2,
            _ => 0,
        }
    }

    /// The payload type of case `i`, if it has one.
    fn payload(self, i: usize) -> Option<&'a Type> {
        match (self.0, i) {
            (Type::Variant(cases), _) => cases.get(i).and_then(|(_, t)| t.as_ref()),
            (Type::Option(t), 1) => Some(t),
            (Type::Result { ok, .. }, 0) => ok.as_deref(),
            (Type::Result { err, .. }, 1) => err.as_deref(),
            _ => None,
        }
    }

    /// The payload types of all cases, in order.
    fn payloads(self) -> impl Iterator<Item = Option<&'a Type>> {
        (0..self.len()).map(move |i| self.payload(i))
    }

    /// The value of case `i` (in range) carrying `payload`.
    fn make(self, i: usize, payload: Option<Val>) -> Result<Val> {
        let payload = payload.map(Box::new);
        Ok(match self.0 {
            Type::Variant(cases) => {
                let (name, _) = cases.get(i).context("invalid case index")?;
                Val::Variant(name.clone(), payload)
            }
            Type::Enum(names) => Val::Enum(names.get(i).context("invalid case index")?.clone()),
            Type::Option(_) => Val::Option(payload),
            Type::Result { .. } if i == 0 => Val::Result(Ok(payload)),
            Type::Result { .. } => Val::Result(Err(payload)),
            ty => bail!("{ty:?} is not a variant type"),
        })
    }

    /// The case index of `val` and its payload, checked against the type.
    fn find(self, val: &'a Val) -> Result<(usize, Option<&'a Val>)> {
        let (index, payload) = match (self.0, val) {
            (Type::Variant(cases), Val::Variant(name, payload)) => (
                cases.iter().position(|(n, _)| n == name),
                payload.as_deref(),
            ),
            (Type::Enum(names), Val::Enum(name)) => (names.iter().position(|n| n == name), None),
            (Type::Option(_), Val::Option(None)) => (Some(0), None),
            (Type::Option(_), Val::Option(Some(v))) => (Some(1), Some(&**v)),
            (Type::Result { .. }, Val::Result(Ok(v))) => (Some(0), v.as_deref()),
            (Type::Result { .. }, Val::Result(Err(v))) => (Some(1), v.as_deref()),
            (ty, val) => bail!("type mismatch: expected a value of type {ty:?}, found {val:?}"),
        };
        let index = index.with_context(|| format!("no case of {:?} matches {val:?}", self.0))?;
        ensure!(
            payload.is_some() == self.payload(index).is_some(),
            "payload mismatch for {val:?} of type {:?}",
            self.0
        );
        Ok((index, payload))
    }
}

/// The field types of a record or tuple, in order.
fn field_types(ty: &Type) -> Vec<&Type> {
    match ty {
        Type::Record(fields) => fields.iter().map(|(_, t)| t).collect(),
        Type::Tuple(types) => types.iter().collect(),
        _ => Vec::new(),
    }
}

/// The field values of `val`, checked to match record or tuple type `ty`.
fn field_values<'a>(ty: &Type, val: &'a Val) -> Result<Vec<&'a Val>> {
    let ok = match (ty, val) {
        (Type::Record(types), Val::Record(fields)) => {
            fields.len() == types.len()
                && fields
                    .iter()
                    .zip(types.iter())
                    .all(|((a, _), (b, _))| a == b)
        }
        (Type::Tuple(types), Val::Tuple(items)) => items.len() == types.len(),
        _ => false,
    };
    ensure!(
        ok,
        "type mismatch: expected a value of type {ty:?}, found {val:?}"
    );
    Ok(match val {
        Val::Record(fields) => fields.iter().map(|(_, v)| v).collect(),
        Val::Tuple(items) => items.iter().collect(),
        _ => Vec::new(),
    })
}

/// A record or tuple of type `ty` with field values `vals`.
fn make_fields(ty: &Type, vals: Vec<Val>) -> Val {
    match ty {
        Type::Record(fields) => {
            Val::Record(fields.iter().map(|(n, _)| n.clone()).zip(vals).collect())
        }
        _ => Val::Tuple(vals),
    }
}

// ---------------------------------------------------------------------------
// Layout: alignment, size and flattening.

/// `ptr` rounded up to a multiple of `align` (saturating: an overflowing
/// size then fails every bounds check).
pub(crate) fn align_to(ptr: u32, align: u32) -> u32 {
    ptr.div_ceil(align).saturating_mul(align)
}

/// The byte size of the discriminant of a variant with `n` cases.
fn discriminant_size(n: usize) -> u32 {
    match n {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ => 4,
    }
}

/// The number of `u32` words holding `n` flags, in flat form and (beyond
/// 16 flags) in memory.
fn flag_words(n: usize) -> usize {
    n.div_ceil(32)
}

/// The byte size of `n` flags in memory.
fn flags_size(n: usize) -> u32 {
    match n {
        0..=8 => n.min(1) as u32,
        9..=16 => 2,
        _ => u32::try_from(flag_words(n)).map_or(u32::MAX, |w| w.saturating_mul(4)),
    }
}

/// The largest alignment of any case payload.
fn max_case_alignment(cases: Cases<'_>) -> u32 {
    cases.payloads().flatten().map(align).fold(1, u32::max)
}

/// The offset of a variant's payload from its start: the discriminant
/// rounded up to the largest payload alignment, which is the discriminant
/// rounded up to the variant's alignment (both are powers of two).
fn payload_offset(cases: Cases<'_>) -> u32 {
    align_to(discriminant_size(cases.len()), align(cases.0))
}

/// The alignment of `ty` in linear memory.
pub(crate) fn align(ty: &Type) -> u32 {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => 1,
        Type::S16 | Type::U16 => 2,
        Type::S32 | Type::U32 | Type::Float32 | Type::Char => 4,
        Type::Own(_) | Type::Borrow(_) => 4,
        Type::S64 | Type::U64 | Type::Float64 => 8,
        Type::String | Type::List(_) => 4,
        Type::Record(_) | Type::Tuple(_) => {
            field_types(ty).into_iter().map(align).fold(1, u32::max)
        }
        Type::Flags(names) => flags_size(names.len()).clamp(1, 4),
        Type::Variant(v) => v.layout(|| variant_layout(Cases(ty))).1,
        Type::Enum(_) | Type::Option(_) | Type::Result { .. } => variant_align(Cases(ty)),
    }
}

/// The alignment of a variant-like type with `cases`.
fn variant_align(cases: Cases<'_>) -> u32 {
    discriminant_size(cases.len()).max(max_case_alignment(cases))
}

/// The size and alignment of a variant-like type with `cases`.
fn variant_layout(cases: Cases<'_>) -> (u32, u32) {
    let align = variant_align(cases);
    let payload = cases.payloads().flatten().map(size).fold(0, u32::max);
    let offset = align_to(discriminant_size(cases.len()), align);
    let size = align_to(offset.saturating_add(payload), align);
    (size, align)
}

/// The byte size of `ty` in linear memory (the spec's `elem_size`).
pub(crate) fn size(ty: &Type) -> u32 {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => 1,
        Type::S16 | Type::U16 => 2,
        Type::S32 | Type::U32 | Type::Float32 | Type::Char => 4,
        Type::Own(_) | Type::Borrow(_) => 4,
        Type::S64 | Type::U64 | Type::Float64 => 8,
        Type::String | Type::List(_) => 8,
        Type::Record(_) | Type::Tuple(_) => {
            let end = field_types(ty)
                .into_iter()
                .fold(0, |s, t| align_to(s, align(t)).saturating_add(size(t)));
            align_to(end, align(ty))
        }
        Type::Flags(names) => flags_size(names.len()),
        Type::Variant(v) => v.layout(|| variant_layout(Cases(ty))).0,
        Type::Enum(_) | Type::Option(_) | Type::Result { .. } => variant_layout(Cases(ty)).0,
    }
}

/// Appends the flat core types of `ty` to `out` (the spec's `flatten_type`).
pub(crate) fn flatten(ty: &Type, out: &mut Vec<ValType>) {
    match ty {
        Type::Bool | Type::S8 | Type::U8 | Type::S16 | Type::U16 | Type::S32 | Type::U32 => {
            out.push(ValType::I32);
        }
        Type::Char | Type::Own(_) | Type::Borrow(_) => out.push(ValType::I32),
        Type::S64 | Type::U64 => out.push(ValType::I64),
        Type::Float32 => out.push(ValType::F32),
        Type::Float64 => out.push(ValType::F64),
        Type::String | Type::List(_) => out.extend([ValType::I32, ValType::I32]),
        Type::Record(_) | Type::Tuple(_) => {
            field_types(ty).into_iter().for_each(|t| flatten(t, out));
        }
        Type::Flags(names) => out.extend((0..flag_words(names.len())).map(|_| ValType::I32)),
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            out.push(ValType::I32);
            out.extend(flatten_payloads(Cases(ty)).iter().cloned());
        }
    }
}

/// The flat types of `ty`.
fn flat_types(ty: &Type) -> Vec<ValType> {
    let mut out = Vec::new();
    flatten(ty, &mut out);
    out
}

/// The joined flat types of all case payloads of a variant.
fn flatten_payloads(cases: Cases<'_>) -> std::borrow::Cow<'_, [ValType]> {
    match cases.0 {
        // Variants can have many cases (`wasi:http`'s `error-code` has 39):
        // their join is made once per type.
        Type::Variant(v) => v.joined(|| join_payloads(cases)).into(),
        _ => join_payloads(cases).into(),
    }
}

/// The joined flat types of `cases`' payloads.
fn join_payloads(cases: Cases<'_>) -> Vec<ValType> {
    let mut flat: Vec<ValType> = Vec::new();
    for ty in cases.payloads().flatten() {
        for (i, t) in flat_types(ty).into_iter().enumerate() {
            match flat.get_mut(i) {
                Some(joined) => *joined = join(joined, &t),
                None => flat.push(t),
            }
        }
    }
    flat
}

/// The tightest core type that both `a` and `b` can be bit-cast into.
fn join(a: &ValType, b: &ValType) -> ValType {
    match (a, b) {
        _ if a == b => a.clone(),
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32) => ValType::I32,
        _ => ValType::I64,
    }
}

/// The core parameters and results of a function with these parameters
/// and result (the spec's `flatten_functype`), for `lift` (`lower ==
/// false`: a core export called by the host) or `lower` (a host function
/// called by the guest).
pub(crate) fn flatten_func(
    params: &[Type],
    result: Option<&Type>,
    lower: bool,
) -> (Vec<ValType>, Vec<ValType>) {
    let mut flat_params = Vec::new();
    params.iter().for_each(|t| flatten(t, &mut flat_params));
    let mut flat_results = Vec::new();
    result.iter().for_each(|t| flatten(t, &mut flat_results));
    if flat_params.len() > MAX_FLAT_PARAMS {
        flat_params = vec![ValType::I32];
    }
    if flat_results.len() > MAX_FLAT_RESULTS {
        if lower {
            flat_params.push(ValType::I32);
            flat_results = Vec::new();
        } else {
            flat_results = vec![ValType::I32];
        }
    }
    (flat_params, flat_results)
}

// ---------------------------------------------------------------------------
// Checked memory access.

/// Errors unless `ptr` is a multiple of `align`.
fn check_aligned(ptr: u32, align: u32) -> Result<()> {
    ensure!(
        ptr.is_multiple_of(align.max(1)),
        "misaligned pointer {ptr:#x} (alignment {align})"
    );
    Ok(())
}

/// The in-bounds byte range `[ptr, ptr + len)` of `mem`.
fn byte_range(mem: &dyn Memory, ptr: u32, len: u64) -> Result<std::ops::Range<usize>> {
    let mem_len = mem.bytes().len() as u64;
    match u64::from(ptr).checked_add(len) {
        Some(end) if end <= mem_len => Ok(ptr as usize..end as usize),
        _ => bail!("out of bounds: {len} bytes at {ptr:#x} in a memory of {mem_len} bytes"),
    }
}

/// The bytes `[ptr, ptr + len)` of `mem`.
pub(crate) fn read_slice(mem: &dyn Memory, ptr: u32, len: u64) -> Result<&[u8]> {
    let range = byte_range(mem, ptr, len)?;
    mem.bytes().get(range).context("out of bounds")
}

/// The `N` bytes at `ptr`.
fn read<const N: usize>(mem: &dyn Memory, ptr: u32) -> Result<[u8; N]> {
    let mut out = [0; N];
    out.copy_from_slice(read_slice(mem, ptr, N as u64)?);
    Ok(out)
}

/// The bytes `[ptr, ptr + len)` of `mem`, for writing.
pub(crate) fn slice_mut(mem: &mut dyn Memory, ptr: u32, len: u64) -> Result<&mut [u8]> {
    let range = byte_range(mem, ptr, len)?;
    mem.bytes_mut().get_mut(range).context("out of bounds")
}

/// Writes `bytes` at `ptr`.
pub(crate) fn write(mem: &mut dyn Memory, ptr: u32, bytes: &[u8]) -> Result<()> {
    slice_mut(mem, ptr, bytes.len() as u64)?.copy_from_slice(bytes);
    Ok(())
}

/// `ptr + offset`, or an error if that overflows.
pub(crate) fn offset(ptr: u32, offset: u64) -> Result<u32> {
    u64::from(ptr)
        .checked_add(offset)
        .and_then(|p| u32::try_from(p).ok())
        .with_context(|| format!("out of bounds: pointer {ptr:#x} + {offset:#x} overflows"))
}

/// `count * size` as a 32-bit allocation size, or an error.
fn byte_size(count: u64, size: u32) -> Result<u32> {
    count
        .checked_mul(u64::from(size))
        .and_then(|n| u32::try_from(n).ok())
        .with_context(|| format!("{count} elements of {size} bytes overflow a 32-bit memory"))
}

/// Calls `realloc` and checks that the result is aligned and in bounds.
fn reallocate(mem: &mut dyn Memory, old: u32, old_size: u32, align: u32, size: u32) -> Result<u32> {
    let ptr = mem.realloc(old, old_size, align, size)?;
    check_aligned(ptr, align).context("realloc returned a misaligned pointer")?;
    byte_range(mem, ptr, size.into()).context("realloc returned an out-of-bounds pointer")?;
    Ok(ptr)
}

/// Allocates `size` bytes aligned to `align` with `realloc(0, 0, align, size)`.
pub(crate) fn allocate(mem: &mut dyn Memory, align: u32, size: u32) -> Result<u32> {
    reallocate(mem, 0, 0, align, size)
}

// ---------------------------------------------------------------------------
// Scalars.

/// `f32` bits with any NaN made the canonical NaN.
pub(crate) fn canonical_f32(bits: u32) -> u32 {
    if f32::from_bits(bits).is_nan() {
        CANONICAL_F32_NAN
    } else {
        bits
    }
}

/// `f64` bits with any NaN made the canonical NaN.
pub(crate) fn canonical_f64(bits: u64) -> u64 {
    if f64::from_bits(bits).is_nan() {
        CANONICAL_F64_NAN
    } else {
        bits
    }
}

/// The `char` with code point `i`, or an error if `i` is no Unicode scalar value.
pub(crate) fn char_from(i: u32) -> Result<char> {
    char::from_u32(i).with_context(|| format!("invalid `char` code point {i:#x}"))
}

// ---------------------------------------------------------------------------
// Loading.

/// Whether `ty` is a scalar: stored as its little-endian bytes, with no
/// pointers to follow.
fn is_scalar(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Bool
            | Type::S8
            | Type::U8
            | Type::S16
            | Type::U16
            | Type::S32
            | Type::U32
            | Type::S64
            | Type::U64
            | Type::Float32
            | Type::Float64
            | Type::Char
    )
}

/// Scalar `ty` from its bytes (exactly `size(ty)` of them).
fn decode_scalar(ty: &Type, b: &[u8]) -> Result<Val> {
    fn bytes<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
        b.try_into().context("a scalar of the wrong size")
    }
    Ok(match ty {
        Type::Bool => Val::Bool(bytes::<1>(b)?[0] != 0),
        Type::S8 => Val::S8(i8::from_le_bytes(bytes(b)?)),
        Type::U8 => Val::U8(u8::from_le_bytes(bytes(b)?)),
        Type::S16 => Val::S16(i16::from_le_bytes(bytes(b)?)),
        Type::U16 => Val::U16(u16::from_le_bytes(bytes(b)?)),
        Type::S32 => Val::S32(i32::from_le_bytes(bytes(b)?)),
        Type::U32 => Val::U32(u32::from_le_bytes(bytes(b)?)),
        Type::S64 => Val::S64(i64::from_le_bytes(bytes(b)?)),
        Type::U64 => Val::U64(u64::from_le_bytes(bytes(b)?)),
        Type::Float32 => Val::Float32(f32::from_bits(canonical_f32(u32::from_le_bytes(bytes(b)?)))),
        Type::Float64 => Val::Float64(f64::from_bits(canonical_f64(u64::from_le_bytes(bytes(b)?)))),
        Type::Char => Val::Char(char_from(u32::from_le_bytes(bytes(b)?))?),
        other => bail!("{other:?} is not a scalar"),
    })
}

/// Appends the bytes of scalar `val` of type `ty` to `out`.
fn encode_scalar(ty: &Type, val: &Val, out: &mut Vec<u8>) -> Result<()> {
    match (ty, val) {
        (Type::Bool, Val::Bool(b)) => out.push(u8::from(*b)),
        (Type::S8, Val::S8(x)) => out.extend(x.to_le_bytes()),
        (Type::U8, Val::U8(x)) => out.push(*x),
        (Type::S16, Val::S16(x)) => out.extend(x.to_le_bytes()),
        (Type::U16, Val::U16(x)) => out.extend(x.to_le_bytes()),
        (Type::S32, Val::S32(x)) => out.extend(x.to_le_bytes()),
        (Type::U32, Val::U32(x)) => out.extend(x.to_le_bytes()),
        (Type::S64, Val::S64(x)) => out.extend(x.to_le_bytes()),
        (Type::U64, Val::U64(x)) => out.extend(x.to_le_bytes()),
        (Type::Float32, Val::Float32(x)) => out.extend(canonical_f32(x.to_bits()).to_le_bytes()),
        (Type::Float64, Val::Float64(x)) => out.extend(canonical_f64(x.to_bits()).to_le_bytes()),
        (Type::Char, Val::Char(c)) => out.extend(u32::from(*c).to_le_bytes()),
        _ => bail!("type mismatch: expected a value of type {ty:?}, found {val:?}"),
    }
    Ok(())
}

/// Checks that a value of type `ty` at `ptr` is aligned and in bounds,
/// as a value passed through memory must be.
pub(crate) fn check_place(mem: &dyn Memory, ty: &Type, ptr: u32) -> Result<()> {
    check_aligned(ptr, align(ty))?;
    byte_range(mem, ptr, size(ty).into())?;
    Ok(())
}

/// Loads a value of type `ty` from `ptr`, which must be aligned and in bounds.
#[cfg(test)]
pub(crate) fn load(mem: &mut dyn Memory, enc: StringEncoding, ty: &Type, ptr: u32) -> Result<Val> {
    check_place(mem, ty, ptr)?;
    load_at(mem, enc, ty, ptr)
}

/// Loads a value of type `ty` from `ptr`.
pub(crate) fn load_at(mem: &dyn Memory, enc: StringEncoding, ty: &Type, ptr: u32) -> Result<Val> {
    Ok(match ty {
        Type::Bool
        | Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::S64
        | Type::U64
        | Type::Float32
        | Type::Float64
        | Type::Char => decode_scalar(ty, read_slice(mem, ptr, size(ty).into())?)?,
        Type::String => {
            let (begin, len) = load_pair(mem, ptr)?;
            Val::String(strings::load(mem, enc, begin, len)?)
        }
        Type::List(elem) => {
            let (begin, len) = load_pair(mem, ptr)?;
            Val::List(load_list(mem, enc, elem, begin, len)?)
        }
        Type::Record(_) | Type::Tuple(_) => {
            let mut vals = Vec::new();
            let mut at = 0;
            for t in field_types(ty) {
                at = align_to(at, align(t));
                vals.push(load_at(mem, enc, t, offset(ptr, at.into())?)?);
                at = at.saturating_add(size(t));
            }
            make_fields(ty, vals)
        }
        Type::Flags(names) => Val::Flags(unpack_flags(
            names,
            &load_flag_words(mem, names.len(), ptr)?,
        )),
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            load_variant(mem, enc, Cases(ty), ptr)?
        }
        Type::Own(res) | Type::Borrow(res) => {
            let index = u32::from_le_bytes(read(mem, ptr)?);
            mem.lift_handle(index, *res, matches!(ty, Type::Own(_)))?
        }
    })
}

/// Loads the `(pointer, length)` pair of a string or list at `ptr`.
pub(crate) fn load_pair(mem: &dyn Memory, ptr: u32) -> Result<(u32, u32)> {
    let begin = u32::from_le_bytes(read(mem, ptr)?);
    let len = u32::from_le_bytes(read(mem, offset(ptr, 4)?)?);
    Ok((begin, len))
}

/// Checks that a list of `len` elements of type `elem` at `ptr` may be
/// lifted: not too long, aligned, in bounds and within the call's budget
/// (which it is charged). Returns its byte length.
pub(crate) fn check_list(mem: &dyn Memory, elem: &Type, ptr: u32, len: u32) -> Result<u64> {
    let byte_len = u64::from(len) * u64::from(size(elem));
    ensure!(
        byte_len <= MAX_LIST_BYTE_LENGTH,
        "list of {byte_len} bytes is too long"
    );
    check_aligned(ptr, align(elem))?;
    byte_range(mem, ptr, byte_len)?;
    // Zero-size elements occupy no memory: bound their count by the
    // memory's size so the host never builds billions of values.
    ensure!(
        u64::from(len) <= mem.bytes().len() as u64,
        "list of {len} zero-size elements is too long"
    );
    mem.charge(u64::from(len))?;
    Ok(byte_len)
}

/// Loads the `len` elements of type `elem` at `ptr` (the spec's
/// `load_list_from_range`).
fn load_list(
    mem: &dyn Memory,
    enc: StringEncoding,
    elem: &Type,
    ptr: u32,
    len: u32,
) -> Result<Vec<Val>> {
    let elem_size = size(elem);
    let byte_len = check_list(mem, elem, ptr, len)?;
    if is_scalar(elem) {
        // One bounds check and one read for the whole list.
        let bytes = read_slice(mem, ptr, byte_len)?;
        return bytes
            .chunks_exact(elem_size as usize)
            .map(|b| decode_scalar(elem, b))
            .collect();
    }
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..u64::from(len) {
        out.push(load_at(
            mem,
            enc,
            elem,
            offset(ptr, i * u64::from(elem_size))?,
        )?);
    }
    Ok(out)
}

/// Loads a variant of `cases` at `ptr`.
fn load_variant(mem: &dyn Memory, enc: StringEncoding, cases: Cases<'_>, ptr: u32) -> Result<Val> {
    let (index, at) = load_case(mem, cases.0, ptr)?;
    let payload = match cases.payload(index) {
        Some(t) => Some(load_at(mem, enc, t, at)?),
        None => None,
    };
    cases.make(index, payload)
}

/// Reads the discriminant of the variant-like `ty` at `ptr`: the case
/// index and where its payload (if it has one) is.
pub(crate) fn load_case(mem: &dyn Memory, ty: &Type, ptr: u32) -> Result<(usize, u32)> {
    let cases = Cases(ty);
    let index = match discriminant_size(cases.len()) {
        1 => u32::from(read::<1>(mem, ptr)?[0]),
        2 => u32::from(u16::from_le_bytes(read(mem, ptr)?)),
        _ => u32::from_le_bytes(read(mem, ptr)?),
    };
    let index = checked_case(cases, index)?;
    Ok((index, offset(ptr, payload_offset(cases).into())?))
}

/// `index` as a case index of `cases`, or an error if out of range.
fn checked_case(cases: Cases<'_>, index: u32) -> Result<usize> {
    let i = index as usize;
    let n = cases.len();
    ensure!(
        i < n,
        "invalid discriminant {index} of a type with {n} cases"
    );
    Ok(i)
}

/// Loads the words of `n` flags at `ptr`.
fn load_flag_words(mem: &dyn Memory, n: usize, ptr: u32) -> Result<Vec<u32>> {
    match flags_size(n) {
        0 => Ok(Vec::new()),
        1 => Ok(vec![u32::from(read::<1>(mem, ptr)?[0])]),
        2 => Ok(vec![u32::from(u16::from_le_bytes(read(mem, ptr)?))]),
        _ => (0..flag_words(n) as u64)
            .map(|i| Ok(u32::from_le_bytes(read(mem, offset(ptr, 4 * i)?)?)))
            .collect(),
    }
}

/// The names of the flags set in `words` (bits beyond the names are ignored).
fn unpack_flags(names: &[String], words: &[u32]) -> Vec<String> {
    let set = |i: usize| words.get(i / 32).is_some_and(|w| w >> (i % 32) & 1 == 1);
    names
        .iter()
        .enumerate()
        .filter(|&(i, _)| set(i))
        .map(|(_, n)| n.clone())
        .collect()
}

/// The words of the flags `set` of type `names`; unknown names are an error.
fn pack_flags(names: &[String], set: &[String]) -> Result<Vec<u32>> {
    let mut words = vec![0u32; flag_words(names.len())];
    for flag in set {
        let i = names.iter().position(|n| n == flag);
        let i = i.with_context(|| format!("unknown flag `{flag}` for flags {names:?}"))?;
        words[i / 32] |= 1 << (i % 32);
    }
    Ok(words)
}

// ---------------------------------------------------------------------------
// Storing.

/// Stores `val` of type `ty` at `ptr`, which must be aligned and in bounds.
#[cfg(test)]
pub(crate) fn store(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    ty: &Type,
    val: &Val,
    ptr: u32,
) -> Result<()> {
    check_place(mem, ty, ptr)?;
    store_at(mem, enc, ty, val, ptr)
}

/// Stores `val` of type `ty` at `ptr`.
pub(crate) fn store_at(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    ty: &Type,
    val: &Val,
    ptr: u32,
) -> Result<()> {
    match (ty, val) {
        (t, v) if is_scalar(t) => {
            let mut bytes = Vec::with_capacity(8);
            encode_scalar(t, v, &mut bytes)?;
            write(mem, ptr, &bytes)
        }
        (Type::String, Val::String(s)) => {
            let (begin, len) = strings::store(mem, enc, s)?;
            store_pair(mem, ptr, begin, len)
        }
        (Type::List(elem), Val::List(items)) => {
            let (begin, len) = store_list(mem, enc, elem, items)?;
            store_pair(mem, ptr, begin, len)
        }
        (Type::Record(_) | Type::Tuple(_), _) => {
            let mut at = 0;
            for (t, v) in field_types(ty).into_iter().zip(field_values(ty, val)?) {
                at = align_to(at, align(t));
                store_at(mem, enc, t, v, offset(ptr, at.into())?)?;
                at = at.saturating_add(size(t));
            }
            Ok(())
        }
        (Type::Flags(names), Val::Flags(set)) => {
            store_flag_words(mem, names.len(), &pack_flags(names, set)?, ptr)
        }
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. }, _) => {
            store_variant(mem, enc, Cases(ty), val, ptr)
        }
        (Type::Own(res) | Type::Borrow(res), _) => {
            let index = mem.lower_handle(val, *res, matches!(ty, Type::Own(_)))?;
            write(mem, ptr, &index.to_le_bytes())
        }
        _ => bail!("type mismatch: expected a value of type {ty:?}, found {val:?}"),
    }
}

/// Stores the `(pointer, length)` pair of a string or list at `ptr`.
pub(crate) fn store_pair(mem: &mut dyn Memory, ptr: u32, begin: u32, len: u32) -> Result<()> {
    write(mem, ptr, &begin.to_le_bytes())?;
    write(mem, offset(ptr, 4)?, &len.to_le_bytes())
}

/// Allocates room for a list of `count` elements of type `elem`: its
/// pointer and length.
pub(crate) fn allocate_list(mem: &mut dyn Memory, elem: &Type, count: usize) -> Result<(u32, u32)> {
    let len = u32::try_from(count).context("list too long")?;
    let byte_len = byte_size(len.into(), size(elem))?;
    Ok((allocate(mem, align(elem), byte_len)?, len))
}

/// Allocates and stores the elements of a list, returning its pointer and
/// length (the spec's `store_list_into_range`).
fn store_list(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    elem: &Type,
    items: &[Val],
) -> Result<(u32, u32)> {
    let elem_size = size(elem);
    let (ptr, len) = allocate_list(mem, elem, items.len())?;
    let byte_len = u64::from(len) * u64::from(elem_size);
    if is_scalar(elem) {
        // The elements' bytes, then one write for the whole list.
        let mut bytes = Vec::with_capacity(byte_len as usize);
        for item in items {
            encode_scalar(elem, item, &mut bytes)?;
        }
        write(mem, ptr, &bytes)?;
        return Ok((ptr, len));
    }
    for (i, item) in (0u64..).zip(items) {
        store_at(mem, enc, elem, item, offset(ptr, i * u64::from(elem_size))?)?;
    }
    Ok((ptr, len))
}

/// Stores a variant of `cases` at `ptr`.
fn store_variant(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    cases: Cases<'_>,
    val: &Val,
    ptr: u32,
) -> Result<()> {
    let (index, payload) = cases.find(val)?;
    let at = store_case(mem, cases.0, index, ptr)?;
    match (cases.payload(index), payload) {
        (Some(t), Some(v)) => store_at(mem, enc, t, v, at),
        _ => Ok(()),
    }
}

/// Writes the discriminant of case `index` of variant-like `ty` at
/// `ptr`, returning where its payload goes.
pub(crate) fn store_case(mem: &mut dyn Memory, ty: &Type, index: usize, ptr: u32) -> Result<u32> {
    let cases = Cases(ty);
    let disc = index as u32;
    match discriminant_size(cases.len()) {
        1 => write(mem, ptr, &(disc as u8).to_le_bytes())?,
        2 => write(mem, ptr, &(disc as u16).to_le_bytes())?,
        _ => write(mem, ptr, &disc.to_le_bytes())?,
    }
    offset(ptr, payload_offset(cases).into())
}

/// Stores the flag `words` of `n` flags at `ptr`.
fn store_flag_words(mem: &mut dyn Memory, n: usize, words: &[u32], ptr: u32) -> Result<()> {
    let first = words.first().copied().unwrap_or(0);
    match flags_size(n) {
        0 => Ok(()),
        1 => write(mem, ptr, &[first as u8]),
        2 => write(mem, ptr, &(first as u16).to_le_bytes()),
        _ => {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            write(mem, ptr, &bytes)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
