//! Relaxed SIMD (WebAssembly 3.0): each relaxed operator gets the one
//! result Hayate always gives, on every host, so a module's output never
//! depends on the machine it runs on. These are the deterministic results
//! of the 3.0 specification's relaxed operators, where it lists several:
//!
//! * `i8x16.relaxed_swizzle`: as `i8x16.swizzle` (an index of 16 or more
//!   selects 0).
//! * `i32x4.relaxed_trunc_*`: as the saturating `i32x4.trunc_sat_*` (NaN
//!   becomes 0, out-of-range values saturate).
//! * `f32x4`/`f64x2.relaxed_madd` and `relaxed_nmadd`: `a * b + c` and
//!   `-(a * b) + c` rounded after the multiplication and after the
//!   addition (not fused), as `mul` then `add`; the same on hosts with
//!   and without fused multiply-add.
//! * `*.relaxed_laneselect`: as `v128.bitselect` (each bit of the mask
//!   chooses).
//! * `f32x4`/`f64x2.relaxed_min` and `relaxed_max`: as `min` and `max`
//!   (NaN propagates, -0 is below +0).
//! * `i16x8.relaxed_q15mulr_s`: as `i16x8.q15mulr_sat_s` (saturating).
//! * `i16x8.relaxed_dot_i8x16_i7x16_s` and
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s`: both operands' lanes are
//!   signed, and sums of pairs wrap in 16 bits.

use cranelift_codegen::ir::types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type, Value};

use super::FuncTranslator;

impl FuncTranslator<'_, '_> {
    /// Pops three vectors of type `ty` and pushes `f` of them.
    fn vternary(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value, Value) -> Value) {
        let c = self.pop_vector(ty);
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        let v = f(self, a, b, c);
        self.push(v);
    }

    /// `a * b + c`, or with `negate` `-(a * b) + c`, rounded twice.
    fn relaxed_madd(&mut self, ty: Type, negate: bool) {
        self.vternary(ty, |t, a, b, c| {
            let product = t.b.ins().fmul(a, b);
            let product = match negate {
                true => t.b.ins().fneg(product),
                false => product,
            };
            t.b.ins().fadd(product, c)
        });
    }

    /// Each bit of the third operand selects the first's bit (set) or the
    /// second's (clear).
    fn relaxed_laneselect(&mut self, ty: Type) {
        self.vternary(ty, |t, a, b, mask| t.b.ins().bitselect(mask, a, b));
    }

    visit_methods! { self;
        visit_i8x16_relaxed_swizzle() => self.swizzle();
        visit_i32x4_relaxed_trunc_f32x4_s() => {
            self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_sint_sat(I32X4, a))
        };
        visit_i32x4_relaxed_trunc_f32x4_u() => {
            self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_uint_sat(I32X4, a))
        };
        visit_i32x4_relaxed_trunc_f64x2_s_zero() => self.trunc_sat_f64x2_s_zero();
        visit_i32x4_relaxed_trunc_f64x2_u_zero() => self.trunc_sat_f64x2_u_zero();
        visit_f32x4_relaxed_madd() => self.relaxed_madd(F32X4, false);
        visit_f32x4_relaxed_nmadd() => self.relaxed_madd(F32X4, true);
        visit_f64x2_relaxed_madd() => self.relaxed_madd(F64X2, false);
        visit_f64x2_relaxed_nmadd() => self.relaxed_madd(F64X2, true);
        visit_i8x16_relaxed_laneselect() => self.relaxed_laneselect(I8X16);
        visit_i16x8_relaxed_laneselect() => self.relaxed_laneselect(I16X8);
        visit_i32x4_relaxed_laneselect() => self.relaxed_laneselect(I32X4);
        visit_i64x2_relaxed_laneselect() => self.relaxed_laneselect(I64X2);
        visit_f32x4_relaxed_min() => self.vbinary(F32X4, |t, a, b| t.b.ins().fmin(a, b));
        visit_f32x4_relaxed_max() => self.vbinary(F32X4, |t, a, b| t.b.ins().fmax(a, b));
        visit_f64x2_relaxed_min() => self.vbinary(F64X2, |t, a, b| t.b.ins().fmin(a, b));
        visit_f64x2_relaxed_max() => self.vbinary(F64X2, |t, a, b| t.b.ins().fmax(a, b));
        visit_i16x8_relaxed_q15mulr_s() => {
            self.vbinary(I16X8, |t, a, b| t.b.ins().sqmul_round_sat(a, b))
        };
        visit_i16x8_relaxed_dot_i8x16_i7x16_s() => {
            self.vbinary(I8X16, |t, a, b| t.signed_dot(a, b))
        };
        visit_i32x4_relaxed_dot_i8x16_i7x16_add_s() => {
            let c = self.pop_vector(I32X4);
            let b = self.pop_vector(I8X16);
            let a = self.pop_vector(I8X16);
            let pairs = self.signed_dot(a, b);
            let low = self.b.ins().swiden_low(pairs);
            let high = self.b.ins().swiden_high(pairs);
            let quads = self.b.ins().iadd_pairwise(low, high);
            let v = self.b.ins().iadd(quads, c);
            self.push(v);
        };
    }
}
