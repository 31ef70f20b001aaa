//! SIMD (`v128`) operators: vector memory accesses, constants, lanes,
//! shuffles, bitwise operations, tests and comparisons. Lane-wise
//! arithmetic and conversions are in `simd_ops.rs`.
//!
//! A `v128` on the value stack may have any 128-bit vector type; each
//! operator reinterprets its operands as the lane type it needs (a no-op
//! bitcast), and values are made canonical (`i8x16`) where they cross
//! blocks, calls and locals.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, ConstantData, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value, types,
};
use hayate_environ::wasmparser::{MemArg, Operator};

use super::{FuncTranslator, Result};
use crate::abi::POINTER;

use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

impl FuncTranslator<'_, '_> {
    /// Pops a vector and reinterprets it as `ty`.
    pub(super) fn pop_vector(&mut self, ty: ir::Type) -> Value {
        let v = self.pop();
        self.as_vector(v, ty)
    }

    pub(super) fn vunary(&mut self, ty: ir::Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_vector(ty);
        let v = f(self, a);
        self.push(v);
    }

    pub(super) fn vbinary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut Self, Value, Value) -> Value,
    ) {
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        let v = f(self, a, b);
        self.push(v);
    }

    fn vicmp(&mut self, ty: ir::Type, cc: IntCC) {
        self.vbinary(ty, |t, a, b| t.b.ins().icmp(cc, a, b));
    }

    fn vfcmp(&mut self, ty: ir::Type, cc: FloatCC) {
        self.vbinary(ty, |t, a, b| t.b.ins().fcmp(cc, a, b));
    }

    /// The type of the first operand of a bitwise operation: any vector
    /// type will do, so avoid a bitcast when possible.
    fn bitwise_type(&self, depth: usize) -> ir::Type {
        let v = self.stack[self.stack.len() - 1 - depth];
        self.b.func.dfg.value_type(v)
    }

    fn splat(&mut self, ty: ir::Type) {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if lane.is_int() && lane.bits() < 32 {
            self.b.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.b.ins().splat(ty, x);
        self.push(v);
    }

    fn extract_lane(&mut self, ty: ir::Type, lane: u8, extend: Option<bool>) {
        let v = self.pop_vector(ty);
        let x = self.b.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.b.ins().sextend(types::I32, x),
            Some(false) => self.b.ins().uextend(types::I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace_lane(&mut self, ty: ir::Type, lane: u8) {
        let x = self.pop();
        let v = self.pop_vector(ty);
        let lane_ty = ty.lane_type();
        let x = if lane_ty.is_int() && lane_ty.bits() < 32 {
            self.b.ins().ireduce(lane_ty, x)
        } else {
            x
        };
        let r = self.b.ins().insertlane(v, x, lane);
        self.push(r);
    }

    /// Byte permutations without SSSE3's `pshufb`: spill the inputs to the
    /// stack and assemble the result byte by byte. `pick(t, i, base)`
    /// returns byte `i` of the result, given the spilled inputs' address.
    fn bytes_via_stack(
        &mut self,
        inputs: &[Value],
        mut pick: impl FnMut(&mut Self, u8, Value) -> Value,
    ) -> Value {
        let size = 16 * (inputs.len() as u32 + 1);
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            4,
        ));
        let base = self.b.ins().stack_addr(POINTER, slot, 0);
        let flags = MemFlagsData::trusted();
        for (i, v) in inputs.iter().enumerate() {
            self.b.ins().store(flags, *v, base, 16 * i as i32);
        }
        let out = 16 * inputs.len() as i32;
        for i in 0..16u8 {
            let byte = pick(self, i, base);
            self.b.ins().istore8(flags, byte, base, out + i32::from(i));
        }
        self.b.ins().load(I8X16, flags, base, out)
    }

    fn shuffle(&mut self, lanes: &[u8; 16]) {
        let b = self.pop_vector(I8X16);
        let a = self.pop_vector(I8X16);
        let v = if self.env.isa.has_x86_pshufb_lowering() {
            let mask = self
                .b
                .func
                .dfg
                .immediates
                .push(ConstantData::from(&lanes[..]));
            self.b.ins().shuffle(a, b, mask)
        } else {
            self.bytes_via_stack(&[a, b], |t, i, base| {
                let from = i32::from(lanes[usize::from(i)]);
                t.b.ins()
                    .uload8(types::I32, MemFlagsData::trusted(), base, from)
            })
        };
        self.push(v);
    }

    fn swizzle(&mut self) {
        let indices = self.pop_vector(I8X16);
        let a = self.pop_vector(I8X16);
        let v = if self.env.isa.has_x86_pshufb_lowering() {
            self.b.ins().swizzle(a, indices)
        } else {
            // Lanes whose index is 16 or more become 0.
            self.bytes_via_stack(&[a, indices], |t, i, base| {
                let flags = MemFlagsData::trusted();
                let index = t.b.ins().uload8(types::I64, flags, base, 16 + i32::from(i));
                let in_range = t.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, index, 16);
                let masked = t.b.ins().band_imm_u(index, 15);
                let addr = t.b.ins().iadd(base, masked);
                let byte = t.b.ins().uload8(types::I32, flags, addr, 0);
                let zero = t.b.ins().iconst(types::I32, 0);
                t.b.ins().select(in_range, byte, zero)
            })
        };
        self.push(v);
    }

    /// Loads a scalar of type `ty` from memory.
    fn load_scalar(&mut self, memarg: &MemArg, ty: ir::Type) -> Result<Value> {
        let (addr, offset) = self.memory_address(memarg, ty.bytes())?;
        Ok(self
            .b
            .ins()
            .load(ty, self.regions.heap_flags(), addr, offset))
    }

    fn translate_simd_memory(&mut self, op: &Operator<'_>) -> Result<bool> {
        let fl = self.regions.heap_flags();
        macro_rules! extending_load {
            ($memarg:expr, $method:ident) => {{
                let (addr, offset) = self.memory_address($memarg, 8)?;
                let v = self.b.ins().$method(fl, addr, offset);
                self.push(v);
            }};
        }
        match op {
            Operator::V128Load { memarg } => {
                let v = self.load_scalar(memarg, I8X16)?;
                self.push(v);
            }
            Operator::V128Load8x8S { memarg } => extending_load!(memarg, sload8x8),
            Operator::V128Load8x8U { memarg } => extending_load!(memarg, uload8x8),
            Operator::V128Load16x4S { memarg } => extending_load!(memarg, sload16x4),
            Operator::V128Load16x4U { memarg } => extending_load!(memarg, uload16x4),
            Operator::V128Load32x2S { memarg } => extending_load!(memarg, sload32x2),
            Operator::V128Load32x2U { memarg } => extending_load!(memarg, uload32x2),
            Operator::V128Load8Splat { memarg }
            | Operator::V128Load16Splat { memarg }
            | Operator::V128Load32Splat { memarg }
            | Operator::V128Load64Splat { memarg } => {
                let ty = match op {
                    Operator::V128Load8Splat { .. } => I8X16,
                    Operator::V128Load16Splat { .. } => I16X8,
                    Operator::V128Load32Splat { .. } => I32X4,
                    _ => I64X2,
                };
                let x = self.load_scalar(memarg, ty.lane_type())?;
                let v = self.b.ins().splat(ty, x);
                self.push(v);
            }
            Operator::V128Load32Zero { memarg } | Operator::V128Load64Zero { memarg } => {
                let ty = if matches!(op, Operator::V128Load32Zero { .. }) {
                    I32X4
                } else {
                    I64X2
                };
                let x = self.load_scalar(memarg, ty.lane_type())?;
                let v = self.b.ins().scalar_to_vector(ty, x);
                self.push(v);
            }
            Operator::V128Store { memarg } => {
                self.wasm_store(memarg, 16, |t, v, a, o| {
                    t.b.ins().store(fl, v, a, o);
                })?;
            }
            Operator::V128Load8Lane { memarg, lane }
            | Operator::V128Load16Lane { memarg, lane }
            | Operator::V128Load32Lane { memarg, lane }
            | Operator::V128Load64Lane { memarg, lane } => {
                let ty = match op {
                    Operator::V128Load8Lane { .. } => I8X16,
                    Operator::V128Load16Lane { .. } => I16X8,
                    Operator::V128Load32Lane { .. } => I32X4,
                    _ => I64X2,
                };
                let v = self.pop_vector(ty);
                let x = self.load_scalar(memarg, ty.lane_type())?;
                let r = self.b.ins().insertlane(v, x, *lane);
                self.push(r);
            }
            Operator::V128Store8Lane { memarg, lane }
            | Operator::V128Store16Lane { memarg, lane }
            | Operator::V128Store32Lane { memarg, lane }
            | Operator::V128Store64Lane { memarg, lane } => {
                let ty = match op {
                    Operator::V128Store8Lane { .. } => I8X16,
                    Operator::V128Store16Lane { .. } => I16X8,
                    Operator::V128Store32Lane { .. } => I32X4,
                    _ => I64X2,
                };
                let v = self.pop_vector(ty);
                let x = self.b.ins().extractlane(v, *lane);
                let (addr, offset) = self.memory_address(memarg, ty.lane_type().bytes())?;
                self.b.ins().store(fl, x, addr, offset);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn translate_simd_lanes(&mut self, op: &Operator<'_>) -> Result<bool> {
        match op {
            Operator::V128Const { value } => {
                let v = self.vconst(I8X16, u128::from_le_bytes(*value.bytes()));
                self.push(v);
            }
            Operator::I8x16Shuffle { lanes } => self.shuffle(lanes),
            Operator::I8x16Swizzle => self.swizzle(),
            Operator::I8x16Splat => self.splat(I8X16),
            Operator::I16x8Splat => self.splat(I16X8),
            Operator::I32x4Splat => self.splat(I32X4),
            Operator::I64x2Splat => self.splat(I64X2),
            Operator::F32x4Splat => self.splat(F32X4),
            Operator::F64x2Splat => self.splat(F64X2),
            Operator::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, *lane, Some(true)),
            Operator::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, *lane, Some(false)),
            Operator::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, *lane, Some(true)),
            Operator::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, *lane, Some(false)),
            Operator::I32x4ExtractLane { lane } => self.extract_lane(I32X4, *lane, None),
            Operator::I64x2ExtractLane { lane } => self.extract_lane(I64X2, *lane, None),
            Operator::F32x4ExtractLane { lane } => self.extract_lane(F32X4, *lane, None),
            Operator::F64x2ExtractLane { lane } => self.extract_lane(F64X2, *lane, None),
            Operator::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, *lane),
            Operator::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, *lane),
            Operator::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, *lane),
            Operator::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, *lane),
            Operator::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, *lane),
            Operator::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, *lane),

            Operator::V128Not => {
                let ty = self.bitwise_type(0);
                self.vunary(ty, |t, a| t.b.ins().bnot(a));
            }
            Operator::V128And => {
                let ty = self.bitwise_type(1);
                self.vbinary(ty, |t, a, b| t.b.ins().band(a, b));
            }
            Operator::V128AndNot => {
                let ty = self.bitwise_type(1);
                self.vbinary(ty, |t, a, b| t.b.ins().band_not(a, b));
            }
            Operator::V128Or => {
                let ty = self.bitwise_type(1);
                self.vbinary(ty, |t, a, b| t.b.ins().bor(a, b));
            }
            Operator::V128Xor => {
                let ty = self.bitwise_type(1);
                self.vbinary(ty, |t, a, b| t.b.ins().bxor(a, b));
            }
            Operator::V128Bitselect => {
                let ty = self.bitwise_type(2);
                let c = self.pop_vector(ty);
                let b = self.pop_vector(ty);
                let a = self.pop_vector(ty);
                let v = self.b.ins().bitselect(c, a, b);
                self.push(v);
            }
            Operator::V128AnyTrue => {
                let ty = self.bitwise_type(0);
                let a = self.pop_vector(ty);
                let t = self.b.ins().vany_true(a);
                let v = self.b.ins().uextend(types::I32, t);
                self.push(v);
            }
            Operator::I8x16AllTrue
            | Operator::I16x8AllTrue
            | Operator::I32x4AllTrue
            | Operator::I64x2AllTrue => {
                let ty = match op {
                    Operator::I8x16AllTrue => I8X16,
                    Operator::I16x8AllTrue => I16X8,
                    Operator::I32x4AllTrue => I32X4,
                    _ => I64X2,
                };
                let a = self.pop_vector(ty);
                let t = self.b.ins().vall_true(a);
                let v = self.b.ins().uextend(types::I32, t);
                self.push(v);
            }
            Operator::I8x16Bitmask
            | Operator::I16x8Bitmask
            | Operator::I32x4Bitmask
            | Operator::I64x2Bitmask => {
                let ty = match op {
                    Operator::I8x16Bitmask => I8X16,
                    Operator::I16x8Bitmask => I16X8,
                    Operator::I32x4Bitmask => I32X4,
                    _ => I64X2,
                };
                self.vunary(ty, |t, a| t.b.ins().vhigh_bits(types::I32, a));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn translate_simd_compare(&mut self, op: &Operator<'_>) -> Result<bool> {
        use IntCC::*;
        match op {
            Operator::I8x16Eq => self.vicmp(I8X16, Equal),
            Operator::I8x16Ne => self.vicmp(I8X16, NotEqual),
            Operator::I8x16LtS => self.vicmp(I8X16, SignedLessThan),
            Operator::I8x16LtU => self.vicmp(I8X16, UnsignedLessThan),
            Operator::I8x16GtS => self.vicmp(I8X16, SignedGreaterThan),
            Operator::I8x16GtU => self.vicmp(I8X16, UnsignedGreaterThan),
            Operator::I8x16LeS => self.vicmp(I8X16, SignedLessThanOrEqual),
            Operator::I8x16LeU => self.vicmp(I8X16, UnsignedLessThanOrEqual),
            Operator::I8x16GeS => self.vicmp(I8X16, SignedGreaterThanOrEqual),
            Operator::I8x16GeU => self.vicmp(I8X16, UnsignedGreaterThanOrEqual),
            Operator::I16x8Eq => self.vicmp(I16X8, Equal),
            Operator::I16x8Ne => self.vicmp(I16X8, NotEqual),
            Operator::I16x8LtS => self.vicmp(I16X8, SignedLessThan),
            Operator::I16x8LtU => self.vicmp(I16X8, UnsignedLessThan),
            Operator::I16x8GtS => self.vicmp(I16X8, SignedGreaterThan),
            Operator::I16x8GtU => self.vicmp(I16X8, UnsignedGreaterThan),
            Operator::I16x8LeS => self.vicmp(I16X8, SignedLessThanOrEqual),
            Operator::I16x8LeU => self.vicmp(I16X8, UnsignedLessThanOrEqual),
            Operator::I16x8GeS => self.vicmp(I16X8, SignedGreaterThanOrEqual),
            Operator::I16x8GeU => self.vicmp(I16X8, UnsignedGreaterThanOrEqual),
            Operator::I32x4Eq => self.vicmp(I32X4, Equal),
            Operator::I32x4Ne => self.vicmp(I32X4, NotEqual),
            Operator::I32x4LtS => self.vicmp(I32X4, SignedLessThan),
            Operator::I32x4LtU => self.vicmp(I32X4, UnsignedLessThan),
            Operator::I32x4GtS => self.vicmp(I32X4, SignedGreaterThan),
            Operator::I32x4GtU => self.vicmp(I32X4, UnsignedGreaterThan),
            Operator::I32x4LeS => self.vicmp(I32X4, SignedLessThanOrEqual),
            Operator::I32x4LeU => self.vicmp(I32X4, UnsignedLessThanOrEqual),
            Operator::I32x4GeS => self.vicmp(I32X4, SignedGreaterThanOrEqual),
            Operator::I32x4GeU => self.vicmp(I32X4, UnsignedGreaterThanOrEqual),
            Operator::I64x2Eq => self.vicmp(I64X2, Equal),
            Operator::I64x2Ne => self.vicmp(I64X2, NotEqual),
            Operator::I64x2LtS => self.vicmp(I64X2, SignedLessThan),
            Operator::I64x2GtS => self.vicmp(I64X2, SignedGreaterThan),
            Operator::I64x2LeS => self.vicmp(I64X2, SignedLessThanOrEqual),
            Operator::I64x2GeS => self.vicmp(I64X2, SignedGreaterThanOrEqual),
            Operator::F32x4Eq => self.vfcmp(F32X4, FloatCC::Equal),
            Operator::F32x4Ne => self.vfcmp(F32X4, FloatCC::NotEqual),
            Operator::F32x4Lt => self.vfcmp(F32X4, FloatCC::LessThan),
            Operator::F32x4Gt => self.vfcmp(F32X4, FloatCC::GreaterThan),
            Operator::F32x4Le => self.vfcmp(F32X4, FloatCC::LessThanOrEqual),
            Operator::F32x4Ge => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual),
            Operator::F64x2Eq => self.vfcmp(F64X2, FloatCC::Equal),
            Operator::F64x2Ne => self.vfcmp(F64X2, FloatCC::NotEqual),
            Operator::F64x2Lt => self.vfcmp(F64X2, FloatCC::LessThan),
            Operator::F64x2Gt => self.vfcmp(F64X2, FloatCC::GreaterThan),
            Operator::F64x2Le => self.vfcmp(F64X2, FloatCC::LessThanOrEqual),
            Operator::F64x2Ge => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual),
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool> {
        Ok(self.translate_simd_memory(op)?
            || self.translate_simd_lanes(op)?
            || self.translate_simd_compare(op)?
            || self.translate_simd_arith(op)?)
    }
}
