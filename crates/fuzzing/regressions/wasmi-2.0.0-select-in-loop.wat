;; Found by the differential fuzzer (seed 1164, first session): not a Hayate
;; bug but one in the oracle. wasmi 2.0.0 returns 0 from "f"; the right
;; answer is 1 (local 0 is 0, so `select` picks the constant 1). Hayate has
;; always returned 1. wasmi 1.1.0 gets it right, which is why the oracle is
;; pinned to `=1.1.0`: this file fails if the oracle is bumped to a wasmi with
;; the bug. The matching `.wast` checks Hayate's answer on its own.
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
    local.get 0))
