//! Typed lowering and lifting checked against the dynamic path: every
//! value of a Rust type (built in or derived) must store the same bytes,
//! make the same `realloc` calls and lower to the same flat values as its
//! `Val`, and come back equal from memory and from flat values; hostile
//! memory gives the same errors, never a panic.

use std::sync::Arc;

use anyhow::Result;

use super::{AbiContext, ComponentList, ComponentParams, ComponentType};
use crate::abi::tests::{TestMemory, list, option, result};
use crate::abi::{self, Memory as _, StringEncoding};
use crate::types::{Type, VariantCases};
use crate::values::Val;

#[derive(crate::ComponentType, Debug, Clone, PartialEq)]
struct Point {
    x: f64,
    y_axis: f32,
    label: String,
}

#[derive(crate::ComponentType, Debug, Clone, PartialEq)]
enum Shape {
    Dot,
    Circle(f32),
    Count(u64),
    #[component(name = "named")]
    Tagged(String),
    Many(Vec<Point>),
}

#[derive(crate::ComponentType, Debug, Clone, Copy, PartialEq)]
enum Colour {
    Red,
    DeepBlue,
}

fn point_type() -> Type {
    Type::Record(
        vec![
            ("x".to_string(), Type::Float64),
            ("y-axis".to_string(), Type::Float32),
            ("label".to_string(), Type::String),
        ]
        .into(),
    )
}

fn shape_type() -> Type {
    Type::Variant(Arc::new(VariantCases::new(vec![
        ("dot".to_string(), None),
        ("circle".to_string(), Some(Type::Float32)),
        ("count".to_string(), Some(Type::U64)),
        ("named".to_string(), Some(Type::String)),
        ("many".to_string(), Some(list(point_type()))),
    ])))
}

fn colour_type() -> Type {
    Type::Enum(vec!["red".to_string(), "deep-blue".to_string()].into())
}

fn point(x: f64, label: &str) -> Point {
    Point {
        x,
        y_axis: -1.5,
        label: label.to_string(),
    }
}

const ENCODINGS: [StringEncoding; 3] = [
    StringEncoding::Utf8,
    StringEncoding::Utf16,
    StringEncoding::CompactUtf16,
];

/// Checks `value` of WIT type `ty` both ways, in every string encoding.
fn check<T: ComponentType + Clone + PartialEq + std::fmt::Debug>(ty: &Type, value: T) {
    T::typecheck(ty).unwrap();
    for enc in ENCODINGS {
        check_memory(enc, ty, value.clone());
        check_flat(enc, ty, value.clone());
    }
}

fn check_memory<T: ComponentType + Clone + PartialEq + std::fmt::Debug>(
    enc: StringEncoding,
    ty: &Type,
    value: T,
) {
    let val = value.clone().into_val();
    let (mut typed, mut dynamic) = (TestMemory::new(1 << 16), TestMemory::new(1 << 16));
    let ptr = typed.realloc(0, 0, 8, abi::size(ty)).unwrap();
    assert_eq!(dynamic.realloc(0, 0, 8, abi::size(ty)).unwrap(), ptr);
    value
        .clone()
        .store(&mut AbiContext::new(&mut typed, enc), ty, ptr)
        .unwrap();
    abi::store(&mut dynamic, enc, ty, &val, ptr).unwrap();
    assert!(
        typed.bytes == dynamic.bytes,
        "{ty:?}: the stored bytes differ"
    );
    assert_eq!(
        typed.calls, dynamic.calls,
        "{ty:?}: the realloc calls differ"
    );
    let loaded = T::load(&mut AbiContext::new(&mut typed, enc), ty, ptr).unwrap();
    assert_eq!(loaded, value);
    assert_eq!(abi::load(&mut typed, enc, ty, ptr).unwrap(), val);
}

fn check_flat<T: ComponentType + Clone + PartialEq + std::fmt::Debug>(
    enc: StringEncoding,
    ty: &Type,
    value: T,
) {
    let val = value.clone().into_val();
    let (mut typed, mut dynamic) = (TestMemory::new(1 << 16), TestMemory::new(1 << 16));
    let (mut typed_flat, mut dynamic_flat) = (Vec::new(), Vec::new());
    value
        .clone()
        .lower_flat(&mut AbiContext::new(&mut typed, enc), ty, &mut typed_flat)
        .unwrap();
    abi::lower_flat(&mut dynamic, enc, ty, &val, &mut dynamic_flat).unwrap();
    assert_eq!(
        format!("{typed_flat:?}"),
        format!("{dynamic_flat:?}"),
        "{ty:?}: the flat values differ"
    );
    assert!(
        typed.bytes == dynamic.bytes,
        "{ty:?}: the stored bytes differ"
    );
    let mut flat = typed_flat.into_iter();
    let lifted = T::lift_flat(&mut AbiContext::new(&mut typed, enc), ty, &mut flat).unwrap();
    assert!(flat.next().is_none(), "{ty:?}: values left unconsumed");
    assert_eq!(lifted, value);
}

#[test]
fn scalars_and_strings_match_the_dynamic_path() {
    check(&Type::Bool, true);
    check(&Type::S8, -3i8);
    check(&Type::U8, 250u8);
    check(&Type::S16, -300i16);
    check(&Type::U16, 65000u16);
    check(&Type::S32, i32::MIN);
    check(&Type::U32, u32::MAX);
    check(&Type::S64, i64::MIN);
    check(&Type::U64, u64::MAX);
    check(&Type::Float32, 1.25f32);
    check(&Type::Float64, -0.0f64);
    check(&Type::Char, '東');
    check(&Type::String, String::new());
    check(&Type::String, "ascii".to_string());
    check(&Type::String, "latin1 é then 風".to_string());
}

#[test]
fn compound_values_match_the_dynamic_path() {
    check(&list(Type::U32), (0..100u32).collect::<Vec<_>>());
    check(&list(Type::Bool), vec![true, false, true]);
    check(&list(Type::Float64), vec![1.0f64, f64::MAX]);
    check(&list(Type::Char), vec!['a', '€']);
    check(&list(list(Type::U8)), vec![vec![1u8, 2], vec![], vec![3]]);
    check(&list(Type::String), vec!["a".to_string(), "bc".to_string()]);
    check(&option(Type::String), Some("x".to_string()));
    check(&option(Type::String), None::<String>);
    check(&option(option(Type::U8)), Some(None::<u8>));
    check(
        &result(Some(Type::U32), Some(Type::String)),
        Ok::<u32, String>(7),
    );
    check(
        &result(Some(Type::U32), Some(Type::String)),
        Err::<u32, String>("no".into()),
    );
    check(&result(None, Some(Type::Float32)), Err::<(), f32>(2.5));
    check(&result(None, None), Ok::<(), ()>(()));
    check(
        &result(Some(Type::Float32), Some(Type::U64)),
        Ok::<f32, u64>(3.5),
    );
    check(
        &result(Some(Type::Float32), Some(Type::U64)),
        Err::<f32, u64>(u64::MAX),
    );
}

#[test]
fn derived_records_variants_and_enums_match_the_dynamic_path() {
    check(&point_type(), point(3.0, "p"));
    check(&list(point_type()), vec![point(1.0, "a"), point(2.0, "")]);
    check(&shape_type(), Shape::Dot);
    check(&shape_type(), Shape::Circle(f32::INFINITY));
    check(&shape_type(), Shape::Count(1 << 40));
    check(&shape_type(), Shape::Tagged("風".to_string()));
    check(&shape_type(), Shape::Many(vec![point(1.0, "m")]));
    check(&list(shape_type()), vec![Shape::Dot, Shape::Count(2)]);
    check(&colour_type(), Colour::DeepBlue);
    check(&list(colour_type()), vec![Colour::Red, Colour::DeepBlue]);
    check(&option(point_type()), Some(point(0.5, "o")));
}

#[test]
fn derived_types_are_checked_by_name() {
    let renamed = Type::Record(
        vec![
            ("x".to_string(), Type::Float64),
            ("y".to_string(), Type::Float32),
            ("label".to_string(), Type::String),
        ]
        .into(),
    );
    let err = format!("{:#}", Point::typecheck(&renamed).unwrap_err());
    assert!(err.contains("`y-axis`"), "{err}");
    let retyped = Type::Record(
        vec![
            ("x".to_string(), Type::Float64),
            ("y-axis".to_string(), Type::Float64),
            ("label".to_string(), Type::String),
        ]
        .into(),
    );
    assert!(Point::typecheck(&retyped).is_err());
    assert!(Shape::typecheck(&colour_type()).is_err());
    assert!(Colour::typecheck(&shape_type()).is_err());
    let short = Type::Enum(vec!["red".to_string()].into());
    assert!(Colour::typecheck(&short).is_err());
    assert!(Point::typecheck(&Type::String).is_err());
}

/// Loads `T` (of type `ty`) from a memory holding `bytes` at 0.
fn load<T: ComponentType>(ty: &Type, bytes: &[u8], ptr: u32) -> Result<T> {
    let mut mem = TestMemory::new(64);
    mem.bytes[..bytes.len()].copy_from_slice(bytes);
    T::load(
        &mut AbiContext::new(&mut mem, StringEncoding::Utf8),
        ty,
        ptr,
    )
}

fn lift<T: ComponentType>(ty: &Type, values: &[i32]) -> Result<T> {
    let mut mem = TestMemory::new(64);
    let mut flat = values.iter().map(|&v| hayate::Val::I32(v));
    T::lift_flat(
        &mut AbiContext::new(&mut mem, StringEncoding::Utf8),
        ty,
        &mut flat,
    )
}

#[test]
fn hostile_memory_is_an_error() {
    // Discriminants out of range.
    assert!(load::<Colour>(&colour_type(), &[2], 0).is_err());
    assert!(load::<Shape>(&shape_type(), &[9], 0).is_err());
    assert!(load::<Option<u8>>(&option(Type::U8), &[2], 0).is_err());
    assert!(lift::<Shape>(&shape_type(), &[5, 0, 0]).is_err());
    // A bad `char`, lists and strings out of bounds or too long, a
    // misaligned list, bad UTF-8.
    assert!(load::<char>(&Type::Char, &0xd800u32.to_le_bytes(), 0).is_err());
    assert!(lift::<Vec<u32>>(&list(Type::U32), &[60, 2]).is_err());
    assert!(lift::<Vec<u32>>(&list(Type::U32), &[0, -1]).is_err());
    assert!(lift::<Vec<u32>>(&list(Type::U32), &[2, 1]).is_err());
    assert!(lift::<Vec<()>>(&list(Type::Tuple(Vec::new().into())), &[0, 1 << 20]).is_err());
    assert!(lift::<String>(&Type::String, &[-1, 2]).is_err());
    assert!(load::<String>(&Type::String, &[8, 0, 0, 0, 1, 0, 0, 0, 0xff], 0).is_err());
    // Reads past the end of memory.
    assert!(load::<u64>(&Type::U64, &[], 60).is_err());
    assert!(load::<Point>(&point_type(), &[], 56).is_err());
    // Core values of the wrong type, or too few.
    assert!(lift::<u64>(&Type::U64, &[1]).is_err());
    assert!(lift::<String>(&Type::String, &[0]).is_err());
}

#[test]
fn tuples_lay_out_like_the_dynamic_path() {
    let types = [Type::U8, Type::String, Type::U64, point_type()];
    let tuple = Type::Tuple(types.to_vec().into());
    let value = (9u8, "t".to_string(), 5u64, point(2.0, "q"));
    let (mut typed, mut dynamic) = (TestMemory::new(1 << 12), TestMemory::new(1 << 12));
    let ptr = typed.realloc(0, 0, 8, abi::size(&tuple)).unwrap();
    dynamic.realloc(0, 0, 8, abi::size(&tuple)).unwrap();
    let enc = StringEncoding::Utf8;
    let val = Val::Tuple(value.clone().into_vals());
    value
        .clone()
        .store_params(&mut AbiContext::new(&mut typed, enc), &types, ptr)
        .unwrap();
    abi::store(&mut dynamic, enc, &tuple, &val, ptr).unwrap();
    assert!(typed.bytes == dynamic.bytes);
    let back =
        <(u8, String, u64, Point)>::load_fields(&mut AbiContext::new(&mut typed, enc), &types, ptr)
            .unwrap();
    assert_eq!(back, value);
}
