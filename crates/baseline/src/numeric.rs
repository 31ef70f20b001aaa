//! Numeric operators: constants, locals, integer arithmetic, comparisons,
//! conversions between integer widths, division with its traps, and the
//! float operators that are bit manipulations (`abs`, `neg`, `copysign`,
//! reinterpretations). Operands are loaded into `rax` and `rcx`.

use hayate_environ::wasmparser::Operator;
use hayate_environ::{Trap, WasmValType};

use crate::asm::{Alu, BitCount, Cond, Shift, reg};
use crate::func::{FuncCompiler, Loc, Result, unsupported};

use WasmValType::{F32, F64, I32, I64};

impl FuncCompiler<'_> {
    /// `a op b` for two operands of type `ty`.
    fn binary(&mut self, ty: WasmValType, op: Alu) -> Result {
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.alu(op, ty == I64, reg::RAX, reg::RCX);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    fn shift(&mut self, ty: WasmValType, op: Shift) -> Result {
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.shift(op, ty == I64, reg::RAX);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    /// A comparison of two operands of type `ty`, pushing an `i32`.
    fn compare(&mut self, ty: WasmValType, cond: Cond) -> Result {
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.cmp(ty == I64, reg::RAX, reg::RCX);
        self.asm.set_cond(cond, reg::RAX);
        self.push_reg(I32, reg::RAX);
        Ok(())
    }

    fn eqz(&mut self, ty: WasmValType) -> Result {
        self.pop_into(reg::RAX)?;
        self.asm.test(ty == I64, reg::RAX);
        self.asm.set_cond(Cond::Eq, reg::RAX);
        self.push_reg(I32, reg::RAX);
        Ok(())
    }

    fn bit_count(&mut self, ty: WasmValType, op: BitCount) -> Result {
        if !self.has_bit_counts {
            return unsupported("bit counts without lzcnt, bmi1 and popcnt");
        }
        self.pop_into(reg::RAX)?;
        self.asm.bit_count(op, ty == I64, reg::RAX, reg::RAX);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    /// Division and remainder, trapping on a zero divisor and on the
    /// quotient overflow of `MIN / -1`, whose remainder is 0.
    fn divide(&mut self, ty: WasmValType, signed: bool, remainder: bool) -> Result {
        let wide = ty == I64;
        self.pop_into(reg::RCX)?;
        self.pop_into(reg::RAX)?;
        self.asm.test(wide, reg::RCX);
        let by_zero = self.trap_label(Trap::IntegerDivisionByZero);
        self.asm.jcc(Cond::Eq, by_zero);
        let done = self.asm.new_label();
        if signed {
            let divide = self.asm.new_label();
            self.asm.cmp_imm(wide, reg::RCX, -1);
            self.asm.jcc(Cond::Ne, divide);
            if remainder {
                // x % -1 is 0, and `idiv` would fault on MIN % -1.
                self.asm.mov_imm(reg::RDX, 0);
                self.asm.jmp(done);
            } else {
                // MIN / -1 overflows; x / -1 is 0 - x otherwise.
                let min = if wide { i64::MIN } else { 0x8000_0000 };
                self.asm.mov_imm(reg::RDX, min);
                self.asm.cmp(wide, reg::RAX, reg::RDX);
                let overflow = self.trap_label(Trap::IntegerOverflow);
                self.asm.jcc(Cond::Eq, overflow);
                self.asm.mov_imm(reg::RDX, 0);
                self.asm.alu(Alu::Sub, wide, reg::RDX, reg::RAX);
                self.asm.mov64(reg::RAX, reg::RDX);
                self.asm.jmp(done);
            }
            self.asm.bind(divide);
            self.asm.sign_extend_rax_into_rdx(wide);
        } else {
            self.asm.mov_imm(reg::RDX, 0);
        }
        self.asm.div(signed, wide, reg::RCX);
        self.asm.bind(done);
        let result = if remainder { reg::RDX } else { reg::RAX };
        self.push_reg(ty, result);
        Ok(())
    }

    /// Clears (`abs`), flips (`neg`) the sign bit of a float, or copies
    /// (`copysign`) the second operand's into the first.
    fn sign_bit(&mut self, ty: WasmValType, op: SignOp) -> Result {
        let sign: i64 = if ty == F64 { i64::MIN } else { 0x8000_0000 };
        if op == SignOp::Copy {
            self.pop_into(reg::RDX)?;
        }
        self.pop_into(reg::RAX)?;
        match op {
            SignOp::Abs => {
                self.asm
                    .mov_imm(reg::RCX, !sign & if ty == F64 { -1 } else { 0xFFFF_FFFF });
                self.asm.alu(Alu::And, true, reg::RAX, reg::RCX);
            }
            SignOp::Neg => {
                self.asm.mov_imm(reg::RCX, sign);
                self.asm.alu(Alu::Xor, true, reg::RAX, reg::RCX);
            }
            SignOp::Copy => {
                self.asm.mov_imm(reg::RCX, sign);
                self.asm.alu(Alu::And, true, reg::RDX, reg::RCX);
                self.asm.mov_imm(reg::RCX, !sign);
                self.asm.alu(Alu::And, true, reg::RAX, reg::RCX);
                self.asm.alu(Alu::Or, true, reg::RAX, reg::RDX);
            }
        }
        self.push_reg(ty, reg::RAX);
        Ok(())
    }

    /// The top operand, now of type `ty` with the same bits.
    fn reinterpret(&mut self, ty: WasmValType) {
        let top = self.stack.last_mut().expect("validated: an operand");
        top.ty = ty;
    }

    fn local_set(&mut self, index: u32) -> Result {
        let operand = self.pop();
        if operand.loc == Loc::Local(index) {
            return Ok(());
        }
        self.materialize_local(index);
        let disp = self.local_disp(index);
        let depth = self.stack.len();
        self.store_operand(disp, operand, depth);
        Ok(())
    }

    /// Handles `op` if it is a numeric or local-variable operator.
    pub(crate) fn numeric_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator as O;
        match *op {
            O::LocalGet { local_index } => {
                let ty = self.locals[local_index as usize];
                self.push(ty, Loc::Local(local_index));
            }
            O::LocalSet { local_index } => self.local_set(local_index)?,
            O::LocalTee { local_index } => {
                let ty = self.stack.last().expect("validated: an operand").ty;
                self.local_set(local_index)?;
                self.push(ty, Loc::Local(local_index));
            }
            O::I32Const { value } => self.push(I32, Loc::Const(i64::from(value as u32))),
            O::I64Const { value } => self.push(I64, Loc::Const(value)),
            O::F32Const { value } => self.push(F32, Loc::Const(i64::from(value.bits()))),
            O::F64Const { value } => self.push(F64, Loc::Const(value.bits() as i64)),

            O::I32Add => self.binary(I32, Alu::Add)?,
            O::I32Sub => self.binary(I32, Alu::Sub)?,
            O::I32Mul => self.binary(I32, Alu::Mul)?,
            O::I32And => self.binary(I32, Alu::And)?,
            O::I32Or => self.binary(I32, Alu::Or)?,
            O::I32Xor => self.binary(I32, Alu::Xor)?,
            O::I64Add => self.binary(I64, Alu::Add)?,
            O::I64Sub => self.binary(I64, Alu::Sub)?,
            O::I64Mul => self.binary(I64, Alu::Mul)?,
            O::I64And => self.binary(I64, Alu::And)?,
            O::I64Or => self.binary(I64, Alu::Or)?,
            O::I64Xor => self.binary(I64, Alu::Xor)?,

            O::I32Shl => self.shift(I32, Shift::Shl)?,
            O::I32ShrS => self.shift(I32, Shift::ShrS)?,
            O::I32ShrU => self.shift(I32, Shift::ShrU)?,
            O::I32Rotl => self.shift(I32, Shift::Rotl)?,
            O::I32Rotr => self.shift(I32, Shift::Rotr)?,
            O::I64Shl => self.shift(I64, Shift::Shl)?,
            O::I64ShrS => self.shift(I64, Shift::ShrS)?,
            O::I64ShrU => self.shift(I64, Shift::ShrU)?,
            O::I64Rotl => self.shift(I64, Shift::Rotl)?,
            O::I64Rotr => self.shift(I64, Shift::Rotr)?,

            O::I32DivS => self.divide(I32, true, false)?,
            O::I32DivU => self.divide(I32, false, false)?,
            O::I32RemS => self.divide(I32, true, true)?,
            O::I32RemU => self.divide(I32, false, true)?,
            O::I64DivS => self.divide(I64, true, false)?,
            O::I64DivU => self.divide(I64, false, false)?,
            O::I64RemS => self.divide(I64, true, true)?,
            O::I64RemU => self.divide(I64, false, true)?,

            O::I32Clz => self.bit_count(I32, BitCount::Clz)?,
            O::I32Ctz => self.bit_count(I32, BitCount::Ctz)?,
            O::I32Popcnt => self.bit_count(I32, BitCount::Popcnt)?,
            O::I64Clz => self.bit_count(I64, BitCount::Clz)?,
            O::I64Ctz => self.bit_count(I64, BitCount::Ctz)?,
            O::I64Popcnt => self.bit_count(I64, BitCount::Popcnt)?,

            O::I32Eqz => self.eqz(I32)?,
            O::I64Eqz => self.eqz(I64)?,
            O::I32Eq => self.compare(I32, Cond::Eq)?,
            O::I32Ne => self.compare(I32, Cond::Ne)?,
            O::I32LtS => self.compare(I32, Cond::LtS)?,
            O::I32LtU => self.compare(I32, Cond::LtU)?,
            O::I32GtS => self.compare(I32, Cond::GtS)?,
            O::I32GtU => self.compare(I32, Cond::GtU)?,
            O::I32LeS => self.compare(I32, Cond::LeS)?,
            O::I32LeU => self.compare(I32, Cond::LeU)?,
            O::I32GeS => self.compare(I32, Cond::GeS)?,
            O::I32GeU => self.compare(I32, Cond::GeU)?,
            O::I64Eq => self.compare(I64, Cond::Eq)?,
            O::I64Ne => self.compare(I64, Cond::Ne)?,
            O::I64LtS => self.compare(I64, Cond::LtS)?,
            O::I64LtU => self.compare(I64, Cond::LtU)?,
            O::I64GtS => self.compare(I64, Cond::GtS)?,
            O::I64GtU => self.compare(I64, Cond::GtU)?,
            O::I64LeS => self.compare(I64, Cond::LeS)?,
            O::I64LeU => self.compare(I64, Cond::LeU)?,
            O::I64GeS => self.compare(I64, Cond::GeS)?,
            O::I64GeU => self.compare(I64, Cond::GeU)?,

            O::I32WrapI64 => {
                self.pop_into(reg::RAX)?;
                self.push_reg(I32, reg::RAX);
            }
            O::I64ExtendI32U => {
                // A 32-bit load zero-extends.
                self.pop_into(reg::RAX)?;
                self.push_reg(I64, reg::RAX);
            }
            O::I64ExtendI32S => self.extend(I64, 32)?,
            O::I32Extend8S => self.extend(I32, 8)?,
            O::I32Extend16S => self.extend(I32, 16)?,
            O::I64Extend8S => self.extend(I64, 8)?,
            O::I64Extend16S => self.extend(I64, 16)?,
            O::I64Extend32S => self.extend(I64, 32)?,

            O::F32Abs => self.sign_bit(F32, SignOp::Abs)?,
            O::F32Neg => self.sign_bit(F32, SignOp::Neg)?,
            O::F32Copysign => self.sign_bit(F32, SignOp::Copy)?,
            O::F64Abs => self.sign_bit(F64, SignOp::Abs)?,
            O::F64Neg => self.sign_bit(F64, SignOp::Neg)?,
            O::F64Copysign => self.sign_bit(F64, SignOp::Copy)?,
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn extend(&mut self, ty: WasmValType, from_bits: u8) -> Result {
        self.pop_into(reg::RAX)?;
        self.asm
            .sign_extend(reg::RAX, reg::RAX, from_bits, ty == I64);
        self.push_reg(ty, reg::RAX);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignOp {
    Abs,
    Neg,
    Copy,
}
