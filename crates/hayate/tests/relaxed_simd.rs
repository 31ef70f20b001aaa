//! Relaxed SIMD gives one documented result for every operator (the 3.0
//! specification's deterministic one), whichever the proposal allows:
//! these are the inputs where the allowed results differ.

use hayate::{Engine, Instance, Module, Store};

fn run(body: &str) -> [u8; 16] {
    let engine = Engine::default();
    let wat = format!(
        r#"(module (memory (export "m") 1)
            (func (export "run") (v128.store (i32.const 0) {body})))"#
    );
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    i.get_typed_func::<(), ()>(&mut store, "run")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    let m = i.get_memory(&mut store, "m").unwrap();
    m.data(&store)[..16].try_into().unwrap()
}

fn f32s(bytes: [u8; 16]) -> [f32; 4] {
    std::array::from_fn(|i| f32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap()))
}

fn i32s(bytes: [u8; 16]) -> [i32; 4] {
    std::array::from_fn(|i| i32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap()))
}

fn i16s(bytes: [u8; 16]) -> [i16; 8] {
    std::array::from_fn(|i| i16::from_le_bytes(bytes[i * 2..i * 2 + 2].try_into().unwrap()))
}

#[test]
fn swizzle_with_indices_past_15_selects_zero() {
    let out = run(
        "(i8x16.relaxed_swizzle (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
           (v128.const i8x16 0 15 16 127 128 255 1 0 0 0 0 0 0 0 0 0))",
    );
    assert_eq!(&out[..7], &[1, 16, 0, 0, 0, 0, 2]);
}

#[test]
fn truncation_saturates_and_nan_is_zero() {
    let out = run("(i32x4.relaxed_trunc_f32x4_s (v128.const f32x4 nan 3e9 -3e9 -1.5))");
    assert_eq!(i32s(out), [0, i32::MAX, i32::MIN, -1]);
    let out = run("(i32x4.relaxed_trunc_f32x4_u (v128.const f32x4 nan 5e9 -1 7.9))");
    assert_eq!(i32s(out), [0, -1, 0, 7]);
}

#[test]
fn madd_rounds_after_the_multiplication_and_the_addition() {
    // (1 + 2^-23)^2 - (1 + 2^-22): exactly 2^-46 fused, 0 rounded twice.
    let out = run("(f32x4.relaxed_madd (v128.const f32x4 0x1.000002p0 0 0 0)
           (v128.const f32x4 0x1.000002p0 0 0 0) (v128.const f32x4 -0x1.000004p0 0 0 0))");
    assert_eq!(f32s(out)[0], 0.0);
    let out = run("(f32x4.relaxed_nmadd (v128.const f32x4 0x1.000002p0 0 0 0)
           (v128.const f32x4 0x1.000002p0 0 0 0) (v128.const f32x4 0x1.000004p0 0 0 0))");
    assert_eq!(f32s(out)[0], 0.0);
}

#[test]
fn laneselect_chooses_bit_by_bit() {
    let out = run(
        "(i32x4.relaxed_laneselect (v128.const i32x4 -1 -1 -1 -1) (v128.const i32x4 0 0 0 0)
           (v128.const i32x4 0x0000ffff 0xf0f0f0f0 0 -1))",
    );
    assert_eq!(i32s(out), [0xffff, 0xf0f0f0f0u32 as i32, 0, -1]);
}

#[test]
fn min_and_max_propagate_nan_and_order_zeros() {
    let out =
        run("(f32x4.relaxed_min (v128.const f32x4 nan 0 -0 1) (v128.const f32x4 1 -0 0 nan))");
    let [a, b, c, d] = f32s(out);
    assert!(a.is_nan() && d.is_nan());
    assert!(b == 0.0 && b.is_sign_negative() && c.is_sign_negative());
    let out = run("(f32x4.relaxed_max (v128.const f32x4 nan 0 -0 1) (v128.const f32x4 1 -0 0 2))");
    let [a, b, c, d] = f32s(out);
    assert!(a.is_nan() && b.is_sign_positive() && c.is_sign_positive() && d == 2.0);
}

#[test]
fn q15mulr_saturates() {
    let out = run(
        "(i16x8.relaxed_q15mulr_s (v128.const i16x8 -32768 16384 0 0 0 0 0 0)
           (v128.const i16x8 -32768 16384 0 0 0 0 0 0))",
    );
    assert_eq!(&i16s(out)[..2], &[i16::MAX, 8192]);
}

#[test]
fn dot_products_take_both_operands_as_signed() {
    let out = run("(i16x8.relaxed_dot_i8x16_i7x16_s
           (v128.const i8x16 -128 -128 3 4 0 0 0 0 0 0 0 0 0 0 0 0)
           (v128.const i8x16 -128 -128 -1 -2 0 0 0 0 0 0 0 0 0 0 0 0))");
    // 16384 + 16384 wraps in 16 bits; 3 * -1 + 4 * -2.
    assert_eq!(&i16s(out)[..2], &[i16::MIN, -11]);
    let out = run("(i32x4.relaxed_dot_i8x16_i7x16_add_s
           (v128.const i8x16 1 2 3 4 -1 -1 -1 -1 0 0 0 0 0 0 0 0)
           (v128.const i8x16 1 1 1 -1 -2 -2 -2 -2 0 0 0 0 0 0 0 0)
           (v128.const i32x4 100 100 0 0))");
    assert_eq!(&i32s(out)[..2], &[100 + 1 + 2 + 3 - 4, 100 + 8]);
}
