;; A tiny module for trying out Hayate:
;;   cargo run --release -p hayate-cli -- run --invoke add examples/hello.wat 1 2
(module
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  ;; The factorial of n, recursively: `--invoke fac 10` prints 3628800.
  (func $fac (export "fac") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fac (i64.sub (local.get $n) (i64.const 1)))))))

  ;; Traps: `--invoke oops` prints the trap and exits with code 134.
  (func (export "oops") unreachable))
