//! Integer operators: constants, locals, arithmetic, bit counts, shifts
//! and rotations, comparisons, and the conversions between integer
//! widths.
//!
//! Wasm defines every integer operator for every input except division
//! and remainder, which trap; LLVM leaves some undefined. So shift and
//! rotation counts are masked to the width (`shl` by the width is poison
//! in LLVM), bit counts of zero are defined (`is_zero_poison` false), and
//! division tests its divisor (and `MIN / -1` for `div_s`) before the
//! instruction; `rem_s` by -1 is 0 without dividing, since `srem MIN, -1`
//! is undefined in LLVM.

use hayate_environ::Trap;
use hayate_environ::wasmparser::Operator;
use inkwell::IntPredicate;
use inkwell::builder::{Builder, BuilderError};
use inkwell::values::{BasicValue, IntValue};

use super::{FuncTranslator, Result};

type IntBinary<'ctx> = fn(
    &Builder<'ctx>,
    IntValue<'ctx>,
    IntValue<'ctx>,
) -> std::result::Result<IntValue<'ctx>, BuilderError>;

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    pub(super) fn numeric_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        let i32t = self.cx.i32_type();
        let i64t = self.cx.i64_type();
        use Operator as O;
        match op {
            O::LocalGet { local_index } => {
                if let Some(fp) = self.frame_pointer_value(*local_index) {
                    self.push(fp);
                } else {
                    let (slot, ty) = self.local(*local_index)?;
                    let v = self.b.build_load(ty, slot, "")?;
                    self.push(v);
                }
            }
            O::LocalSet { local_index } => {
                let v = self.pop()?;
                let (slot, _) = self.local(*local_index)?;
                self.b.build_store(slot, v)?;
            }
            O::LocalTee { local_index } => {
                let v = self.pop()?;
                let (slot, _) = self.local(*local_index)?;
                self.b.build_store(slot, v)?;
                self.push(v);
            }
            O::I32Const { value } => self.push(i32t.const_int(*value as u32 as u64, false)),
            O::I64Const { value } => self.push(i64t.const_int(*value as u64, false)),

            O::I32Add | O::I64Add => self.int_binary(|b, x, y| b.build_int_add(x, y, ""))?,
            O::I32Sub | O::I64Sub => self.int_binary(|b, x, y| b.build_int_sub(x, y, ""))?,
            O::I32Mul | O::I64Mul => self.int_binary(|b, x, y| b.build_int_mul(x, y, ""))?,
            O::I32And | O::I64And => self.int_binary(|b, x, y| b.build_and(x, y, ""))?,
            O::I32Or | O::I64Or => self.int_binary(|b, x, y| b.build_or(x, y, ""))?,
            O::I32Xor | O::I64Xor => self.int_binary(|b, x, y| b.build_xor(x, y, ""))?,
            O::I32Shl | O::I64Shl => {
                self.shift(|b, x, y| b.build_left_shift(x, y, ""))?;
            }
            O::I32ShrS | O::I64ShrS => {
                self.shift(|b, x, y| b.build_right_shift(x, y, true, ""))?;
            }
            O::I32ShrU | O::I64ShrU => {
                self.shift(|b, x, y| b.build_right_shift(x, y, false, ""))?;
            }
            O::I32Rotl | O::I64Rotl => self.rotate("llvm.fshl")?,
            O::I32Rotr | O::I64Rotr => self.rotate("llvm.fshr")?,
            O::I32DivS | O::I64DivS => self.division(true, false)?,
            O::I32DivU | O::I64DivU => self.division(false, false)?,
            O::I32RemS | O::I64RemS => self.division(true, true)?,
            O::I32RemU | O::I64RemU => self.division(false, true)?,
            O::I32Clz | O::I64Clz => self.bit_count("llvm.ctlz", true)?,
            O::I32Ctz | O::I64Ctz => self.bit_count("llvm.cttz", true)?,
            O::I32Popcnt | O::I64Popcnt => self.bit_count("llvm.ctpop", false)?,

            O::I32Eqz | O::I64Eqz => {
                let x = self.pop_int()?;
                let c =
                    self.b
                        .build_int_compare(IntPredicate::EQ, x, x.get_type().const_zero(), "")?;
                let v = self.bool_to_i32(c)?;
                self.push(v);
            }
            O::I32Eq | O::I64Eq => self.int_compare(IntPredicate::EQ)?,
            O::I32Ne | O::I64Ne => self.int_compare(IntPredicate::NE)?,
            O::I32LtS | O::I64LtS => self.int_compare(IntPredicate::SLT)?,
            O::I32LtU | O::I64LtU => self.int_compare(IntPredicate::ULT)?,
            O::I32GtS | O::I64GtS => self.int_compare(IntPredicate::SGT)?,
            O::I32GtU | O::I64GtU => self.int_compare(IntPredicate::UGT)?,
            O::I32LeS | O::I64LeS => self.int_compare(IntPredicate::SLE)?,
            O::I32LeU | O::I64LeU => self.int_compare(IntPredicate::ULE)?,
            O::I32GeS | O::I64GeS => self.int_compare(IntPredicate::SGE)?,
            O::I32GeU | O::I64GeU => self.int_compare(IntPredicate::UGE)?,

            O::I32WrapI64 => {
                let x = self.pop_int()?;
                let v = self.b.build_int_truncate(x, i32t, "")?;
                self.push(v);
            }
            O::I64ExtendI32S => {
                let x = self.pop_int()?;
                let v = self.b.build_int_s_extend(x, i64t, "")?;
                self.push(v);
            }
            O::I64ExtendI32U => {
                let x = self.pop_int()?;
                let v = self.b.build_int_z_extend(x, i64t, "")?;
                self.push(v);
            }
            O::I32Extend8S | O::I64Extend8S => self.sign_extend_low(8)?,
            O::I32Extend16S | O::I64Extend16S => self.sign_extend_low(16)?,
            O::I64Extend32S => self.sign_extend_low(32)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(super) fn local(
        &self,
        index: u32,
    ) -> Result<(
        inkwell::values::PointerValue<'ctx>,
        inkwell::types::BasicTypeEnum<'ctx>,
    )> {
        self.locals.get(index as usize).copied().ok_or_else(|| {
            hayate_environ::CompileError::Codegen(format!("no local {index}")).into()
        })
    }

    fn int_binary(&mut self, f: IntBinary<'ctx>) -> Result {
        let y = self.pop_int()?;
        let x = self.pop_int()?;
        let v = f(&self.b, x, y)?;
        self.push(v);
        Ok(())
    }

    /// A shift by the count modulo the width.
    fn shift(&mut self, f: IntBinary<'ctx>) -> Result {
        let y = self.pop_int()?;
        let x = self.pop_int()?;
        let ty = x.get_type();
        let mask = ty.const_int(u64::from(ty.get_bit_width() - 1), false);
        let y = self.b.build_and(y, mask, "")?;
        let v = f(&self.b, x, y)?;
        self.push(v);
        Ok(())
    }

    /// A rotation: a funnel shift of the value with itself (whose count is
    /// taken modulo the width by definition).
    fn rotate(&mut self, intrinsic: &str) -> Result {
        let y = self.pop_int()?;
        let x = self.pop_int()?;
        let ty = x.get_type().into();
        let v = self.intrinsic(intrinsic, &[ty], &[x.into(), x.into(), y.into()])?;
        self.push(v);
        Ok(())
    }

    /// `ctlz`/`cttz` (defined at zero) or `ctpop`.
    fn bit_count(&mut self, intrinsic: &str, has_zero_flag: bool) -> Result {
        let x = self.pop_int()?;
        let ty = x.get_type().into();
        let v = if has_zero_flag {
            let defined_at_zero = self.cx.bool_type().const_zero();
            self.intrinsic(intrinsic, &[ty], &[x.into(), defined_at_zero.into()])?
        } else {
            self.intrinsic(intrinsic, &[ty], &[x.into()])?
        };
        self.push(v);
        Ok(())
    }

    fn int_compare(&mut self, pred: IntPredicate) -> Result {
        let y = self.pop_int()?;
        let x = self.pop_int()?;
        let c = self.b.build_int_compare(pred, x, y, "")?;
        let v = self.bool_to_i32(c)?;
        self.push(v);
        Ok(())
    }

    /// Sign-extends the low `bits` bits of the operand to its width.
    fn sign_extend_low(&mut self, bits: u32) -> Result {
        let x = self.pop_int()?;
        let narrow = self.int_type(bits);
        let low = self.b.build_int_truncate(x, narrow, "")?;
        let v = self.b.build_int_s_extend(low, x.get_type(), "")?;
        self.push(v);
        Ok(())
    }

    /// `div_s`, `div_u`, `rem_s`, `rem_u` with Wasm's traps.
    fn division(&mut self, signed: bool, remainder: bool) -> Result {
        let y = self.pop_int()?;
        let x = self.pop_int()?;
        let ty = x.get_type();
        let zero = ty.const_zero();
        let by_zero = self.b.build_int_compare(IntPredicate::EQ, y, zero, "")?;
        self.trap_if(by_zero, Trap::IntegerDivisionByZero)?;
        let minus_one = ty.const_all_ones();
        let v = match (signed, remainder) {
            (false, false) => self.b.build_int_unsigned_div(x, y, "")?,
            (false, true) => self.b.build_int_unsigned_rem(x, y, "")?,
            (true, false) => {
                let min = ty.const_int(1u64 << (ty.get_bit_width() - 1), false);
                let is_min = self.b.build_int_compare(IntPredicate::EQ, x, min, "")?;
                let by_minus_one = self
                    .b
                    .build_int_compare(IntPredicate::EQ, y, minus_one, "")?;
                let overflow = self.b.build_and(is_min, by_minus_one, "")?;
                self.trap_if(overflow, Trap::IntegerOverflow)?;
                self.b.build_int_signed_div(x, y, "")?
            }
            (true, true) => {
                // x rem -1 is 0; dividing by 1 instead keeps `srem`
                // defined for MIN and gives the same 0.
                let by_minus_one = self
                    .b
                    .build_int_compare(IntPredicate::EQ, y, minus_one, "")?;
                let one = ty.const_int(1, false);
                let divisor = self.b.build_select(by_minus_one, one, y, "")?;
                self.b
                    .build_int_signed_rem(x, divisor.into_int_value(), "")?
            }
        };
        self.push(v.as_basic_value_enum());
        Ok(())
    }
}
