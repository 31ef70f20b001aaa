//! Helpers for host functions on dynamic component values: taking
//! arguments of the expected shape (an error, never a panic, for any
//! other) and building results. `wasi:http` in `hayate-serve` uses them
//! too.

use anyhow::{Context, Result, bail};
use hayate_component::{Resource, Val};

/// The `i`th argument.
pub fn arg(args: &[Val], i: usize) -> Result<&Val> {
    args.get(i).with_context(|| format!("argument {i} missing"))
}

/// Argument `i`, a `u64`.
pub fn arg_u64(args: &[Val], i: usize) -> Result<u64> {
    match arg(args, i)? {
        Val::U64(x) => Ok(*x),
        other => bail!("expected a u64, found {other:?}"),
    }
}

/// Argument `i`, a `string`.
pub fn arg_str(args: &[Val], i: usize) -> Result<&str> {
    match arg(args, i)? {
        Val::String(s) => Ok(s),
        other => bail!("expected a string, found {other:?}"),
    }
}

/// Whether flags argument `i` has flag `name` set.
pub fn arg_flag(args: &[Val], i: usize, name: &str) -> Result<bool> {
    match arg(args, i)? {
        Val::Flags(set) => Ok(set.iter().any(|f| f == name)),
        other => bail!("expected flags, found {other:?}"),
    }
}

/// Handle argument `i`, as a handle to a host resource `R`.
pub fn arg_res<R: 'static>(args: &[Val], i: usize) -> Result<Resource<R>> {
    match arg(args, i)? {
        Val::Resource(any) => any.clone().try_into_resource(),
        other => bail!("expected a resource handle, found {other:?}"),
    }
}

/// `ok(v)` of a `result`.
pub fn ok(v: Option<Val>) -> Val {
    Val::Result(Ok(v.map(Box::new)))
}

/// `err(v)` of a `result`.
pub fn err(v: Val) -> Val {
    Val::Result(Err(Some(Box::new(v))))
}

/// A handle to a new host resource, for a result.
pub fn handle<R: 'static>(r: Resource<R>) -> Val {
    Val::Resource(r.into_resource_any())
}

/// Sets the one result of a function.
pub fn ret(results: &mut [Val], v: Val) -> Result<()> {
    *results.first_mut().context("no result slot")? = v;
    Ok(())
}

/// Argument `i`, a `u16`.
pub fn arg_u16(args: &[Val], i: usize) -> Result<u16> {
    match arg(args, i)? {
        Val::U16(x) => Ok(*x),
        other => anyhow::bail!("expected a u16, found {other:?}"),
    }
}

/// Argument `i`, a `list<u8>`.
pub fn arg_bytes(args: &[Val], i: usize) -> Result<Vec<u8>> {
    bytes_of(arg(args, i)?)
}

/// The bytes of a `list<u8>` value.
pub fn bytes_of(v: &Val) -> Result<Vec<u8>> {
    match v {
        Val::List(items) => items
            .iter()
            .map(|v| match v {
                Val::U8(b) => Ok(*b),
                other => anyhow::bail!("expected a byte, found {other:?}"),
            })
            .collect(),
        other => anyhow::bail!("expected a list of bytes, found {other:?}"),
    }
}

/// A `list<u8>` value.
pub fn bytes(data: &[u8]) -> Val {
    Val::List(data.iter().map(|b| Val::U8(*b)).collect())
}
