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
use hayate_environ::wasmparser::Operator;

use super::{FuncTranslator, Result};

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
    fn trunc_sat_f64x2_u_zero(&mut self) {
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

    pub(super) fn translate_simd_arith(&mut self, op: &Operator<'_>) -> Result<bool> {
        match op {
            Operator::I8x16Add => self.vbinary(I8X16, |t, a, b| t.b.ins().iadd(a, b)),
            Operator::I16x8Add => self.vbinary(I16X8, |t, a, b| t.b.ins().iadd(a, b)),
            Operator::I32x4Add => self.vbinary(I32X4, |t, a, b| t.b.ins().iadd(a, b)),
            Operator::I64x2Add => self.vbinary(I64X2, |t, a, b| t.b.ins().iadd(a, b)),
            Operator::I8x16Sub => self.vbinary(I8X16, |t, a, b| t.b.ins().isub(a, b)),
            Operator::I16x8Sub => self.vbinary(I16X8, |t, a, b| t.b.ins().isub(a, b)),
            Operator::I32x4Sub => self.vbinary(I32X4, |t, a, b| t.b.ins().isub(a, b)),
            Operator::I64x2Sub => self.vbinary(I64X2, |t, a, b| t.b.ins().isub(a, b)),
            Operator::I16x8Mul => self.vbinary(I16X8, |t, a, b| t.b.ins().imul(a, b)),
            Operator::I32x4Mul => self.vbinary(I32X4, |t, a, b| t.b.ins().imul(a, b)),
            Operator::I64x2Mul => self.vbinary(I64X2, |t, a, b| t.b.ins().imul(a, b)),
            Operator::I8x16Neg => self.vunary(I8X16, |t, a| t.b.ins().ineg(a)),
            Operator::I16x8Neg => self.vunary(I16X8, |t, a| t.b.ins().ineg(a)),
            Operator::I32x4Neg => self.vunary(I32X4, |t, a| t.b.ins().ineg(a)),
            Operator::I64x2Neg => self.vunary(I64X2, |t, a| t.b.ins().ineg(a)),
            Operator::I8x16Abs => self.vunary(I8X16, |t, a| t.b.ins().iabs(a)),
            Operator::I16x8Abs => self.vunary(I16X8, |t, a| t.b.ins().iabs(a)),
            Operator::I32x4Abs => self.vunary(I32X4, |t, a| t.b.ins().iabs(a)),
            Operator::I64x2Abs => self.vunary(I64X2, |t, a| t.b.ins().iabs(a)),
            Operator::I8x16Popcnt => self.vunary(I8X16, |t, a| t.b.ins().popcnt(a)),
            Operator::I8x16AddSatS => self.vbinary(I8X16, |t, a, b| t.b.ins().sadd_sat(a, b)),
            Operator::I16x8AddSatS => self.vbinary(I16X8, |t, a, b| t.b.ins().sadd_sat(a, b)),
            Operator::I8x16AddSatU => self.vbinary(I8X16, |t, a, b| t.b.ins().uadd_sat(a, b)),
            Operator::I16x8AddSatU => self.vbinary(I16X8, |t, a, b| t.b.ins().uadd_sat(a, b)),
            Operator::I8x16SubSatS => self.vbinary(I8X16, |t, a, b| t.b.ins().ssub_sat(a, b)),
            Operator::I16x8SubSatS => self.vbinary(I16X8, |t, a, b| t.b.ins().ssub_sat(a, b)),
            Operator::I8x16SubSatU => self.vbinary(I8X16, |t, a, b| t.b.ins().usub_sat(a, b)),
            Operator::I16x8SubSatU => self.vbinary(I16X8, |t, a, b| t.b.ins().usub_sat(a, b)),
            Operator::I8x16MinS => self.vbinary(I8X16, |t, a, b| t.b.ins().smin(a, b)),
            Operator::I16x8MinS => self.vbinary(I16X8, |t, a, b| t.b.ins().smin(a, b)),
            Operator::I32x4MinS => self.vbinary(I32X4, |t, a, b| t.b.ins().smin(a, b)),
            Operator::I8x16MinU => self.vbinary(I8X16, |t, a, b| t.b.ins().umin(a, b)),
            Operator::I16x8MinU => self.vbinary(I16X8, |t, a, b| t.b.ins().umin(a, b)),
            Operator::I32x4MinU => self.vbinary(I32X4, |t, a, b| t.b.ins().umin(a, b)),
            Operator::I8x16MaxS => self.vbinary(I8X16, |t, a, b| t.b.ins().smax(a, b)),
            Operator::I16x8MaxS => self.vbinary(I16X8, |t, a, b| t.b.ins().smax(a, b)),
            Operator::I32x4MaxS => self.vbinary(I32X4, |t, a, b| t.b.ins().smax(a, b)),
            Operator::I8x16MaxU => self.vbinary(I8X16, |t, a, b| t.b.ins().umax(a, b)),
            Operator::I16x8MaxU => self.vbinary(I16X8, |t, a, b| t.b.ins().umax(a, b)),
            Operator::I32x4MaxU => self.vbinary(I32X4, |t, a, b| t.b.ins().umax(a, b)),
            Operator::I8x16AvgrU => self.vbinary(I8X16, |t, a, b| t.b.ins().avg_round(a, b)),
            Operator::I16x8AvgrU => self.vbinary(I16X8, |t, a, b| t.b.ins().avg_round(a, b)),
            Operator::I16x8Q15MulrSatS => {
                self.vbinary(I16X8, |t, a, b| t.b.ins().sqmul_round_sat(a, b))
            }

            Operator::I8x16Shl => self.vshift(I8X16, |t, a, b| t.b.ins().ishl(a, b)),
            Operator::I16x8Shl => self.vshift(I16X8, |t, a, b| t.b.ins().ishl(a, b)),
            Operator::I32x4Shl => self.vshift(I32X4, |t, a, b| t.b.ins().ishl(a, b)),
            Operator::I64x2Shl => self.vshift(I64X2, |t, a, b| t.b.ins().ishl(a, b)),
            Operator::I8x16ShrS => self.vshift(I8X16, |t, a, b| t.b.ins().sshr(a, b)),
            Operator::I16x8ShrS => self.vshift(I16X8, |t, a, b| t.b.ins().sshr(a, b)),
            Operator::I32x4ShrS => self.vshift(I32X4, |t, a, b| t.b.ins().sshr(a, b)),
            Operator::I64x2ShrS => self.vshift(I64X2, |t, a, b| t.b.ins().sshr(a, b)),
            Operator::I8x16ShrU => self.vshift(I8X16, |t, a, b| t.b.ins().ushr(a, b)),
            Operator::I16x8ShrU => self.vshift(I16X8, |t, a, b| t.b.ins().ushr(a, b)),
            Operator::I32x4ShrU => self.vshift(I32X4, |t, a, b| t.b.ins().ushr(a, b)),
            Operator::I64x2ShrU => self.vshift(I64X2, |t, a, b| t.b.ins().ushr(a, b)),

            Operator::I8x16NarrowI16x8S => self.vbinary(I16X8, |t, a, b| t.b.ins().snarrow(a, b)),
            Operator::I8x16NarrowI16x8U => self.vbinary(I16X8, |t, a, b| t.b.ins().unarrow(a, b)),
            Operator::I16x8NarrowI32x4S => self.vbinary(I32X4, |t, a, b| t.b.ins().snarrow(a, b)),
            Operator::I16x8NarrowI32x4U => self.vbinary(I32X4, |t, a, b| t.b.ins().unarrow(a, b)),
            Operator::I16x8ExtendLowI8x16S => self.widen(I8X16, true, false),
            Operator::I16x8ExtendHighI8x16S => self.widen(I8X16, true, true),
            Operator::I16x8ExtendLowI8x16U => self.widen(I8X16, false, false),
            Operator::I16x8ExtendHighI8x16U => self.widen(I8X16, false, true),
            Operator::I32x4ExtendLowI16x8S => self.widen(I16X8, true, false),
            Operator::I32x4ExtendHighI16x8S => self.widen(I16X8, true, true),
            Operator::I32x4ExtendLowI16x8U => self.widen(I16X8, false, false),
            Operator::I32x4ExtendHighI16x8U => self.widen(I16X8, false, true),
            Operator::I64x2ExtendLowI32x4S => self.widen(I32X4, true, false),
            Operator::I64x2ExtendHighI32x4S => self.widen(I32X4, true, true),
            Operator::I64x2ExtendLowI32x4U => self.widen(I32X4, false, false),
            Operator::I64x2ExtendHighI32x4U => self.widen(I32X4, false, true),
            Operator::I16x8ExtMulLowI8x16S => self.ext_mul(I8X16, true, false),
            Operator::I16x8ExtMulHighI8x16S => self.ext_mul(I8X16, true, true),
            Operator::I16x8ExtMulLowI8x16U => self.ext_mul(I8X16, false, false),
            Operator::I16x8ExtMulHighI8x16U => self.ext_mul(I8X16, false, true),
            Operator::I32x4ExtMulLowI16x8S => self.ext_mul(I16X8, true, false),
            Operator::I32x4ExtMulHighI16x8S => self.ext_mul(I16X8, true, true),
            Operator::I32x4ExtMulLowI16x8U => self.ext_mul(I16X8, false, false),
            Operator::I32x4ExtMulHighI16x8U => self.ext_mul(I16X8, false, true),
            Operator::I64x2ExtMulLowI32x4S => self.ext_mul(I32X4, true, false),
            Operator::I64x2ExtMulHighI32x4S => self.ext_mul(I32X4, true, true),
            Operator::I64x2ExtMulLowI32x4U => self.ext_mul(I32X4, false, false),
            Operator::I64x2ExtMulHighI32x4U => self.ext_mul(I32X4, false, true),
            Operator::I16x8ExtAddPairwiseI8x16S => self.ext_add_pairwise(I8X16, true),
            Operator::I16x8ExtAddPairwiseI8x16U => self.ext_add_pairwise(I8X16, false),
            Operator::I32x4ExtAddPairwiseI16x8S => self.ext_add_pairwise(I16X8, true),
            Operator::I32x4ExtAddPairwiseI16x8U => self.ext_add_pairwise(I16X8, false),
            Operator::I32x4DotI16x8S => self.vbinary(I16X8, |t, a, b| {
                let (al, bl) = (t.b.ins().swiden_low(a), t.b.ins().swiden_low(b));
                let low = t.b.ins().imul(al, bl);
                let (ah, bh) = (t.b.ins().swiden_high(a), t.b.ins().swiden_high(b));
                let high = t.b.ins().imul(ah, bh);
                t.b.ins().iadd_pairwise(low, high)
            }),

            Operator::F32x4Add => self.vbinary(F32X4, |t, a, b| t.b.ins().fadd(a, b)),
            Operator::F64x2Add => self.vbinary(F64X2, |t, a, b| t.b.ins().fadd(a, b)),
            Operator::F32x4Sub => self.vbinary(F32X4, |t, a, b| t.b.ins().fsub(a, b)),
            Operator::F64x2Sub => self.vbinary(F64X2, |t, a, b| t.b.ins().fsub(a, b)),
            Operator::F32x4Mul => self.vbinary(F32X4, |t, a, b| t.b.ins().fmul(a, b)),
            Operator::F64x2Mul => self.vbinary(F64X2, |t, a, b| t.b.ins().fmul(a, b)),
            Operator::F32x4Div => self.vbinary(F32X4, |t, a, b| t.b.ins().fdiv(a, b)),
            Operator::F64x2Div => self.vbinary(F64X2, |t, a, b| t.b.ins().fdiv(a, b)),
            Operator::F32x4Min => self.vbinary(F32X4, |t, a, b| t.b.ins().fmin(a, b)),
            Operator::F64x2Min => self.vbinary(F64X2, |t, a, b| t.b.ins().fmin(a, b)),
            Operator::F32x4Max => self.vbinary(F32X4, |t, a, b| t.b.ins().fmax(a, b)),
            Operator::F64x2Max => self.vbinary(F64X2, |t, a, b| t.b.ins().fmax(a, b)),
            Operator::F32x4PMin => self.pseudo_min_max(F32X4, false),
            Operator::F64x2PMin => self.pseudo_min_max(F64X2, false),
            Operator::F32x4PMax => self.pseudo_min_max(F32X4, true),
            Operator::F64x2PMax => self.pseudo_min_max(F64X2, true),
            Operator::F32x4Sqrt => self.vunary(F32X4, |t, a| t.b.ins().sqrt(a)),
            Operator::F64x2Sqrt => self.vunary(F64X2, |t, a| t.b.ins().sqrt(a)),
            Operator::F32x4Neg => self.vunary(F32X4, |t, a| t.b.ins().fneg(a)),
            Operator::F64x2Neg => self.vunary(F64X2, |t, a| t.b.ins().fneg(a)),
            Operator::F32x4Abs => self.vunary(F32X4, |t, a| t.b.ins().fabs(a)),
            Operator::F64x2Abs => self.vunary(F64X2, |t, a| t.b.ins().fabs(a)),
            Operator::F32x4Ceil => self.vround(F32X4, Round::Ceil),
            Operator::F64x2Ceil => self.vround(F64X2, Round::Ceil),
            Operator::F32x4Floor => self.vround(F32X4, Round::Floor),
            Operator::F64x2Floor => self.vround(F64X2, Round::Floor),
            Operator::F32x4Trunc => self.vround(F32X4, Round::Trunc),
            Operator::F64x2Trunc => self.vround(F64X2, Round::Trunc),
            Operator::F32x4Nearest => self.vround(F32X4, Round::Nearest),
            Operator::F64x2Nearest => self.vround(F64X2, Round::Nearest),

            Operator::F32x4ConvertI32x4S => {
                self.vunary(I32X4, |t, a| t.b.ins().fcvt_from_sint(F32X4, a))
            }
            Operator::F32x4ConvertI32x4U => {
                self.vunary(I32X4, |t, a| t.b.ins().fcvt_from_uint(F32X4, a))
            }
            Operator::F64x2ConvertLowI32x4S => self.vunary(I32X4, |t, a| {
                let wide = t.b.ins().swiden_low(a);
                t.b.ins().fcvt_from_sint(F64X2, wide)
            }),
            Operator::F64x2ConvertLowI32x4U => self.vunary(I32X4, |t, a| {
                let wide = t.b.ins().uwiden_low(a);
                t.b.ins().fcvt_from_uint(F64X2, wide)
            }),
            Operator::F32x4DemoteF64x2Zero => self.vunary(F64X2, |t, a| t.b.ins().fvdemote(a)),
            Operator::F64x2PromoteLowF32x4 => self.vunary(F32X4, |t, a| t.b.ins().fvpromote_low(a)),
            Operator::I32x4TruncSatF32x4S => {
                self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_sint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF32x4U => {
                self.vunary(F32X4, |t, a| t.b.ins().fcvt_to_uint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF64x2SZero => self.vunary(F64X2, |t, a| {
                let wide = t.b.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = t.vconst(I64X2, 0);
                t.b.ins().snarrow(wide, zero)
            }),
            Operator::I32x4TruncSatF64x2UZero => self.trunc_sat_f64x2_u_zero(),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
