//! Tests of the canonical ABI: layout and flattening against the spec's
//! rules, round trips of every kind of value through memory and through
//! flat values, string transcoding and its `realloc` calls, and errors
//! (never panics) on hostile memory.

use std::sync::Arc;

use anyhow::{Result, ensure};
use hayate::ValType::{F64, I32, I64};

use super::*;

/// The arguments of one `realloc` call.
type Call = (u32, u32, u32, u32);

/// A `Vec<u8>` memory whose `realloc` is a bump allocator that moves (and
/// copies) on every call, recording the calls.
pub(crate) struct TestMemory {
    pub(crate) bytes: Vec<u8>,
    next: u32,
    pub(crate) calls: Vec<Call>,
    /// When set, `realloc` returns this pointer instead of allocating,
    /// after `honest` calls that allocate.
    forced: Option<u32>,
    honest: usize,
}

impl TestMemory {
    pub(crate) fn new(len: usize) -> Self {
        TestMemory {
            bytes: vec![0; len],
            next: 16,
            calls: Vec::new(),
            forced: None,
            honest: 0,
        }
    }
}

impl Memory for TestMemory {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        self.calls.push((old, old_size, align, new_size));
        if let Some(ptr) = self.forced.filter(|_| self.calls.len() > self.honest) {
            return Ok(ptr);
        }
        let ptr = self.next.next_multiple_of(align);
        let end = (ptr + new_size) as usize;
        ensure!(end <= self.bytes.len(), "test memory exhausted");
        let keep = old_size.min(new_size) as usize;
        self.bytes
            .copy_within(old as usize..old as usize + keep, ptr as usize);
        self.next = end as u32;
        Ok(ptr)
    }
}

const UTF8: StringEncoding = StringEncoding::Utf8;

fn record(fields: &[(&str, Type)]) -> Type {
    Type::Record(
        fields
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect(),
    )
}

fn tuple(types: &[Type]) -> Type {
    Type::Tuple(types.to_vec().into())
}

fn variant(cases: &[Option<Type>]) -> Type {
    Type::Variant(Arc::new(crate::types::VariantCases::new(
        cases
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("c{i}"), t.clone()))
            .collect(),
    )))
}

fn names(n: usize, prefix: &str) -> Arc<[String]> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

pub(crate) fn list(t: Type) -> Type {
    Type::List(Arc::new(t))
}

pub(crate) fn option(t: Type) -> Type {
    Type::Option(Arc::new(t))
}

pub(crate) fn result(ok: Option<Type>, err: Option<Type>) -> Type {
    Type::Result {
        ok: ok.map(Arc::new),
        err: err.map(Arc::new),
    }
}

fn flat(ty: &Type) -> Vec<ValType> {
    let mut out = Vec::new();
    flatten(ty, &mut out);
    out
}

fn string(s: &str) -> Val {
    Val::String(s.to_string())
}

fn some(v: Val) -> Option<Box<Val>> {
    Some(Box::new(v))
}

/// Stores `val` at a fresh 8-aligned location and loads it back.
fn store_load(enc: StringEncoding, ty: &Type, val: &Val) -> Result<Val> {
    let mut mem = TestMemory::new(1 << 16);
    let ptr = mem.realloc(0, 0, 8, size(ty))?;
    store(&mut mem, enc, ty, val, ptr)?;
    load(&mut mem, enc, ty, ptr)
}

/// Lowers `val` to flat values, checks their types, and lifts them back.
fn lower_lift(enc: StringEncoding, ty: &Type, val: &Val) -> Result<Val> {
    let mut mem = TestMemory::new(1 << 16);
    let mut out = Vec::new();
    lower_flat(&mut mem, enc, ty, val, &mut out)?;
    assert_eq!(
        out.iter().map(hayate::Val::ty).collect::<Vec<_>>(),
        flat(ty)
    );
    let mut values = out.into_iter();
    let lifted = lift_flat(&mut mem, enc, ty, &mut values)?;
    assert!(values.next().is_none(), "lift_flat left values unconsumed");
    Ok(lifted)
}

fn assert_round_trips(enc: StringEncoding, ty: &Type, val: &Val) {
    val.type_check(ty).unwrap();
    assert_eq!(
        &store_load(enc, ty, val).unwrap(),
        val,
        "store/load of {ty:?}"
    );
    assert_eq!(
        &lower_lift(enc, ty, val).unwrap(),
        val,
        "lower/lift of {ty:?}"
    );
}

/// Loads `ty` from a memory holding `bytes` at offset 0 (+ `ptr`).
fn load_bytes(ty: &Type, bytes: &[u8], ptr: u32) -> Result<Val> {
    let mut mem = TestMemory::new(64);
    mem.bytes[..bytes.len()].copy_from_slice(bytes);
    load(&mut mem, UTF8, ty, ptr)
}

/// Lifts `ty` from the flat values `values` over a memory holding `bytes`.
fn lift(enc: StringEncoding, ty: &Type, bytes: &[u8], values: &[hayate::Val]) -> Result<Val> {
    let mut mem = TestMemory::new(bytes.len().max(64));
    mem.bytes[..bytes.len()].copy_from_slice(bytes);
    lift_flat(&mut mem, enc, ty, &mut values.iter().copied())
}

fn i32s(values: &[i32]) -> Vec<hayate::Val> {
    values.iter().map(|&v| hayate::Val::I32(v)).collect()
}

fn assert_err<T: std::fmt::Debug>(r: Result<T>, needle: &str) {
    let e = format!("{:#}", r.expect_err("expected an error"));
    assert!(
        e.contains(needle),
        "error `{e}` does not mention `{needle}`"
    );
}

#[test]
fn sizes_and_alignments() {
    let cases = [
        (Type::Bool, 1, 1),
        (Type::S16, 2, 2),
        (Type::Char, 4, 4),
        (Type::Float64, 8, 8),
        (Type::String, 8, 4),
        (list(Type::U64), 8, 4),
        (record(&[("a", Type::U8), ("b", Type::U32)]), 8, 4),
        (tuple(&[Type::U8, Type::U16, Type::U8]), 6, 2),
        (tuple(&[]), 0, 1),
        (Type::Enum(names(3, "e")), 1, 1),
        (variant(&vec![None; 256]), 1, 1),
        (variant(&vec![None; 257]), 2, 2),
        (variant(&vec![None; 65537]), 4, 4),
        (variant(&[Some(Type::U8), None, Some(Type::U16)]), 4, 2),
        (option(Type::Float64), 16, 8),
        (result(Some(Type::U8), Some(Type::Float32)), 8, 4),
        (result(None, None), 1, 1),
        (Type::Flags(names(0, "f")), 0, 1),
        (Type::Flags(names(8, "f")), 1, 1),
        (Type::Flags(names(9, "f")), 2, 2),
        (Type::Flags(names(17, "f")), 4, 4),
        (Type::Flags(names(33, "f")), 8, 4),
        (Type::Flags(names(64, "f")), 8, 4),
        (tuple(&[Type::U8, option(Type::U64), Type::U8]), 32, 8),
    ];
    for (ty, s, a) in cases {
        assert_eq!((size(&ty), align(&ty)), (s, a), "{ty:?}");
    }
}

#[test]
fn flattening() {
    assert_eq!(flat(&Type::String), [I32, I32]);
    assert_eq!(
        flat(&record(&[("a", Type::U8), ("b", Type::Float64)])),
        [I32, F64]
    );
    assert_eq!(
        flat(&result(Some(Type::U8), Some(Type::Float32))),
        [I32, I32]
    );
    assert_eq!(flat(&option(Type::Float64)), [I32, F64]);
    assert_eq!(
        flat(&variant(&[
            Some(Type::S32),
            Some(Type::Float32),
            Some(Type::S64)
        ])),
        [I32, I64]
    );
    assert_eq!(
        flat(&variant(&[Some(Type::Float32), Some(Type::Float64)])),
        [I32, I64]
    );
    assert_eq!(
        flat(&variant(&[
            Some(tuple(&[Type::Float32, Type::U8])),
            Some(Type::String),
            None
        ])),
        [I32, I32, I32]
    );
    assert_eq!(flat(&Type::Enum(names(4, "e"))), [I32]);
    assert_eq!(flat(&Type::Flags(names(0, "f"))), []);
    assert_eq!(flat(&Type::Flags(names(32, "f"))), [I32]);
    assert_eq!(flat(&Type::Flags(names(33, "f"))), [I32, I32]);
}

#[test]
fn function_flattening() {
    let u8s = |n| vec![Type::U8; n];
    assert_eq!(flatten_func(&u8s(16), None, false), (vec![I32; 16], vec![]));
    assert_eq!(flatten_func(&u8s(17), None, false), (vec![I32], vec![]));
    assert_eq!(
        flatten_func(&u8s(17), Some(&Type::U64), true),
        (vec![I32], vec![I64])
    );
    let pair = record(&[("a", Type::U32), ("b", Type::U32)]);
    assert_eq!(
        flatten_func(&u8s(2), Some(&pair), false),
        (vec![I32, I32], vec![I32])
    );
    assert_eq!(
        flatten_func(&u8s(2), Some(&pair), true),
        (vec![I32, I32, I32], vec![])
    );
    assert_eq!(
        flatten_func(&u8s(17), Some(&Type::String), true),
        (vec![I32, I32], vec![])
    );
}

#[test]
fn scalars_round_trip() {
    let cases = [
        (Type::Bool, Val::Bool(true)),
        (Type::S8, Val::S8(-5)),
        (Type::U8, Val::U8(250)),
        (Type::S16, Val::S16(-30000)),
        (Type::U16, Val::U16(65000)),
        (Type::S32, Val::S32(i32::MIN)),
        (Type::U32, Val::U32(u32::MAX)),
        (Type::S64, Val::S64(-1)),
        (Type::U64, Val::U64(u64::MAX)),
        (Type::Float32, Val::Float32(-1.5)),
        (Type::Float64, Val::Float64(f64::INFINITY)),
        (Type::Char, Val::Char('😀')),
        (Type::Char, Val::Char('\u{10FFFF}')),
    ];
    for (ty, val) in &cases {
        assert_round_trips(UTF8, ty, val);
    }
}

#[test]
fn nan_is_canonicalized() {
    let nan = f32::from_bits(0xffc0_1234);
    let mut out = Vec::new();
    let mut mem = TestMemory::new(64);
    lower_flat(&mut mem, UTF8, &Type::Float32, &Val::Float32(nan), &mut out).unwrap();
    assert!(matches!(out[..], [hayate::Val::F32(0x7fc0_0000)]));
    let v = lift(
        UTF8,
        &Type::Float64,
        &[],
        &[hayate::Val::F64(0xfff0_0000_0000_0001)],
    )
    .unwrap();
    assert!(matches!(v, Val::Float64(f) if f.to_bits() == 0x7ff8_0000_0000_0000));
    let v = load_bytes(&Type::Float32, &0x7f80_0001u32.to_le_bytes(), 0).unwrap();
    assert!(matches!(v, Val::Float32(f) if f.to_bits() == 0x7fc0_0000));
}

#[test]
fn compound_values_round_trip() {
    let person = record(&[
        ("name", Type::String),
        ("tags", list(Type::String)),
        ("age", Type::U8),
    ]);
    let people = list(person.clone());
    let people_val = Val::List(vec![
        Val::Record(vec![
            ("name".into(), string("Ada")),
            ("tags".into(), Val::List(vec![string("math"), string("λ")])),
            ("age".into(), Val::U8(36)),
        ]),
        Val::Record(vec![
            ("name".into(), string("")),
            ("tags".into(), Val::List(vec![])),
            ("age".into(), Val::U8(0)),
        ]),
    ]);
    let shape = Type::Variant(Arc::new(crate::types::VariantCases::new(vec![
        ("circle".to_string(), Some(Type::Float64)),
        ("dot".to_string(), None),
        ("label".to_string(), Some(Type::String)),
    ])));
    let flags33 = Type::Flags(names(33, "f"));
    let everything = tuple(&[
        people.clone(),
        shape.clone(),
        Type::Enum(names(3, "e")),
        option(option(Type::U16)),
        result(Some(list(Type::Char)), None),
        result(None, Some(Type::String)),
        flags33.clone(),
        Type::Flags(names(12, "g")),
        list(tuple(&[])),
        Type::Char,
    ]);
    let everything_val = Val::Tuple(vec![
        people_val.clone(),
        Val::Variant("label".into(), some(string("x"))),
        Val::Enum("e2".into()),
        Val::Option(some(Val::Option(None))),
        Val::Result(Ok(some(Val::List(vec![Val::Char('a'), Val::Char('日')])))),
        Val::Result(Err(some(string("bad")))),
        Val::Flags(vec!["f0".into(), "f31".into(), "f32".into()]),
        Val::Flags(vec!["g11".into()]),
        Val::List(vec![Val::Tuple(vec![]); 3]),
        Val::Char('ß'),
    ]);
    assert_round_trips(UTF8, &people, &people_val);
    assert_round_trips(UTF8, &everything, &everything_val);
    for v in [
        Val::Variant("circle".into(), some(Val::Float64(2.5))),
        Val::Variant("dot".into(), None),
    ] {
        assert_round_trips(UTF8, &shape, &v);
    }
    for enc in [StringEncoding::Utf16, StringEncoding::CompactUtf16] {
        assert_round_trips(enc, &everything, &everything_val);
    }
}

#[test]
fn flags_layout_in_memory() {
    let ty = Type::Flags(names(33, "f"));
    let mut mem = TestMemory::new(64);
    let val = Val::Flags(vec!["f1".into(), "f32".into()]);
    store(&mut mem, UTF8, &ty, &val, 8).unwrap();
    assert_eq!(mem.bytes[8..16], [2, 0, 0, 0, 1, 0, 0, 0]);
    let mut out = Vec::new();
    lower_flat(&mut mem, UTF8, &ty, &val, &mut out).unwrap();
    assert!(matches!(
        out[..],
        [hayate::Val::I32(2), hayate::Val::I32(1)]
    ));
    // Bits beyond the last flag are ignored.
    let v = load_bytes(&Type::Flags(names(3, "f")), &[0xff], 0).unwrap();
    assert_eq!(v, Val::Flags(vec!["f0".into(), "f1".into(), "f2".into()]));
}

#[test]
fn variant_payloads_are_joined() {
    let ty = variant(&[
        Some(Type::S32),
        Some(Type::Float32),
        Some(Type::S64),
        Some(Type::Float64),
        None,
    ]);
    let lowered = |val: Val| {
        let mut out = Vec::new();
        lower_flat(&mut TestMemory::new(64), UTF8, &ty, &val, &mut out).unwrap();
        out
    };
    let out = lowered(Val::Variant("c1".into(), some(Val::Float32(1.5))));
    assert!(matches!(
        out[..],
        [hayate::Val::I32(1), hayate::Val::I64(0x3fc0_0000)]
    ));
    let out = lowered(Val::Variant("c0".into(), some(Val::S32(-1))));
    assert!(matches!(
        out[..],
        [hayate::Val::I32(0), hayate::Val::I64(0xffff_ffff)]
    ));
    let out = lowered(Val::Variant("c4".into(), None));
    assert!(matches!(
        out[..],
        [hayate::Val::I32(4), hayate::Val::I64(0)]
    ));
    for (i, v) in [
        Val::S32(-7),
        Val::Float32(-0.25),
        Val::S64(i64::MIN),
        Val::Float64(1e300),
    ]
    .into_iter()
    .enumerate()
    {
        assert_round_trips(UTF8, &ty, &Val::Variant(format!("c{i}"), some(v)));
    }
    assert_round_trips(UTF8, &ty, &Val::Variant("c4".into(), None));
    let mixed = variant(&[Some(Type::Float32), Some(Type::U32)]);
    assert_round_trips(
        UTF8,
        &mixed,
        &Val::Variant("c0".into(), some(Val::Float32(3.0))),
    );
    // Lifting wraps an i64 to the case's i32.
    let v = lift(
        UTF8,
        &ty,
        &[],
        &[hayate::Val::I32(0), hayate::Val::I64(0x1_0000_0005)],
    )
    .unwrap();
    assert_eq!(v, Val::Variant("c0".into(), some(Val::S32(5))));
}

#[test]
fn strings_round_trip_in_every_encoding() {
    let texts = [
        "",
        "hello",
        "héllo wörld",
        "日本語",
        "a😀b",
        "ÿ\u{100}",
        "\u{0}",
    ];
    for enc in [UTF8, StringEncoding::Utf16, StringEncoding::CompactUtf16] {
        for s in texts {
            assert_round_trips(enc, &Type::String, &string(s));
        }
    }
}

/// Lowers `s` and returns its flat (pointer, length) and the realloc calls.
fn lower_string(enc: StringEncoding, s: &str) -> (u32, u32, Vec<Call>, TestMemory) {
    let mut mem = TestMemory::new(1024);
    let mut out = Vec::new();
    lower_flat(&mut mem, enc, &Type::String, &string(s), &mut out).unwrap();
    let [hayate::Val::I32(ptr), hayate::Val::I32(len)] = out[..] else {
        panic!("{out:?}")
    };
    let calls = std::mem::take(&mut mem.calls);
    (ptr as u32, len as u32, calls, mem)
}

#[test]
fn string_lowering_follows_the_spec() {
    let (ptr, len, calls, mem) = lower_string(UTF8, "héllo");
    assert_eq!((len, &calls[..]), (6, &[(0, 0, 1, 6)][..]));
    assert_eq!(&mem.bytes[ptr as usize..][..6], "héllo".as_bytes());

    // UTF-16: worst case (2 bytes per UTF-8 byte), then shrink.
    let (ptr, len, calls, mem) = lower_string(StringEncoding::Utf16, "日");
    assert_eq!(len, 1);
    assert_eq!((calls.len(), calls[0]), (2, (0, 0, 2, 6)));
    assert_eq!((calls[1].1, calls[1].2, calls[1].3), (6, 2, 2));
    assert_eq!(mem.bytes[ptr as usize..][..2], 0x65e5u16.to_le_bytes());

    // latin1+utf16 picks Latin-1 when every character fits, shrinking.
    let (ptr, len, calls, mem) = lower_string(StringEncoding::CompactUtf16, "héllo");
    assert_eq!(len, 5);
    assert_eq!((calls.len(), calls[0], calls[1].3), (2, (0, 0, 2, 6), 5));
    assert_eq!(&mem.bytes[ptr as usize..][..5], b"h\xe9llo");

    // ... and UTF-16 (tagged) otherwise, inflating what it wrote.
    let (ptr, len, calls, mem) = lower_string(StringEncoding::CompactUtf16, "aé日");
    assert_eq!(len, 3 | 1 << 31);
    assert_eq!(calls[0], (0, 0, 2, 6));
    assert_eq!((calls[1].1, calls[1].2, calls[1].3), (6, 2, 12));
    assert_eq!((calls[2].1, calls[2].2, calls[2].3), (12, 2, 6));
    let expected: Vec<u8> = "aé日".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(mem.bytes[ptr as usize..][..6], expected[..]);
}

#[test]
fn invalid_strings_are_errors() {
    assert_err(
        lift(UTF8, &Type::String, &[0xff, 0xfe], &i32s(&[0, 2])),
        "UTF-8",
    );
    let lone = 0xd800u16.to_le_bytes();
    assert_err(
        lift(StringEncoding::Utf16, &Type::String, &lone, &i32s(&[0, 1])),
        "surrogate",
    );
    let tagged = 1 | i32::MIN;
    assert_err(
        lift(
            StringEncoding::CompactUtf16,
            &Type::String,
            &lone,
            &i32s(&[0, tagged]),
        ),
        "surrogate",
    );
    assert_err(
        lift(StringEncoding::Utf16, &Type::String, &[], &i32s(&[1, 0])),
        "misaligned",
    );
    assert_err(
        lift(UTF8, &Type::String, &[], &i32s(&[60, 5])),
        "out of bounds",
    );
    assert_err(lift(UTF8, &Type::String, &[], &i32s(&[-1, -1])), "too long");
    assert_err(
        lift(
            StringEncoding::Utf16,
            &Type::String,
            &[],
            &i32s(&[0, 0x4000_0000]),
        ),
        "too long",
    );
    // Latin-1 decodes every byte.
    let v = lift(
        StringEncoding::CompactUtf16,
        &Type::String,
        &[0x41, 0xff],
        &i32s(&[0, 2]),
    )
    .unwrap();
    assert_eq!(v, string("Aÿ"));
}

#[test]
fn hostile_lists_are_errors() {
    let u64s = list(Type::U64);
    assert_err(lift(UTF8, &u64s, &[], &i32s(&[8, -1])), "too long");
    assert_err(
        lift(UTF8, &u64s, &[], &i32s(&[8, 0x0100_0000])),
        "out of bounds",
    );
    assert_err(lift(UTF8, &u64s, &[], &i32s(&[56, 2])), "out of bounds");
    assert_err(lift(UTF8, &u64s, &[], &i32s(&[4, 1])), "misaligned");
    assert_err(
        lift(UTF8, &list(Type::U8), &[], &i32s(&[-1, 2])),
        "out of bounds",
    );
    assert_err(
        lift(UTF8, &list(tuple(&[])), &[], &i32s(&[0, -1])),
        "zero-size",
    );
    assert_eq!(
        lift(UTF8, &list(tuple(&[])), &[], &i32s(&[0, 64])).unwrap(),
        Val::List(vec![Val::Tuple(vec![]); 64])
    );
    // A list whose (pointer, length) pair lies in memory.
    let mut bytes = 8u32.to_le_bytes().to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    assert_err(load_bytes(&u64s, &bytes, 0), "too long");
}

#[test]
fn invalid_scalars_and_discriminants_are_errors() {
    assert_err(lift(UTF8, &Type::Char, &[], &i32s(&[0xd800])), "char");
    assert_err(lift(UTF8, &Type::Char, &[], &i32s(&[0x11_0000])), "char");
    assert_err(load_bytes(&Type::Char, &0xdfffu32.to_le_bytes(), 0), "char");
    assert_eq!(
        lift(UTF8, &Type::Bool, &[], &i32s(&[2])).unwrap(),
        Val::Bool(true)
    );
    assert_eq!(
        load_bytes(&Type::Bool, &[0x80], 0).unwrap(),
        Val::Bool(true)
    );
    assert_eq!(
        lift(UTF8, &Type::U8, &[], &i32s(&[0x1ff])).unwrap(),
        Val::U8(0xff)
    );
    assert_eq!(
        lift(UTF8, &Type::S16, &[], &i32s(&[0xffff])).unwrap(),
        Val::S16(-1)
    );
    assert_err(
        lift(UTF8, &Type::Enum(names(3, "e")), &[], &i32s(&[3])),
        "discriminant",
    );
    assert_err(
        lift(UTF8, &option(Type::U8), &[], &i32s(&[2, 0])),
        "discriminant",
    );
    assert_err(load_bytes(&result(None, None), &[2], 0), "discriminant");
    assert_err(
        load_bytes(&variant(&vec![None; 300]), &[44, 1], 0),
        "discriminant",
    );
    assert_eq!(
        load_bytes(&variant(&vec![None; 300]), &[43, 1], 0).unwrap(),
        Val::Variant("c299".into(), None)
    );
}

#[test]
fn misaligned_and_out_of_bounds_pointers_are_errors() {
    assert_err(load_bytes(&Type::U32, &[], 2), "misaligned");
    assert_err(
        load_bytes(&record(&[("a", Type::U8), ("b", Type::U64)]), &[], 4),
        "misaligned",
    );
    assert_err(load_bytes(&Type::U64, &[], 64), "out of bounds");
    assert_err(load_bytes(&Type::U32, &[], u32::MAX - 3), "out of bounds");
    let mut mem = TestMemory::new(64);
    assert_err(
        store(&mut mem, UTF8, &Type::U16, &Val::U16(1), 1),
        "misaligned",
    );
    assert_err(
        store(&mut mem, UTF8, &Type::String, &string("x"), 60),
        "out of bounds",
    );
}

#[test]
fn bad_core_values_are_errors() {
    assert_err(lift(UTF8, &Type::U32, &[], &[]), "i32");
    assert_err(lift(UTF8, &Type::U32, &[], &[hayate::Val::I64(1)]), "i32");
    assert_err(lift(UTF8, &Type::Float32, &[], &i32s(&[1])), "F32");
    assert_err(
        lift(UTF8, &option(Type::Float64), &[], &i32s(&[1, 1])),
        "F64",
    );
}

#[test]
fn hostile_realloc_is_an_error() {
    let utf16 = |forced| {
        let mut mem = TestMemory::new(64);
        mem.forced = Some(forced);
        let enc = StringEncoding::Utf16;
        lower_flat(&mut mem, enc, &Type::String, &string("hi"), &mut Vec::new())
    };
    let u32s = |forced| {
        let mut mem = TestMemory::new(64);
        mem.forced = Some(forced);
        let val = Val::List(vec![Val::U32(1), Val::U32(2)]);
        lower_flat(&mut mem, UTF8, &list(Type::U32), &val, &mut Vec::new())
    };
    assert_err(utf16(1000), "out-of-bounds");
    assert_err(utf16(62), "out-of-bounds");
    assert_err(utf16(3), "misaligned");
    assert_err(u32s(u32::MAX - 3), "out-of-bounds");
    assert_err(u32s(60), "out-of-bounds");
    assert_err(u32s(2), "misaligned");
    // The growing and shrinking reallocs of a transcoding are checked too.
    for (honest, forced, needle) in [(1, 1001, "misaligned"), (2, 1000, "out-of-bounds")] {
        let mut mem = TestMemory::new(64);
        (mem.honest, mem.forced) = (honest, Some(forced));
        let enc = StringEncoding::CompactUtf16;
        assert_err(
            lower_flat(
                &mut mem,
                enc,
                &Type::String,
                &string("aé日"),
                &mut Vec::new(),
            ),
            needle,
        );
        assert_eq!(mem.calls.len(), honest + 1);
    }
}

#[test]
fn mismatched_values_are_errors() {
    let mut mem = TestMemory::new(64);
    let mut out = Vec::new();
    let cases = [
        (Type::U8, Val::S8(1)),
        (
            record(&[("a", Type::U8)]),
            Val::Record(vec![("b".into(), Val::U8(1))]),
        ),
        (tuple(&[Type::U8]), Val::Tuple(vec![])),
        (Type::Enum(names(2, "e")), Val::Enum("nope".into())),
        (option(Type::U8), Val::Option(some(Val::Bool(true)))),
        (result(None, None), Val::Result(Ok(some(Val::U8(1))))),
        (variant(&[Some(Type::U8)]), Val::Variant("c0".into(), None)),
        (Type::Flags(names(2, "f")), Val::Flags(vec!["zz".into()])),
        (list(Type::U8), Val::List(vec![Val::U16(1)])),
    ];
    for (ty, val) in &cases {
        assert!(
            lower_flat(&mut mem, UTF8, ty, val, &mut out).is_err(),
            "{ty:?} {val:?}"
        );
        assert!(store(&mut mem, UTF8, ty, val, 8).is_err(), "{ty:?} {val:?}");
    }
}
