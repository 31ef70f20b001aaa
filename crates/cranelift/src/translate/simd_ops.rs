//! SIMD lane-wise arithmetic, shifts, rounding, narrowing, widening and
//! conversions.
//!
//! Cranelift's vector instructions follow Wasm semantics for these: shift
//! amounts are taken modulo the lane width; `fmin`/`fmax` propagate NaN and
//! order `-0.0 < +0.0`; saturating conversions and narrowing saturate;
//! `sqmul_round_sat` is `q15mulr_sat_s`. `pmin`/`pmax` are a compare and
//! select in the order the spec defines them. Without SSE4.1 the vector
//! rounding and unsigned `f64x2` truncation fall back to per-lane scalar code.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{self, InstBuilder, Value, types};

use super::FuncTranslator;

use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

/// A rounding operation.
#[derive(Clone, Copy)]
enum Round {
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

impl FuncTranslator<'_, '_> {
    fn round_value(&mut self, v: Value, mode: Round) -> Value {
        let ins = self.b.ins();
        match mode {
            Round::Ceil => ins.ceil(v),
            Round::Floor => ins.floor(v),
            Round::Trunc => ins.trunc(v),
            Round::Nearest => ins.nearest(v),
        }
    }

    fn vround(&mut self, ty: ir::Type, mode: Round) {
        let v = self.pop_vector(ty);
        let r = if self.env.isa.has_round() {
            self.round_value(v, mode)
        } else {
            // Per lane: the scalar rounding becomes a float libcall.
            let mut r = v;
            for lane in 0..ty.lane_count() as u8 {
                let x = self.b.ins().extractlane(v, lane);
                let x = self.round_value(x, mode);
                r = self.b.ins().insertlane(r, x, lane);
            }
            r
        };
        self.push(r);
    }

    /// `pmin`/`pmax`: `b < a ? b : a` and `a < b ? b : a`.
    fn pseudo_min_max(&mut self, ty: ir::Type, max: bool) {
        self.vbinary(ty, |t, a, b| {
            let (x, y) = if max { (a, b) } else { (b, a) };
            let lt = t.b.ins().fcmp(FloatCC::LessThan, x, y);
            let mask = t.as_vector(lt, ty);
            t.b.ins().bitselect(mask, b, a)
        });
    }

    /// Widens the low or high half of both operands and multiplies.
    fn ext_mul(&mut self, from: ir::Type, signed: bool, high: bool) {
        self.vbinary(from, |t, a, b| {
            let widen = |t: &mut Self, v| match (signed, high) {
                (true, false) => t.b.ins().swiden_low(v),
                (true, true) => t.b.ins().swiden_high(v),
                (false, false) => t.b.ins().uwiden_low(v),
                (false, true) => t.b.ins().uwiden_high(v),
            };
            let a = widen(t, a);
            let b = widen(t, b);
            t.b.ins().imul(a, b)
        });
    }

    fn ext_add_pairwise(&mut self, from: ir::Type, signed: bool) {
        self.vunary(from, |t, a| {
            let (lo, hi) = if signed {
                (t.b.ins().swiden_low(a), t.b.ins().swiden_high(a))
            } else {
                (t.b.ins().uwiden_low(a), t.b.ins().uwiden_high(a))
            };
            t.b.ins().iadd_pairwise(lo, hi)
        });
    }

    fn widen(&mut self, from: ir::Type, signed: bool, high: bool) {
        self.vunary(from, |t, a| match (signed, high) {
            (true, false) => t.b.ins().swiden_low(a),
            (true, true) => t.b.ins().swiden_high(a),
            (false, false) => t.b.ins().uwiden_low(a),
            (false, true) => t.b.ins().uwiden_high(a),
        });
    }

    fn vshift(&mut self, ty: ir::Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let amount = self.pop();
        let v = self.pop_vector(ty);
        let r = f(self, v, amount);
        self.push(r);
    }

    /// `i32x4.trunc_sat_f64x2_u_zero`.
    /// Sums of adjacent products of the signed lanes of `a` and `b`, in
    /// lanes twice as wide (wrapping).
    pub(super) fn signed_dot(&mut self, a: Value, b: Value) -> Value {
        let (al, bl) = (self.b.ins().swiden_low(a), self.b.ins().swiden_low(b));
        let low = self.b.ins().imul(al, bl);
        let (ah, bh) = (self.b.ins().swiden_high(a), self.b.ins().swiden_high(b));
        let high = self.b.ins().imul(ah, bh);
        self.b.ins().iadd_pairwise(low, high)
    }

    /// `i32x4.trunc_sat_f64x2_s_zero`.
    pub(super) fn trunc_sat_f64x2_s_zero(&mut self) {
        self.vunary(F64X2, |t, a| {
            let wide = t.b.ins().fcvt_to_sint_sat(I64X2, a);
            let zero = t.vconst(I64X2, 0);
            t.b.ins().snarrow(wide, zero)
        });
    }

    pub(super) fn trunc_sat_f64x2_u_zero(&mut self) {
        let a = self.pop_vector(F64X2);
        let r = if self.env.isa.has_round() {
            let wide = self.b.ins().fcvt_to_uint_sat(I64X2, a);
            let zero = self.vconst(I64X2, 0);
            self.b.ins().uunarrow(wide, zero)
        } else {
            // The vector lowering needs SSE4.1; convert lane by lane.
            let mut r = self.vconst(I32X4, 0);
            for lane in 0..2 {
                let x = self.b.ins().extractlane(a, lane);
                let x = self.b.ins().fcvt_to_uint_sat(types::I32, x);
                r = self.b.ins().insertlane(r, x, lane);
            }
            r
        };
        self.push(r);
    }

    visit_methods! { self;
        visit_i8x16_add() => self.vbinary(I8X16, |t, a, b| t.b.ins().iadd(a, b));
        visit_i16x8_add() => self.vbinary(I16X8, |t, a, b| t.b.ins().iadd(a, b));
        visit_i32x4_add() => self.vbinary(I32X4, |t, a, b| t.b.ins().iadd(a, b));
        visit_i64x2_add() => self.vbinary(I64X2, |t, a, b| t.b.ins().iadd(a, b));
        visit_i8x16_sub() => self.vbinary(I8X16, |t, a, b| t.b.ins().isub(a, b));
        visit_i16x8_sub() => self.vbinary(I16X8, |t, a, b| t.b.ins().isub(a, b));
        visit_i32x4_sub() => self.vbinary(I32X4, |t, a, b| t.b.ins().isub(a, b));
        visit_i64x2_sub() => self.vbinary(I64X2, |t, a, b| t.b.ins().isub(a, b));
        visit_i16x8_mul() => self.vbinary(I16X8, |t, a, b| t.b.ins().imul(a, b));
        visit_i32x4_mul() => self.vbinary(I32X4, |t, a, b| t.b.ins().imul(a, b));
        visit_i64x2_mul() => self.vbinary(I64X2, |t, a, b| t.b.ins().imul(a, b));
        visit_i8x16_neg() => self.vunary(I8X16, |t, a| t.b.ins().ineg(a));
        visit_i16x8_neg() => self.vunary(I16X8, |t, a| t.b.ins().ineg(a));
        visit_i32x4_neg() => self.vunary(I32X4, |t, a| t.b.ins().ineg(a));
        visit_i64x2_neg() => self.vunary(I64X2, |t, a| t.b.ins().ineg(a));
        visit_i8x16_abs() => self.vunary(I8X16, |t, a| t.b.ins().iabs(a));
        visit_i16x8_abs() => self.vunary(I16X8, |t, a| t.b.ins().iabs(a));
        visit_i32x4_abs() => self.vunary(I32X4, |t, a| t.b.ins().iabs(a));
        visit_i64x2_abs() => self.vunary(I64X2, |t, a| t.b.ins().iabs(a));
        visit_i8x16_popcnt() => self.vunary(I8X16, |t, a| t.b.ins().popcnt(a));
        visit_i8x16_add_sat_s() => self.vbinary(I8X16, |t, a, b| t.b.ins().sadd_sat(a, b));
        visit_i16x8_add_sat_s() => self.vbinary(I16X8, |t, a, b| t.b.ins().sadd_sat(a, b));
        visit_i8x16_add_sat_u() => self.vbinary(I8X16, |t, a, b| t.b.ins().uadd_sat(a, b));
        visit_i16x8_add_sat_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().uadd_sat(a, b));
        visit_i8x16_sub_sat_s() => self.vbinary(I8X16, |t, a, b| t.b.ins().ssub_sat(a, b));
        visit_i16x8_sub_sat_s() => self.vbinary(I16X8, |t, a, b| t.b.ins().ssub_sat(a, b));
        visit_i8x16_sub_sat_u() => self.vbinary(I8X16, |t, a, b| t.b.ins().usub_sat(a, b));
        visit_i16x8_sub_sat_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().usub_sat(a, b));
        visit_i8x16_min_s() => self.vbinary(I8X16, |t, a, b| t.b.ins().smin(a, b));
        visit_i16x8_min_s() => self.vbinary(I16X8, |t, a, b| t.b.ins().smin(a, b));
        visit_i32x4_min_s() => self.vbinary(I32X4, |t, a, b| t.b.ins().smin(a, b));
        visit_i8x16_min_u() => self.vbinary(I8X16, |t, a, b| t.b.ins().umin(a, b));
        visit_i16x8_min_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().umin(a, b));
        visit_i32x4_min_u() => self.vbinary(I32X4, |t, a, b| t.b.ins().umin(a, b));
        visit_i8x16_max_s() => self.vbinary(I8X16, |t, a, b| t.b.ins().smax(a, b));
        visit_i16x8_max_s() => self.vbinary(I16X8, |t, a, b| t.b.ins().smax(a, b));
        visit_i32x4_max_s() => self.vbinary(I32X4, |t, a, b| t.b.ins().smax(a, b));
        visit_i8x16_max_u() => self.vbinary(I8X16, |t, a, b| t.b.ins().umax(a, b));
        visit_i16x8_max_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().umax(a, b));
        visit_i32x4_max_u() => self.vbinary(I32X4, |t, a, b| t.b.ins().umax(a, b));
        visit_i8x16_avgr_u() => self.vbinary(I8X16, |t, a, b| t.b.ins().avg_round(a, b));
        visit_i16x8_avgr_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().avg_round(a, b));
        visit_i16x8_q15mulr_sat_s() => {
            self.vbinary(I16X8, |t, a, b| t.b.ins().sqmul_round_sat(a, b))
        };

        visit_i8x16_shl() => self.vshift(I8X16, |t, a, b| t.b.ins().ishl(a, b));
        visit_i16x8_shl() => self.vshift(I16X8, |t, a, b| t.b.ins().ishl(a, b));
        visit_i32x4_shl() => self.vshift(I32X4, |t, a, b| t.b.ins().ishl(a, b));
        visit_i64x2_shl() => self.vshift(I64X2, |t, a, b| t.b.ins().ishl(a, b));
        visit_i8x16_shr_s() => self.vshift(I8X16, |t, a, b| t.b.ins().sshr(a, b));
        visit_i16x8_shr_s() => self.vshift(I16X8, |t, a, b| t.b.ins().sshr(a, b));
        visit_i32x4_shr_s() => self.vshift(I32X4, |t, a, b| t.b.ins().sshr(a, b));
        visit_i64x2_shr_s() => self.vshift(I64X2, |t, a, b| t.b.ins().sshr(a, b));
        visit_i8x16_shr_u() => self.vshift(I8X16, |t, a, b| t.b.ins().ushr(a, b));
        visit_i16x8_shr_u() => self.vshift(I16X8, |t, a, b| t.b.ins().ushr(a, b));
        visit_i32x4_shr_u() => self.vshift(I32X4, |t, a, b| t.b.ins().ushr(a, b));
        visit_i64x2_shr_u() => self.vshift(I64X2, |t, a, b| t.b.ins().ushr(a, b));

        visit_i8x16_narrow_i16x8_s() => self.vbinary(I16X8, |t, a, b| t.b.ins().snarrow(a, b));
        visit_i8x16_narrow_i16x8_u() => self.vbinary(I16X8, |t, a, b| t.b.ins().unarrow(a, b));
        visit_i16x8_narrow_i32x4_s() => self.vbinary(I32X4, |t, a, b| t.b.ins().snarrow(a, b));
        visit_i16x8_narrow_i32x4_u() => self.vbinary(I32X4, |t, a, b| t.b.ins().unarrow(a, b));
        visit_i16x8_extend_low_i8x16_s() => self.widen(I8X16, true, false);
        visit_i16x8_extend_high_i8x16_s() => self.widen(I8X16, true, true);
        visit_i16x8_extend_low_i8x16_u() => self.widen(I8X16, false, false);
        visit_i16x8_extend_high_i8x16_u() => self.widen(I8X16, false, true);
        visit_i32x4_extend_low_i16x8_s() => self.widen(I16X8, true, false);
        visit_i32x4_extend_high_i16x8_s() => self.widen(I16X8, true, true);
        visit_i32x4_extend_low_i16x8_u() => self.widen(I16X8, false, false);
        visit_i32x4_extend_high_i16x8_u() => self.widen(I16X8, false, true);
        visit_i64x2_extend_low_i32x4_s() => self.widen(I32X4, true, false);
        visit_i64x2_extend_high_i32x4_s() => self.widen(I32X4, true, true);
        visit_i64x2_extend_low_i32x4_u() => self.widen(I32X4, false, false);
        visit_i64x2_extend_high_i32x4_u() => self.widen(I32X4, false, true);
        visit_i16x8_extmul_low_i8x16_s() => self.ext_mul(I8X16, true, false);
        visit_i16x8_extmul_high_i8x16_s() => self.ext_mul(I8X16, true, true);
        visit_i16x8_extmul_low_i8x16_u() => self.ext_mul(I8X16, false, false);
        visit_i16x8_extmul_high_i8x16_u() => self.ext_mul(I8X16, false, true);
        visit_i32x4_extmul_low_i16x8_s() => self.ext_mul(I16X8, true, false);
        visit_i32x4_extmul_high_i16x8_s() => self.ext_mul(I16X8, true, true);
        visit_i32x4_extmul_low_i16x8_u() => self.ext_mul(I16X8, false, false);
        visit_i32x4_extmul_high_i16x8_u() => self.ext_mul(I16X8, false, true);
        visit_i64x2_extmul_low_i32x4_s() => self.ext_mul(I32X4, true, false);
        visit_i64x2_extmul_high_i32x4_s() => self.ext_mul(I32X4, true, true);
        visit_i64x2_extmul_low_i32x4_u() => self.ext_mul(I32X4, false, false);
        visit_i64x2_extmul_high_i32x4_u() => self.ext_mul(I32X4, false, true);
        visit_i16x8_extadd_pairwise_i8x16_s() => self.ext_add_pairwise(I8X16, true);
        visit_i16x8_extadd_pairwise_i8x16_u() => self.ext_add_pairwise(I8X16, false);
        visit_i32x4_extadd_pairwise_i16x8_s() => self.ext_add_pairwise(I16X8, true);
        visit_i32x4_extadd_pairwise_i16x8_u() => self.ext_add_pairwise(I16X8, false);
        visit_i32x4_dot_i16x8_s() => self.vbinary(I16X8, |t, a, b| t.signed_dot(a, b));

        visit_f32x4_add() => self.vbinary(F32X4, |t, a, b| t.b.ins().fadd(a, b));
        visit_f64x2_add() => self.vbinary(F64X2, |t, a, b| t.b.ins().fadd(a, b));
        visit_f32x4_sub() => self.vbinary(F32X4, |t, a, b| t.b.ins().fsub(a, b));
        visit_f64x2_sub() => self.vbinary(F64X2, |t, a, b| t.b.ins().fsub(a, b));
        visit_f32x4_mul() => self.vbinary(F32X4, |t, a, b| t.b.ins().fmul(a, b));
        visit_f64x2_mul() => self.vbinary(F64X2, |t, a, b| t.b.ins().fmul(a, b));
        visit_f32x4_div() => self.vbinary(F32X4, |t, a, b| t.b.ins().fdiv(a, b));
        visit_f64x2_div() => self.vbinary(F64X2, |t, a, b| t.b.ins().fdiv(a, b));
        visit_f32x4_min() => self.vbinary(F32X4, |t, a, b| t.b.ins().fmin(a, b));
        visit_f64x2_min() => self.vbinary(F64X2, |t, a, b| t.b.ins().fmin(a, b));
        visit_f32x4_max() => self.vbinary(F32X4, |t, a, b| t.b.ins().fmax(a, b));
        visit_f64x2_max() => self.vbinary(F64X2, |t, a, b| t.b.ins().fmax(a, b));
        visit_f32x4_pmin() => self.pseudo_min_max(F32X4, false);
        visit_f64x2_pmin() => self.pseudo_min_max(F64X2, false);
        visit_f32x4_pmax() => self.pseudo_min_max(F32X4, true);
        visit_f64x2_pmax() => self.pseudo_min_max(F64X2, true);
        visit_f32x4_sqrt() => self.vunary(F32X4, |t, a| t.b.ins().sqrt(a));
        visit_f64x2_sqrt() => self.vunary(F64X2, |t, a| t.b.ins().sqrt(a));
        visit_f32x4_neg() => self.vunary(F32X4, |t, a| t.b.ins().fneg(a));
        visit_f64x2_neg() => self.vunary(F64X2, |t, a| t.b.ins().fneg(a));
        visit_f32x4_abs() => self.vunary(F32X4, |t, a| t.b.ins().fabs(a));
        visit_f64x2_abs() => self.vunary(F64X2, |t, a| t.b.ins().fabs(a));
        visit_f32x4_ceil() => self.vround(F32X4, Round::Ceil);
        visit_f64x2_ceil() => self.vround(F64X2, Round::Ceil);
        visit_f32x4_floor() => self.vround(F32X4, Round::Floor);
        visit_f64x2_floor() => self.vround(F64X2, Round::Floor);
        visit_f32x4_trunc() => self.vround(F32X4, Round::Trunc);
        visit_f64x2_trunc() => self.vround(F64X2, Round::Trunc);
        visit_f32x4_nearest() => self.vround(F32X4, Round::Nearest);
        visit_f64x2_nearest() => self.vround(F64X2, Round::Nearest);

        visit_f32x4_convert_i32x4_s() => {
            self.vunary(I32X4, |t, a| t.b.ins().fcvt_from_sint(F32X4, a))
        };
        visit_f32x4_convert_i32x4_u() => {
            self.vunary(I32X4, |t, a| t.b.ins().fcvt_from_uint(F32X4, a))
        };
        visit_f64x2_convert_low_i32x4_s() => self.vunary(I32X4, |t, a| {
            let wide = t.b.ins().swiden_low(a);
            t.b.ins().fcvt_from_sint(F64X2, wide)
        });
        visit_f64x2_convert_low_i32x4_u() => self.vunary(I32X4, |t, a| {
            let wide = t.b.ins().uwiden_low(a);
            t.b.ins().fcvt_from_uint(F64X2, wide)
        });
        visit_f32x4_demote_f64x2_zero() => self.vunary(F64X2, |t, a| t.b.ins().fvdemote(a));
        visit_f64x2_promote_low_f32x4() => self.vunary(F32X4, |t, a| t.b.ins().fvpromote_low(a));
        visit_i32x4_trunc_sat_f32x4_s() => {
            self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_sint_sat(I32X4, a))
        };
        visit_i32x4_trunc_sat_f32x4_u() => {
            self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_uint_sat(I32X4, a))
        };
        visit_i32x4_trunc_sat_f64x2_s_zero() => self.trunc_sat_f64x2_s_zero();
        visit_i32x4_trunc_sat_f64x2_u_zero() => self.trunc_sat_f64x2_u_zero();
    }
}
