//! Checks that the pooling allocator's slots and the on-demand allocator's
//! reused reservations share: a released memory, taken again, shows
//! nothing of the instance before it, whatever that instance wrote.

use hayate::{Engine, Instance, Module, Store};

/// An image away from the start of memory (the second host page), and
/// writes before, in and after it, at the end of the first Wasm page and
/// in a grown page.
pub const SCATTER: &str = r#"(module
    (memory (export "m") 2 16)
    (data (i32.const 8200) "image data")
    (func (export "scribble")
      (i32.store (i32.const 100) (i32.const -1))
      (i32.store (i32.const 8300) (i32.const -1))
      (i32.store (i32.const 8200) (i32.const -1))
      (i32.store (i32.const 20000) (i32.const -1))
      (i32.store (i32.const 131068) (i32.const -1))
      (drop (memory.grow (i32.const 1)))
      (i32.store (i32.const 140000) (i32.const -1))))"#;

/// Instantiates `module` (`SCATTER`, compiled or loaded from a file),
/// checks that its memory is exactly fresh (its size, its image, zeros
/// elsewhere), then lets it scribble over it.
pub fn fresh_then_scribble(engine: &Engine, module: &Module, label: &str) {
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    let m = i.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.size(&store), 2, "{label}");
    let data = m.data(&store);
    assert_eq!(&data[8200..8210], b"image data", "{label}");
    let stale = data
        .iter()
        .enumerate()
        .filter(|(a, b)| !(8200..8210).contains(a) && **b != 0)
        .count();
    assert_eq!(stale, 0, "{label}");
    let f = i.get_typed_func::<(), ()>(&mut store, "scribble").unwrap();
    f.call(&mut store, ()).unwrap();
}

/// A guest writing one byte on every second, third and seventh page of
/// 4 MiB in turn (hundreds of pieces, more than one page scan lists) must
/// leave no byte for the next instance on `engine`.
pub fn scattered_writes_leave_nothing(engine: &Engine, label: &str) {
    let module = Module::new(
        engine,
        r#"(module (memory (export "m") 64)
            (data (i32.const 70000) "image")
            (func (export "scatter") (param $step i32)
              (local $at i32)
              (loop $l
                (i32.store8 (local.get $at) (i32.const 0xe7))
                (local.set $at (i32.add (local.get $at) (local.get $step)))
                (br_if $l (i32.lt_u (local.get $at) (i32.const 4194304))))))"#,
    )
    .unwrap();
    let steps = [8192usize, 12288, 4096 * 7];
    for (round, &step) in steps.iter().enumerate() {
        let mut store = Store::new(engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let m = i.get_memory(&mut store, "m").unwrap();
        let data = m.data(&store);
        // Only the bytes written before are read: reading every page would
        // make them all present, and the scan a single piece.
        for earlier in &steps[..round] {
            for at in (0..4 << 20).step_by(*earlier) {
                assert_eq!(data[at], 0, "{label} step {earlier} at {at}");
            }
        }
        assert_eq!(&data[70000..70005], b"image", "{label}");
        let scatter = i.get_typed_func::<i32, ()>(&mut store, "scatter").unwrap();
        scatter.call(&mut store, step as i32).unwrap();
    }
}
