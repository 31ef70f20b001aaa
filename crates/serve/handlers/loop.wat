;; A CGI handler that never finishes: the request times out (504).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
