//! The float libcalls: the few floating-point operations compiled code
//! does not inline (rounding and fused multiply-add, where Cranelift needs
//! a call on some targets), as `extern "C"` functions whose addresses the
//! loader patches into code at each `Relocation`'s site
//! ([`libcall_address`]). They are relocation targets, not builtins: they
//! take no VMContext and cannot trap.

use hayate_environ::FloatLibcall;

// WebAssembly requires a NaN result to be an arithmetic NaN (quiet bit
// set); the host's rounding may pass a signalling NaN through unchanged.

fn quiet32(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | 0x0040_0000)
}
fn quiet64(x: f64) -> f64 {
    f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
}
extern "C" fn ceil_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.ceil() }
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.ceil() }
}
extern "C" fn floor_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.floor() }
}
extern "C" fn floor_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.floor() }
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.trunc() }
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.trunc() }
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    if x.is_nan() {
        quiet32(x)
    } else {
        x.round_ties_even()
    }
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    if x.is_nan() {
        quiet64(x)
    } else {
        x.round_ties_even()
    }
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// Address of the implementation of `libcall` (an `extern "C"` function
/// taking and returning the float type).
pub fn libcall_address(libcall: FloatLibcall) -> usize {
    type F32 = extern "C" fn(f32) -> f32;
    type F64 = extern "C" fn(f64) -> f64;
    type Fma32 = extern "C" fn(f32, f32, f32) -> f32;
    type Fma64 = extern "C" fn(f64, f64, f64) -> f64;
    match libcall {
        FloatLibcall::CeilF32 => ceil_f32 as F32 as usize,
        FloatLibcall::CeilF64 => ceil_f64 as F64 as usize,
        FloatLibcall::FloorF32 => floor_f32 as F32 as usize,
        FloatLibcall::FloorF64 => floor_f64 as F64 as usize,
        FloatLibcall::TruncF32 => trunc_f32 as F32 as usize,
        FloatLibcall::TruncF64 => trunc_f64 as F64 as usize,
        FloatLibcall::NearestF32 => nearest_f32 as F32 as usize,
        FloatLibcall::NearestF64 => nearest_f64 as F64 as usize,
        FloatLibcall::FmaF32 => fma_f32 as Fma32 as usize,
        FloatLibcall::FmaF64 => fma_f64 as Fma64 as usize,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounding_libcalls_quiet_signalling_nans() {
        let snan32 = f32::from_bits(0x7fa0_0000);
        let snan64 = f64::from_bits(0x7ff4_0000_0000_0000);
        for f in [
            super::ceil_f32,
            super::floor_f32,
            super::trunc_f32,
            super::nearest_f32,
        ] {
            let r = f(snan32).to_bits();
            assert_eq!(r & 0x7fc0_0000, 0x7fc0_0000, "{r:#x}");
        }
        for f in [
            super::ceil_f64,
            super::floor_f64,
            super::trunc_f64,
            super::nearest_f64,
        ] {
            let r = f(snan64).to_bits();
            assert_eq!(r >> 51 & 0xfff, 0xfff, "{r:#x}");
        }
        assert_eq!(super::floor_f32(-1.5), -2.0);
        assert_eq!(super::nearest_f64(2.5), 2.0);
    }
}
