//! The sandbox and the compiler in this process, without a container: a
//! `RuntimeContext` of the test's making stands for the container, so the
//! paths containerd 1.6 cannot reach here (precompiled layers from the
//! content store) are tested too. The module runs with this process's
//! stdio and root directory, so the guests only exit with a status.

use containerd_shim_hayate::{HayateCompiler, HayateSandbox};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::{Entrypoint, RuntimeContext, Source, WasmLayer};
use containerd_shim_wasm::shim::Compiler;
use oci_spec::image::{DescriptorBuilder, Digest, MediaType};

struct Container {
    args: Vec<String>,
    envs: Vec<String>,
    layers: Vec<WasmLayer>,
}

impl RuntimeContext for Container {
    fn args(&self) -> &[String] {
        &self.args
    }

    fn envs(&self) -> &[String] {
        &self.envs
    }

    fn entrypoint(&self) -> Entrypoint<'_> {
        Entrypoint {
            func: "_start".into(),
            name: Some("app".into()),
            arg0: None,
            source: Source::Oci(&self.layers),
        }
    }
}

fn layer(bytes: Vec<u8>, precompiled: bool) -> WasmLayer {
    let config = DescriptorBuilder::default()
        .media_type(MediaType::Other("application/wasm".into()))
        .digest(Digest::try_from(format!("sha256:{}", "ab".repeat(32))).unwrap())
        .size(bytes.len() as u64)
        .build()
        .unwrap();
    WasmLayer {
        config,
        precompiled,
        layer: bytes,
    }
}

/// Exits with the number of its arguments times 10 plus the number of
/// its environment variables.
fn counting_module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "args_sizes_get"
               (func $args (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "environ_sizes_get"
               (func $environ (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               (drop (call $args (i32.const 0) (i32.const 4)))
               (drop (call $environ (i32.const 8) (i32.const 12)))
               (call $exit (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10))
                                    (i32.load (i32.const 8))))))"#,
    )
    .unwrap()
}

fn run(container: &Container) -> anyhow::Result<i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(HayateSandbox::default().run_wasi(container))
}

fn container(layers: Vec<WasmLayer>) -> Container {
    Container {
        args: vec!["/app.wasm".into(), "x".into(), "y".into()],
        envs: vec!["A=1".into(), "B=two=2".into()],
        layers,
    }
}

#[test]
fn args_and_environment_reach_the_guest() {
    assert_eq!(
        run(&container(vec![layer(counting_module(), false)])).unwrap(),
        32
    );
}

#[test]
fn compiled_layers_run_when_they_come_from_the_cache() {
    let compiler = HayateCompiler::new().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let compiled = runtime
        .block_on(compiler.compile(&[
            layer(counting_module(), false),
            layer(b"not wasm".to_vec(), false),
        ]))
        .unwrap();
    assert_eq!(compiled.len(), 2, "one answer per layer");
    assert!(compiled[1].is_none(), "not a module: nothing to compile");
    let artifact = compiled[0].clone().expect("the module compiles");
    // An artifact is not compiled again.
    let again = runtime
        .block_on(compiler.compile(&[layer(artifact.clone(), true)]))
        .unwrap();
    assert!(again[0].is_none());
    // Marked precompiled (the library does so for what it read back from
    // the content store), the artifact runs.
    assert_eq!(
        run(&container(vec![layer(artifact.clone(), true)])).unwrap(),
        32
    );
    // The same bytes shipped in an image are refused.
    let err = run(&container(vec![layer(artifact, false)])).unwrap_err();
    assert!(format!("{err:#}").contains("precompiled"), "{err:#}");
}

#[test]
fn the_cache_key_is_the_same_for_the_same_engine_settings() {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let key = |c: &HayateCompiler| {
        let mut h = DefaultHasher::new();
        c.cache_key().hash(&mut h);
        h.finish()
    };
    let (a, b) = (
        HayateCompiler::new().unwrap(),
        HayateCompiler::new().unwrap(),
    );
    assert_eq!(key(&a), key(&b));
}

#[test]
fn bad_modules_and_missing_exports_are_errors() {
    let err = run(&container(vec![layer(
        b"\0asm\x01\0\0\0\x99".to_vec(),
        false,
    )]))
    .unwrap_err();
    assert!(format!("{err:#}").contains("loading the module"), "{err:#}");
    let no_start = wat::parse_str("(module)").unwrap();
    let err = run(&container(vec![layer(no_start, false)])).unwrap_err();
    assert!(format!("{err:#}").contains("no export `_start`"), "{err:#}");
    let two = container(vec![
        layer(counting_module(), false),
        layer(counting_module(), false),
    ]);
    assert!(run(&two).is_err(), "one module per image");
}
