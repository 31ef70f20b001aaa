;; A CGI handler that asks for 32 MiB more memory and traps if it cannot
;; have it: under a smaller memory cap the request is a 500.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 512)) (i32.const -1))
      (then unreachable))))
