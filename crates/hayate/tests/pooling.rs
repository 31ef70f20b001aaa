//! The pooling instance allocator: slots are reused with nothing of the
//! previous instance left, exhaustion and oversized modules are errors, and
//! pooled instances behave like on-demand ones.

#[path = "support/released.rs"]
mod released;

use hayate::{
    BoundsChecks, Config, Engine, Instance, InstanceAllocationStrategy, Module, PoolingConfig, Ref,
    Store, Trap,
};

fn pool(config: PoolingConfig) -> Config {
    let mut c = Config::new();
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(config));
    c
}

fn small() -> PoolingConfig {
    PoolingConfig {
        max_instances: 2,
        max_memories: 2,
        max_tables: 2,
        max_memory_pages: 16,
        max_table_elements: 100,
        max_vmctx_size: 64 * 1024,
        ..PoolingConfig::default()
    }
}

/// Writes a secret everywhere it can: memory (first page, a grown page),
/// table, globals.
const WRITER: &str = r#"(module
    (memory (export "m") 1 16)
    (data (i32.const 0) "image data")
    (table (export "t") 4 funcref)
    (global (export "g") (mut i64) (i64.const 0))
    (func $f)
    (elem (i32.const 0) $f $f)
    (func (export "scribble")
      (i32.store (i32.const 1000) (i32.const 0x5ec2e7))
      (drop (memory.grow (i32.const 1)))
      (i32.store (i32.const 70000) (i32.const 0x5ec2e7))
      (table.set (i32.const 3) (ref.func $f))
      (global.set 0 (i64.const 0x5ec2e7))))"#;

/// Has no data and reads whatever its memory and table hold.
const READER: &str = r#"(module
    (memory (export "m") 2)
    (table (export "t") 4 funcref)
    (global (export "g") (mut i64) (i64.const 0)))"#;

fn scribble(engine: &Engine, module: &Module) {
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    let f = i.get_typed_func::<(), ()>(&mut store, "scribble").unwrap();
    f.call(&mut store, ()).unwrap();
    let m = i.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.data(&store)[1000], 0xe7);
    assert_eq!(m.data(&store)[70000], 0xe7);
}

#[test]
fn reused_slots_show_nothing_of_the_previous_instance() {
    let config = PoolingConfig {
        max_instances: 1,
        max_memories: 1,
        max_tables: 1,
        ..small()
    };
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(pool(config).bounds_checks(checks)).unwrap();
        let writer = Module::new(&engine, WRITER).unwrap();
        let reader = Module::new(&engine, READER).unwrap();
        scribble(&engine, &writer);

        // Another module in the same slots: all zero, all null.
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &reader, &[]).unwrap();
        let m = i.get_memory(&mut store, "m").unwrap();
        assert_eq!(m.size(&store), 2);
        assert!(m.data(&store).iter().all(|b| *b == 0), "{checks:?}");
        let t = i.get_table(&mut store, "t").unwrap();
        for e in 0..4 {
            assert!(matches!(t.get(&mut store, e), Some(Ref::Func(None))));
        }
        let g = i.get_global(&mut store, "g").unwrap();
        assert_eq!(g.get(&mut store).i64(), Some(0));
        drop(store);

        // The same module again: its image, nothing written, original size.
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &writer, &[]).unwrap();
        let m = i.get_memory(&mut store, "m").unwrap();
        assert_eq!(m.size(&store), 1, "grown pages are not kept");
        assert_eq!(&m.data(&store)[..10], b"image data");
        assert!(m.data(&store)[10..].iter().all(|b| *b == 0));
        let t = i.get_table(&mut store, "t").unwrap();
        assert!(matches!(t.get(&mut store, 0), Some(Ref::Func(Some(_)))));
        assert!(matches!(t.get(&mut store, 3), Some(Ref::Func(None))));
        drop(store);

        // And alternating modules many times.
        for _ in 0..5 {
            scribble(&engine, &writer);
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &reader, &[]).unwrap();
            let m = i.get_memory(&mut store, "m").unwrap();
            assert!(m.data(&store).iter().all(|b| *b == 0));
        }
    }
}

#[test]
fn out_of_bounds_accesses_trap_in_pooled_memories() {
    let engine = Engine::new(&pool(small())).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let load = i.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(load.call(&mut store, 65532).unwrap(), 0);
    let err = load.call(&mut store, 65533).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::MemoryOutOfBounds)
    );
    // Growth stops at the pool's limit of 16 pages.
    assert_eq!(grow.call(&mut store, 15).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(load.call(&mut store, 16 * 65536 - 4).unwrap(), 0);
}

#[test]
fn exhaustion_is_an_error_until_slots_come_back() {
    let engine = Engine::new(&pool(small())).unwrap();
    let module = Module::new(&engine, "(module (memory 1) (table 1 funcref))").unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
    let mut other = Store::new(&engine, ());
    Instance::new(&mut other, &module, &[]).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("pooling allocator") && msg.contains("all 2") && msg.contains("in use"),
        "{msg}"
    );
    drop(other);
    Instance::new(&mut store, &module, &[]).unwrap();

    // Instances without memories still need VMContext slots.
    let bare = Module::new(&engine, "(module)").unwrap();
    let err = Instance::new(&mut store, &bare, &[]).unwrap_err();
    assert!(err.to_string().contains("instance slots"), "{err}");
}

#[test]
fn modules_too_large_for_a_slot_are_refused() {
    let engine = Engine::new(&pool(small())).unwrap();
    let mut store = Store::new(&engine, ());
    let cases = [
        ("(module (memory 17))", "17 pages"),
        ("(module (table 101 funcref))", "101 elements"),
        ("(module (memory 1) (memory 1))", "2 memories"),
        ("(module (table 1 funcref) (table 1 funcref))", "2 tables"),
    ];
    for (wat, expected) in cases {
        let module = Module::new(&engine, wat).unwrap();
        let err = Instance::new(&mut store, &module, &[]).unwrap_err();
        assert!(err.to_string().contains(expected), "{wat}: {err}");
    }
    // A VMContext larger than a slot.
    let many = format!(
        "(module {})",
        "(global (mut i64) (i64.const 0)) ".repeat(5000)
    );
    let module = Module::new(&engine, many).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("instance state"), "{err}");
    // Nothing leaked: both slots are still there.
    let ok = Module::new(&engine, "(module (memory 1) (table 1 funcref))").unwrap();
    Instance::new(&mut store, &ok, &[]).unwrap();
    Instance::new(&mut store, &ok, &[]).unwrap();
}

#[test]
fn stores_on_many_threads_share_the_pool() {
    let engine = Engine::new(&pool(PoolingConfig {
        max_instances: 8,
        max_memories: 8,
        max_tables: 8,
        ..small()
    }))
    .unwrap();
    let module = Module::new(&engine, WRITER).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            let module = module.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    scribble(&engine, &module);
                    let mut store = Store::new(&engine, ());
                    let i = Instance::new(&mut store, &module, &[]).unwrap();
                    let m = i.get_memory(&mut store, "m").unwrap();
                    assert_eq!(m.data(&store)[1000], 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn memories_kept_resident_are_reset_like_discarded_ones() {
    // Nothing kept, less than the image's offset, into the image, one Wasm
    // page, not page-aligned, more than the memory ever had.
    for keep in [0, 4096, 12288, 64 << 10, 70_000, 1 << 20] {
        for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
            let config = PoolingConfig {
                max_instances: 1,
                max_memories: 1,
                max_tables: 1,
                memory_keep_resident: keep,
                ..small()
            };
            let engine = Engine::new(pool(config).bounds_checks(checks)).unwrap();
            let compiled = Module::new(&engine, released::SCATTER).unwrap();
            // The same module loaded from an artifact file maps its image
            // from the file: the reset restores it from there.
            let path = std::env::temp_dir().join(format!(
                "hayate-pooling-{}-{keep}-{checks:?}.hwasm",
                std::process::id()
            ));
            std::fs::write(&path, compiled.serialize().unwrap()).unwrap();
            // SAFETY: just written, and not changed while loaded.
            let from_file = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
            let reader = Module::new(&engine, READER).unwrap();
            for (round, module) in [&compiled, &from_file, &from_file, &compiled, &from_file]
                .into_iter()
                .enumerate()
            {
                let label = format!("keep {keep} {checks:?} round {round}");
                released::fresh_then_scribble(&engine, module, &label);
                // Another module in between takes the slot without the image.
                if round == 1 || round == 3 {
                    let mut store = Store::new(&engine, ());
                    let i = Instance::new(&mut store, &reader, &[]).unwrap();
                    let m = i.get_memory(&mut store, "m").unwrap();
                    assert!(m.data(&store).iter().all(|b| *b == 0), "keep {keep}");
                    m.data_mut(&mut store)[5000] = 7;
                }
            }
        }
    }
}

/// A module whose `run` takes a reference to its function `$k` (returning
/// `K`) with `ref.func`, stores it in its table and calls it through the
/// table; `direct` calls `$k` through the element segment's entry.
fn by_reference(k: i32, functions_before: usize) -> String {
    let padding = "(func (result i32) i32.const -1)\n".repeat(functions_before);
    format!(
        r#"(module
          (table 2 funcref)
          {padding}
          (func $k (result i32) i32.const {k})
          (elem (i32.const 1) $k)
          (elem declare func $k)
          (func (export "run") (result i32)
            (table.set (i32.const 0) (ref.func $k))
            (call_indirect (result i32) (i32.const 0)))
          (func (export "direct") (result i32)
            (call_indirect (result i32) (i32.const 1))))"#
    )
}

#[test]
fn function_references_are_filled_in_by_each_instance() {
    // References of defined functions are filled in on first use; a slot
    // reused by another module must not show the previous one's.
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let config = PoolingConfig {
            max_instances: 1,
            ..small()
        };
        let engine = Engine::new(pool(config).bounds_checks(checks)).unwrap();
        // `$k` of each module sits at the same VMContext offset.
        let modules: Vec<(i32, Module)> = [(7, 3), (8, 3), (9, 0), (7, 3)]
            .into_iter()
            .map(|(k, before)| (k, Module::new(&engine, by_reference(k, before)).unwrap()))
            .collect();
        for (round, (k, module)) in modules.iter().enumerate() {
            for first in ["run", "direct"] {
                let mut store = Store::new(&engine, ());
                let i = Instance::new(&mut store, module, &[]).unwrap();
                for name in [first, "run", "direct"] {
                    let f = i.get_typed_func::<(), i32>(&mut store, name).unwrap();
                    assert_eq!(
                        f.call(&mut store, ()).unwrap(),
                        *k,
                        "{checks:?} round {round}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_guest_scattering_writes_over_many_pages_leaves_nothing_behind() {
    // Released memories reset only the pages the kernel says were touched
    // (`PAGEMAP_SCAN`), and everything when they are too scattered to list,
    // whatever is kept resident.
    for keep in [0, 64 * 1024, 1 << 20] {
        let config = PoolingConfig {
            max_instances: 1,
            max_memories: 1,
            max_tables: 1,
            max_memory_pages: 64,
            memory_keep_resident: keep,
            ..small()
        };
        let engine = Engine::new(&pool(config)).unwrap();
        released::scattered_writes_leave_nothing(&engine, &format!("keep {keep}"));
    }
}

#[test]
fn a_store_outliving_every_other_handle_to_its_engine_gives_its_slots_back() {
    // Slots point back to the engine's allocator without counting: the
    // store must keep the engine until its instances are gone.
    for round in 0..3 {
        let engine = Engine::new(&pool(small())).unwrap();
        let module = Module::new(&engine, WRITER).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let f = i.get_typed_func::<(), ()>(&mut store, "scribble").unwrap();
        f.call(&mut store, ()).unwrap();
        drop(module);
        drop(engine);
        let m = i.get_memory(&mut store, "m").unwrap();
        assert_eq!(m.data(&store)[1000], 0xe7, "round {round}");
        drop(store);
    }
}
