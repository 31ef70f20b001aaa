;; hostile: 4 GiB memory whose data segments sit at both ends (the image must stay sparse)
;; run: --invoke f
;; expect: exit=0
(module
  (memory 65536)
  (data (i32.const 0) "start")
  (data (i32.const 0xFFFFFFF0) "end of memory")
  (func (export "f")
    (if (i32.ne (i32.load8_u (i32.const 0xFFFFFFF0)) (i32.const 0x65)) (then unreachable))))
