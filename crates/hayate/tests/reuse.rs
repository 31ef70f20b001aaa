//! The on-demand allocator keeps a few released memory reservations per
//! thread and gives them to the next memories: a reused reservation must
//! show nothing of the instance before it (contents, size, protections),
//! whatever that instance wrote, grew or left scattered, and whichever
//! module it belonged to.

#[path = "support/released.rs"]
mod released;

use hayate::{BoundsChecks, Config, Engine, Instance, Module, Store, Trap};

fn engine(checks: BoundsChecks) -> Engine {
    Engine::new(Config::new().bounds_checks(checks)).unwrap()
}

/// Writes a secret in its first page, grows, and writes one in the grown
/// page; its image is "image data" at 0.
const WRITER: &str = r#"(module
    (memory (export "m") 1 16)
    (data (i32.const 0) "image data")
    (func (export "scribble")
      (i32.store (i32.const 0) (i32.const 0x5ec2e7))
      (i32.store (i32.const 1000) (i32.const 0x5ec2e7))
      (drop (memory.grow (i32.const 3)))
      (i32.store (i32.const 70000) (i32.const 0x5ec2e7))
      (i32.store (i32.const 262140) (i32.const 0x5ec2e7)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;

/// Has no data; reads what its memory holds.
const READER: &str = r#"(module
    (memory (export "m") 2)
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;

fn instance(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    (store, i)
}

fn base(store: &mut Store<()>, i: &Instance) -> usize {
    let m = i.get_memory(&mut *store, "m").unwrap();
    m.data(&*store).as_ptr() as usize
}

fn scribble(engine: &Engine, writer: &Module) -> usize {
    let (mut store, i) = instance(engine, writer);
    let f = i.get_typed_func::<(), ()>(&mut store, "scribble").unwrap();
    f.call(&mut store, ()).unwrap();
    let m = i.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.size(&store), 4);
    base(&mut store, &i)
}

fn load(store: &mut Store<()>, i: &Instance, at: i32) -> Result<i32, Trap> {
    let f = i.get_typed_func::<i32, i32>(&mut *store, "load").unwrap();
    f.call(&mut *store, at)
        .map_err(|e| *e.downcast_ref::<Trap>().expect("a trap"))
}

#[test]
fn a_released_memory_is_taken_by_the_next_instance_on_the_thread() {
    // Without this the other tests would prove nothing about reuse.
    let engine = engine(BoundsChecks::GuardPages);
    let writer = Module::new(&engine, WRITER).unwrap();
    let reader = Module::new(&engine, READER).unwrap();
    let first = scribble(&engine, &writer);
    let (mut store, i) = instance(&engine, &reader);
    assert_eq!(base(&mut store, &i), first, "the reservation is reused");
}

#[test]
fn reused_memories_show_nothing_of_the_previous_instance() {
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine(checks);
        let writer = Module::new(&engine, WRITER).unwrap();
        let reader = Module::new(&engine, READER).unwrap();
        for round in 0..4 {
            scribble(&engine, &writer);

            // Another module: all zero, and its own size: the writer's
            // grown pages are out of bounds again.
            let (mut store, i) = instance(&engine, &reader);
            let m = i.get_memory(&mut store, "m").unwrap();
            assert_eq!(m.size(&store), 2, "{checks:?} round {round}");
            assert!(m.data(&store).iter().all(|b| *b == 0), "{checks:?}");
            assert_eq!(load(&mut store, &i, 131068), Ok(0));
            assert_eq!(
                load(&mut store, &i, 131069),
                Err(Trap::MemoryOutOfBounds),
                "{checks:?} round {round}"
            );
            assert_eq!(load(&mut store, &i, 262140), Err(Trap::MemoryOutOfBounds));
            drop(store);

            // The same module again: its image, nothing written, its
            // minimum size.
            scribble(&engine, &writer);
            let (mut store, i) = instance(&engine, &writer);
            let m = i.get_memory(&mut store, "m").unwrap();
            assert_eq!(m.size(&store), 1, "grown pages are not kept");
            assert_eq!(&m.data(&store)[..10], b"image data", "{checks:?}");
            assert!(m.data(&store)[10..].iter().all(|b| *b == 0), "{checks:?}");
            assert_eq!(load(&mut store, &i, 70000), Err(Trap::MemoryOutOfBounds));
        }
    }
}

#[test]
fn images_come_back_whether_compiled_or_mapped_from_an_artifact() {
    // A module loaded from an artifact file maps its image from the file;
    // a reused reservation holding one module's image is taken by another
    // module, with another image or none, in turn.
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = engine(checks);
        let compiled = Module::new(&engine, released::SCATTER).unwrap();
        let path = std::env::temp_dir().join(format!(
            "hayate-reuse-{}-{checks:?}.hwasm",
            std::process::id()
        ));
        std::fs::write(&path, compiled.serialize().unwrap()).unwrap();
        // SAFETY: just written, and not changed while loaded.
        let from_file = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
        let reader = Module::new(&engine, READER).unwrap();
        let writer = Module::new(&engine, WRITER).unwrap();
        let order = [&compiled, &from_file, &from_file, &compiled, &from_file];
        for (round, module) in order.into_iter().enumerate() {
            released::fresh_then_scribble(&engine, module, &format!("{checks:?} round {round}"));
            // Modules without the image, or with another, in between.
            if round % 2 == 1 {
                let (mut store, i) = instance(&engine, &reader);
                let m = i.get_memory(&mut store, "m").unwrap();
                assert!(m.data(&store).iter().all(|b| *b == 0), "{checks:?}");
                m.data_mut(&mut store)[5000] = 7;
                drop(store);
                scribble(&engine, &writer);
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_guest_scattering_writes_over_many_pages_leaves_nothing_behind() {
    // Past the first 64 KiB, a released memory resets only the pages the
    // kernel says were touched, or everything when they are too scattered
    // to list.
    let engine = engine(BoundsChecks::GuardPages);
    released::scattered_writes_leave_nothing(&engine, "on-demand");
}

#[test]
fn threads_reuse_memories_without_seeing_each_others() {
    let engine = engine(BoundsChecks::GuardPages);
    let writer = Module::new(&engine, WRITER).unwrap();
    let reader = Module::new(&engine, READER).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    // Several live at once on one thread, more than it
                    // keeps, released in another order than taken.
                    let held: Vec<_> = (0..6).map(|_| instance(&engine, &writer)).collect();
                    scribble(&engine, &writer);
                    drop(held);
                    let (mut store, i) = instance(&engine, &reader);
                    let m = i.get_memory(&mut store, "m").unwrap();
                    assert!(m.data(&store).iter().all(|b| *b == 0));
                    let (mut store, i) = instance(&engine, &writer);
                    let m = i.get_memory(&mut store, "m").unwrap();
                    assert_eq!(&m.data(&store)[..10], b"image data");
                    assert_eq!(m.data(&store)[1000], 0);
                }
            });
        }
    });
}

#[test]
fn a_store_outliving_every_other_handle_to_its_engine_gives_its_memories_back() {
    // Memories point back to the engine's reservation cache without
    // counting: the store must keep the engine until they are gone.
    for round in 0..3 {
        let engine = engine(BoundsChecks::GuardPages);
        let writer = Module::new(&engine, WRITER).unwrap();
        let (mut store, i) = instance(&engine, &writer);
        let f = i.get_typed_func::<(), ()>(&mut store, "scribble").unwrap();
        f.call(&mut store, ()).unwrap();
        drop(writer);
        drop(engine);
        assert_eq!(load(&mut store, &i, 1000), Ok(0x5ec2e7), "round {round}");
        drop(store);
    }
}
