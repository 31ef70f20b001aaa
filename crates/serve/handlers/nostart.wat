;; Not a command: no `_start`, so the server refuses it at startup.
(module (func (export "run")))
