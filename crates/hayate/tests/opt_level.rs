//! `Config::cranelift_opt_level`: each level reaches Cranelift as is, and
//! artifacts record it.

use hayate::{Config, Engine, Instance, Module, OptLevel, Store};

const WAT: &str = r#"
(module
  (func (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0)
                     (call 0 (i64.sub (local.get 0) (i64.const 1))))))))
"#;

fn engine(level: OptLevel) -> Engine {
    let mut config = Config::new();
    config.cranelift_opt_level(level);
    Engine::new(&config).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn every_level_compiles_and_is_recorded() -> hayate::Result<()> {
    let levels = [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize];
    let artifacts: Vec<Vec<u8>> = levels
        .iter()
        .map(|l| engine(*l).precompile_module(WAT.as_bytes()))
        .collect::<hayate::Result<_>>()?;
    for (level, artifact) in levels.iter().zip(&artifacts) {
        let engine = engine(*level);
        let module = Module::new(&engine, WAT)?;
        let mut store = Store::new(&engine, ());
        let fac = Instance::new(&mut store, &module, &[])?
            .get_typed_func::<i64, i64>(&mut store, "fac")?;
        assert_eq!(fac.call(&mut store, 20)?, 2_432_902_008_176_640_000);
        // The fingerprint in the header names Cranelift's setting.
        let name = match level {
            OptLevel::None => "\"none\"",
            OptLevel::Speed => "\"speed\"",
            OptLevel::SpeedAndSize => "\"speed_and_size\"",
        };
        assert!(contains(artifact, name), "{level:?}");
        // Artifacts load only into an engine of the same level.
        for (other, other_artifact) in levels.iter().zip(&artifacts) {
            // SAFETY: made by these engines; a mismatch is refused before
            // any code runs.
            let loaded = unsafe { Module::deserialize(&engine, other_artifact) };
            assert_eq!(
                loaded.is_ok(),
                level == other,
                "{level:?} loading {other:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn optimize_and_opt_level_agree() -> hayate::Result<()> {
    let mut config = Config::new();
    config
        .cranelift_opt_level(OptLevel::SpeedAndSize)
        .optimize(false);
    let none = Engine::new(&config)?.precompile_module(WAT.as_bytes())?;
    assert_eq!(
        none,
        engine(OptLevel::None).precompile_module(WAT.as_bytes())?
    );
    config.optimize(true);
    let back = Engine::new(&config)?.precompile_module(WAT.as_bytes())?;
    let size = engine(OptLevel::SpeedAndSize).precompile_module(WAT.as_bytes())?;
    assert_eq!(back, size);
    let default = Engine::default().precompile_module(WAT.as_bytes())?;
    assert_eq!(
        default,
        engine(OptLevel::Speed).precompile_module(WAT.as_bytes())?
    );
    Ok(())
}
