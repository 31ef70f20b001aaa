//! `wasi:clocks` (the monotonic clock with its pollables, the wall
//! clock) and `wasi:random` (secure and insecure bytes, and a seed), on
//! the same clocks and generator as preview1.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use hayate::StoreContextMut;
use hayate_component::{Linker, Val};

use super::io::Pollable;
use super::{GetCtx, MAX_RANDOM, arg_u64, handle, interface, ret};
use crate::clock;
use crate::types::clockid;

/// The pollable for monotonic instant `when` (nanoseconds).
fn deadline(when: u64) -> Pollable {
    let now = clock::now(clockid::MONOTONIC).unwrap_or(0);
    let wait = Duration::from_nanos(when.saturating_sub(now));
    match Instant::now().checked_add(wait) {
        Some(at) => Pollable::Deadline(at),
        None => Pollable::Never,
    }
}

fn datetime(nanos: u64) -> Val {
    Val::Record(vec![
        ("seconds".into(), Val::U64(nanos / 1_000_000_000)),
        (
            "nanoseconds".into(),
            Val::U32((nanos % 1_000_000_000) as u32),
        ),
    ])
}

/// `len` random bytes; more than [`MAX_RANDOM`] is refused.
fn random_bytes(len: u64) -> Result<Val> {
    ensure!(
        len <= MAX_RANDOM,
        "get-random-bytes of {len} bytes (at most {MAX_RANDOM})"
    );
    let mut buf = vec![0u8; len as usize];
    fill(&mut buf)?;
    Ok(Val::List(buf.into_iter().map(Val::U8).collect()))
}

fn fill(mut out: &mut [u8]) -> Result<()> {
    while !out.is_empty() {
        match rustix::rand::getrandom(&mut *out, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => out = &mut out[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn random_u64() -> Result<u64> {
    let mut b = [0u8; 8];
    fill(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut mono = interface(linker, "wasi:clocks/monotonic-clock")?;
    mono.func_new("now", |_, _, results| {
        ret(results, Val::U64(clock::now(clockid::MONOTONIC)?))
    })?;
    mono.func_new("resolution", |_, _, results| ret(results, Val::U64(1)))?;
    mono.func_new(
        "subscribe-instant",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let p = deadline(arg_u64(args, 0)?);
            ret(results, handle(get(store.data_mut()).p2.push(p)?))
        },
    )?;
    mono.func_new(
        "subscribe-duration",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let now = clock::now(clockid::MONOTONIC)?;
            let p = deadline(now.saturating_add(arg_u64(args, 0)?));
            ret(results, handle(get(store.data_mut()).p2.push(p)?))
        },
    )?;

    let mut wall = interface(linker, "wasi:clocks/wall-clock")?;
    wall.func_new("now", |_, _, results| {
        ret(results, datetime(clock::now(clockid::REALTIME)?))
    })?;
    wall.func_new("resolution", |_, _, results| ret(results, datetime(1)))?;

    let mut random = interface(linker, "wasi:random/random")?;
    random.func_new("get-random-bytes", |_, args, results| {
        ret(results, random_bytes(arg_u64(args, 0)?)?)
    })?;
    random.func_new("get-random-u64", |_, _, results| {
        ret(results, Val::U64(random_u64()?))
    })?;
    let mut insecure = interface(linker, "wasi:random/insecure")?;
    insecure.func_new("get-insecure-random-bytes", |_, args, results| {
        ret(results, random_bytes(arg_u64(args, 0)?)?)
    })?;
    insecure.func_new("get-insecure-random-u64", |_, _, results| {
        ret(results, Val::U64(random_u64()?))
    })?;
    let mut seed = interface(linker, "wasi:random/insecure-seed")?;
    seed.func_new("insecure-seed", |_, _, results| {
        ret(
            results,
            Val::Tuple(vec![Val::U64(random_u64()?), Val::U64(random_u64()?)]),
        )
    })?;
    Ok(())
}
