//! What `#[derive(ComponentType)]` (the `hayate-component-macro` crate)
//! expands to calls of: checking a Rust record, variant or enum against
//! a WIT type by field and case names, and the canonical ABI's layout of
//! fields and cases (the tuple impls lay out their fields with the same
//! `field_ptr`). Public only for the generated code.

use anyhow::{Context, bail, ensure};

use super::AbiContext;
use crate::abi;
use crate::types::Type;
use crate::values::Val;

/// The result type of the generated functions.
pub use anyhow::Result;
/// A core WebAssembly value.
pub use hayate::Val as Core;

/// A field's or case's type check: the `typecheck` of its Rust type.
pub type Check = fn(&Type) -> Result<()>;

/// The fields of record type `ty`.
pub fn record_fields(ty: &Type) -> Result<&[(String, Type)]> {
    match ty {
        Type::Record(fields) => Ok(fields),
        other => bail!("type mismatch: {other:?} is not a record"),
    }
}

/// The type of field `index` of a record's `fields`.
pub fn field(fields: &[(String, Type)], index: usize) -> Result<&Type> {
    fields
        .get(index)
        .map(|(_, t)| t)
        .with_context(|| format!("the WIT record has no field {index}"))
}

/// Checks record type `ty` against the Rust record `rust` with these
/// fields (name and check), in order.
pub fn typecheck_record(ty: &Type, rust: &str, fields: &[(&str, Check)]) -> Result<()> {
    let types = record_fields(ty).with_context(|| format!("the Rust record {rust}"))?;
    ensure!(
        types.len() == fields.len(),
        "the Rust record {rust} has {} fields, the WIT record {}",
        fields.len(),
        types.len()
    );
    for ((name, check), (wit, t)) in fields.iter().zip(types) {
        ensure!(
            name == wit,
            "the Rust record {rust} has field `{name}` where the WIT record has `{wit}`"
        );
        check(t).with_context(|| format!("field `{name}` of {rust}"))?;
    }
    Ok(())
}

/// The field values of record value `val`, checked to have `names`.
pub fn record_values(val: Val, names: &[&str]) -> Result<std::vec::IntoIter<Val>> {
    let Val::Record(fields) = val else {
        bail!("expected a record, found {val:?}");
    };
    ensure!(
        fields.len() == names.len() && fields.iter().zip(names).all(|((a, _), b)| a == b),
        "expected a record with fields {names:?}"
    );
    Ok(fields
        .into_iter()
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .into_iter())
}

/// The next field value of a record.
pub fn next_value(values: &mut std::vec::IntoIter<Val>) -> Result<Val> {
    values.next().context("a record value with too few fields")
}

/// Where the field of type `ty` of a record at `ptr` laid out up to `end`
/// is; moves `end` past it.
pub fn field_ptr(ptr: u32, end: &mut u32, ty: &Type) -> Result<u32> {
    let at = abi::align_to(*end, abi::align(ty));
    *end = at.saturating_add(abi::size(ty));
    abi::offset(ptr, at.into())
}

/// The case names and payload types of variant or enum type `ty`.
fn cases(ty: &Type) -> Result<Vec<(&str, Option<&Type>)>> {
    Ok(match ty {
        Type::Variant(cases) => cases
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_ref()))
            .collect(),
        Type::Enum(names) => names.iter().map(|n| (n.as_str(), None)).collect(),
        other => bail!("type mismatch: {other:?} is not a variant or an enum"),
    })
}

/// Checks variant (or, with `is_enum`, enum) type `ty` against the Rust
/// enum `rust` with these cases (name and payload check), in order.
pub fn typecheck_cases(
    ty: &Type,
    rust: &str,
    is_enum: bool,
    rust_cases: &[(&str, Option<Check>)],
) -> Result<()> {
    let kind_ok = matches!(
        (ty, is_enum),
        (Type::Variant(_), false) | (Type::Enum(_), true)
    );
    ensure!(
        kind_ok,
        "type mismatch: the Rust type {rust} is not the WIT type {ty:?}"
    );
    let wit = cases(ty)?;
    ensure!(
        wit.len() == rust_cases.len(),
        "the Rust type {rust} has {} cases, the WIT type {}",
        rust_cases.len(),
        wit.len()
    );
    for ((name, check), (wit_name, payload)) in rust_cases.iter().zip(wit) {
        ensure!(
            *name == wit_name,
            "the Rust type {rust} has case `{name}` where the WIT type has `{wit_name}`"
        );
        match (check, payload) {
            (Some(check), Some(t)) => {
                check(t).with_context(|| format!("case `{name}` of {rust}"))?
            }
            (None, None) => {}
            _ => bail!("case `{name}` of {rust} and of the WIT type differ in having a payload"),
        }
    }
    Ok(())
}

/// The payload type of case `index` of variant type `ty`.
pub fn case_type(ty: &Type, index: usize) -> Result<&Type> {
    match ty {
        Type::Variant(cases) => cases.get(index).and_then(|(_, t)| t.as_ref()),
        _ => None,
    }
    .with_context(|| format!("case {index} of {ty:?} has no payload"))
}

/// A variant or enum value: its case name and payload.
pub fn case_value(val: Val) -> Result<(String, Option<Val>)> {
    match val {
        Val::Variant(name, payload) => Ok((name, payload.map(|p| *p))),
        Val::Enum(name) => Ok((name, None)),
        other => bail!("expected a variant or an enum, found {other:?}"),
    }
}

/// A case value of the variant or (without payload) enum.
pub fn make_case(is_enum: bool, name: &str, payload: Option<Val>) -> Val {
    match is_enum {
        true => Val::Enum(name.to_owned()),
        false => Val::Variant(name.to_owned(), payload.map(Box::new)),
    }
}

/// The payload of a case value that must have one.
pub fn payload(payload: Option<Val>) -> Result<Val> {
    payload.context("a case value without its payload")
}

/// The error for a case name the Rust enum does not have.
pub fn unknown_case<T>(name: &str, rust: &str) -> Result<T> {
    bail!("the Rust type {rust} has no case `{name}`")
}

/// Lowers case `index` of `ty`, its payload appended by `payload`.
pub fn lower_case(
    ty: &Type,
    index: usize,
    out: &mut Vec<Core>,
    payload: impl FnOnce(&mut Vec<Core>) -> Result<()>,
) -> Result<()> {
    abi::lower_case(ty, index, out, payload)
}

/// Writes the discriminant of case `index` of `ty` at `ptr`: where its
/// payload goes.
pub fn store_case(cx: &mut AbiContext<'_>, ty: &Type, index: usize, ptr: u32) -> Result<u32> {
    abi::store_case(cx.mem, ty, index, ptr)
}

/// Lifts a case of `ty`: its index and its payload's flat values.
pub fn lift_case(ty: &Type, flat: &mut dyn Iterator<Item = Core>) -> Result<(usize, Vec<Core>)> {
    abi::lift_case(ty, flat)
}

/// Loads the discriminant of the case of `ty` at `ptr`: its index and
/// where its payload is.
pub fn load_case(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<(usize, u32)> {
    abi::load_case(cx.mem, ty, ptr)
}
