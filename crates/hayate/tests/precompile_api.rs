//! `Engine::precompile_module`, `Engine::detect_precompiled` and
//! `Engine::precompile_compatibility_hash`, as Wasmtime has them.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use hayate::{Config, Engine, Module, Precompiled, Store};

const WAT: &str = r#"
(module
  (memory 1)
  (data (i32.const 8) "hi")
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "load") (result i32) (i32.load8_u (i32.const 9))))
"#;

#[test]
fn precompiled_bytes_are_what_serialize_writes() -> hayate::Result<()> {
    let engine = Engine::default();
    let from_text = engine.precompile_module(WAT.as_bytes())?;
    let binary = wat::parse_str(WAT)?;
    let from_binary = engine.precompile_module(&binary)?;
    let serialized = Module::new(&engine, &binary)?.serialize()?;
    assert_eq!(from_text, serialized);
    assert_eq!(from_binary, serialized);
    assert_eq!(
        engine.detect_precompiled(&from_text),
        Some(Precompiled::Module)
    );

    // SAFETY: the bytes were just made by this engine.
    let module = unsafe { Module::deserialize(&engine, &from_text) }?;
    let mut store = Store::new(&engine, ());
    let instance = hayate::Instance::new(&mut store, &module, &[])?;
    let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add")?;
    assert_eq!(add.call(&mut store, (2, 3))?, 5);
    let load = instance.get_typed_func::<(), i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, ())?, i32::from(b'i'));
    Ok(())
}

#[test]
fn invalid_input_is_an_error() {
    let engine = Engine::default();
    let err = engine
        .precompile_module(b"\0asm\x01\0\0\0\x01")
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    assert!(
        engine
            .precompile_module(b"(module (func (i32.add)))")
            .is_err()
    );
    assert!(engine.precompile_module(b"").is_err());
}

#[test]
fn detection_looks_at_the_format_only() -> hayate::Result<()> {
    let engine = Engine::default();
    let binary = wat::parse_str(WAT)?;
    assert_eq!(engine.detect_precompiled(&binary), None);
    assert_eq!(engine.detect_precompiled(WAT.as_bytes()), None);
    assert_eq!(engine.detect_precompiled(b""), None);
    let artifact = engine.precompile_module(&binary)?;
    let magic_only = &artifact[..8];
    assert_eq!(
        engine.detect_precompiled(magic_only),
        Some(Precompiled::Module)
    );

    let dir = std::env::temp_dir().join(format!("hayate-precompile-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("m.hwasm");
    std::fs::write(&path, &artifact)?;
    assert_eq!(
        engine.detect_precompiled_file(&path)?,
        Some(Precompiled::Module)
    );
    std::fs::write(&path, &binary)?;
    assert_eq!(engine.detect_precompiled_file(&path)?, None);
    assert!(engine.detect_precompiled_file(dir.join("absent")).is_err());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn truncated_and_foreign_artifacts_are_refused_clearly() -> hayate::Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile_module(WAT.as_bytes())?;
    for len in [0, 4, 8, 16, 64, artifact.len() / 2, artifact.len() - 1] {
        // SAFETY: a damaged artifact must be refused before any code runs.
        let err = unsafe { Module::deserialize(&engine, &artifact[..len]) }.unwrap_err();
        assert!(!err.to_string().is_empty(), "length {len}");
    }

    let mut config = Config::new();
    config.consume_fuel(true);
    let fuel = Engine::new(&config)?;
    // SAFETY: as above: refused by the header check.
    let err = unsafe { Module::deserialize(&fuel, &artifact) }.unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");
    let fuel_artifact = fuel.precompile_module(WAT.as_bytes())?;
    // SAFETY: as above.
    assert!(unsafe { Module::deserialize(&engine, &fuel_artifact) }.is_err());
    Ok(())
}

fn hash_of(engine: &Engine) -> u64 {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

#[test]
fn compatibility_hash_follows_the_settings_artifacts_record() -> hayate::Result<()> {
    let a = Engine::default();
    let b = Engine::default();
    assert_eq!(hash_of(&a), hash_of(&b));
    for change in [
        (|c: &mut Config| {
            c.consume_fuel(true);
        }) as fn(&mut Config),
        |c| {
            c.epoch_interruption(true);
        },
        |c| {
            c.optimize(false);
        },
        |c| {
            c.bounds_checks(hayate::BoundsChecks::Explicit);
        },
    ] {
        let mut config = Config::new();
        change(&mut config);
        assert_ne!(hash_of(&Engine::new(&config)?), hash_of(&a), "{config:?}");
    }
    Ok(())
}
