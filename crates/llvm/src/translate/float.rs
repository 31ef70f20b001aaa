//! Float operators: constants (bit-exact), arithmetic, `min`/`max`,
//! rounding, sign operations, comparisons, and the conversions between
//! floats and integers.
//!
//! Wasm's `min`/`max` are IEEE 754-2019 `minimum`/`maximum` (NaN wins,
//! -0 < +0), which `llvm.minimum`/`llvm.maximum` are. `neg`, `abs` and
//! `copysign` only touch the sign bit in both. A NaN produced from a NaN
//! operand must be quiet in Wasm, while LLVM may fold `x * 1.0` to `x`
//! (keeping a signalling NaN signalling); constant operands that allow
//! such folds (±0 and ±1) are therefore hidden from the optimiser, so the
//! operation is executed. Trapping conversions test for NaN and range
//! before `fptosi`/`fptoui` (whose result is poison out of range); the
//! saturating ones are `llvm.fpto[su]i.sat`, which are Wasm's exactly.

use hayate_environ::Trap;
use hayate_environ::wasmparser::Operator;
use inkwell::FloatPredicate;
use inkwell::builder::{Builder, BuilderError};
use inkwell::types::{FloatType, IntType};
use inkwell::values::FloatValue;

use super::{FuncTranslator, Result};

type FloatBinary<'ctx> = fn(
    &Builder<'ctx>,
    FloatValue<'ctx>,
    FloatValue<'ctx>,
) -> std::result::Result<FloatValue<'ctx>, BuilderError>;

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    pub(super) fn float_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        let (i32t, i64t) = (self.cx.i32_type(), self.cx.i64_type());
        let (f32t, f64t) = (self.cx.f32_type(), self.cx.f64_type());
        use Operator as O;
        match op {
            O::F32Const { value } => {
                let bits = i32t.const_int(u64::from(value.bits()), false);
                let v = self.b.build_bit_cast(bits, f32t, "")?;
                self.push(v);
            }
            O::F64Const { value } => {
                let bits = i64t.const_int(value.bits(), false);
                let v = self.b.build_bit_cast(bits, f64t, "")?;
                self.push(v);
            }
            O::F32Add | O::F64Add => self.float_binary(|b, x, y| b.build_float_add(x, y, ""))?,
            O::F32Sub | O::F64Sub => self.float_binary(|b, x, y| b.build_float_sub(x, y, ""))?,
            O::F32Mul | O::F64Mul => self.float_binary(|b, x, y| b.build_float_mul(x, y, ""))?,
            O::F32Div | O::F64Div => self.float_binary(|b, x, y| b.build_float_div(x, y, ""))?,
            O::F32Min | O::F64Min => self.min_max("llvm.minimum")?,
            O::F32Max | O::F64Max => self.min_max("llvm.maximum")?,
            O::F32Copysign | O::F64Copysign => self.float_intrinsic2("llvm.copysign")?,
            O::F32Sqrt | O::F64Sqrt => self.float_intrinsic1("llvm.sqrt")?,
            O::F32Ceil | O::F64Ceil => self.float_intrinsic1("llvm.ceil")?,
            O::F32Floor | O::F64Floor => self.float_intrinsic1("llvm.floor")?,
            O::F32Trunc | O::F64Trunc => self.float_intrinsic1("llvm.trunc")?,
            O::F32Nearest | O::F64Nearest => self.float_intrinsic1("llvm.roundeven")?,
            O::F32Abs | O::F64Abs => self.float_intrinsic1("llvm.fabs")?,
            O::F32Neg | O::F64Neg => {
                let x = self.pop_float()?;
                let v = self.b.build_float_neg(x, "")?;
                self.push(v);
            }
            O::F32Eq | O::F64Eq => self.float_compare(FloatPredicate::OEQ)?,
            O::F32Ne | O::F64Ne => self.float_compare(FloatPredicate::UNE)?,
            O::F32Lt | O::F64Lt => self.float_compare(FloatPredicate::OLT)?,
            O::F32Gt | O::F64Gt => self.float_compare(FloatPredicate::OGT)?,
            O::F32Le | O::F64Le => self.float_compare(FloatPredicate::OLE)?,
            O::F32Ge | O::F64Ge => self.float_compare(FloatPredicate::OGE)?,

            O::I32TruncF32S | O::I32TruncF64S => self.trunc(i32t, true)?,
            O::I32TruncF32U | O::I32TruncF64U => self.trunc(i32t, false)?,
            O::I64TruncF32S | O::I64TruncF64S => self.trunc(i64t, true)?,
            O::I64TruncF32U | O::I64TruncF64U => self.trunc(i64t, false)?,
            O::I32TruncSatF32S | O::I32TruncSatF64S => self.trunc_sat(i32t, "llvm.fptosi.sat")?,
            O::I32TruncSatF32U | O::I32TruncSatF64U => self.trunc_sat(i32t, "llvm.fptoui.sat")?,
            O::I64TruncSatF32S | O::I64TruncSatF64S => self.trunc_sat(i64t, "llvm.fptosi.sat")?,
            O::I64TruncSatF32U | O::I64TruncSatF64U => self.trunc_sat(i64t, "llvm.fptoui.sat")?,
            O::F32ConvertI32S | O::F32ConvertI64S => self.convert(f32t, true)?,
            O::F32ConvertI32U | O::F32ConvertI64U => self.convert(f32t, false)?,
            O::F64ConvertI32S | O::F64ConvertI64S => self.convert(f64t, true)?,
            O::F64ConvertI32U | O::F64ConvertI64U => self.convert(f64t, false)?,
            O::F32DemoteF64 => {
                let x = self.pop_float()?;
                // LLVM folds demote(promote(x)) to x, which keeps a
                // signalling NaN signalling.
                let x = self.opaque_if_promoted(x)?;
                let v = self.b.build_float_trunc(x, f32t, "")?;
                self.push(v);
            }
            O::F64PromoteF32 => {
                let x = self.pop_float()?;
                let v = self.b.build_float_ext(x, f64t, "")?;
                self.push(v);
            }
            O::I32ReinterpretF32 => self.reinterpret(i32t.into())?,
            O::I64ReinterpretF64 => self.reinterpret(i64t.into())?,
            O::F32ReinterpretI32 => self.reinterpret(f32t.into())?,
            O::F64ReinterpretI64 => self.reinterpret(f64t.into())?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `v`, or if it is a constant LLVM could fold an operation with
    /// (±0, ±1), the same value through an empty `asm` the optimiser
    /// cannot see through.
    fn opaque_identity(&mut self, v: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let identity = match self.literal(v)? {
            Some(c) => c == 0.0 || c == 1.0 || c == -1.0,
            // A constant LLVM may yet fold to an identity.
            None => v.is_const(),
        };
        match identity {
            true => self.opaque(v),
            false => Ok(v),
        }
    }

    /// The value of `v` if it is a floating-point literal. A constant
    /// LLVM has not folded to one (a lane of a bit-cast vector constant,
    /// say) is not: its bits come back as a constant expression, which
    /// has no integer value to read (and asking LLVM for the value of
    /// such a float crashes it).
    fn literal(&mut self, v: FloatValue<'ctx>) -> Result<Option<f64>> {
        if !v.is_const() {
            return Ok(None);
        }
        let single = v.get_type() == self.cx.f32_type();
        let int = match single {
            true => self.cx.i32_type(),
            false => self.cx.i64_type(),
        };
        let bits = self.b.build_bit_cast(v, int, "")?.into_int_value();
        Ok(bits.get_zero_extended_constant().map(|bits| match single {
            true => f64::from(f32::from_bits(bits as u32)),
            false => f64::from_bits(bits),
        }))
    }

    /// `v` through an empty `asm`, which the optimiser cannot see through.
    fn opaque(&mut self, v: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let ty = v.get_type();
        let fn_type = ty.fn_type(&[ty.into()], false);
        let asm = self.cx.create_inline_asm(
            fn_type,
            String::new(),
            "=x,0".to_string(),
            false,
            false,
            None,
            false,
        );
        let hidden =
            super::call_result(self.b.build_indirect_call(fn_type, asm, &[v.into()], "")?)
                .expect("the asm returns its operand");
        Ok(hidden.into_float_value())
    }

    /// `v` through an empty `asm` if it is the result of `fpext`.
    fn opaque_if_promoted(&mut self, v: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let promoted = v
            .as_instruction()
            .is_some_and(|i| i.get_opcode() == inkwell::values::InstructionOpcode::FPExt);
        if promoted { self.opaque(v) } else { Ok(v) }
    }

    fn float_binary(&mut self, f: FloatBinary<'ctx>) -> Result {
        let y = self.pop_float()?;
        let x = self.pop_float()?;
        let (x, y) = (self.opaque_identity(x)?, self.opaque_identity(y)?);
        let v = f(&self.b, x, y)?;
        self.push(v);
        Ok(())
    }

    fn float_intrinsic1(&mut self, name: &str) -> Result {
        let x = self.pop_float()?;
        let ty = x.get_type().into();
        let v = self.intrinsic(name, &[ty], &[x.into()])?;
        self.push(v);
        Ok(())
    }

    fn float_intrinsic2(&mut self, name: &str) -> Result {
        let y = self.pop_float()?;
        let x = self.pop_float()?;
        let ty = x.get_type().into();
        let v = self.intrinsic(name, &[ty], &[x.into(), y.into()])?;
        self.push(v);
        Ok(())
    }

    /// `min` or `max`: `llvm.minimum`/`llvm.maximum`, except that a NaN
    /// operand gives `x + y`, which is a quiet NaN (the intrinsics may
    /// return a signalling NaN operand as it is).
    fn min_max(&mut self, name: &str) -> Result {
        let y = self.pop_float()?;
        let x = self.pop_float()?;
        let ty = x.get_type().into();
        let m = self.intrinsic(name, &[ty], &[x.into(), y.into()])?;
        let nan = self.b.build_float_compare(FloatPredicate::UNO, x, y, "")?;
        let quiet = self.b.build_float_add(x, y, "")?;
        let v = self.b.build_select(nan, quiet.into(), m, "")?;
        self.push(v);
        Ok(())
    }

    fn float_compare(&mut self, pred: FloatPredicate) -> Result {
        let y = self.pop_float()?;
        let x = self.pop_float()?;
        let c = self.b.build_float_compare(pred, x, y, "")?;
        let v = self.bool_to_i32(c)?;
        self.push(v);
        Ok(())
    }

    /// A trapping float-to-integer truncation.
    fn trunc(&mut self, int: IntType<'ctx>, signed: bool) -> Result {
        let x = self.pop_float()?;
        let fty = x.get_type();
        let nan = self.b.build_float_compare(FloatPredicate::UNO, x, x, "")?;
        self.trap_if(nan, Trap::BadConversionToInteger)?;
        let (low, low_inclusive, high) = trunc_range(fty, int, signed, self.cx);
        let low_pred = if low_inclusive {
            FloatPredicate::OGE
        } else {
            FloatPredicate::OGT
        };
        let above = self.b.build_float_compare(low_pred, x, low, "")?;
        let below = self
            .b
            .build_float_compare(FloatPredicate::OLT, x, high, "")?;
        let in_range = self.b.build_and(above, below, "")?;
        let out = self.b.build_not(in_range, "")?;
        self.trap_if(out, Trap::IntegerOverflow)?;
        let v = if signed {
            self.b.build_float_to_signed_int(x, int, "")?
        } else {
            self.b.build_float_to_unsigned_int(x, int, "")?
        };
        self.push(v);
        Ok(())
    }

    fn trunc_sat(&mut self, int: IntType<'ctx>, name: &str) -> Result {
        let x = self.pop_float()?;
        let v = self.intrinsic(name, &[int.into(), x.get_type().into()], &[x.into()])?;
        self.push(v);
        Ok(())
    }

    fn convert(&mut self, float: FloatType<'ctx>, signed: bool) -> Result {
        let x = self.pop_int()?;
        let v = if signed {
            self.b.build_signed_int_to_float(x, float, "")?
        } else {
            self.b.build_unsigned_int_to_float(x, float, "")?
        };
        self.push(v);
        Ok(())
    }

    fn reinterpret(&mut self, ty: inkwell::types::BasicTypeEnum<'ctx>) -> Result {
        let x = self.pop()?;
        let v = self.b.build_bit_cast(x, ty, "")?;
        self.push(v);
        Ok(())
    }
}

/// The floats `x` must lie between for a truncation to `int` to be in
/// range: `(low, whether low itself is allowed, high)`, `high` excluded.
/// The bounds are powers of two (exact in both float types), except the
/// signed lower bound where `MIN - 1` is exact (`f64` to `i32`): there
/// anything above it truncates to at least `MIN`.
fn trunc_range<'ctx>(
    fty: FloatType<'ctx>,
    int: IntType<'ctx>,
    signed: bool,
    cx: &'ctx inkwell::context::Context,
) -> (FloatValue<'ctx>, bool, FloatValue<'ctx>) {
    let bits = int.get_bit_width() as i32;
    let is_f64 = fty == cx.f64_type();
    if signed {
        let high = 2f64.powi(bits - 1);
        if is_f64 && bits == 32 {
            (fty.const_float(-high - 1.0), false, fty.const_float(high))
        } else {
            (fty.const_float(-high), true, fty.const_float(high))
        }
    } else {
        (
            fty.const_float(-1.0),
            false,
            fty.const_float(2f64.powi(bits)),
        )
    }
}
