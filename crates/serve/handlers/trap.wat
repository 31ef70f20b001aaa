;; A CGI handler that traps before answering: the request is a 500.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
