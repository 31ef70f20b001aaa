;; From the differential fuzzer (seed 1164): `select` reading and then
;; overwriting the same local inside a loop. The oracle at the time (wasmi
;; 2.0.0) got this wrong; Hayate must keep getting it right.
(module
  (global (mut i32) (i32.const 0))
  (func (export "f") (result i32)
    (local i32)
    i32.const 1
    global.set 0
    loop
      global.get 0
      global.set 0
      i32.const 1
      local.get 0
      local.get 0
      i32.eqz
      select
      local.set 0
    end
    local.get 0)
  (func (export "g") (param i32) (result i32)
    loop
      i32.const 7
      local.get 0
      local.get 0
      i32.eqz
      select
      local.set 0
    end
    local.get 0))
(assert_return (invoke "f") (i32.const 1))
(assert_return (invoke "g" (i32.const 0)) (i32.const 7))
(assert_return (invoke "g" (i32.const 5)) (i32.const 5))
