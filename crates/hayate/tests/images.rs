//! Copy-on-write memory images give exactly what copying data segments
//! gives: same contents, private writes, and the same partial results when
//! instantiation traps.

use hayate::{
    Config, Engine, Extern, Global, GlobalType, Instance, Linker, Module, Mutability, Ref, Store,
    Table, Val, ValType,
};

fn engine(cow: bool) -> Engine {
    Engine::new(Config::new().memory_init_cow(cow)).unwrap()
}

/// Memory mappings of the image memfd in this process.
fn image_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| {
            m.lines()
                .filter(|l| l.contains("hayate-memory-image"))
                .count()
        })
        .unwrap_or(0)
}

const MEMORIES: &str = r#"(module
    (import "env" "g" (global $g i32))
    (memory (export "a") 2)
    (memory (export "b") 1)
    (memory (export "c") 3 5)
    (memory (export "d") 1)
    (data (memory 0) (i32.const 10) "hello, world")
    (data (memory 0) (i32.const 12) "LL")
    (data (memory 0) (i32.const 70000) "second page")
    (data "passive")
    (data (memory 1) (global.get $g) "computed")
    (data (memory 1) (i32.const 0) "first")
    (data (memory 2) (i32.const 131071) "\ff")
    (data (memory 2) (i32.const 4096) ""))"#;

fn dump(engine: &Engine, module: &Module) -> Vec<Vec<u8>> {
    let mut store = Store::new(engine, ());
    let g = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(300),
    )
    .unwrap();
    let instance = Instance::new(&mut store, module, &[g.into()]).unwrap();
    ["a", "b", "c", "d"]
        .iter()
        .map(|name| {
            instance
                .get_memory(&mut store, name)
                .unwrap()
                .data(&store)
                .to_vec()
        })
        .collect()
}

#[test]
fn image_and_copy_give_the_same_memories() {
    let with = engine(true);
    let without = engine(false);
    let a = dump(&with, &Module::new(&with, MEMORIES).unwrap());
    let b = dump(&without, &Module::new(&without, MEMORIES).unwrap());
    assert_eq!(a, b);
    assert_eq!(&a[0][10..22], b"heLLo, world");
    assert_eq!(&a[0][70000..70011], b"second page");
    assert_eq!(&a[1][300..308], b"computed");
    assert_eq!(a[2][131071], 0xff);
    assert!(a[3].iter().all(|b| *b == 0));
}

#[test]
fn writes_stay_private_to_each_instance() {
    let engine = engine(true);
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
            (data (i32.const 0) "shared")
            (func (export "poke") (i32.store8 (i32.const 0) (i32.const 83))))"#,
    )
    .unwrap();
    let before = image_mappings();
    let mut store = Store::new(&engine, ());
    let one = Instance::new(&mut store, &module, &[]).unwrap();
    let two = Instance::new(&mut store, &module, &[]).unwrap();
    if cfg!(target_os = "linux") {
        assert!(image_mappings() >= before + 2, "the image is mapped");
    }
    let poke = one.get_typed_func::<(), ()>(&mut store, "poke").unwrap();
    poke.call(&mut store, ()).unwrap();
    let m1 = one.get_memory(&mut store, "m").unwrap();
    let m2 = two.get_memory(&mut store, "m").unwrap();
    assert_eq!(&m1.data(&store)[..6], b"Shared");
    assert_eq!(&m2.data(&store)[..6], b"shared");
    m2.data_mut(&mut store)[1] = b'H';
    assert_eq!(&m2.data(&store)[..6], b"sHared");
    drop(store);

    let mut store = Store::new(&engine, ());
    let three = Instance::new(&mut store, &module, &[]).unwrap();
    let m3 = three.get_memory(&mut store, "m").unwrap();
    assert_eq!(&m3.data(&store)[..6], b"shared", "the image never changes");
    // Growing keeps the contents.
    assert_eq!(m3.grow(&mut store, 2).unwrap(), 1);
    assert_eq!(&m3.data(&store)[..6], b"shared");
}

/// Instantiates `wat` with an imported table, expecting a trap, then calls
/// the function the module put in the table before trapping.
fn after_failed_instantiation(engine: &Engine, wat: &str) -> i32 {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let table = Table::new(
        &mut store,
        hayate::TableType::new(hayate::RefType::FUNCREF, 1, None),
        Ref::Func(None),
    )
    .unwrap();
    let mut linker = Linker::new(engine);
    linker
        .define(&store, "t", "tab", Extern::Table(table))
        .unwrap();
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        err.downcast_ref::<hayate::Trap>().copied().is_some(),
        "{err}"
    );
    let Some(Ref::Func(Some(f))) = table.get(&mut store, 0) else {
        panic!("the first element segment was applied");
    };
    let mut out = [Val::I32(0)];
    f.call(&mut store, &[], &mut out).unwrap();
    out[0].i32().unwrap()
}

#[test]
fn trap_in_element_segment_leaves_no_data() {
    let wat = r#"(module
        (import "t" "tab" (table 1 funcref))
        (memory 1)
        (data (i32.const 0) "\2a")
        (func $read (result i32) (i32.load8_u (i32.const 0)))
        (elem (table 0) (i32.const 0) func $read)
        (elem (table 0) (i32.const 1) func $read))"#;
    for cow in [false, true] {
        assert_eq!(
            after_failed_instantiation(&engine(cow), wat),
            0,
            "cow {cow}"
        );
    }
}

#[test]
fn trap_in_data_segment_leaves_only_earlier_segments() {
    let wat = r#"(module
        (import "t" "tab" (table 1 funcref))
        (memory $a 1)
        (memory $b 1)
        (func $read (result i32)
          (i32.add (i32.load8_u $a (i32.const 0)) (i32.load8_u $a (i32.const 1))))
        (elem (table 0) (i32.const 0) func $read)
        (data (memory $a) (i32.const 0) "\01")
        (data (memory $b) (i32.const 65536) "x")
        (data (memory $a) (i32.const 1) "\02"))"#;
    for cow in [false, true] {
        assert_eq!(
            after_failed_instantiation(&engine(cow), wat),
            1,
            "cow {cow}"
        );
    }
}

#[test]
fn precompiled_modules_get_images_too() {
    let engine = engine(true);
    let bytes = Module::new(&engine, MEMORIES).unwrap().serialize().unwrap();
    // SAFETY: just serialized.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let copy = self::engine(false);
    let expected = dump(&copy, &Module::new(&copy, MEMORIES).unwrap());
    assert_eq!(dump(&engine, &module), expected);
    // From a file, images are mapped from the artifact itself.
    let path = temp_path("memories.hwasm");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: just written, and not changed while loaded.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    assert_eq!(dump(&engine, &module), expected);
    // SAFETY: as above.
    let module = unsafe { Module::deserialize_file(&copy, &path) }.unwrap();
    assert_eq!(dump(&copy, &module), expected, "without copy-on-write");
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hayate-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Mappings of `path` in this process.
fn file_mappings(path: &std::path::Path) -> usize {
    let name = path.to_str().unwrap();
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().filter(|l| l.ends_with(name)).count())
        .unwrap_or(0)
}

#[test]
fn artifact_images_stay_private_and_the_file_unchanged() {
    let wat = r#"(module (memory (export "m") 2)
        (data (i32.const 5) "shared")
        (data (i32.const 70000) "page two")
        (func (export "poke") (i32.store8 (i32.const 5) (i32.const 83))
            (i32.store8 (i32.const 70000) (i32.const 80))))"#;
    let engine = engine(true);
    let bytes = Module::new(&engine, wat).unwrap().serialize().unwrap();
    let p = hayate_environ::artifact::Preamble::parse(&bytes, bytes.len() as u64).unwrap();
    assert!(
        p.images_offset() < p.text_offset,
        "the artifact carries the image"
    );
    let path = temp_path("private.hwasm");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: just written, and not changed while loaded.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    for round in 0..3 {
        let mut store = Store::new(&engine, ());
        let before = file_mappings(&path);
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        // Later rounds reuse the first round's released memory, with the
        // image still mapped.
        if cfg!(target_os = "linux") && round == 0 {
            assert!(
                file_mappings(&path) > before,
                "the image is mapped from the file"
            );
        }
        let m = i.get_memory(&mut store, "m").unwrap();
        assert_eq!(&m.data(&store)[5..11], b"shared", "round {round}");
        assert_eq!(&m.data(&store)[70000..70008], b"page two");
        i.get_typed_func::<(), ()>(&mut store, "poke")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        m.data_mut(&mut store)[6] = b'H';
        assert_eq!(&m.data(&store)[5..11], b"SHared");
        assert_eq!(&m.data(&store)[70000..70008], b"Page two");
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "writes never reach the file"
    );
}

#[test]
fn sparse_images_are_made_at_load_not_stored() {
    // Two segments 1.5 GiB apart in a memory of 2 GiB minimum.
    let wat = r#"(module (memory (export "m") 32768)
        (data (i32.const 16) "low") (data (i32.const 1610612736) "high"))"#;
    let engine = engine(true);
    let bytes = Module::new(&engine, wat).unwrap().serialize().unwrap();
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let path = temp_path("sparse.hwasm");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: just written, and not changed while loaded.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let m = i.get_memory(&mut store, "m").unwrap();
    assert_eq!(&m.data(&store)[16..19], b"low");
    assert_eq!(&m.data(&store)[1610612736..1610612740], b"high");
}
