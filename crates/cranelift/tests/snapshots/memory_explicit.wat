;; settings: explicit
(module
  (memory 1)
  (func (export "load") (param i32) (result i32)
    local.get 0
    i32.load offset=4)
  (func (export "store8") (param i32 i64)
    local.get 0
    local.get 1
    i64.store8 offset=0x80000000)
  (func (export "size_grow") (param i32) (result i32)
    local.get 0
    memory.grow
    memory.size
    i32.add)
  (func (export "fill") (param i32 i32 i32)
    local.get 0 local.get 1 local.get 2 memory.fill)
  (func (export "copy_word") (param i32 i32)
    local.get 0
    local.get 1
    i32.load
    i32.store
    local.get 0
    local.get 1
    i32.load offset=4
    i32.store offset=4))
