//! 64-bit memories, tried as an attacker would: addresses past 4 GiB, sums
//! of address and offset that wrap around 2^64, bulk operations with
//! lengths near 2^64, growth by huge deltas and minimums no host can map,
//! in every configuration (guard pages, explicit bounds checks, pooling,
//! no copy-on-write images, lazy and baseline-first compilation). An
//! access either lands in the memory or traps; none reaches other memory.

use hayate::{
    BoundsChecks, Config, Engine, Instance, InstanceAllocationStrategy, Module, PoolingConfig,
    Store, Trap,
};

fn configs() -> Vec<(&'static str, Config)> {
    let mut out = vec![("default", Config::new())];
    let mut explicit = Config::new();
    explicit.bounds_checks(BoundsChecks::Explicit);
    out.push(("explicit", explicit));
    let mut pooling = Config::new();
    pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
        max_instances: 4,
        max_memories: 4,
        max_tables: 4,
        max_memory_pages: 16,
        max_tables_per_instance: 2,
        ..PoolingConfig::default()
    }));
    out.push(("pooling", pooling));
    let mut no_cow = Config::new();
    no_cow.memory_init_cow(false);
    out.push(("no-cow", no_cow));
    let mut baseline = Config::new();
    baseline
        .lazy_compilation(true)
        .baseline_compilation(true)
        .background_compilation(false);
    out.push(("baseline", baseline));
    out
}

const MODULE: &str = r#"(module
  (memory (export "m") i64 1 8)
  (data (i64.const 0) "\2a")
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
  ;; An offset that makes address + offset wrap around 2^64.
  (func (export "load_wrapping") (param i64) (result i64)
    (i64.load offset=0xfffffffffffffff8 (local.get 0)))
  (func (export "load_high_offset") (param i64) (result i32)
    (i32.load8_u offset=0x100000000 (local.get 0)))
  (func (export "store8") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "fill") (param i64 i32 i64)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (data $passive "xyz")
  (func (export "init") (param i64 i32 i32)
    (memory.init $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size)))"#;

fn trap_of(e: hayate::Error) -> Trap {
    *e.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {e}"))
}

#[test]
fn addresses_past_the_end_trap_and_never_alias_low_memory() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let load8 = i.get_typed_func::<i64, i32>(&mut store, "load8").unwrap();
        let load64 = i.get_typed_func::<i64, i64>(&mut store, "load64").unwrap();
        assert_eq!(load8.call(&mut store, 0).unwrap(), 42, "{name}");
        assert_eq!(load8.call(&mut store, 65535).unwrap(), 0, "{name}");
        assert_eq!(load64.call(&mut store, 65528).unwrap(), 0, "{name}");
        // Each of these truncated to 32 bits would be address 0 (or near).
        for at in [
            65536,
            1 << 32,
            (1 << 32) + 1,
            1 << 48,
            i64::MAX,
            -1,
            -8,
            i64::MIN,
        ] {
            assert_eq!(
                trap_of(load8.call(&mut store, at).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} load8 {at:#x}"
            );
            assert_eq!(
                trap_of(load64.call(&mut store, at).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} load64 {at:#x}"
            );
        }
        // The last byte is in bounds for one byte, not for eight.
        assert_eq!(load8.call(&mut store, 65529).unwrap(), 0, "{name}");
        assert_eq!(
            trap_of(load64.call(&mut store, 65529).unwrap_err()),
            Trap::MemoryOutOfBounds,
            "{name}"
        );
        let wrapping = i
            .get_typed_func::<i64, i64>(&mut store, "load_wrapping")
            .unwrap();
        let high = i
            .get_typed_func::<i64, i32>(&mut store, "load_high_offset")
            .unwrap();
        for at in [0, 8, 16, 64] {
            assert_eq!(
                trap_of(wrapping.call(&mut store, at).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} wrapping {at}"
            );
            assert_eq!(
                trap_of(high.call(&mut store, at).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} high offset {at}"
            );
        }
        let store8 = i
            .get_typed_func::<(i64, i32), ()>(&mut store, "store8")
            .unwrap();
        for at in [65536, 1 << 32, -1] {
            assert_eq!(
                trap_of(store8.call(&mut store, (at, 7)).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} store8 {at:#x}"
            );
        }
        let m = i.get_memory(&mut store, "m").unwrap();
        assert_eq!(m.data(&store)[0], 42, "{name}: nothing aliased address 0");
        assert!(m.data(&store)[1..].iter().all(|b| *b == 0), "{name}");
    }
}

#[test]
fn bulk_operations_with_huge_lengths_trap_without_writing() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let fill = i
            .get_typed_func::<(i64, i32, i64), ()>(&mut store, "fill")
            .unwrap();
        let copy = i
            .get_typed_func::<(i64, i64, i64), ()>(&mut store, "copy")
            .unwrap();
        fill.call(&mut store, (100, 7, 10)).unwrap();
        for (at, len) in [
            (0, 65537),
            (1, -1),
            (65535, 2),
            (-1, 2),
            (-65536, 65536),
            (1 << 32, 1),
        ] {
            assert_eq!(
                trap_of(fill.call(&mut store, (at, 9, len)).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} fill {at:#x} {len:#x}"
            );
            assert_eq!(
                trap_of(copy.call(&mut store, (at, 0, len)).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} copy to {at:#x} {len:#x}"
            );
            assert_eq!(
                trap_of(copy.call(&mut store, (0, at, len)).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} copy from {at:#x} {len:#x}"
            );
        }
        let init = i
            .get_typed_func::<(i64, i32, i32), ()>(&mut store, "init")
            .unwrap();
        for (at, from, len) in [
            (-1, 0, 3),
            (-2, 0, 3),
            (1 << 32, 0, 3),
            (65534, 0, 3),
            (0, 1, 3),
            (0, -1, 1),
            (0, 0, -1),
        ] {
            assert_eq!(
                trap_of(init.call(&mut store, (at, from, len)).unwrap_err()),
                Trap::MemoryOutOfBounds,
                "{name} init {at:#x} {from} {len}"
            );
        }
        init.call(&mut store, (200, 1, 2)).unwrap();
        // Zero lengths at the end are fine; past it they trap.
        fill.call(&mut store, (65536, 9, 0)).unwrap();
        assert_eq!(
            trap_of(fill.call(&mut store, (65537, 9, 0)).unwrap_err()),
            Trap::MemoryOutOfBounds,
            "{name}"
        );
        let m = i.get_memory(&mut store, "m").unwrap();
        let data = m.data(&store);
        assert_eq!(&data[100..110], &[7; 10], "{name}");
        assert_eq!(&data[200..202], b"yz", "{name}");
        assert_eq!(data.iter().filter(|b| **b != 0).count(), 13, "{name}");
    }
}

#[test]
fn growth_by_huge_deltas_fails_cleanly() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let grow = i.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
        let size = i.get_typed_func::<(), i64>(&mut store, "size").unwrap();
        for delta in [8, 1 << 32, 1 << 48, i64::MAX, -1, i64::MIN] {
            assert_eq!(
                grow.call(&mut store, delta).unwrap(),
                -1,
                "{name} {delta:#x}"
            );
        }
        assert_eq!(grow.call(&mut store, 2).unwrap(), 1, "{name}");
        assert_eq!(size.call(&mut store, ()).unwrap(), 3, "{name}");
        let load8 = i.get_typed_func::<i64, i32>(&mut store, "load8").unwrap();
        assert_eq!(load8.call(&mut store, 3 * 65536 - 1).unwrap(), 0, "{name}");
        assert_eq!(
            trap_of(load8.call(&mut store, 3 * 65536).unwrap_err()),
            Trap::MemoryOutOfBounds,
            "{name}"
        );
    }
}

#[test]
fn minimums_no_host_can_map_are_errors() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        // 2^40 pages is 64 PiB; the spec's limit is 2^48 pages.
        for wat in [
            "(module (memory i64 1099511627776))",
            "(module (memory i64 281474976710656))",
        ] {
            match Module::new(&engine, wat) {
                Ok(module) => {
                    let mut store = Store::new(&engine, ());
                    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
                    assert!(err.to_string().contains("memory"), "{name}: {err}");
                }
                Err(e) => assert!(e.to_string().contains("memory"), "{name}: {e}"),
            }
        }
    }
}

#[test]
fn data_segments_past_the_end_fail_instantiation() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        // Truncated to 32 bits, 2^32 would be offset 0; -1 plus the
        // length wraps around 2^64.
        for offset in ["65535", "4294967296", "-1", "-2", "0x7fffffffffffffff"] {
            let wat = format!(r#"(module (memory i64 1) (data (i64.const {offset}) "ab"))"#);
            let module = Module::new(&engine, &wat).unwrap();
            let mut store = Store::new(&engine, ());
            let err = Instance::new(&mut store, &module, &[]).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::MemoryOutOfBounds),
                "{name} {offset}: {err}"
            );
        }
    }
}

const TABLES: &str = r#"(module
  (type $t (func (result i32)))
  (table $t64 (export "t64") i64 3 10 funcref)
  (table $t32 (export "t32") 3 funcref)
  (elem (table $t64) (i64.const 0) func $seven $eight)
  (elem $passive func $seven $eight)
  (func $seven (result i32) (i32.const 7))
  (func $eight (result i32) (i32.const 8))
  (func (export "call") (param i64) (result i32)
    (call_indirect $t64 (type $t) (local.get 0)))
  (func (export "call_tail") (param i64) (result i32)
    (return_call_indirect $t64 (type $t) (local.get 0)))
  (func (export "get_is_null") (param i64) (result i32)
    (ref.is_null (table.get $t64 (local.get 0))))
  (func (export "set") (param i64) (table.set $t64 (local.get 0) (ref.func $eight)))
  (func (export "size") (result i64) (table.size $t64))
  (func (export "grow") (param i64) (result i64) (table.grow $t64 (ref.null func) (local.get 0)))
  (func (export "fill") (param i64 i64) (table.fill $t64 (local.get 0) (ref.func $seven) (local.get 1)))
  (func (export "copy") (param i64 i64 i64) (table.copy $t64 $t64 (local.get 0) (local.get 1) (local.get 2)))
  ;; Between a 64-bit and a 32-bit table the length is an i32.
  (func (export "copy_to_32") (param i32 i64 i32) (table.copy $t32 $t64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (table.init $t64 $passive (local.get 0) (local.get 1) (local.get 2))))"#;

#[test]
fn sixty_four_bit_tables_check_every_index_in_64_bits() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let call = i.get_typed_func::<i64, i32>(&mut store, "call").unwrap();
        let call_tail = i
            .get_typed_func::<i64, i32>(&mut store, "call_tail")
            .unwrap();
        let get_is_null = i
            .get_typed_func::<i64, i32>(&mut store, "get_is_null")
            .unwrap();
        let set = i.get_typed_func::<i64, ()>(&mut store, "set").unwrap();
        assert_eq!(call.call(&mut store, 0).unwrap(), 7, "{name}");
        assert_eq!(call_tail.call(&mut store, 1).unwrap(), 8, "{name}");
        assert_eq!(
            trap_of(call.call(&mut store, 2).unwrap_err()),
            Trap::IndirectCallToNull,
            "{name}"
        );
        // Truncated to 32 bits these would be elements 0 and 1.
        for at in [3, 1 << 32, (1 << 32) + 1, -1, i64::MIN] {
            for f in [&call, &call_tail, &get_is_null] {
                assert_eq!(
                    trap_of(f.call(&mut store, at).unwrap_err()),
                    Trap::TableOutOfBounds,
                    "{name} {at:#x}"
                );
            }
            assert_eq!(
                trap_of(set.call(&mut store, at).unwrap_err()),
                Trap::TableOutOfBounds,
                "{name} set {at:#x}"
            );
        }
        set.call(&mut store, 2).unwrap();
        assert_eq!(call.call(&mut store, 2).unwrap(), 8, "{name}");
        assert_eq!(
            call.call(&mut store, 0).unwrap(),
            7,
            "{name}: not overwritten"
        );
    }
}

#[test]
fn sixty_four_bit_tables_grow_fill_copy_and_init_within_bounds_only() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let size = i.get_typed_func::<(), i64>(&mut store, "size").unwrap();
        let grow = i.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
        let fill = i
            .get_typed_func::<(i64, i64), ()>(&mut store, "fill")
            .unwrap();
        let copy = i
            .get_typed_func::<(i64, i64, i64), ()>(&mut store, "copy")
            .unwrap();
        let copy_to_32 = i
            .get_typed_func::<(i32, i64, i32), ()>(&mut store, "copy_to_32")
            .unwrap();
        let init = i
            .get_typed_func::<(i64, i32, i32), ()>(&mut store, "init")
            .unwrap();
        let get_is_null = i
            .get_typed_func::<i64, i32>(&mut store, "get_is_null")
            .unwrap();
        for delta in [8, 1 << 32, i64::MAX, -1] {
            assert_eq!(
                grow.call(&mut store, delta).unwrap(),
                -1,
                "{name} {delta:#x}"
            );
        }
        assert_eq!(grow.call(&mut store, 2).unwrap(), 3, "{name}");
        assert_eq!(size.call(&mut store, ()).unwrap(), 5, "{name}");
        for (at, len) in [(0, 6), (5, 1), (1 << 32, 1), (-1, 2), (1, -1)] {
            let oob = |e: hayate::Error| trap_of(e) == Trap::TableOutOfBounds;
            assert!(
                oob(fill.call(&mut store, (at, len)).unwrap_err()),
                "{name} fill {at:#x} {len:#x}"
            );
            assert!(
                oob(copy.call(&mut store, (at, 0, len)).unwrap_err()),
                "{name} copy {at:#x}"
            );
            assert!(
                oob(copy.call(&mut store, (0, at, len)).unwrap_err()),
                "{name} copy {at:#x}"
            );
        }
        for (at, from, len) in [
            (-1, 0, 1),
            (1 << 32, 0, 1),
            (4, 0, 2),
            (0, 1, 2),
            (0, 0, -1),
        ] {
            assert_eq!(
                trap_of(init.call(&mut store, (at, from, len)).unwrap_err()),
                Trap::TableOutOfBounds,
                "{name} init {at:#x} {from} {len}"
            );
        }
        assert_eq!(
            trap_of(copy_to_32.call(&mut store, (0, 1 << 32, 1)).unwrap_err()),
            Trap::TableOutOfBounds,
            "{name}"
        );
        // Nothing was written by any of those.
        for at in 2..5 {
            assert_eq!(get_is_null.call(&mut store, at).unwrap(), 1, "{name} {at}");
        }
        fill.call(&mut store, (4, 1)).unwrap();
        init.call(&mut store, (3, 1, 1)).unwrap();
        copy.call(&mut store, (2, 3, 2)).unwrap();
        copy_to_32.call(&mut store, (0, 2, 3)).unwrap();
        let call = i.get_typed_func::<i64, i32>(&mut store, "call").unwrap();
        assert_eq!(call.call(&mut store, 2).unwrap(), 8, "{name}");
        assert_eq!(call.call(&mut store, 3).unwrap(), 7, "{name}");
        assert_eq!(call.call(&mut store, 4).unwrap(), 7, "{name}");
    }
}

#[test]
fn element_segments_past_a_64_bit_tables_end_fail_instantiation() {
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        for offset in ["3", "4294967296", "-1", "0x7fffffffffffffff"] {
            let wat = format!(
                r#"(module (table i64 3 funcref) (func $f) (elem (table 0) (i64.const {offset}) func $f))"#
            );
            let module = Module::new(&engine, &wat).unwrap();
            let mut store = Store::new(&engine, ());
            let err = Instance::new(&mut store, &module, &[]).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::TableOutOfBounds),
                "{name} {offset}: {err}"
            );
        }
    }
}

#[test]
fn sixty_four_bit_tables_import_only_as_64_bit_tables() {
    let engine = Engine::new(&Config::new()).unwrap();
    let mut store = Store::new(&engine, ());
    let t64 = hayate::Table::new(
        &mut store,
        hayate::TableType::new64(hayate::RefType::FUNCREF, 2, None),
        hayate::Ref::Func(None),
    )
    .unwrap();
    let wide = Module::new(
        &engine,
        r#"(module (import "h" "t" (table i64 1 funcref)))"#,
    )
    .unwrap();
    let narrow = Module::new(&engine, r#"(module (import "h" "t" (table 1 funcref)))"#).unwrap();
    Instance::new(&mut store, &wide, &[t64.into()]).unwrap();
    assert!(Instance::new(&mut store, &narrow, &[t64.into()]).is_err());
}

#[test]
fn the_guard_past_a_64_bit_memory_follows_its_end_as_it_grows_and_moves() {
    // In guard-page mode an access with a small offset is checked against
    // the length only and relies on a guard after the end: the guard must
    // be there after growing in place and after the memory moved (no
    // maximum: it reserves room to double, then moves). Offsets around
    // the guard's size take the full check.
    let wat = r#"(module
      (memory (export "m") i64 1)
      (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
      (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
      (func (export "load_32m") (param i64) (result i32)
        (i32.load8_u offset=0x2000000 (local.get 0)))
      (func (export "load_32m_plus") (param i64) (result i32)
        (i32.load8_u offset=0x2000001 (local.get 0)))
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#;
    for (name, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let load8 = i.get_typed_func::<i64, i32>(&mut store, "load8").unwrap();
        let load64 = i.get_typed_func::<i64, i64>(&mut store, "load64").unwrap();
        let load_32m = i
            .get_typed_func::<i64, i32>(&mut store, "load_32m")
            .unwrap();
        let load_32m_plus = i
            .get_typed_func::<i64, i32>(&mut store, "load_32m_plus")
            .unwrap();
        let grow = i.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
        let mut pages: i64 = 1;
        for step in [0, 1, 2, 5, 30, 100, 600] {
            if step > 0 {
                let grown = grow.call(&mut store, step).unwrap();
                if grown == -1 {
                    // The pool's slots stop at 16 pages.
                    assert_eq!(name, "pooling");
                    continue;
                }
                assert_eq!(grown, pages, "{name}");
                pages += step;
            }
            let len = pages * 65536;
            let oob =
                |r: Result<i32, hayate::Error>| trap_of(r.unwrap_err()) == Trap::MemoryOutOfBounds;
            assert_eq!(
                load8.call(&mut store, len - 1).unwrap(),
                0,
                "{name} {pages}"
            );
            assert!(oob(load8.call(&mut store, len)), "{name} {pages}");
            assert!(oob(load8.call(&mut store, len + 4096)), "{name} {pages}");
            assert!(
                trap_of(load64.call(&mut store, len - 7).unwrap_err()) == Trap::MemoryOutOfBounds,
                "{name} {pages}"
            );
            assert_eq!(
                load64.call(&mut store, len - 8).unwrap(),
                0,
                "{name} {pages}"
            );
            let limit = len - 0x2000000 - 1;
            if limit >= 0 {
                assert_eq!(
                    load_32m.call(&mut store, limit).unwrap(),
                    0,
                    "{name} {pages}"
                );
                assert!(oob(load_32m.call(&mut store, limit + 1)), "{name} {pages}");
                assert!(oob(load_32m_plus.call(&mut store, limit)), "{name} {pages}");
            } else {
                assert!(oob(load_32m.call(&mut store, 0)), "{name} {pages}");
                assert!(oob(load_32m_plus.call(&mut store, 0)), "{name} {pages}");
            }
        }
    }
}
