(module
  (func (export "br_table") (param i32) (result i32)
    block (result i32)
      block (result i32)
        i32.const 10
        local.get 0
        br_table 1 0 1
      end
      i32.const 20
      i32.add
    end)
  (func (export "loop_params") (param i32) (result i32)
    local.get 0
    loop (param i32) (result i32)
      i32.const 1
      i32.sub
      local.tee 0
      local.get 0
      br_if 0
    end)
  (func (export "if_no_else") (param i32 i64) (result i64)
    local.get 1
    local.get 0
    if (param i64) (result i64)
      i64.const 1
      i64.add
    end)
  (func (export "dead_code") (result i32)
    i32.const 1
    return
    block
      unreachable
      i32.add
      drop
    end
    i32.const 2))
