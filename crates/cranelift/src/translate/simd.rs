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
use hayate_environ::wasmparser::{MemArg, V128};

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

    /// `*.all_true`: 1 when every lane of the `ty` vector is non-zero.
    fn all_true(&mut self, ty: ir::Type) {
        let a = self.pop_vector(ty);
        let t = self.b.ins().vall_true(a);
        let v = self.b.ins().uextend(types::I32, t);
        self.push(v);
    }

    pub(super) fn swizzle(&mut self) {
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

    /// A load of 8 bytes widened to 128 bits by `load`.
    fn extending_load(
        &mut self,
        memarg: &MemArg,
        load: impl FnOnce(&mut Self, MemFlagsData, Value, i32) -> Value,
    ) -> Result<()> {
        let (addr, offset) = self.memory_address(memarg, 8)?;
        let v = load(self, self.regions.heap_flags(), addr, offset);
        self.push(v);
        Ok(())
    }

    /// `v128.loadN_splat`: one lane of `ty` loaded and copied to all lanes.
    fn load_splat(&mut self, memarg: &MemArg, ty: ir::Type) -> Result<()> {
        let x = self.load_scalar(memarg, ty.lane_type())?;
        let v = self.b.ins().splat(ty, x);
        self.push(v);
        Ok(())
    }

    /// `v128.loadN_zero`: one lane of `ty` loaded into lane 0, zeros above.
    fn load_zero(&mut self, memarg: &MemArg, ty: ir::Type) -> Result<()> {
        let x = self.load_scalar(memarg, ty.lane_type())?;
        let v = self.b.ins().scalar_to_vector(ty, x);
        self.push(v);
        Ok(())
    }

    /// `v128.loadN_lane`: lane `lane` of a `ty` vector replaced from memory.
    fn load_lane(&mut self, memarg: &MemArg, lane: u8, ty: ir::Type) -> Result<()> {
        let v = self.pop_vector(ty);
        let x = self.load_scalar(memarg, ty.lane_type())?;
        let r = self.b.ins().insertlane(v, x, lane);
        self.push(r);
        Ok(())
    }

    /// `v128.storeN_lane`: lane `lane` of a `ty` vector stored to memory.
    fn store_lane(&mut self, memarg: &MemArg, lane: u8, ty: ir::Type) -> Result<()> {
        let v = self.pop_vector(ty);
        let x = self.b.ins().extractlane(v, lane);
        let (addr, offset) = self.memory_address(memarg, ty.lane_type().bytes())?;
        self.b
            .ins()
            .store(self.regions.heap_flags(), x, addr, offset);
        Ok(())
    }

    visit_methods! { self;
        visit_v128_load(memarg: MemArg) => {
            let v = self.load_scalar(&memarg, I8X16)?;
            self.push(v);
        };
        visit_v128_load8x8_s(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().sload8x8(fl, a, o))?
        };
        visit_v128_load8x8_u(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().uload8x8(fl, a, o))?
        };
        visit_v128_load16x4_s(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().sload16x4(fl, a, o))?
        };
        visit_v128_load16x4_u(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().uload16x4(fl, a, o))?
        };
        visit_v128_load32x2_s(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().sload32x2(fl, a, o))?
        };
        visit_v128_load32x2_u(memarg: MemArg) => {
            self.extending_load(&memarg, |t, fl, a, o| t.b.ins().uload32x2(fl, a, o))?
        };
        visit_v128_load8_splat(memarg: MemArg) => self.load_splat(&memarg, I8X16)?;
        visit_v128_load16_splat(memarg: MemArg) => self.load_splat(&memarg, I16X8)?;
        visit_v128_load32_splat(memarg: MemArg) => self.load_splat(&memarg, I32X4)?;
        visit_v128_load64_splat(memarg: MemArg) => self.load_splat(&memarg, I64X2)?;
        visit_v128_load32_zero(memarg: MemArg) => self.load_zero(&memarg, I32X4)?;
        visit_v128_load64_zero(memarg: MemArg) => self.load_zero(&memarg, I64X2)?;
        visit_v128_store(memarg: MemArg) => {
            self.wasm_store(&memarg, 16, |t, v, a, o| {
                t.b.ins().store(t.regions.heap_flags(), v, a, o);
            })?;
        };
        visit_v128_load8_lane(memarg: MemArg, lane: u8) => self.load_lane(&memarg, lane, I8X16)?;
        visit_v128_load16_lane(memarg: MemArg, lane: u8) => self.load_lane(&memarg, lane, I16X8)?;
        visit_v128_load32_lane(memarg: MemArg, lane: u8) => self.load_lane(&memarg, lane, I32X4)?;
        visit_v128_load64_lane(memarg: MemArg, lane: u8) => self.load_lane(&memarg, lane, I64X2)?;
        visit_v128_store8_lane(memarg: MemArg, lane: u8) => self.store_lane(&memarg, lane, I8X16)?;
        visit_v128_store16_lane(memarg: MemArg, lane: u8) => self.store_lane(&memarg, lane, I16X8)?;
        visit_v128_store32_lane(memarg: MemArg, lane: u8) => self.store_lane(&memarg, lane, I32X4)?;
        visit_v128_store64_lane(memarg: MemArg, lane: u8) => self.store_lane(&memarg, lane, I64X2)?;
    }

    visit_methods! { self;
        visit_v128_const(value: V128) => {
            let v = self.vconst(I8X16, u128::from_le_bytes(*value.bytes()));
            self.push(v);
        };
        visit_i8x16_shuffle(lanes: [u8; 16]) => self.shuffle(&lanes);
        visit_i8x16_swizzle() => self.swizzle();
        visit_i8x16_splat() => self.splat(I8X16);
        visit_i16x8_splat() => self.splat(I16X8);
        visit_i32x4_splat() => self.splat(I32X4);
        visit_i64x2_splat() => self.splat(I64X2);
        visit_f32x4_splat() => self.splat(F32X4);
        visit_f64x2_splat() => self.splat(F64X2);
        visit_i8x16_extract_lane_s(lane: u8) => self.extract_lane(I8X16, lane, Some(true));
        visit_i8x16_extract_lane_u(lane: u8) => self.extract_lane(I8X16, lane, Some(false));
        visit_i16x8_extract_lane_s(lane: u8) => self.extract_lane(I16X8, lane, Some(true));
        visit_i16x8_extract_lane_u(lane: u8) => self.extract_lane(I16X8, lane, Some(false));
        visit_i32x4_extract_lane(lane: u8) => self.extract_lane(I32X4, lane, None);
        visit_i64x2_extract_lane(lane: u8) => self.extract_lane(I64X2, lane, None);
        visit_f32x4_extract_lane(lane: u8) => self.extract_lane(F32X4, lane, None);
        visit_f64x2_extract_lane(lane: u8) => self.extract_lane(F64X2, lane, None);
        visit_i8x16_replace_lane(lane: u8) => self.replace_lane(I8X16, lane);
        visit_i16x8_replace_lane(lane: u8) => self.replace_lane(I16X8, lane);
        visit_i32x4_replace_lane(lane: u8) => self.replace_lane(I32X4, lane);
        visit_i64x2_replace_lane(lane: u8) => self.replace_lane(I64X2, lane);
        visit_f32x4_replace_lane(lane: u8) => self.replace_lane(F32X4, lane);
        visit_f64x2_replace_lane(lane: u8) => self.replace_lane(F64X2, lane);

        visit_v128_not() => {
            let ty = self.bitwise_type(0);
            self.vunary(ty, |t, a| t.b.ins().bnot(a));
        };
        visit_v128_and() => {
            let ty = self.bitwise_type(1);
            self.vbinary(ty, |t, a, b| t.b.ins().band(a, b));
        };
        visit_v128_andnot() => {
            let ty = self.bitwise_type(1);
            self.vbinary(ty, |t, a, b| t.b.ins().band_not(a, b));
        };
        visit_v128_or() => {
            let ty = self.bitwise_type(1);
            self.vbinary(ty, |t, a, b| t.b.ins().bor(a, b));
        };
        visit_v128_xor() => {
            let ty = self.bitwise_type(1);
            self.vbinary(ty, |t, a, b| t.b.ins().bxor(a, b));
        };
        visit_v128_bitselect() => {
            let ty = self.bitwise_type(2);
            let c = self.pop_vector(ty);
            let b = self.pop_vector(ty);
            let a = self.pop_vector(ty);
            let v = self.b.ins().bitselect(c, a, b);
            self.push(v);
        };
        visit_v128_any_true() => {
            let ty = self.bitwise_type(0);
            let a = self.pop_vector(ty);
            let t = self.b.ins().vany_true(a);
            let v = self.b.ins().uextend(types::I32, t);
            self.push(v);
        };
        visit_i8x16_all_true() => self.all_true(I8X16);
        visit_i16x8_all_true() => self.all_true(I16X8);
        visit_i32x4_all_true() => self.all_true(I32X4);
        visit_i64x2_all_true() => self.all_true(I64X2);
        visit_i8x16_bitmask() => self.vunary(I8X16, |t, a| t.b.ins().vhigh_bits(types::I32, a));
        visit_i16x8_bitmask() => self.vunary(I16X8, |t, a| t.b.ins().vhigh_bits(types::I32, a));
        visit_i32x4_bitmask() => self.vunary(I32X4, |t, a| t.b.ins().vhigh_bits(types::I32, a));
        visit_i64x2_bitmask() => self.vunary(I64X2, |t, a| t.b.ins().vhigh_bits(types::I32, a));
    }

    visit_methods! { self;
        visit_i8x16_eq() => self.vicmp(I8X16, IntCC::Equal);
        visit_i8x16_ne() => self.vicmp(I8X16, IntCC::NotEqual);
        visit_i8x16_lt_s() => self.vicmp(I8X16, IntCC::SignedLessThan);
        visit_i8x16_lt_u() => self.vicmp(I8X16, IntCC::UnsignedLessThan);
        visit_i8x16_gt_s() => self.vicmp(I8X16, IntCC::SignedGreaterThan);
        visit_i8x16_gt_u() => self.vicmp(I8X16, IntCC::UnsignedGreaterThan);
        visit_i8x16_le_s() => self.vicmp(I8X16, IntCC::SignedLessThanOrEqual);
        visit_i8x16_le_u() => self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual);
        visit_i8x16_ge_s() => self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual);
        visit_i8x16_ge_u() => self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual);
        visit_i16x8_eq() => self.vicmp(I16X8, IntCC::Equal);
        visit_i16x8_ne() => self.vicmp(I16X8, IntCC::NotEqual);
        visit_i16x8_lt_s() => self.vicmp(I16X8, IntCC::SignedLessThan);
        visit_i16x8_lt_u() => self.vicmp(I16X8, IntCC::UnsignedLessThan);
        visit_i16x8_gt_s() => self.vicmp(I16X8, IntCC::SignedGreaterThan);
        visit_i16x8_gt_u() => self.vicmp(I16X8, IntCC::UnsignedGreaterThan);
        visit_i16x8_le_s() => self.vicmp(I16X8, IntCC::SignedLessThanOrEqual);
        visit_i16x8_le_u() => self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual);
        visit_i16x8_ge_s() => self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual);
        visit_i16x8_ge_u() => self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual);
        visit_i32x4_eq() => self.vicmp(I32X4, IntCC::Equal);
        visit_i32x4_ne() => self.vicmp(I32X4, IntCC::NotEqual);
        visit_i32x4_lt_s() => self.vicmp(I32X4, IntCC::SignedLessThan);
        visit_i32x4_lt_u() => self.vicmp(I32X4, IntCC::UnsignedLessThan);
        visit_i32x4_gt_s() => self.vicmp(I32X4, IntCC::SignedGreaterThan);
        visit_i32x4_gt_u() => self.vicmp(I32X4, IntCC::UnsignedGreaterThan);
        visit_i32x4_le_s() => self.vicmp(I32X4, IntCC::SignedLessThanOrEqual);
        visit_i32x4_le_u() => self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual);
        visit_i32x4_ge_s() => self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual);
        visit_i32x4_ge_u() => self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual);
        visit_i64x2_eq() => self.vicmp(I64X2, IntCC::Equal);
        visit_i64x2_ne() => self.vicmp(I64X2, IntCC::NotEqual);
        visit_i64x2_lt_s() => self.vicmp(I64X2, IntCC::SignedLessThan);
        visit_i64x2_gt_s() => self.vicmp(I64X2, IntCC::SignedGreaterThan);
        visit_i64x2_le_s() => self.vicmp(I64X2, IntCC::SignedLessThanOrEqual);
        visit_i64x2_ge_s() => self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual);
        visit_f32x4_eq() => self.vfcmp(F32X4, FloatCC::Equal);
        visit_f32x4_ne() => self.vfcmp(F32X4, FloatCC::NotEqual);
        visit_f32x4_lt() => self.vfcmp(F32X4, FloatCC::LessThan);
        visit_f32x4_gt() => self.vfcmp(F32X4, FloatCC::GreaterThan);
        visit_f32x4_le() => self.vfcmp(F32X4, FloatCC::LessThanOrEqual);
        visit_f32x4_ge() => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual);
        visit_f64x2_eq() => self.vfcmp(F64X2, FloatCC::Equal);
        visit_f64x2_ne() => self.vfcmp(F64X2, FloatCC::NotEqual);
        visit_f64x2_lt() => self.vfcmp(F64X2, FloatCC::LessThan);
        visit_f64x2_gt() => self.vfcmp(F64X2, FloatCC::GreaterThan);
        visit_f64x2_le() => self.vfcmp(F64X2, FloatCC::LessThanOrEqual);
        visit_f64x2_ge() => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual);
    }
}
