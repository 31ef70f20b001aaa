//! Writes the test `wasi:http/proxy` component (`tests/proxy/handler.wat`,
//! which answers `hello <path>` and echoes the request body) to the path
//! given, for `bench/serve-proxy.sh` to serve with `hayate serve` and
//! `wasmtime serve`.

include!("../tests/proxy/build.rs");

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: proxy_component OUT.wasm");
    std::fs::write(&out, build_proxy_component()).expect("writing the component");
}
