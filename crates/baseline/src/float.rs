//! Float arithmetic with SSE scalar instructions: `add`, `sub`, `mul`,
//! `div`, `sqrt`, the comparisons, `promote`/`demote` and the conversions
//! from signed and 32-bit unsigned integers. Operands travel as bits
//! through `rax`/`rcx` into `xmm0`/`xmm1`. NaN results are whatever the
//! CPU produces, as in Cranelift's code (no canonicalisation). `min`,
//! `max`, rounding, conversions to integers and from `u64` are declined.

use hayate_environ::WasmValType;
use hayate_environ::wasmparser::Operator;

use crate::asm::{Alu, Cond, FloatOp, reg};
use crate::func::{FuncCompiler, Result};

use WasmValType::{F32, F64, I32, I64};

impl FuncCompiler<'_> {
    fn float_binary(&mut self, ty: WasmValType, op: FloatOp) -> Result {
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.gpr_to_xmm(0, reg::RAX);
        self.asm.gpr_to_xmm(1, reg::RCX);
        self.asm.float_op(op, ty == F64);
        self.asm.xmm_to_gpr(reg::RAX, 0);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    /// A unary operation producing a float of type `to`.
    fn float_unary(&mut self, to: WasmValType, op: FloatOp) -> Result {
        self.pop_into(reg::RAX)?;
        self.asm.gpr_to_xmm(0, reg::RAX);
        self.asm.float_op(op, to == F64);
        self.asm.xmm_to_gpr(reg::RAX, 0);
        self.push_reg(to, reg::RAX);
        Ok(())
    }

    /// A comparison, false when either operand is NaN except for `ne`.
    fn float_compare(&mut self, ty: WasmValType, op: FloatCompare) -> Result {
        let double = ty == F64;
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.gpr_to_xmm(0, reg::RAX);
        self.asm.gpr_to_xmm(1, reg::RCX);
        // `ucomis` of (x, y): unordered sets ZF, PF and CF; x > y clears
        // ZF and CF, x < y sets CF, equal sets ZF.
        match op {
            FloatCompare::Gt | FloatCompare::Ge => self.asm.float_compare(double, 0, 1),
            FloatCompare::Lt | FloatCompare::Le => self.asm.float_compare(double, 1, 0),
            FloatCompare::Eq | FloatCompare::Ne => self.asm.float_compare(double, 0, 1),
        }
        match op {
            FloatCompare::Gt | FloatCompare::Lt => self.asm.set_cond(Cond::GtU, reg::RAX),
            FloatCompare::Ge | FloatCompare::Le => self.asm.set_cond(Cond::GeU, reg::RAX),
            FloatCompare::Eq => {
                self.asm.set_cond(Cond::Eq, reg::RAX);
                self.asm.set_cond(Cond::NoParity, reg::RCX);
                self.asm.alu(Alu::And, false, reg::RAX, reg::RCX);
            }
            FloatCompare::Ne => {
                self.asm.set_cond(Cond::Ne, reg::RAX);
                self.asm.set_cond(Cond::Parity, reg::RCX);
                self.asm.alu(Alu::Or, false, reg::RAX, reg::RCX);
            }
        }
        self.push_reg(I32, reg::RAX);
        Ok(())
    }

    /// `to.convert_<from>_s`, and `_u` from `i32` (zero-extended, then
    /// converted as a signed 64-bit integer, which it fits).
    fn convert_from_int(&mut self, to: WasmValType, from: WasmValType, signed: bool) -> Result {
        self.pop_into(reg::RAX)?;
        let wide = from == I64 || !signed;
        self.asm.int_to_float(to == F64, wide, reg::RAX);
        self.asm.xmm_to_gpr(reg::RAX, 0);
        self.push_reg(to, reg::RAX);
        Ok(())
    }

    /// Handles `op` if it is a float operator this compiler implements.
    pub(crate) fn float_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        use FloatCompare as C;
        use Operator as O;
        match *op {
            O::F32Add => self.float_binary(F32, FloatOp::Add)?,
            O::F32Sub => self.float_binary(F32, FloatOp::Sub)?,
            O::F32Mul => self.float_binary(F32, FloatOp::Mul)?,
            O::F32Div => self.float_binary(F32, FloatOp::Div)?,
            O::F64Add => self.float_binary(F64, FloatOp::Add)?,
            O::F64Sub => self.float_binary(F64, FloatOp::Sub)?,
            O::F64Mul => self.float_binary(F64, FloatOp::Mul)?,
            O::F64Div => self.float_binary(F64, FloatOp::Div)?,
            O::F32Sqrt => self.float_unary(F32, FloatOp::Sqrt)?,
            O::F64Sqrt => self.float_unary(F64, FloatOp::Sqrt)?,
            O::F64PromoteF32 => self.float_unary(F64, FloatOp::Convert)?,
            O::F32DemoteF64 => self.float_unary(F32, FloatOp::Convert)?,
            O::F32Eq => self.float_compare(F32, C::Eq)?,
            O::F32Ne => self.float_compare(F32, C::Ne)?,
            O::F32Lt => self.float_compare(F32, C::Lt)?,
            O::F32Gt => self.float_compare(F32, C::Gt)?,
            O::F32Le => self.float_compare(F32, C::Le)?,
            O::F32Ge => self.float_compare(F32, C::Ge)?,
            O::F64Eq => self.float_compare(F64, C::Eq)?,
            O::F64Ne => self.float_compare(F64, C::Ne)?,
            O::F64Lt => self.float_compare(F64, C::Lt)?,
            O::F64Gt => self.float_compare(F64, C::Gt)?,
            O::F64Le => self.float_compare(F64, C::Le)?,
            O::F64Ge => self.float_compare(F64, C::Ge)?,
            O::F32ConvertI32S => self.convert_from_int(F32, I32, true)?,
            O::F32ConvertI32U => self.convert_from_int(F32, I32, false)?,
            O::F32ConvertI64S => self.convert_from_int(F32, I64, true)?,
            O::F64ConvertI32S => self.convert_from_int(F64, I32, true)?,
            O::F64ConvertI32U => self.convert_from_int(F64, I32, false)?,
            O::F64ConvertI64S => self.convert_from_int(F64, I64, true)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[derive(Debug, Clone, Copy)]
enum FloatCompare {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}
