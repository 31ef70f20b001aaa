//! Converting `.wast` arguments to [`Val`]s and checking results against
//! `assert_return` patterns, including NaN patterns and per-lane `v128`
//! patterns.

use hayate::{AnyRef, AsContext, AsContextMut, ExternRef, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};

/// Converts an `invoke` argument to a value. `ref.extern N` becomes a new
/// [`ExternRef`] holding the `u32` N.
pub fn arg_to_val(store: impl AsContextMut, arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component-model arguments are not supported".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Val::FuncRef(None),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Val::ExternRef(None),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Val::ExnRef(None),
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => Val::AnyRef(None),
            other => return Err(format!("unsupported argument type: ref.null {other:?}")),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(store, *n))),
        WastArgCore::RefHost(n) => {
            Val::AnyRef(Some(AnyRef::convert_extern(ExternRef::new(store, *n))))
        }
        other => return Err(format!("unsupported argument: {other:?}")),
    })
}

/// Checks `actual` against the expected pattern; on mismatch, says what was
/// expected.
pub fn check_result(
    store: impl AsContext,
    actual: &Val,
    expected: &WastRet<'_>,
) -> Result<(), String> {
    let WastRet::Core(expected) = expected else {
        return Err("component-model results are not supported".into());
    };
    if matches_ret(&store, actual, expected) {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {}",
            fmt_ret(expected),
            fmt_val(&store, actual)
        ))
    }
}

fn matches_ret(store: &impl AsContext, actual: &Val, expected: &WastRetCore<'_>) -> bool {
    match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
        (WastRetCore::V128(e), Val::V128(a)) => v128_matches(e, *a),
        (WastRetCore::RefNull(ty), Val::FuncRef(None)) => match ty {
            None => true,
            Some(HeapType::Abstract { ty, .. }) => {
                matches!(ty, AbstractHeapType::Func | AbstractHeapType::NoFunc)
            }
            Some(_) => false,
        },
        (WastRetCore::RefNull(ty), Val::ExternRef(None)) => match ty {
            None => true,
            Some(HeapType::Abstract { ty, .. }) => {
                matches!(ty, AbstractHeapType::Extern | AbstractHeapType::NoExtern)
            }
            Some(_) => false,
        },
        (WastRetCore::RefNull(ty), Val::ExnRef(None)) => match ty {
            None => true,
            Some(HeapType::Abstract { ty, .. }) => {
                matches!(ty, AbstractHeapType::Exn | AbstractHeapType::NoExn)
            }
            Some(_) => false,
        },
        (WastRetCore::RefNull(ty), Val::AnyRef(None)) => match ty {
            None | Some(HeapType::Concrete(_)) => true,
            Some(HeapType::Abstract { ty, .. }) => matches!(
                ty,
                AbstractHeapType::Any
                    | AbstractHeapType::Eq
                    | AbstractHeapType::I31
                    | AbstractHeapType::Struct
                    | AbstractHeapType::Array
                    | AbstractHeapType::None
            ),
            Some(_) => false,
        },
        (WastRetCore::RefAny, Val::AnyRef(Some(_))) => true,
        (WastRetCore::RefEq, Val::AnyRef(Some(a))) => {
            a.as_i31().is_some() || a.is_struct(store) || a.is_array(store)
        }
        (WastRetCore::RefI31, Val::AnyRef(Some(a))) => a.as_i31().is_some(),
        (WastRetCore::RefStruct, Val::AnyRef(Some(a))) => a.is_struct(store),
        (WastRetCore::RefArray, Val::AnyRef(Some(a))) => a.is_array(store),
        (WastRetCore::RefHost(n), Val::AnyRef(Some(a))) => {
            extern_u32(store, &a.convert_to_extern()) == Some(*n)
        }
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(r))) => {
            extern_u32(store, r) == Some(*n)
        }
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(cases), _) => cases.iter().any(|c| matches_ret(store, actual, c)),
        _ => false,
    }
}

/// The `u32` an externref made by `ref.extern N` holds.
fn extern_u32(store: &impl AsContext, r: &ExternRef) -> Option<u32> {
    r.data(store).ok()?.downcast_ref::<u32>().copied()
}

/// Canonical NaN: only the quiet bit set in the payload, either sign.
const F32_CANONICAL: u32 = 0x7fc0_0000;
const F64_CANONICAL: u64 = 0x7ff8_0000_0000_0000;

/// Whether the f32 with `bits` matches the pattern. `nan:canonical` needs
/// exactly the canonical NaN (either sign); `nan:arithmetic` any NaN with the
/// quiet bit set; a literal needs identical bits (so NaN payloads count).
pub fn f32_matches(expected: &NanPattern<F32>, bits: u32) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == F32_CANONICAL,
        NanPattern::ArithmeticNan => bits & F32_CANONICAL == F32_CANONICAL,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// The f64 counterpart of [`f32_matches`].
pub fn f64_matches(expected: &NanPattern<F64>, bits: u64) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == F64_CANONICAL,
        NanPattern::ArithmeticNan => bits & F64_CANONICAL == F64_CANONICAL,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Whether the v128 `actual` matches the pattern, lane by lane in the
/// pattern's lane shape.
pub fn v128_matches(expected: &V128Pattern, actual: u128) -> bool {
    let b = actual.to_le_bytes();
    let lane = |i: usize, n: usize| &b[i * n..(i + 1) * n];
    match expected {
        V128Pattern::I8x16(e) => e.iter().enumerate().all(|(i, v)| b[i] == *v as u8),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| i16::from_le_bytes(lane(i, 2).try_into().unwrap_or_default()) == *v),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| i32::from_le_bytes(lane(i, 4).try_into().unwrap_or_default()) == *v),
        V128Pattern::I64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| i64::from_le_bytes(lane(i, 8).try_into().unwrap_or_default()) == *v),
        V128Pattern::F32x4(e) => e.iter().enumerate().all(|(i, v)| {
            f32_matches(
                v,
                u32::from_le_bytes(lane(i, 4).try_into().unwrap_or_default()),
            )
        }),
        V128Pattern::F64x2(e) => e.iter().enumerate().all(|(i, v)| {
            f64_matches(
                v,
                u64::from_le_bytes(lane(i, 8).try_into().unwrap_or_default()),
            )
        }),
    }
}

/// Formats a value as `type:value` for failure messages.
pub fn fmt_val(store: &impl AsContext, val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32:{v}"),
        Val::I64(v) => format!("i64:{v}"),
        Val::F32(bits) => format!("f32:{} ({bits:#010x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64:{} ({bits:#018x})", f64::from_bits(*bits)),
        Val::V128(v) => format!("v128:{v:#034x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(r)) => match extern_u32(store, r) {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern (host value)".into(),
        },
        Val::ExnRef(None) => "ref.null exn".into(),
        Val::ExnRef(Some(_)) => "ref.exn".into(),
        Val::AnyRef(None) => "ref.null any".into(),
        Val::AnyRef(Some(a)) => match a.as_i31() {
            Some(v) => format!("ref.i31 {v}"),
            None if a.is_struct(store) => "ref.struct".into(),
            None if a.is_array(store) => "ref.array".into(),
            None => "ref.host".into(),
        },
    }
}

fn fmt_nan_f32(p: &NanPattern<F32>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#010x})", f32::from_bits(v.bits), v.bits),
    }
}

fn fmt_nan_f64(p: &NanPattern<F64>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#018x})", f64::from_bits(v.bits), v.bits),
    }
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(" ")
}

/// Formats an expected result pattern for failure messages.
pub fn fmt_ret(ret: &WastRetCore<'_>) -> String {
    match ret {
        WastRetCore::I32(v) => format!("i32:{v}"),
        WastRetCore::I64(v) => format!("i64:{v}"),
        WastRetCore::F32(p) => format!("f32:{}", fmt_nan_f32(p)),
        WastRetCore::F64(p) => format!("f64:{}", fmt_nan_f64(p)),
        WastRetCore::V128(p) => match p {
            V128Pattern::I8x16(l) => format!("v128:i8x16 {}", join(l, |v| v.to_string())),
            V128Pattern::I16x8(l) => format!("v128:i16x8 {}", join(l, |v| v.to_string())),
            V128Pattern::I32x4(l) => format!("v128:i32x4 {}", join(l, |v| v.to_string())),
            V128Pattern::I64x2(l) => format!("v128:i64x2 {}", join(l, |v| v.to_string())),
            V128Pattern::F32x4(l) => format!("v128:f32x4 {}", join(l, fmt_nan_f32)),
            V128Pattern::F64x2(l) => format!("v128:f64x2 {}", join(l, fmt_nan_f64)),
        },
        WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. })) => format!("ref.null {ty:?}"),
        WastRetCore::RefNull(_) => "ref.null".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".into(),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::Either(cases) => format!("either({})", join(cases, fmt_ret)),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canon = NanPattern::<F32>::CanonicalNan;
        let arith = NanPattern::<F32>::ArithmeticNan;
        assert!(f32_matches(&canon, 0x7fc0_0000));
        assert!(f32_matches(&canon, 0xffc0_0000));
        assert!(!f32_matches(&canon, 0x7fc0_0001));
        assert!(f32_matches(&arith, 0x7fc0_0001));
        assert!(!f32_matches(&arith, 0x7f80_0001)); // signalling NaN
        assert!(!f32_matches(&arith, 0x3f80_0000)); // 1.0
        assert!(f64_matches(
            &NanPattern::CanonicalNan,
            0xfff8_0000_0000_0000
        ));
        assert!(!f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff0_0000_0000_0001
        ));
        assert!(f32_matches(
            &NanPattern::Value(F32 { bits: 0x7fa0_0000 }),
            0x7fa0_0000
        ));
    }

    #[test]
    fn v128_lanes() {
        let v = u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert!(v128_matches(&V128Pattern::I32x4([1, 2, -1, 0]), v));
        assert!(!v128_matches(&V128Pattern::I32x4([1, 2, 3, 0]), v));
        assert!(v128_matches(
            &V128Pattern::I16x8([1, 0, 2, 0, -1, -1, 0, 0]),
            v
        ));
        let nan = u128::from(0x7fc0_0000u32) | (u128::from(0x3f80_0000u32) << 32);
        let pat = V128Pattern::F32x4([
            NanPattern::CanonicalNan,
            NanPattern::Value(F32 { bits: 0x3f80_0000 }),
            NanPattern::Value(F32 { bits: 0 }),
            NanPattern::Value(F32 { bits: 0 }),
        ]);
        assert!(v128_matches(&pat, nan));
    }
}
