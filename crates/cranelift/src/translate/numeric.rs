//! Scalar numeric operators: constants, integer and float arithmetic,
//! comparisons, conversions, sign extension and saturating truncation.
//!
//! Cranelift's instructions already have Wasm semantics where it matters:
//! shift and rotate amounts are taken modulo the bit width; `sdiv`/`udiv`/
//! `srem`/`urem` trap on a zero divisor (`sdiv` also on `MIN / -1`, while
//! `srem` of `MIN % -1` is 0); `fcvt_to_*int` trap on NaN and overflow;
//! `fmin`/`fmax` propagate NaN and order `-0.0 < +0.0`; `nearest` rounds
//! ties to even; `fneg`/`fabs`/`fcopysign` are bit operations. The trap
//! codes Cranelift records for them map back to Hayate traps in `traps.rs`.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{InstBuilder, Value, types};
use hayate_environ::wasmparser::{Ieee32, Ieee64};

use super::{FuncTranslator, little};

impl FuncTranslator<'_, '_> {
    fn unary(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn binary(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(self, a, b);
        self.push(v);
    }

    fn icmp(&mut self, cc: IntCC) {
        let (a, b) = self.pop2();
        let c = self.b.ins().icmp(cc, a, b);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
    }

    fn fcmp(&mut self, cc: FloatCC) {
        let (a, b) = self.pop2();
        let c = self.b.ins().fcmp(cc, a, b);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
    }

    fn eqz(&mut self) {
        let a = self.pop();
        let c = self.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
    }

    /// Sign-extends the low `from` bits of the top value to its own width.
    fn extend_signed(&mut self, from: types::Type) {
        let a = self.pop();
        let ty = self.b.func.dfg.value_type(a);
        let narrow = self.b.ins().ireduce(from, a);
        let v = self.b.ins().sextend(ty, narrow);
        self.push(v);
    }

    visit_methods! { self;
        visit_i32_const(value: i32) => {
            let v = self.b.ins().iconst(I32, i64::from(value));
            self.push(v);
        };
        visit_i64_const(value: i64) => {
            let v = self.b.ins().iconst(I64, value);
            self.push(v);
        };
        visit_f32_const(value: Ieee32) => {
            let v = self.b.ins().f32const(f32::from_bits(value.bits()));
            self.push(v);
        };
        visit_f64_const(value: Ieee64) => {
            let v = self.b.ins().f64const(f64::from_bits(value.bits()));
            self.push(v);
        };

        visit_i32_eqz() | visit_i64_eqz() => self.eqz();
        visit_i32_eq() | visit_i64_eq() => self.icmp(IntCC::Equal);
        visit_i32_ne() | visit_i64_ne() => self.icmp(IntCC::NotEqual);
        visit_i32_lt_s() | visit_i64_lt_s() => self.icmp(IntCC::SignedLessThan);
        visit_i32_lt_u() | visit_i64_lt_u() => self.icmp(IntCC::UnsignedLessThan);
        visit_i32_gt_s() | visit_i64_gt_s() => self.icmp(IntCC::SignedGreaterThan);
        visit_i32_gt_u() | visit_i64_gt_u() => self.icmp(IntCC::UnsignedGreaterThan);
        visit_i32_le_s() | visit_i64_le_s() => self.icmp(IntCC::SignedLessThanOrEqual);
        visit_i32_le_u() | visit_i64_le_u() => self.icmp(IntCC::UnsignedLessThanOrEqual);
        visit_i32_ge_s() | visit_i64_ge_s() => self.icmp(IntCC::SignedGreaterThanOrEqual);
        visit_i32_ge_u() | visit_i64_ge_u() => self.icmp(IntCC::UnsignedGreaterThanOrEqual);

        visit_f32_eq() | visit_f64_eq() => self.fcmp(FloatCC::Equal);
        visit_f32_ne() | visit_f64_ne() => self.fcmp(FloatCC::NotEqual);
        visit_f32_lt() | visit_f64_lt() => self.fcmp(FloatCC::LessThan);
        visit_f32_gt() | visit_f64_gt() => self.fcmp(FloatCC::GreaterThan);
        visit_f32_le() | visit_f64_le() => self.fcmp(FloatCC::LessThanOrEqual);
        visit_f32_ge() | visit_f64_ge() => self.fcmp(FloatCC::GreaterThanOrEqual);

        visit_i32_clz() | visit_i64_clz() => self.unary(|t, a| t.b.ins().clz(a));
        visit_i32_ctz() | visit_i64_ctz() => self.unary(|t, a| t.b.ins().ctz(a));
        visit_i32_popcnt() | visit_i64_popcnt() => self.unary(|t, a| t.b.ins().popcnt(a));
        visit_i32_add() | visit_i64_add() => self.binary(|t, a, b| t.b.ins().iadd(a, b));
        visit_i32_sub() | visit_i64_sub() => self.binary(|t, a, b| t.b.ins().isub(a, b));
        visit_i32_mul() | visit_i64_mul() => self.binary(|t, a, b| t.b.ins().imul(a, b));
        visit_i32_div_s() | visit_i64_div_s() => self.binary(|t, a, b| t.b.ins().sdiv(a, b));
        visit_i32_div_u() | visit_i64_div_u() => self.binary(|t, a, b| t.b.ins().udiv(a, b));
        visit_i32_rem_s() | visit_i64_rem_s() => self.binary(|t, a, b| t.b.ins().srem(a, b));
        visit_i32_rem_u() | visit_i64_rem_u() => self.binary(|t, a, b| t.b.ins().urem(a, b));
        visit_i32_and() | visit_i64_and() => self.binary(|t, a, b| t.b.ins().band(a, b));
        visit_i32_or() | visit_i64_or() => self.binary(|t, a, b| t.b.ins().bor(a, b));
        visit_i32_xor() | visit_i64_xor() => self.binary(|t, a, b| t.b.ins().bxor(a, b));
        visit_i32_shl() | visit_i64_shl() => self.binary(|t, a, b| t.b.ins().ishl(a, b));
        visit_i32_shr_s() | visit_i64_shr_s() => self.binary(|t, a, b| t.b.ins().sshr(a, b));
        visit_i32_shr_u() | visit_i64_shr_u() => self.binary(|t, a, b| t.b.ins().ushr(a, b));
        visit_i32_rotl() | visit_i64_rotl() => self.binary(|t, a, b| t.b.ins().rotl(a, b));
        visit_i32_rotr() | visit_i64_rotr() => self.binary(|t, a, b| t.b.ins().rotr(a, b));

        visit_f32_abs() | visit_f64_abs() => self.unary(|t, a| t.b.ins().fabs(a));
        visit_f32_neg() | visit_f64_neg() => self.unary(|t, a| t.b.ins().fneg(a));
        visit_f32_ceil() | visit_f64_ceil() => self.unary(|t, a| t.b.ins().ceil(a));
        visit_f32_floor() | visit_f64_floor() => self.unary(|t, a| t.b.ins().floor(a));
        visit_f32_trunc() | visit_f64_trunc() => self.unary(|t, a| t.b.ins().trunc(a));
        visit_f32_nearest() | visit_f64_nearest() => self.unary(|t, a| t.b.ins().nearest(a));
        visit_f32_sqrt() | visit_f64_sqrt() => self.unary(|t, a| t.b.ins().sqrt(a));
        visit_f32_add() | visit_f64_add() => self.binary(|t, a, b| t.b.ins().fadd(a, b));
        visit_f32_sub() | visit_f64_sub() => self.binary(|t, a, b| t.b.ins().fsub(a, b));
        visit_f32_mul() | visit_f64_mul() => self.binary(|t, a, b| t.b.ins().fmul(a, b));
        visit_f32_div() | visit_f64_div() => self.binary(|t, a, b| t.b.ins().fdiv(a, b));
        visit_f32_min() | visit_f64_min() => self.binary(|t, a, b| t.b.ins().fmin(a, b));
        visit_f32_max() | visit_f64_max() => self.binary(|t, a, b| t.b.ins().fmax(a, b));
        visit_f32_copysign() | visit_f64_copysign() => {
            self.binary(|t, a, b| t.b.ins().fcopysign(a, b))
        };

        visit_i32_wrap_i64() => self.unary(|t, a| t.b.ins().ireduce(I32, a));
        visit_i64_extend_i32_s() => self.unary(|t, a| t.b.ins().sextend(I64, a));
        visit_i64_extend_i32_u() => self.unary(|t, a| t.b.ins().uextend(I64, a));
        visit_i32_trunc_f32_s() | visit_i32_trunc_f64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_to_sint(I32, a))
        };
        visit_i32_trunc_f32_u() | visit_i32_trunc_f64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_to_uint(I32, a))
        };
        visit_i64_trunc_f32_s() | visit_i64_trunc_f64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_to_sint(I64, a))
        };
        visit_i64_trunc_f32_u() | visit_i64_trunc_f64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_to_uint(I64, a))
        };
        visit_i32_trunc_sat_f32_s() | visit_i32_trunc_sat_f64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_to_sint_sat(I32, a))
        };
        visit_i32_trunc_sat_f32_u() | visit_i32_trunc_sat_f64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_to_uint_sat(I32, a))
        };
        visit_i64_trunc_sat_f32_s() | visit_i64_trunc_sat_f64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_to_sint_sat(I64, a))
        };
        visit_i64_trunc_sat_f32_u() | visit_i64_trunc_sat_f64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_to_uint_sat(I64, a))
        };
        visit_f32_convert_i32_s() | visit_f32_convert_i64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_from_sint(F32, a))
        };
        visit_f32_convert_i32_u() | visit_f32_convert_i64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_from_uint(F32, a))
        };
        visit_f64_convert_i32_s() | visit_f64_convert_i64_s() => {
            self.unary(|t, a| t.b.ins().fcvt_from_sint(F64, a))
        };
        visit_f64_convert_i32_u() | visit_f64_convert_i64_u() => {
            self.unary(|t, a| t.b.ins().fcvt_from_uint(F64, a))
        };
        visit_f32_demote_f64() => self.unary(|t, a| t.b.ins().fdemote(F32, a));
        visit_f64_promote_f32() => self.unary(|t, a| t.b.ins().fpromote(F64, a));
        visit_i32_reinterpret_f32() => self.unary(|t, a| t.b.ins().bitcast(I32, little(), a));
        visit_i64_reinterpret_f64() => self.unary(|t, a| t.b.ins().bitcast(I64, little(), a));
        visit_f32_reinterpret_i32() => self.unary(|t, a| t.b.ins().bitcast(F32, little(), a));
        visit_f64_reinterpret_i64() => self.unary(|t, a| t.b.ins().bitcast(F64, little(), a));

        visit_i32_extend8_s() | visit_i64_extend8_s() => self.extend_signed(types::I8);
        visit_i32_extend16_s() | visit_i64_extend16_s() => self.extend_signed(types::I16);
        visit_i64_extend32_s() => self.extend_signed(I32);
    }
}
