//! `MemoryType::builder`, `MemoryTypeBuilder` and the type accessors a
//! Wasmtime user expects.

use hayate::{Engine, Memory, MemoryType, MemoryTypeBuilder, RefType, Store, TableType};

#[test]
fn builder_makes_usable_memory_types() -> hayate::Result<()> {
    let ty = MemoryType::builder().min(2).max(Some(5)).build()?;
    assert_eq!(ty, MemoryType::new(2, Some(5)));
    assert_eq!((ty.minimum(), ty.maximum()), (2, Some(5)));
    assert!(!ty.is_64() && !ty.is_shared());
    assert_eq!((ty.page_size(), ty.page_size_log2()), (65536, 16));

    let default = MemoryTypeBuilder::new().build()?;
    assert_eq!(default, MemoryType::new(0, None));
    let full = MemoryTypeBuilder::new()
        .min(65536)
        .max(Some(65536))
        .memory64(false)
        .shared(false)
        .page_size_log2(16)
        .build()?;
    assert_eq!(full.maximum(), Some(65536));

    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, ty)?;
    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.grow(&mut store, 3)?, 2);
    assert!(memory.grow(&mut store, 1).is_err(), "maximum of 5");
    Ok(())
}

#[test]
fn builder_refuses_what_is_invalid_or_unsupported() {
    let err = |b: &mut MemoryTypeBuilder| b.build().unwrap_err().to_string();
    let e = err(MemoryType::builder().memory64(true).min(1 << 48 | 1));
    assert!(e.contains("64-bit limit"), "{e}");
    let e = err(MemoryType::builder().memory64(true).max(Some(u64::MAX)));
    assert!(e.contains("64-bit limit"), "{e}");
    let e = err(MemoryType::builder().shared(true).max(Some(1)));
    assert!(e.contains("shared") && e.contains("not supported"), "{e}");
    for log2 in [0, 15, 17, 255] {
        let e = err(MemoryType::builder().page_size_log2(log2));
        assert!(e.contains("page size"), "{e}");
    }
    let e = err(MemoryType::builder().min(3).max(Some(2)));
    assert!(e.contains("greater than its maximum"), "{e}");
    let e = err(MemoryType::builder().min(65537));
    assert!(e.contains("32-bit limit"), "{e}");
    let e = err(MemoryType::builder().max(Some(u64::MAX)));
    assert!(e.contains("32-bit limit"), "{e}");
}

#[test]
fn host_made_64_bit_memories_grow_and_check_bounds() -> hayate::Result<()> {
    let ty = MemoryType::new64(1, Some(4));
    assert!(ty.is_64());
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, ty)?;
    assert_eq!(memory.grow(&mut store, 2)?, 1);
    assert!(memory.grow(&mut store, 2).is_err(), "maximum of 4");
    assert!(memory.grow(&mut store, u64::MAX).is_err());
    // A module importing it reads and writes through 64-bit addresses.
    let module = hayate::Module::new(
        &engine,
        r#"(module (import "h" "m" (memory i64 1))
            (func (export "poke") (param i64) (i32.store8 (local.get 0) (i32.const 9))))"#,
    )?;
    let i = hayate::Instance::new(&mut store, &module, &[memory.into()])?;
    let poke = i.get_typed_func::<i64, ()>(&mut store, "poke")?;
    poke.call(&mut store, 3 * 65536 - 1)?;
    assert_eq!(memory.data(&store)[3 * 65536 - 1], 9);
    let e = poke.call(&mut store, 3 * 65536).unwrap_err();
    assert_eq!(
        e.downcast_ref::<hayate::Trap>(),
        Some(&hayate::Trap::MemoryOutOfBounds)
    );
    // A 32-bit import does not match a 64-bit memory.
    let narrow = hayate::Module::new(&engine, r#"(module (import "h" "m" (memory 1)))"#)?;
    assert!(hayate::Instance::new(&mut store, &narrow, &[memory.into()]).is_err());
    Ok(())
}

#[test]
fn table_type_accessors() {
    let ty = TableType::new(RefType::EXTERNREF, 3, Some(10));
    assert_eq!(ty.element(), &RefType::EXTERNREF);
    assert_eq!((ty.minimum(), ty.maximum()), (3, Some(10)));
    let ty = TableType::new(RefType::FUNCREF, 0, None);
    assert_eq!((ty.element(), ty.maximum()), (&RefType::FUNCREF, None));
}
