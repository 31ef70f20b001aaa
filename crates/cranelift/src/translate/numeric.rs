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
use cranelift_codegen::ir::{InstBuilder, Value, types};
use hayate_environ::wasmparser::Operator;

use super::{FuncTranslator, Result, little};

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

    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<bool> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Const { value } => {
                let v = self.b.ins().iconst(I32, i64::from(*value));
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.b.ins().iconst(I64, *value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self.b.ins().f32const(f32::from_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self.b.ins().f64const(f64::from_bits(value.bits()));
                self.push(v);
            }

            Operator::I32Eqz | Operator::I64Eqz => self.eqz(),
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal),
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual),
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan),
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal),
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual),
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan),
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan),
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            Operator::I32Clz | Operator::I64Clz => self.unary(|t, a| t.b.ins().clz(a)),
            Operator::I32Ctz | Operator::I64Ctz => self.unary(|t, a| t.b.ins().ctz(a)),
            Operator::I32Popcnt | Operator::I64Popcnt => self.unary(|t, a| t.b.ins().popcnt(a)),
            Operator::I32Add | Operator::I64Add => self.binary(|t, a, b| t.b.ins().iadd(a, b)),
            Operator::I32Sub | Operator::I64Sub => self.binary(|t, a, b| t.b.ins().isub(a, b)),
            Operator::I32Mul | Operator::I64Mul => self.binary(|t, a, b| t.b.ins().imul(a, b)),
            Operator::I32DivS | Operator::I64DivS => self.binary(|t, a, b| t.b.ins().sdiv(a, b)),
            Operator::I32DivU | Operator::I64DivU => self.binary(|t, a, b| t.b.ins().udiv(a, b)),
            Operator::I32RemS | Operator::I64RemS => self.binary(|t, a, b| t.b.ins().srem(a, b)),
            Operator::I32RemU | Operator::I64RemU => self.binary(|t, a, b| t.b.ins().urem(a, b)),
            Operator::I32And | Operator::I64And => self.binary(|t, a, b| t.b.ins().band(a, b)),
            Operator::I32Or | Operator::I64Or => self.binary(|t, a, b| t.b.ins().bor(a, b)),
            Operator::I32Xor | Operator::I64Xor => self.binary(|t, a, b| t.b.ins().bxor(a, b)),
            Operator::I32Shl | Operator::I64Shl => self.binary(|t, a, b| t.b.ins().ishl(a, b)),
            Operator::I32ShrS | Operator::I64ShrS => self.binary(|t, a, b| t.b.ins().sshr(a, b)),
            Operator::I32ShrU | Operator::I64ShrU => self.binary(|t, a, b| t.b.ins().ushr(a, b)),
            Operator::I32Rotl | Operator::I64Rotl => self.binary(|t, a, b| t.b.ins().rotl(a, b)),
            Operator::I32Rotr | Operator::I64Rotr => self.binary(|t, a, b| t.b.ins().rotr(a, b)),

            Operator::F32Abs | Operator::F64Abs => self.unary(|t, a| t.b.ins().fabs(a)),
            Operator::F32Neg | Operator::F64Neg => self.unary(|t, a| t.b.ins().fneg(a)),
            Operator::F32Ceil | Operator::F64Ceil => self.unary(|t, a| t.b.ins().ceil(a)),
            Operator::F32Floor | Operator::F64Floor => self.unary(|t, a| t.b.ins().floor(a)),
            Operator::F32Trunc | Operator::F64Trunc => self.unary(|t, a| t.b.ins().trunc(a)),
            Operator::F32Nearest | Operator::F64Nearest => self.unary(|t, a| t.b.ins().nearest(a)),
            Operator::F32Sqrt | Operator::F64Sqrt => self.unary(|t, a| t.b.ins().sqrt(a)),
            Operator::F32Add | Operator::F64Add => self.binary(|t, a, b| t.b.ins().fadd(a, b)),
            Operator::F32Sub | Operator::F64Sub => self.binary(|t, a, b| t.b.ins().fsub(a, b)),
            Operator::F32Mul | Operator::F64Mul => self.binary(|t, a, b| t.b.ins().fmul(a, b)),
            Operator::F32Div | Operator::F64Div => self.binary(|t, a, b| t.b.ins().fdiv(a, b)),
            Operator::F32Min | Operator::F64Min => self.binary(|t, a, b| t.b.ins().fmin(a, b)),
            Operator::F32Max | Operator::F64Max => self.binary(|t, a, b| t.b.ins().fmax(a, b)),
            Operator::F32Copysign | Operator::F64Copysign => {
                self.binary(|t, a, b| t.b.ins().fcopysign(a, b))
            }

            Operator::I32WrapI64 => self.unary(|t, a| t.b.ins().ireduce(I32, a)),
            Operator::I64ExtendI32S => self.unary(|t, a| t.b.ins().sextend(I64, a)),
            Operator::I64ExtendI32U => self.unary(|t, a| t.b.ins().uextend(I64, a)),
            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.unary(|t, a| t.b.ins().fcvt_to_sint(I32, a))
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.unary(|t, a| t.b.ins().fcvt_to_uint(I32, a))
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.unary(|t, a| t.b.ins().fcvt_to_sint(I64, a))
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.unary(|t, a| t.b.ins().fcvt_to_uint(I64, a))
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.unary(|t, a| t.b.ins().fcvt_to_sint_sat(I32, a))
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.unary(|t, a| t.b.ins().fcvt_to_uint_sat(I32, a))
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.unary(|t, a| t.b.ins().fcvt_to_sint_sat(I64, a))
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.unary(|t, a| t.b.ins().fcvt_to_uint_sat(I64, a))
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.unary(|t, a| t.b.ins().fcvt_from_sint(F32, a))
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.unary(|t, a| t.b.ins().fcvt_from_uint(F32, a))
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.unary(|t, a| t.b.ins().fcvt_from_sint(F64, a))
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.unary(|t, a| t.b.ins().fcvt_from_uint(F64, a))
            }
            Operator::F32DemoteF64 => self.unary(|t, a| t.b.ins().fdemote(F32, a)),
            Operator::F64PromoteF32 => self.unary(|t, a| t.b.ins().fpromote(F64, a)),
            Operator::I32ReinterpretF32 => self.unary(|t, a| t.b.ins().bitcast(I32, little(), a)),
            Operator::I64ReinterpretF64 => self.unary(|t, a| t.b.ins().bitcast(I64, little(), a)),
            Operator::F32ReinterpretI32 => self.unary(|t, a| t.b.ins().bitcast(F32, little(), a)),
            Operator::F64ReinterpretI64 => self.unary(|t, a| t.b.ins().bitcast(F64, little(), a)),

            Operator::I32Extend8S | Operator::I64Extend8S => self.extend_signed(types::I8),
            Operator::I32Extend16S | Operator::I64Extend16S => self.extend_signed(types::I16),
            Operator::I64Extend32S => self.extend_signed(I32),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
