(module
  (memory 1)
  (func (export "swizzle") (param v128 v128) (result v128)
    local.get 0 local.get 1 i8x16.swizzle)
  (func (export "pmin") (param v128 v128) (result v128)
    local.get 0 local.get 1 f32x4.pmin)
  (func (export "min") (param v128 v128) (result v128)
    local.get 0 local.get 1 f64x2.min)
  (func (export "narrow") (param v128 v128) (result v128)
    local.get 0 local.get 1 i8x16.narrow_i16x8_s)
  (func (export "lane") (param i32 v128) (result v128)
    local.get 0 local.get 1 v128.load16_lane 3)
  (func (export "shuffle") (param v128 v128) (result i32)
    local.get 0 local.get 1
    i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
    i32x4.extract_lane 1))
