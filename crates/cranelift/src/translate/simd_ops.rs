//! SIMD lane-wise arithmetic.
