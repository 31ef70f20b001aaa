//! Precompiled modules: `Module::serialize`, `Module::deserialize` and
//! `Module::deserialize_file` round trips, and refusal of damaged or
//! mismatched artifacts.

use std::path::PathBuf;

use hayate::{BoundsChecks, Config, Engine, Instance, Module, Store, Trap};
use hayate_environ::artifact::{self, PREAMBLE_SIZE, Preamble};
use hayate_environ::encode::{Decoder, Encoder};

const WAT: &str = r#"(module $prog
    (memory (export "mem") 1)
    (data (i32.const 100) "precompiled!")
    (table 2 funcref)
    (elem (i32.const 0) $sq $boom)
    (global $g (mut i32) (i32.const 7))
    (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
    (func $boom (export "boom") (param i32) (result i32) unreachable)
    (func (export "call") (param i32 i32) (result i32)
      (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
    (func (export "ceil") (param f64) (result f64) (f64.ceil (local.get 0)))
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "bump") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))"#;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hayate-precompiled-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs the module's exports and checks what they return.
fn exercise(engine: &Engine, module: &Module) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let call = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, (0, 12)).unwrap(), 144);
    let err = call.call(&mut store, (1, 3)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::UnreachableCodeReached)
    );
    let bt = err
        .downcast_ref::<hayate::WasmBacktrace>()
        .expect("traps carry a backtrace");
    assert_eq!(bt.frames[0].func_name.as_deref(), Some("boom"));
    let ceil = instance
        .get_typed_func::<f64, f64>(&mut store, "ceil")
        .unwrap();
    assert_eq!(ceil.call(&mut store, 1.25).unwrap(), 2.0);
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    assert_eq!(load.call(&mut store, 100).unwrap(), b'p' as i32);
    assert_eq!(
        load.call(&mut store, 65536)
            .unwrap_err()
            .downcast_ref::<Trap>()
            .copied(),
        Some(Trap::MemoryOutOfBounds)
    );
    let bump = instance
        .get_typed_func::<(), i32>(&mut store, "bump")
        .unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 8);
    assert_eq!(module.name(), Some("prog"));
}

#[test]
fn round_trip_through_bytes_and_file() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let bytes = module.serialize().unwrap();
    assert_eq!(bytes, module.serialize().unwrap(), "deterministic");
    assert_eq!(
        bytes,
        Module::new(&engine, WAT).unwrap().serialize().unwrap(),
        "the same module compiles to the same artifact"
    );

    // SAFETY: the bytes were just produced by `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    exercise(&engine, &loaded);
    assert_eq!(loaded.serialize().unwrap(), bytes);

    let path = temp_path("round_trip.hwasm");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: the file was just written and nothing changes it.
    let mapped = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    exercise(&engine, &mapped);
    assert_eq!(mapped.serialize().unwrap(), bytes);

    // A second engine with the same settings loads it too.
    let other = Engine::new(&Config::new()).unwrap();
    // SAFETY: as above.
    let again = unsafe { Module::deserialize_file(&other, &path) }.unwrap();
    exercise(&other, &again);
}

#[test]
fn text_is_page_aligned_in_the_file() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let p = Preamble::parse(&bytes, bytes.len() as u64).unwrap();
    assert_eq!(p.text_offset % 4096, 0);
    assert!(p.text_len > 0);
}

fn load_err(engine: &Engine, bytes: &[u8]) -> String {
    // SAFETY: damaged artifacts must be refused before any code runs.
    match unsafe { Module::deserialize(engine, bytes) } {
        Ok(_) => panic!("a damaged artifact was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_artifacts_are_refused() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let p = Preamble::parse(&bytes, bytes.len() as u64).unwrap();

    // Truncated anywhere: in the preamble, the metadata, the padding or the text.
    for cut in [
        0,
        7,
        40,
        PREAMBLE_SIZE + 3,
        p.text_offset as usize,
        bytes.len() - 1,
    ] {
        let err = load_err(&engine, &bytes[..cut]);
        assert!(
            err.contains("truncated") || err.contains("magic"),
            "cut at {cut}: {err}"
        );
    }
    // Any flipped byte of the metadata breaks the checksum.
    let meta_end = PREAMBLE_SIZE + p.metadata_len as usize;
    for at in (PREAMBLE_SIZE..meta_end).step_by(97).chain([meta_end - 1]) {
        let mut b = bytes.clone();
        b[at] ^= 0x20;
        let err = load_err(&engine, &b);
        assert!(err.contains("checksum"), "flip at {at}: {err}");
    }
    // So does a changed preamble field that still fits the file.
    let mut b = bytes.clone();
    b[16] ^= 1; // metadata length
    assert!(load_err(&engine, &b).contains("checksum"));
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(load_err(&engine, &b).contains("magic"));
    let mut b = bytes.clone();
    b[8] = 0x7f;
    let err = load_err(&engine, &b);
    assert!(err.contains("format version 127"), "{err}");

    // Through a file, too.
    let path = temp_path("truncated.hwasm");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    // SAFETY: refused before any mapping is used.
    let err = unsafe { Module::deserialize_file(&engine, &path) }.unwrap_err();
    assert!(err.to_string().contains("truncated.hwasm"), "{err}");
}

/// Rewrites the artifact's header with `edit` and fixes the checksum, as
/// an artifact really written under other circumstances would look.
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut artifact::ArtifactHeader)) -> Vec<u8> {
    let p = Preamble::parse(bytes, bytes.len() as u64).unwrap();
    let meta = &bytes[PREAMBLE_SIZE..PREAMBLE_SIZE + p.metadata_len as usize];
    let mut d = Decoder::new(meta);
    let mut header = artifact::decode_header(&mut d).unwrap();
    edit(&mut header);
    let mut e = Encoder::new();
    e.put(&header);
    e.bytes.extend_from_slice(&meta[d.position()..]);
    let metadata = e.bytes;
    // Bulk, images and text move with the metadata's new length.
    let bulk = &bytes[p.bulk_offset()..p.bulk_offset() + p.bulk_len as usize];
    let images_and_text = &bytes[p.images_offset() as usize..];
    let images_offset = artifact::images_offset_for(metadata.len(), bulk.len());
    let mut q = Preamble {
        metadata_len: metadata.len() as u64,
        text_offset: p.text_offset - p.images_offset() + images_offset as u64,
        ..p
    };
    q.checksum = artifact::checksum(&q.to_bytes(), &metadata);
    let mut out = q.to_bytes().to_vec();
    out.extend_from_slice(&metadata);
    out.extend_from_slice(bulk);
    out.resize(images_offset, 0);
    out.extend_from_slice(images_and_text);
    out
}

#[test]
fn mismatched_artifacts_say_what_differs() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();

    // The rewriting itself keeps a loadable artifact.
    let same = with_header(&bytes, |_| {});
    // SAFETY: made from a fresh artifact.
    unsafe { Module::deserialize(&engine, &same) }.unwrap();

    let other_target = with_header(&bytes, |h| {
        h.target = "riscv64gc-unknown-linux-gnu".into();
    });
    let err = load_err(&engine, &other_target);
    assert!(err.contains("target") && err.contains("riscv64gc"), "{err}");

    let old = with_header(&bytes, |h| h.hayate_version = "0.0.1+cafe".into());
    let err = load_err(&engine, &old);
    assert!(
        err.contains("Hayate version") && err.contains("0.0.1+cafe"),
        "{err}"
    );

    let other_cpu = with_header(&bytes, |h| {
        h.compiler_fingerprint = h.compiler_fingerprint.replace("has_sse41=1", "has_sse41=0");
        h.compiler_fingerprint.push_str("has_imaginary=1\n");
    });
    let err = load_err(&engine, &other_cpu);
    assert!(err.contains("has_imaginary=1"), "{err}");

    // Settings that change the code, from real engines.
    for config in [
        Config::new().bounds_checks(BoundsChecks::Explicit).clone(),
        Config::new().consume_fuel(true).clone(),
        Config::new().epoch_interruption(true).clone(),
        Config::new().optimize(false).clone(),
        Config::new()
            .spec_version(Some(hayate::SpecVersion::V1))
            .clone(),
    ] {
        let other = Engine::new(&config).unwrap();
        let err = load_err(&other, &bytes);
        assert!(err.contains("incompatible"), "{config:?}: {err}");
        // And the other way round.
        let theirs = Module::new(&other, "(module (func (export \"f\")))")
            .unwrap()
            .serialize()
            .unwrap();
        let err = load_err(&engine, &theirs);
        assert!(err.contains("incompatible"), "{config:?}: {err}");
    }
    let explicit = Engine::new(Config::new().bounds_checks(BoundsChecks::Explicit)).unwrap();
    let err = load_err(&explicit, &bytes);
    assert!(err.contains("bounds checks"), "{err}");
    let fuel = Engine::new(Config::new().consume_fuel(true)).unwrap();
    let err = load_err(&fuel, &bytes);
    assert!(err.contains("fuel"), "{err}");
}

#[test]
fn explicit_bounds_checks_round_trip() {
    let engine = Engine::new(Config::new().bounds_checks(BoundsChecks::Explicit)).unwrap();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // SAFETY: just serialized.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    exercise(&engine, &module);
}

#[test]
fn from_file_loads_artifacts_only_when_allowed() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let path = temp_path("from_file.hwasm");
    std::fs::write(&path, &bytes).unwrap();
    assert!(Module::is_precompiled(&bytes));
    let err = Module::from_file(&engine, &path).unwrap_err().to_string();
    assert!(err.contains("precompiled"), "{err}");

    let allowed = Engine::new(Config::new().allow_precompiled(true)).unwrap();
    let module = Module::from_file(&allowed, &path).unwrap();
    exercise(&allowed, &module);

    // Ordinary modules still load, even shorter than the magic number.
    let wat = temp_path("tiny.wat");
    std::fs::write(&wat, "(module)").unwrap();
    Module::from_file(&allowed, &wat).unwrap();
    let empty = temp_path("empty.wasm");
    std::fs::write(&empty, b"").unwrap();
    assert!(Module::from_file(&allowed, &empty).is_err());
}

#[test]
fn new_loads_artifacts_only_when_allowed() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let err = Module::new(&engine, &bytes).unwrap_err().to_string();
    assert!(err.contains("precompiled"), "{err}");

    let allowed = Engine::new(Config::new().allow_precompiled(true)).unwrap();
    let bytes = Module::new(&allowed, WAT).unwrap().serialize().unwrap();
    let module = Module::new(&allowed, &bytes).unwrap();
    exercise(&allowed, &module);
    // Damaged or foreign artifacts are refused, not trusted.
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last / 2] ^= 0x40;
    damaged.truncate(last);
    assert!(Module::new(&allowed, &damaged).is_err());
    let err = Module::new(&engine, &bytes).unwrap_err().to_string();
    assert!(err.contains("precompiled"), "{err}");
}
