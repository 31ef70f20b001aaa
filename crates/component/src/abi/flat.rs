//! Flat lifting and lowering: component values to and from the core
//! values of their flattened types (the spec's `lift_flat` and
//! `lower_flat`), with the bit-casts that variant payloads need to share
//! their joined core types. Strings and lists still live in memory.

use anyhow::{Context as _, Result, bail, ensure};
use hayate::ValType;

use super::{
    Cases, Core, Memory, StringEncoding, canonical_f32, canonical_f64, char_from, checked_case,
    field_types, field_values, flag_words, flat_types, flatten_payloads, load_list, make_fields,
    pack_flags, store_list, strings, unpack_flags,
};
use crate::types::Type;
use crate::values::Val;

// ---------------------------------------------------------------------------
// Lifting.

/// The next core value, which must have core type `ty`.
fn next_of(flat: &mut dyn Iterator<Item = Core>, ty: &ValType) -> Result<Core> {
    let v = flat
        .next()
        .with_context(|| format!("missing a core {ty:?} value"))?;
    let ok = matches!(
        (&v, ty),
        (Core::I32(_), ValType::I32)
            | (Core::I64(_), ValType::I64)
            | (Core::F32(_), ValType::F32)
            | (Core::F64(_), ValType::F64)
    );
    ensure!(ok, "expected a core {ty:?} value, found {v:?}");
    Ok(v)
}

/// The next core value, an `i32`.
fn next_i32(flat: &mut dyn Iterator<Item = Core>) -> Result<i32> {
    match flat.next() {
        Some(Core::I32(x)) => Ok(x),
        other => bail!("expected a core i32 value, found {other:?}"),
    }
}

/// The next core value, an `i64`.
fn next_i64(flat: &mut dyn Iterator<Item = Core>) -> Result<i64> {
    match flat.next() {
        Some(Core::I64(x)) => Ok(x),
        other => bail!("expected a core i64 value, found {other:?}"),
    }
}

/// Lifts a value of type `ty` from the flat core values `flat`, consuming
/// exactly the values of its flat types.
pub(crate) fn lift_flat(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    ty: &Type,
    flat: &mut dyn Iterator<Item = Core>,
) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(next_i32(flat)? != 0),
        Type::S8 => Val::S8(next_i32(flat)? as i8),
        Type::U8 => Val::U8(next_i32(flat)? as u8),
        Type::S16 => Val::S16(next_i32(flat)? as i16),
        Type::U16 => Val::U16(next_i32(flat)? as u16),
        Type::S32 => Val::S32(next_i32(flat)?),
        Type::U32 => Val::U32(next_i32(flat)? as u32),
        Type::S64 => Val::S64(next_i64(flat)?),
        Type::U64 => Val::U64(next_i64(flat)? as u64),
        Type::Float32 => match next_of(flat, &ValType::F32)? {
            Core::F32(bits) => Val::Float32(f32::from_bits(canonical_f32(bits))),
            v => bail!("expected a core f32 value, found {v:?}"),
        },
        Type::Float64 => match next_of(flat, &ValType::F64)? {
            Core::F64(bits) => Val::Float64(f64::from_bits(canonical_f64(bits))),
            v => bail!("expected a core f64 value, found {v:?}"),
        },
        Type::Char => Val::Char(char_from(next_i32(flat)? as u32)?),
        Type::String => {
            let (begin, len) = (next_i32(flat)? as u32, next_i32(flat)? as u32);
            Val::String(strings::load(mem, enc, begin, len)?)
        }
        Type::List(elem) => {
            let (begin, len) = (next_i32(flat)? as u32, next_i32(flat)? as u32);
            Val::List(load_list(mem, enc, elem, begin, len)?)
        }
        Type::Record(_) | Type::Tuple(_) => {
            let vals = field_types(ty)
                .into_iter()
                .map(|t| lift_flat(mem, enc, t, flat));
            make_fields(ty, vals.collect::<Result<_>>()?)
        }
        Type::Flags(names) => {
            let words = (0..flag_words(names.len())).map(|_| Ok(next_i32(flat)? as u32));
            Val::Flags(unpack_flags(names, &words.collect::<Result<Vec<_>>>()?))
        }
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. } => {
            lift_flat_variant(mem, enc, Cases(ty), flat)?
        }
        Type::Own(res) | Type::Borrow(res) => {
            let index = next_i32(flat)? as u32;
            mem.lift_handle(index, *res, matches!(ty, Type::Own(_)))?
        }
    })
}

/// Lifts a variant of `cases`: the discriminant, then the joined payload
/// types, of which the case's own payload reads a prefix (bit-cast back).
fn lift_flat_variant(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    cases: Cases<'_>,
    flat: &mut dyn Iterator<Item = Core>,
) -> Result<Val> {
    let (index, payload) = lift_case(cases.0, flat)?;
    let payload = match cases.payload(index) {
        Some(t) => Some(lift_flat(mem, enc, t, &mut payload.into_iter())?),
        None => None,
    };
    cases.make(index, payload)
}

/// Reads the discriminant of variant-like `ty` and its joined payload
/// values from `flat`: the case index and the case's own flat payload
/// values, bit-cast back from the joined types (none for no payload).
pub(crate) fn lift_case(
    ty: &Type,
    flat: &mut dyn Iterator<Item = Core>,
) -> Result<(usize, Vec<Core>)> {
    let cases = Cases(ty);
    let index = checked_case(cases, next_i32(flat)? as u32)?;
    let joined = flatten_payloads(cases);
    let mut values = Vec::with_capacity(joined.len());
    for t in joined.iter() {
        values.push(next_of(flat, t)?);
    }
    match cases.payload(index) {
        Some(t) => {
            let wants = flat_types(t);
            values.truncate(wants.len());
            for (v, want) in values.iter_mut().zip(&wants) {
                *v = coerce_lift(*v, want);
            }
        }
        None => values.clear(),
    }
    Ok((index, values))
}

/// Bit-casts a joined core value back to the case's own flat type.
fn coerce_lift(v: Core, want: &ValType) -> Core {
    match (v, want) {
        (Core::I32(x), ValType::F32) => Core::F32(x as u32),
        (Core::I64(x), ValType::I32) => Core::I32(x as i32),
        (Core::I64(x), ValType::F32) => Core::F32(x as u32),
        (Core::I64(x), ValType::F64) => Core::F64(x as u64),
        (v, _) => v,
    }
}

// ---------------------------------------------------------------------------
// Lowering.

/// Lowers `val` of type `ty`, appending its flat core values to `out`.
pub(crate) fn lower_flat(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    ty: &Type,
    val: &Val,
    out: &mut Vec<Core>,
) -> Result<()> {
    let core = match (ty, val) {
        (Type::Bool, Val::Bool(b)) => Core::I32(i32::from(*b)),
        (Type::S8, Val::S8(x)) => Core::I32(i32::from(*x)),
        (Type::U8, Val::U8(x)) => Core::I32(i32::from(*x)),
        (Type::S16, Val::S16(x)) => Core::I32(i32::from(*x)),
        (Type::U16, Val::U16(x)) => Core::I32(i32::from(*x)),
        (Type::S32, Val::S32(x)) => Core::I32(*x),
        (Type::U32, Val::U32(x)) => Core::I32(*x as i32),
        (Type::S64, Val::S64(x)) => Core::I64(*x),
        (Type::U64, Val::U64(x)) => Core::I64(*x as i64),
        (Type::Float32, Val::Float32(x)) => Core::F32(canonical_f32(x.to_bits())),
        (Type::Float64, Val::Float64(x)) => Core::F64(canonical_f64(x.to_bits())),
        (Type::Char, Val::Char(c)) => Core::I32(u32::from(*c) as i32),
        (Type::String, Val::String(s)) => {
            let (begin, len) = strings::store(mem, enc, s)?;
            out.push(Core::I32(begin as i32));
            Core::I32(len as i32)
        }
        (Type::List(elem), Val::List(items)) => {
            let (begin, len) = store_list(mem, enc, elem, items)?;
            out.push(Core::I32(begin as i32));
            Core::I32(len as i32)
        }
        (Type::Record(_) | Type::Tuple(_), _) => {
            let mut fields = field_types(ty).into_iter().zip(field_values(ty, val)?);
            return fields.try_for_each(|(t, v)| lower_flat(mem, enc, t, v, out));
        }
        (Type::Flags(names), Val::Flags(set)) => {
            out.extend(
                pack_flags(names, set)?
                    .into_iter()
                    .map(|w| Core::I32(w as i32)),
            );
            return Ok(());
        }
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result { .. }, _) => {
            return lower_flat_variant(mem, enc, Cases(ty), val, out);
        }
        (Type::Own(res) | Type::Borrow(res), _) => {
            Core::I32(mem.lower_handle(val, *res, matches!(ty, Type::Own(_)))? as i32)
        }
        _ => bail!("type mismatch: expected a value of type {ty:?}, found {val:?}"),
    };
    out.push(core);
    Ok(())
}

/// Lowers a variant of `cases`: the discriminant, the payload bit-cast to
/// the joined payload types, then zeros for the joined types it lacks.
fn lower_flat_variant(
    mem: &mut dyn Memory,
    enc: StringEncoding,
    cases: Cases<'_>,
    val: &Val,
    out: &mut Vec<Core>,
) -> Result<()> {
    let (index, payload) = cases.find(val)?;
    lower_case(cases.0, index, out, |out| {
        match (cases.payload(index), payload) {
            (Some(t), Some(v)) => lower_flat(mem, enc, t, v, out),
            _ => Ok(()),
        }
    })
}

/// Lowers case `index` of variant-like `ty`: the discriminant, then the
/// payload (which `lower_payload` appends in the case's own flat types)
/// bit-cast to the joined payload types, then zeros for the joined types
/// it lacks.
pub(crate) fn lower_case(
    ty: &Type,
    index: usize,
    out: &mut Vec<Core>,
    lower_payload: impl FnOnce(&mut Vec<Core>) -> Result<()>,
) -> Result<()> {
    out.push(Core::I32(index as i32));
    let start = out.len();
    lower_payload(out)?;
    let joined = flatten_payloads(Cases(ty));
    let written = out.len() - start;
    ensure!(
        written <= joined.len(),
        "variant payload has too many flat values"
    );
    for (v, want) in out[start..].iter_mut().zip(joined.iter()) {
        *v = coerce_lower(*v, want);
    }
    out.extend(joined[written..].iter().map(zero));
    Ok(())
}

/// Bit-casts (or zero-extends) a case's core value to its joined type.
fn coerce_lower(v: Core, want: &ValType) -> Core {
    match (v, want) {
        (Core::F32(bits), ValType::I32) => Core::I32(bits as i32),
        (Core::I32(x), ValType::I64) => Core::I64(i64::from(x as u32)),
        (Core::F32(bits), ValType::I64) => Core::I64(i64::from(bits)),
        (Core::F64(bits), ValType::I64) => Core::I64(bits as i64),
        (v, _) => v,
    }
}

/// The zero value of a flat core type.
fn zero(ty: &ValType) -> Core {
    match ty {
        ValType::I64 => Core::I64(0),
        ValType::F32 => Core::F32(0),
        ValType::F64 => Core::F64(0),
        _ => Core::I32(0),
    }
}
