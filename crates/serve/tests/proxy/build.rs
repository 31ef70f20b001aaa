// Shared by `tests/proxy.rs` and `examples/proxy_component.rs` (through
// `include!`): the handler of `tests/proxy/handler.wat` as a
// `wasi:http/proxy` component, its world's WIT from `tests/wit/`.

/// The test handler as a component's binary.
fn build_proxy_component() -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut module = wat::parse_file(root.join("proxy/handler.wat")).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(root.join("wit")).unwrap();
    let world = resolve.select_world(&[pkg], Some("proxy")).unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}
