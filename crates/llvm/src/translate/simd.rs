//! 128-bit SIMD: `v128` values are LLVM `<4 x i32>` on the operand
//! stack and in locals, and each operator views them as the lanes it
//! works on (`<16 x i8>` … `<2 x double>`), which costs nothing.
//!
//! Most operators are LLVM's vector operations or intrinsics with the
//! same meaning (saturating arithmetic, `smin`/`umax`, `ctpop`,
//! `fpto[su]i.sat`). Where Wasm defines what LLVM leaves undefined, the
//! translation says it: shift counts are masked to the lane width, lane
//! indices are immediates the validator checked, out-of-range `swizzle`
//! indices select zero, and `min`/`max` quiet NaN operands like the
//! scalar ones. Operators not listed here (relaxed SIMD) are declined.

use hayate_environ::CompileError;
use hayate_environ::wasmparser::{MemArg, Operator};
use inkwell::types::VectorType;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, VectorValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::{FuncTranslator, Result};

/// How an operator views a `v128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lanes {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Lanes {
    fn count(self) -> u32 {
        match self {
            Lanes::I8x16 => 16,
            Lanes::I16x8 => 8,
            Lanes::I32x4 | Lanes::F32x4 => 4,
            Lanes::I64x2 | Lanes::F64x2 => 2,
        }
    }

    fn bits(self) -> u32 {
        128 / self.count()
    }

    fn is_float(self) -> bool {
        matches!(self, Lanes::F32x4 | Lanes::F64x2)
    }

    /// The integer lanes of the same width.
    fn as_int(self) -> Lanes {
        match self {
            Lanes::F32x4 => Lanes::I32x4,
            Lanes::F64x2 => Lanes::I64x2,
            other => other,
        }
    }

    /// Lanes twice as wide, half as many.
    fn wider(self) -> Lanes {
        match self {
            Lanes::I8x16 => Lanes::I16x8,
            Lanes::I16x8 => Lanes::I32x4,
            _ => Lanes::I64x2,
        }
    }
}

type VResult<'ctx> = Result<VectorValue<'ctx>>;

impl<'ctx> FuncTranslator<'_, '_, 'ctx> {
    /// A scalar operand (`i32` for narrow integer lanes) as one lane of
    /// `lanes`.
    fn lane_value(
        &mut self,
        lanes: Lanes,
        v: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        if lanes.bits() < 32 && !lanes.is_float() {
            let lane = self.int_type(lanes.bits());
            return Ok(self
                .b
                .build_int_truncate(v.into_int_value(), lane, "")?
                .into());
        }
        Ok(v)
    }

    /// The vector type of `lanes`.
    fn vec_type(&self, lanes: Lanes) -> VectorType<'ctx> {
        match lanes {
            Lanes::F32x4 => self.cx.f32_type().vec_type(4),
            Lanes::F64x2 => self.cx.f64_type().vec_type(2),
            l => self.int_type(l.bits()).vec_type(l.count()),
        }
    }

    /// The type `v128` values have on the stack.
    pub(crate) fn v128_type(&self) -> VectorType<'ctx> {
        self.cx.i32_type().vec_type(4)
    }

    fn view(&mut self, v: BasicValueEnum<'ctx>, lanes: Lanes) -> VResult<'ctx> {
        let ty = self.vec_type(lanes);
        Ok(self.b.build_bit_cast(v, ty, "")?.into_vector_value())
    }

    fn pop_v(&mut self, lanes: Lanes) -> VResult<'ctx> {
        let v = self.pop()?;
        self.view(v, lanes)
    }

    fn push_v(&mut self, v: VectorValue<'ctx>) -> Result {
        let canonical = self.b.build_bit_cast(v, self.v128_type(), "")?;
        self.push(canonical);
        Ok(())
    }

    /// `value` in every lane.
    fn splat(&mut self, lanes: Lanes, value: BasicValueEnum<'ctx>) -> VResult<'ctx> {
        let ty = self.vec_type(lanes);
        let i32t = self.cx.i32_type();
        let one = self
            .b
            .build_insert_element(ty.get_undef(), value, i32t.const_zero(), "")?;
        let mask = VectorType::const_vector(&vec![i32t.const_zero(); lanes.count() as usize]);
        Ok(self.b.build_shuffle_vector(one, ty.get_undef(), mask, "")?)
    }

    /// A constant vector of `lanes` integers.
    fn int_const(&self, lanes: Lanes, values: &[u64]) -> VectorValue<'ctx> {
        let lane = self.int_type(lanes.bits());
        let values: Vec<IntValue> = values.iter().map(|v| lane.const_int(*v, false)).collect();
        VectorType::const_vector(&values)
    }

    /// A shuffle mask.
    fn mask(&self, indices: impl IntoIterator<Item = u32>) -> VectorValue<'ctx> {
        let i32t = self.cx.i32_type();
        let values: Vec<IntValue> = indices
            .into_iter()
            .map(|i| i32t.const_int(u64::from(i), false))
            .collect();
        VectorType::const_vector(&values)
    }

    fn v_binary(
        &mut self,
        lanes: Lanes,
        f: impl FnOnce(&mut Self, VectorValue<'ctx>, VectorValue<'ctx>) -> VResult<'ctx>,
    ) -> Result {
        let y = self.pop_v(lanes)?;
        let x = self.pop_v(lanes)?;
        let v = f(self, x, y)?;
        self.push_v(v)
    }

    fn v_unary(
        &mut self,
        lanes: Lanes,
        f: impl FnOnce(&mut Self, VectorValue<'ctx>) -> VResult<'ctx>,
    ) -> Result {
        let x = self.pop_v(lanes)?;
        let v = f(self, x)?;
        self.push_v(v)
    }

    fn v_intrinsic(
        &mut self,
        name: &str,
        lanes: Lanes,
        args: &[VectorValue<'ctx>],
    ) -> VResult<'ctx> {
        let ty = self.vec_type(lanes).into();
        let args: Vec<_> = args.iter().map(|a| (*a).into()).collect();
        Ok(self.intrinsic(name, &[ty], &args)?.into_vector_value())
    }

    /// A comparison's `<N x i1>` as lanes of all ones or zeros.
    fn mask_lanes(&mut self, cmp: VectorValue<'ctx>, lanes: Lanes) -> VResult<'ctx> {
        let ty = self.vec_type(lanes.as_int());
        Ok(self.b.build_int_s_extend(cmp, ty, "")?)
    }

    fn v_icmp(&mut self, lanes: Lanes, pred: IntPredicate) -> Result {
        self.v_binary(lanes, |t, x, y| {
            let c = t.b.build_int_compare(pred, x, y, "")?;
            t.mask_lanes(c, lanes)
        })
    }

    fn v_fcmp(&mut self, lanes: Lanes, pred: FloatPredicate) -> Result {
        self.v_binary(lanes, |t, x, y| {
            let c = t.b.build_float_compare(pred, x, y, "")?;
            t.mask_lanes(c, lanes)
        })
    }

    /// A shift by the scalar count modulo the lane width.
    fn v_shift(&mut self, lanes: Lanes, kind: u8) -> Result {
        let count = self.pop_int()?;
        let x = self.pop_v(lanes)?;
        let lane = self.int_type(lanes.bits());
        let masked = self.b.build_and(
            count,
            count
                .get_type()
                .const_int(u64::from(lanes.bits() - 1), false),
            "",
        )?;
        let narrowed = self.b.build_int_cast(masked, lane, "")?;
        let counts = self.splat(lanes, narrowed.into())?;
        let v = match kind {
            0 => self.b.build_left_shift(x, counts, "")?,
            1 => self.b.build_right_shift(x, counts, true, "")?,
            _ => self.b.build_right_shift(x, counts, false, "")?,
        };
        self.push_v(v)
    }

    /// `min`/`max` with NaN operands giving a quiet NaN.
    fn v_min_max(&mut self, lanes: Lanes, name: &str) -> Result {
        self.v_binary(lanes, |t, x, y| {
            let m = t.v_intrinsic(name, lanes, &[x, y])?;
            let nan = t.b.build_float_compare(FloatPredicate::UNO, x, y, "")?;
            let quiet = t.b.build_float_add(x, y, "")?;
            Ok(t.b.build_select(nan, quiet, m, "")?.into_vector_value())
        })
    }

    /// The low (`high` false) or high half of `x`'s lanes, extended to
    /// twice their width.
    fn extend_half(
        &mut self,
        x: VectorValue<'ctx>,
        lanes: Lanes,
        high: bool,
        signed: bool,
    ) -> VResult<'ctx> {
        let n = lanes.count() / 2;
        let first = if high { n } else { 0 };
        let half = self
            .b
            .build_shuffle_vector(x, x, self.mask(first..first + n), "")?;
        let wide = self.vec_type(lanes.wider());
        Ok(if signed {
            self.b.build_int_s_extend(half, wide, "")?
        } else {
            self.b.build_int_z_extend(half, wide, "")?
        })
    }

    /// Saturates the lanes of `x` to the signed or unsigned range of
    /// `bits`-bit integers and narrows them to that width.
    fn saturate_narrow(&mut self, x: VectorValue<'ctx>, bits: u32, signed: bool) -> VResult<'ctx> {
        let (low, high) = if signed {
            ((-(1i64 << (bits - 1))) as u64, (1u64 << (bits - 1)) - 1)
        } else {
            (0, (1u64 << bits) - 1)
        };
        let ty = x.get_type();
        let lane = ty.get_element_type().into_int_type();
        let n = ty.get_size() as usize;
        let lows: Vec<IntValue> = vec![lane.const_int(low, false); n];
        let highs: Vec<IntValue> = vec![lane.const_int(high, false); n];
        let clamp = |t: &mut Self, name: &str, x: VectorValue<'ctx>, bound: Vec<IntValue<'ctx>>| {
            let bound = VectorType::const_vector(&bound);
            Ok::<_, super::Error>(
                t.intrinsic(name, &[ty.into()], &[x.into(), bound.into()])?
                    .into_vector_value(),
            )
        };
        let x = clamp(self, "llvm.smax", x, lows)?;
        let x = clamp(self, "llvm.smin", x, highs)?;
        Ok(self
            .b
            .build_int_truncate(x, self.int_type(bits).vec_type(n as u32), "")?)
    }

    /// A load of `bytes` bytes at the popped index, as an integer.
    fn v_load_scalar(&mut self, memarg: &MemArg, bits: u32) -> Result<IntValue<'ctx>> {
        let addr = self.heap_address(memarg, bits / 8)?;
        let v = self.b.build_load(self.int_type(bits), addr.ptr, "")?;
        self.mark_heap_access(v.as_instruction_value().expect("a load"), addr)?;
        Ok(v.into_int_value())
    }

    pub(super) fn simd_operator(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Lanes::*;
        use Operator as O;
        let i32t = self.cx.i32_type();
        match op {
            O::V128Const { value } => {
                let bytes = value.bytes();
                let v = self.int_const(I8x16, &bytes.map(u64::from));
                self.push_v(v)?;
            }
            O::V128Load { memarg } => {
                let addr = self.heap_address(memarg, 16)?;
                let v = self.b.build_load(self.v128_type(), addr.ptr, "")?;
                self.mark_heap_access(v.as_instruction_value().expect("a load"), addr)?;
                self.push(v);
            }
            O::V128Store { memarg } => {
                let v = self.pop()?;
                let addr = self.heap_address(memarg, 16)?;
                let inst = self.b.build_store(addr.ptr, v)?;
                self.mark_heap_access(inst, addr)?;
            }
            O::V128Load8x8S { memarg } => self.load_extend(memarg, I8x16, true)?,
            O::V128Load8x8U { memarg } => self.load_extend(memarg, I8x16, false)?,
            O::V128Load16x4S { memarg } => self.load_extend(memarg, I16x8, true)?,
            O::V128Load16x4U { memarg } => self.load_extend(memarg, I16x8, false)?,
            O::V128Load32x2S { memarg } => self.load_extend(memarg, I32x4, true)?,
            O::V128Load32x2U { memarg } => self.load_extend(memarg, I32x4, false)?,
            O::V128Load8Splat { memarg } => self.load_splat(memarg, I8x16)?,
            O::V128Load16Splat { memarg } => self.load_splat(memarg, I16x8)?,
            O::V128Load32Splat { memarg } => self.load_splat(memarg, I32x4)?,
            O::V128Load64Splat { memarg } => self.load_splat(memarg, I64x2)?,
            O::V128Load32Zero { memarg } => self.load_zero(memarg, I32x4)?,
            O::V128Load64Zero { memarg } => self.load_zero(memarg, I64x2)?,
            O::V128Load8Lane { memarg, lane } => self.load_lane(memarg, I8x16, *lane)?,
            O::V128Load16Lane { memarg, lane } => self.load_lane(memarg, I16x8, *lane)?,
            O::V128Load32Lane { memarg, lane } => self.load_lane(memarg, I32x4, *lane)?,
            O::V128Load64Lane { memarg, lane } => self.load_lane(memarg, I64x2, *lane)?,
            O::V128Store8Lane { memarg, lane } => self.store_lane(memarg, I8x16, *lane)?,
            O::V128Store16Lane { memarg, lane } => self.store_lane(memarg, I16x8, *lane)?,
            O::V128Store32Lane { memarg, lane } => self.store_lane(memarg, I32x4, *lane)?,
            O::V128Store64Lane { memarg, lane } => self.store_lane(memarg, I64x2, *lane)?,

            O::I8x16Splat => self.splat_op(I8x16)?,
            O::I16x8Splat => self.splat_op(I16x8)?,
            O::I32x4Splat => self.splat_op(I32x4)?,
            O::I64x2Splat => self.splat_op(I64x2)?,
            O::F32x4Splat => self.splat_op(F32x4)?,
            O::F64x2Splat => self.splat_op(F64x2)?,
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8x16, *lane, Some(true))?,
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8x16, *lane, Some(false))?,
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16x8, *lane, Some(true))?,
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16x8, *lane, Some(false))?,
            O::I32x4ExtractLane { lane } => self.extract_lane(I32x4, *lane, None)?,
            O::I64x2ExtractLane { lane } => self.extract_lane(I64x2, *lane, None)?,
            O::F32x4ExtractLane { lane } => self.extract_lane(F32x4, *lane, None)?,
            O::F64x2ExtractLane { lane } => self.extract_lane(F64x2, *lane, None)?,
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8x16, *lane)?,
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16x8, *lane)?,
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32x4, *lane)?,
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64x2, *lane)?,
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32x4, *lane)?,
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64x2, *lane)?,
            O::I8x16Shuffle { lanes } => {
                let mask = self.mask(lanes.iter().map(|l| u32::from(*l)));
                self.v_binary(I8x16, |t, x, y| {
                    Ok(t.b.build_shuffle_vector(x, y, mask, "")?)
                })?;
            }
            O::I8x16Swizzle => self.v_binary(I8x16, |t, x, y| t.swizzle(x, y))?,

            O::V128Not => self.v_unary(I64x2, |t, x| Ok(t.b.build_not(x, "")?))?,
            O::V128And => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_and(x, y, "")?))?,
            O::V128Or => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_or(x, y, "")?))?,
            O::V128Xor => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_xor(x, y, "")?))?,
            O::V128AndNot => self.v_binary(I64x2, |t, x, y| {
                let not_y = t.b.build_not(y, "")?;
                Ok(t.b.build_and(x, not_y, "")?)
            })?,
            O::V128Bitselect => {
                let c = self.pop_v(I64x2)?;
                let y = self.pop_v(I64x2)?;
                let x = self.pop_v(I64x2)?;
                let from_x = self.b.build_and(x, c, "")?;
                let not_c = self.b.build_not(c, "")?;
                let from_y = self.b.build_and(y, not_c, "")?;
                let v = self.b.build_or(from_x, from_y, "")?;
                self.push_v(v)?;
            }
            O::V128AnyTrue => {
                let x = self.pop()?;
                let wide = self
                    .b
                    .build_bit_cast(x, self.cx.i128_type(), "")?
                    .into_int_value();
                let c = self.b.build_int_compare(
                    IntPredicate::NE,
                    wide,
                    self.cx.i128_type().const_zero(),
                    "",
                )?;
                let v = self.bool_to_i32(c)?;
                self.push(v);
            }
            O::I8x16AllTrue => self.all_true(I8x16)?,
            O::I16x8AllTrue => self.all_true(I16x8)?,
            O::I32x4AllTrue => self.all_true(I32x4)?,
            O::I64x2AllTrue => self.all_true(I64x2)?,
            O::I8x16Bitmask => self.bitmask(I8x16)?,
            O::I16x8Bitmask => self.bitmask(I16x8)?,
            O::I32x4Bitmask => self.bitmask(I32x4)?,
            O::I64x2Bitmask => self.bitmask(I64x2)?,

            O::I8x16Eq => self.v_icmp(I8x16, IntPredicate::EQ)?,
            O::I16x8Eq => self.v_icmp(I16x8, IntPredicate::EQ)?,
            O::I32x4Eq => self.v_icmp(I32x4, IntPredicate::EQ)?,
            O::I64x2Eq => self.v_icmp(I64x2, IntPredicate::EQ)?,
            O::I8x16Ne => self.v_icmp(I8x16, IntPredicate::NE)?,
            O::I16x8Ne => self.v_icmp(I16x8, IntPredicate::NE)?,
            O::I32x4Ne => self.v_icmp(I32x4, IntPredicate::NE)?,
            O::I64x2Ne => self.v_icmp(I64x2, IntPredicate::NE)?,
            O::I8x16LtS => self.v_icmp(I8x16, IntPredicate::SLT)?,
            O::I16x8LtS => self.v_icmp(I16x8, IntPredicate::SLT)?,
            O::I32x4LtS => self.v_icmp(I32x4, IntPredicate::SLT)?,
            O::I64x2LtS => self.v_icmp(I64x2, IntPredicate::SLT)?,
            O::I8x16LtU => self.v_icmp(I8x16, IntPredicate::ULT)?,
            O::I16x8LtU => self.v_icmp(I16x8, IntPredicate::ULT)?,
            O::I32x4LtU => self.v_icmp(I32x4, IntPredicate::ULT)?,
            O::I8x16GtS => self.v_icmp(I8x16, IntPredicate::SGT)?,
            O::I16x8GtS => self.v_icmp(I16x8, IntPredicate::SGT)?,
            O::I32x4GtS => self.v_icmp(I32x4, IntPredicate::SGT)?,
            O::I64x2GtS => self.v_icmp(I64x2, IntPredicate::SGT)?,
            O::I8x16GtU => self.v_icmp(I8x16, IntPredicate::UGT)?,
            O::I16x8GtU => self.v_icmp(I16x8, IntPredicate::UGT)?,
            O::I32x4GtU => self.v_icmp(I32x4, IntPredicate::UGT)?,
            O::I8x16LeS => self.v_icmp(I8x16, IntPredicate::SLE)?,
            O::I16x8LeS => self.v_icmp(I16x8, IntPredicate::SLE)?,
            O::I32x4LeS => self.v_icmp(I32x4, IntPredicate::SLE)?,
            O::I64x2LeS => self.v_icmp(I64x2, IntPredicate::SLE)?,
            O::I8x16LeU => self.v_icmp(I8x16, IntPredicate::ULE)?,
            O::I16x8LeU => self.v_icmp(I16x8, IntPredicate::ULE)?,
            O::I32x4LeU => self.v_icmp(I32x4, IntPredicate::ULE)?,
            O::I8x16GeS => self.v_icmp(I8x16, IntPredicate::SGE)?,
            O::I16x8GeS => self.v_icmp(I16x8, IntPredicate::SGE)?,
            O::I32x4GeS => self.v_icmp(I32x4, IntPredicate::SGE)?,
            O::I64x2GeS => self.v_icmp(I64x2, IntPredicate::SGE)?,
            O::I8x16GeU => self.v_icmp(I8x16, IntPredicate::UGE)?,
            O::I16x8GeU => self.v_icmp(I16x8, IntPredicate::UGE)?,
            O::I32x4GeU => self.v_icmp(I32x4, IntPredicate::UGE)?,
            O::F32x4Eq => self.v_fcmp(F32x4, FloatPredicate::OEQ)?,
            O::F64x2Eq => self.v_fcmp(F64x2, FloatPredicate::OEQ)?,
            O::F32x4Ne => self.v_fcmp(F32x4, FloatPredicate::UNE)?,
            O::F64x2Ne => self.v_fcmp(F64x2, FloatPredicate::UNE)?,
            O::F32x4Lt => self.v_fcmp(F32x4, FloatPredicate::OLT)?,
            O::F64x2Lt => self.v_fcmp(F64x2, FloatPredicate::OLT)?,
            O::F32x4Gt => self.v_fcmp(F32x4, FloatPredicate::OGT)?,
            O::F64x2Gt => self.v_fcmp(F64x2, FloatPredicate::OGT)?,
            O::F32x4Le => self.v_fcmp(F32x4, FloatPredicate::OLE)?,
            O::F64x2Le => self.v_fcmp(F64x2, FloatPredicate::OLE)?,
            O::F32x4Ge => self.v_fcmp(F32x4, FloatPredicate::OGE)?,
            O::F64x2Ge => self.v_fcmp(F64x2, FloatPredicate::OGE)?,

            O::I8x16Add => self.v_binary(I8x16, |t, x, y| Ok(t.b.build_int_add(x, y, "")?))?,
            O::I16x8Add => self.v_binary(I16x8, |t, x, y| Ok(t.b.build_int_add(x, y, "")?))?,
            O::I32x4Add => self.v_binary(I32x4, |t, x, y| Ok(t.b.build_int_add(x, y, "")?))?,
            O::I64x2Add => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_int_add(x, y, "")?))?,
            O::I8x16Sub => self.v_binary(I8x16, |t, x, y| Ok(t.b.build_int_sub(x, y, "")?))?,
            O::I16x8Sub => self.v_binary(I16x8, |t, x, y| Ok(t.b.build_int_sub(x, y, "")?))?,
            O::I32x4Sub => self.v_binary(I32x4, |t, x, y| Ok(t.b.build_int_sub(x, y, "")?))?,
            O::I64x2Sub => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_int_sub(x, y, "")?))?,
            O::I16x8Mul => self.v_binary(I16x8, |t, x, y| Ok(t.b.build_int_mul(x, y, "")?))?,
            O::I32x4Mul => self.v_binary(I32x4, |t, x, y| Ok(t.b.build_int_mul(x, y, "")?))?,
            O::I64x2Mul => self.v_binary(I64x2, |t, x, y| Ok(t.b.build_int_mul(x, y, "")?))?,
            O::I8x16Neg => self.v_unary(I8x16, |t, x| Ok(t.b.build_int_neg(x, "")?))?,
            O::I16x8Neg => self.v_unary(I16x8, |t, x| Ok(t.b.build_int_neg(x, "")?))?,
            O::I32x4Neg => self.v_unary(I32x4, |t, x| Ok(t.b.build_int_neg(x, "")?))?,
            O::I64x2Neg => self.v_unary(I64x2, |t, x| Ok(t.b.build_int_neg(x, "")?))?,
            O::I8x16Abs => self.v_abs(I8x16)?,
            O::I16x8Abs => self.v_abs(I16x8)?,
            O::I32x4Abs => self.v_abs(I32x4)?,
            O::I64x2Abs => self.v_abs(I64x2)?,
            O::I8x16AddSatS => self.v_named(I8x16, "llvm.sadd.sat")?,
            O::I16x8AddSatS => self.v_named(I16x8, "llvm.sadd.sat")?,
            O::I8x16AddSatU => self.v_named(I8x16, "llvm.uadd.sat")?,
            O::I16x8AddSatU => self.v_named(I16x8, "llvm.uadd.sat")?,
            O::I8x16SubSatS => self.v_named(I8x16, "llvm.ssub.sat")?,
            O::I16x8SubSatS => self.v_named(I16x8, "llvm.ssub.sat")?,
            O::I8x16SubSatU => self.v_named(I8x16, "llvm.usub.sat")?,
            O::I16x8SubSatU => self.v_named(I16x8, "llvm.usub.sat")?,
            O::I8x16MinS => self.v_named(I8x16, "llvm.smin")?,
            O::I16x8MinS => self.v_named(I16x8, "llvm.smin")?,
            O::I32x4MinS => self.v_named(I32x4, "llvm.smin")?,
            O::I8x16MinU => self.v_named(I8x16, "llvm.umin")?,
            O::I16x8MinU => self.v_named(I16x8, "llvm.umin")?,
            O::I32x4MinU => self.v_named(I32x4, "llvm.umin")?,
            O::I8x16MaxS => self.v_named(I8x16, "llvm.smax")?,
            O::I16x8MaxS => self.v_named(I16x8, "llvm.smax")?,
            O::I32x4MaxS => self.v_named(I32x4, "llvm.smax")?,
            O::I8x16MaxU => self.v_named(I8x16, "llvm.umax")?,
            O::I16x8MaxU => self.v_named(I16x8, "llvm.umax")?,
            O::I32x4MaxU => self.v_named(I32x4, "llvm.umax")?,
            O::I8x16AvgrU => self.v_binary(I8x16, |t, x, y| t.avgr(I8x16, x, y))?,
            O::I16x8AvgrU => self.v_binary(I16x8, |t, x, y| t.avgr(I16x8, x, y))?,
            O::I8x16Popcnt => {
                self.v_unary(I8x16, |t, x| t.v_intrinsic("llvm.ctpop", I8x16, &[x]))?
            }
            O::I8x16Shl => self.v_shift(I8x16, 0)?,
            O::I16x8Shl => self.v_shift(I16x8, 0)?,
            O::I32x4Shl => self.v_shift(I32x4, 0)?,
            O::I64x2Shl => self.v_shift(I64x2, 0)?,
            O::I8x16ShrS => self.v_shift(I8x16, 1)?,
            O::I16x8ShrS => self.v_shift(I16x8, 1)?,
            O::I32x4ShrS => self.v_shift(I32x4, 1)?,
            O::I64x2ShrS => self.v_shift(I64x2, 1)?,
            O::I8x16ShrU => self.v_shift(I8x16, 2)?,
            O::I16x8ShrU => self.v_shift(I16x8, 2)?,
            O::I32x4ShrU => self.v_shift(I32x4, 2)?,
            O::I64x2ShrU => self.v_shift(I64x2, 2)?,
            O::I8x16NarrowI16x8S => self.narrow(I8x16, true)?,
            O::I8x16NarrowI16x8U => self.narrow(I8x16, false)?,
            O::I16x8NarrowI32x4S => self.narrow(I16x8, true)?,
            O::I16x8NarrowI32x4U => self.narrow(I16x8, false)?,
            O::I16x8ExtendLowI8x16S => self.extend_op(I8x16, false, true)?,
            O::I16x8ExtendHighI8x16S => self.extend_op(I8x16, true, true)?,
            O::I16x8ExtendLowI8x16U => self.extend_op(I8x16, false, false)?,
            O::I16x8ExtendHighI8x16U => self.extend_op(I8x16, true, false)?,
            O::I32x4ExtendLowI16x8S => self.extend_op(I16x8, false, true)?,
            O::I32x4ExtendHighI16x8S => self.extend_op(I16x8, true, true)?,
            O::I32x4ExtendLowI16x8U => self.extend_op(I16x8, false, false)?,
            O::I32x4ExtendHighI16x8U => self.extend_op(I16x8, true, false)?,
            O::I64x2ExtendLowI32x4S => self.extend_op(I32x4, false, true)?,
            O::I64x2ExtendHighI32x4S => self.extend_op(I32x4, true, true)?,
            O::I64x2ExtendLowI32x4U => self.extend_op(I32x4, false, false)?,
            O::I64x2ExtendHighI32x4U => self.extend_op(I32x4, true, false)?,
            O::I16x8ExtMulLowI8x16S => self.ext_mul(I8x16, false, true)?,
            O::I16x8ExtMulHighI8x16S => self.ext_mul(I8x16, true, true)?,
            O::I16x8ExtMulLowI8x16U => self.ext_mul(I8x16, false, false)?,
            O::I16x8ExtMulHighI8x16U => self.ext_mul(I8x16, true, false)?,
            O::I32x4ExtMulLowI16x8S => self.ext_mul(I16x8, false, true)?,
            O::I32x4ExtMulHighI16x8S => self.ext_mul(I16x8, true, true)?,
            O::I32x4ExtMulLowI16x8U => self.ext_mul(I16x8, false, false)?,
            O::I32x4ExtMulHighI16x8U => self.ext_mul(I16x8, true, false)?,
            O::I64x2ExtMulLowI32x4S => self.ext_mul(I32x4, false, true)?,
            O::I64x2ExtMulHighI32x4S => self.ext_mul(I32x4, true, true)?,
            O::I64x2ExtMulLowI32x4U => self.ext_mul(I32x4, false, false)?,
            O::I64x2ExtMulHighI32x4U => self.ext_mul(I32x4, true, false)?,
            O::I16x8ExtAddPairwiseI8x16S => self.ext_add_pairwise(I8x16, true)?,
            O::I16x8ExtAddPairwiseI8x16U => self.ext_add_pairwise(I8x16, false)?,
            O::I32x4ExtAddPairwiseI16x8S => self.ext_add_pairwise(I16x8, true)?,
            O::I32x4ExtAddPairwiseI16x8U => self.ext_add_pairwise(I16x8, false)?,
            O::I32x4DotI16x8S => {
                let y = self.pop_v(I16x8)?;
                let x = self.pop_v(I16x8)?;
                let wide = self
                    .vec_type(I32x4)
                    .get_element_type()
                    .into_int_type()
                    .vec_type(8);
                let x = self.b.build_int_s_extend(x, wide, "")?;
                let y = self.b.build_int_s_extend(y, wide, "")?;
                let p = self.b.build_int_mul(x, y, "")?;
                let even = self
                    .b
                    .build_shuffle_vector(p, p, self.mask([0, 2, 4, 6]), "")?;
                let odd = self
                    .b
                    .build_shuffle_vector(p, p, self.mask([1, 3, 5, 7]), "")?;
                let v = self.b.build_int_add(even, odd, "")?;
                self.push_v(v)?;
            }
            O::I16x8Q15MulrSatS => {
                let y = self.pop_v(I16x8)?;
                let x = self.pop_v(I16x8)?;
                let wide = self.cx.i32_type().vec_type(8);
                let x = self.b.build_int_s_extend(x, wide, "")?;
                let y = self.b.build_int_s_extend(y, wide, "")?;
                let p = self.b.build_int_mul(x, y, "")?;
                let round = VectorType::const_vector(&[i32t.const_int(0x4000, false); 8]);
                let p = self.b.build_int_add(p, round, "")?;
                let fifteen = VectorType::const_vector(&[i32t.const_int(15, false); 8]);
                let p = self.b.build_right_shift(p, fifteen, true, "")?;
                let v = self.saturate_narrow(p, 16, true)?;
                self.push_v(v)?;
            }

            O::F32x4Add => self.v_binary(F32x4, |t, x, y| Ok(t.b.build_float_add(x, y, "")?))?,
            O::F64x2Add => self.v_binary(F64x2, |t, x, y| Ok(t.b.build_float_add(x, y, "")?))?,
            O::F32x4Sub => self.v_binary(F32x4, |t, x, y| Ok(t.b.build_float_sub(x, y, "")?))?,
            O::F64x2Sub => self.v_binary(F64x2, |t, x, y| Ok(t.b.build_float_sub(x, y, "")?))?,
            O::F32x4Mul => self.v_binary(F32x4, |t, x, y| Ok(t.b.build_float_mul(x, y, "")?))?,
            O::F64x2Mul => self.v_binary(F64x2, |t, x, y| Ok(t.b.build_float_mul(x, y, "")?))?,
            O::F32x4Div => self.v_binary(F32x4, |t, x, y| Ok(t.b.build_float_div(x, y, "")?))?,
            O::F64x2Div => self.v_binary(F64x2, |t, x, y| Ok(t.b.build_float_div(x, y, "")?))?,
            O::F32x4Neg => self.v_unary(F32x4, |t, x| Ok(t.b.build_float_neg(x, "")?))?,
            O::F64x2Neg => self.v_unary(F64x2, |t, x| Ok(t.b.build_float_neg(x, "")?))?,
            O::F32x4Abs => self.v_named1(F32x4, "llvm.fabs")?,
            O::F64x2Abs => self.v_named1(F64x2, "llvm.fabs")?,
            O::F32x4Sqrt => self.v_named1(F32x4, "llvm.sqrt")?,
            O::F64x2Sqrt => self.v_named1(F64x2, "llvm.sqrt")?,
            O::F32x4Ceil => self.v_named1(F32x4, "llvm.ceil")?,
            O::F64x2Ceil => self.v_named1(F64x2, "llvm.ceil")?,
            O::F32x4Floor => self.v_named1(F32x4, "llvm.floor")?,
            O::F64x2Floor => self.v_named1(F64x2, "llvm.floor")?,
            O::F32x4Trunc => self.v_named1(F32x4, "llvm.trunc")?,
            O::F64x2Trunc => self.v_named1(F64x2, "llvm.trunc")?,
            O::F32x4Nearest => self.v_named1(F32x4, "llvm.roundeven")?,
            O::F64x2Nearest => self.v_named1(F64x2, "llvm.roundeven")?,
            O::F32x4Min => self.v_min_max(F32x4, "llvm.minimum")?,
            O::F64x2Min => self.v_min_max(F64x2, "llvm.minimum")?,
            O::F32x4Max => self.v_min_max(F32x4, "llvm.maximum")?,
            O::F64x2Max => self.v_min_max(F64x2, "llvm.maximum")?,
            O::F32x4PMin => self.v_binary(F32x4, |t, x, y| t.pseudo_min_max(x, y, true))?,
            O::F64x2PMin => self.v_binary(F64x2, |t, x, y| t.pseudo_min_max(x, y, true))?,
            O::F32x4PMax => self.v_binary(F32x4, |t, x, y| t.pseudo_min_max(x, y, false))?,
            O::F64x2PMax => self.v_binary(F64x2, |t, x, y| t.pseudo_min_max(x, y, false))?,
            O::F32x4ConvertI32x4S => self.v_unary(I32x4, |t, x| {
                Ok(t.b.build_signed_int_to_float(x, t.vec_type(F32x4), "")?)
            })?,
            O::F32x4ConvertI32x4U => self.v_unary(I32x4, |t, x| {
                Ok(t.b.build_unsigned_int_to_float(x, t.vec_type(F32x4), "")?)
            })?,
            O::I32x4TruncSatF32x4S => {
                self.v_unary(F32x4, |t, x| t.trunc_sat_v(x, F32x4, 4, "llvm.fptosi.sat"))?
            }
            O::I32x4TruncSatF32x4U => {
                self.v_unary(F32x4, |t, x| t.trunc_sat_v(x, F32x4, 4, "llvm.fptoui.sat"))?
            }
            O::I32x4TruncSatF64x2SZero | O::I32x4TruncSatF64x2UZero => {
                let name = if matches!(op, O::I32x4TruncSatF64x2SZero) {
                    "llvm.fptosi.sat"
                } else {
                    "llvm.fptoui.sat"
                };
                self.v_unary(F64x2, |t, x| {
                    let two = t.trunc_sat_v(x, F64x2, 2, name)?;
                    let zero = t.cx.i32_type().vec_type(2).const_zero();
                    Ok(t.b.build_shuffle_vector(two, zero, t.mask([0, 1, 2, 3]), "")?)
                })?
            }
            O::F64x2ConvertLowI32x4S | O::F64x2ConvertLowI32x4U => {
                let signed = matches!(op, O::F64x2ConvertLowI32x4S);
                self.v_unary(I32x4, |t, x| {
                    let low = t.b.build_shuffle_vector(x, x, t.mask([0, 1]), "")?;
                    let ty = t.vec_type(F64x2);
                    Ok(if signed {
                        t.b.build_signed_int_to_float(low, ty, "")?
                    } else {
                        t.b.build_unsigned_int_to_float(low, ty, "")?
                    })
                })?
            }
            O::F32x4DemoteF64x2Zero => self.v_unary(F64x2, |t, x| {
                let two = t.b.build_float_trunc(x, t.cx.f32_type().vec_type(2), "")?;
                let zero = t.cx.f32_type().vec_type(2).const_zero();
                Ok(t.b.build_shuffle_vector(two, zero, t.mask([0, 1, 2, 3]), "")?)
            })?,
            O::F64x2PromoteLowF32x4 => self.v_unary(F32x4, |t, x| {
                let low = t.b.build_shuffle_vector(x, x, t.mask([0, 1]), "")?;
                Ok(t.b.build_float_ext(low, t.vec_type(F64x2), "")?)
            })?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `abs` (defined for the minimum value, which stays itself).
    fn v_abs(&mut self, lanes: Lanes) -> Result {
        self.v_unary(lanes, |t, x| {
            let ty = t.vec_type(lanes).into();
            let poison_at_min = t.cx.bool_type().const_zero();
            Ok(
                t.intrinsic("llvm.abs", &[ty], &[x.into(), poison_at_min.into()])?
                    .into_vector_value(),
            )
        })
    }

    /// `avgr_u`: `(x + y + 1) / 2` in lanes twice as wide.
    fn avgr(&mut self, lanes: Lanes, x: VectorValue<'ctx>, y: VectorValue<'ctx>) -> VResult<'ctx> {
        let wide_lane = self.int_type(lanes.bits() * 2);
        let wide = wide_lane.vec_type(lanes.count());
        let (x, y) = (
            self.b.build_int_z_extend(x, wide, "")?,
            self.b.build_int_z_extend(y, wide, "")?,
        );
        let ones =
            VectorType::const_vector(&vec![wide_lane.const_int(1, false); lanes.count() as usize]);
        let sum = self.b.build_int_add(x, y, "")?;
        let sum = self.b.build_int_add(sum, ones, "")?;
        let half = self.b.build_right_shift(sum, ones, false, "")?;
        Ok(self.b.build_int_truncate(half, self.vec_type(lanes), "")?)
    }

    /// `pmin` (`y < x ? y : x`) or `pmax` (`x < y ? y : x`).
    fn pseudo_min_max(
        &mut self,
        x: VectorValue<'ctx>,
        y: VectorValue<'ctx>,
        min: bool,
    ) -> VResult<'ctx> {
        let (a, b) = if min { (y, x) } else { (x, y) };
        let c = self.b.build_float_compare(FloatPredicate::OLT, a, b, "")?;
        Ok(self.b.build_select(c, y, x, "")?.into_vector_value())
    }

    fn v_named(&mut self, lanes: Lanes, name: &str) -> Result {
        self.v_binary(lanes, |t, x, y| t.v_intrinsic(name, lanes, &[x, y]))
    }

    fn v_named1(&mut self, lanes: Lanes, name: &str) -> Result {
        self.v_unary(lanes, |t, x| t.v_intrinsic(name, lanes, &[x]))
    }

    fn trunc_sat_v(
        &mut self,
        x: VectorValue<'ctx>,
        from: Lanes,
        n: u32,
        name: &str,
    ) -> VResult<'ctx> {
        let to = self.cx.i32_type().vec_type(n);
        let from = self.vec_type(from);
        Ok(self
            .intrinsic(name, &[to.into(), from.into()], &[x.into()])?
            .into_vector_value())
    }

    /// `swizzle`: lanes of `x` chosen by `y`, zero for indices over 15.
    /// `pshufb` zeroes lanes whose index has the top bit set, so indices
    /// over 15 are made 0x80 and up by a saturating add of 0x70.
    fn swizzle(&mut self, x: VectorValue<'ctx>, y: VectorValue<'ctx>) -> VResult<'ctx> {
        let bias = self.int_const(Lanes::I8x16, &[0x70; 16]);
        let y = self.v_intrinsic("llvm.uadd.sat", Lanes::I8x16, &[y, bias])?;
        let f = inkwell::intrinsics::Intrinsic::find("llvm.x86.ssse3.pshuf.b.128")
            .and_then(|i| i.get_declaration(self.env.module, &[]))
            .ok_or_else(|| CompileError::Codegen("no pshufb".into()))?;
        let v = super::call_result(self.b.build_call(f, &[x.into(), y.into()], "")?)
            .expect("pshufb returns a vector");
        Ok(v.into_vector_value())
    }

    fn all_true(&mut self, lanes: Lanes) -> Result {
        let x = self.pop_v(lanes)?;
        let zero = self.vec_type(lanes).const_zero();
        let nonzero = self.b.build_int_compare(IntPredicate::NE, x, zero, "")?;
        let all = self.intrinsic(
            "llvm.vector.reduce.and",
            &[nonzero.get_type().into()],
            &[nonzero.into()],
        )?;
        let v = self.bool_to_i32(all.into_int_value())?;
        self.push(v);
        Ok(())
    }

    fn bitmask(&mut self, lanes: Lanes) -> Result {
        let x = self.pop_v(lanes)?;
        let zero = self.vec_type(lanes).const_zero();
        let negative = self.b.build_int_compare(IntPredicate::SLT, x, zero, "")?;
        let bits = self.int_type(lanes.count().max(8));
        let packed = if lanes.count() < 8 {
            // <4 x i1> or <2 x i1> widened to eight lanes first.
            let mask = self.mask((0..8).map(|i| i.min(lanes.count() * 2 - 1)));
            let false_lanes = negative.get_type().const_zero();
            let eight = self
                .b
                .build_shuffle_vector(negative, false_lanes, mask, "")?;
            self.b
                .build_bit_cast(eight, self.cx.i8_type(), "")?
                .into_int_value()
        } else {
            self.b.build_bit_cast(negative, bits, "")?.into_int_value()
        };
        let v = self.b.build_int_z_extend(packed, self.cx.i32_type(), "")?;
        self.push(v);
        Ok(())
    }

    fn splat_op(&mut self, lanes: Lanes) -> Result {
        let x = self.pop()?;
        let x = self.lane_value(lanes, x)?;
        let v = self.splat(lanes, x)?;
        self.push_v(v)
    }

    fn extract_lane(&mut self, lanes: Lanes, lane: u8, signed: Option<bool>) -> Result {
        let x = self.pop_v(lanes)?;
        let index = self.cx.i32_type().const_int(u64::from(lane), false);
        let v = self.b.build_extract_element(x, index, "")?;
        let v: BasicValueEnum = match signed {
            Some(true) => self
                .b
                .build_int_s_extend(v.into_int_value(), self.cx.i32_type(), "")?
                .into(),
            Some(false) => self
                .b
                .build_int_z_extend(v.into_int_value(), self.cx.i32_type(), "")?
                .into(),
            None => v,
        };
        self.push(v);
        Ok(())
    }

    fn replace_lane(&mut self, lanes: Lanes, lane: u8) -> Result {
        let value = self.pop()?;
        let x = self.pop_v(lanes)?;
        let value = self.lane_value(lanes, value)?;
        let index = self.cx.i32_type().const_int(u64::from(lane), false);
        let v = self.b.build_insert_element(x, value, index, "")?;
        self.push_v(v)
    }

    fn narrow(&mut self, to: Lanes, signed: bool) -> Result {
        let wide = to.wider();
        let y = self.pop_v(wide)?;
        let x = self.pop_v(wide)?;
        let n = wide.count();
        let both = self.b.build_shuffle_vector(x, y, self.mask(0..2 * n), "")?;
        let v = self.saturate_narrow(both, to.bits(), signed)?;
        self.push_v(v)
    }

    fn extend_op(&mut self, from: Lanes, high: bool, signed: bool) -> Result {
        let x = self.pop_v(from)?;
        let v = self.extend_half(x, from, high, signed)?;
        self.push_v(v)
    }

    fn ext_mul(&mut self, from: Lanes, high: bool, signed: bool) -> Result {
        let y = self.pop_v(from)?;
        let x = self.pop_v(from)?;
        let x = self.extend_half(x, from, high, signed)?;
        let y = self.extend_half(y, from, high, signed)?;
        let v = self.b.build_int_mul(x, y, "")?;
        self.push_v(v)
    }

    fn ext_add_pairwise(&mut self, from: Lanes, signed: bool) -> Result {
        let x = self.pop_v(from)?;
        let n = from.count() / 2;
        let even = self
            .b
            .build_shuffle_vector(x, x, self.mask((0..n).map(|i| 2 * i)), "")?;
        let odd = self
            .b
            .build_shuffle_vector(x, x, self.mask((0..n).map(|i| 2 * i + 1)), "")?;
        let wide = self.vec_type(from.wider());
        let (even, odd) = if signed {
            (
                self.b.build_int_s_extend(even, wide, "")?,
                self.b.build_int_s_extend(odd, wide, "")?,
            )
        } else {
            (
                self.b.build_int_z_extend(even, wide, "")?,
                self.b.build_int_z_extend(odd, wide, "")?,
            )
        };
        let v = self.b.build_int_add(even, odd, "")?;
        self.push_v(v)
    }

    fn load_extend(&mut self, memarg: &MemArg, from: Lanes, signed: bool) -> Result {
        let half = self.v_load_scalar(memarg, 64)?;
        let n = from.count() / 2;
        let ty = self.int_type(from.bits()).vec_type(n);
        let v = self.b.build_bit_cast(half, ty, "")?.into_vector_value();
        let wide = self.vec_type(from.wider());
        let v = if signed {
            self.b.build_int_s_extend(v, wide, "")?
        } else {
            self.b.build_int_z_extend(v, wide, "")?
        };
        self.push_v(v)
    }

    fn load_splat(&mut self, memarg: &MemArg, lanes: Lanes) -> Result {
        let x = self.v_load_scalar(memarg, lanes.bits())?;
        let v = self.splat(lanes, x.into())?;
        self.push_v(v)
    }

    fn load_zero(&mut self, memarg: &MemArg, lanes: Lanes) -> Result {
        let x = self.v_load_scalar(memarg, lanes.bits())?;
        let zero = self.vec_type(lanes).const_zero();
        let index = self.cx.i32_type().const_zero();
        let v = self.b.build_insert_element(zero, x, index, "")?;
        self.push_v(v)
    }

    fn load_lane(&mut self, memarg: &MemArg, lanes: Lanes, lane: u8) -> Result {
        let v = self.pop_v(lanes)?;
        let x = self.v_load_scalar(memarg, lanes.bits())?;
        let index = self.cx.i32_type().const_int(u64::from(lane), false);
        let v = self.b.build_insert_element(v, x, index, "")?;
        self.push_v(v)
    }

    fn store_lane(&mut self, memarg: &MemArg, lanes: Lanes, lane: u8) -> Result {
        let v = self.pop_v(lanes)?;
        let index = self.cx.i32_type().const_int(u64::from(lane), false);
        let x = self.b.build_extract_element(v, index, "")?;
        let addr = self.heap_address(memarg, lanes.bits() / 8)?;
        let inst = self.b.build_store(addr.ptr, x)?;
        self.mark_heap_access(inst, addr)
    }
}
