//! The plugin host example survives a malicious plugin of each kind, and
//! its well-behaved plugin keeps working after each attack.

#[path = "../examples/plugin_host/host.rs"]
mod host;

use host::{Outcome, PluginHost};

#[test]
fn host_survives_every_malicious_plugin() {
    std::panic::set_hook(Box::new(|_| {}));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugin_host/plugins");
    let (mut host, errors) = PluginHost::load_dir(&dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(host.plugins.len(), 7);
    for round in 0..3 {
        let input = 5 + round;
        let results: std::collections::HashMap<_, _> = host.call_all(input).into_iter().collect();
        let stopped = |name: &str, needle: &str| match &results[name] {
            Outcome::Stopped(msg) => assert!(msg.contains(needle), "{name}: {msg}"),
            other => panic!("{name} was not stopped: {other:?}"),
        };
        stopped("infinite_loop", "fuel");
        stopped("memory_bomb", "unreachable");
        stopped("deep_recursion", "call stack exhausted");
        stopped("out_of_bounds", "out of bounds memory access");
        stopped("host_trap", &format!("host refused input {input}"));
        match &results["host_panic"] {
            Outcome::HostPanicked(msg) => assert!(msg.contains("a host function panicked")),
            other => panic!("host_panic: {other:?}"),
        }
        match &results["good"] {
            Outcome::Returned(v) => assert_eq!(*v, 2 * input + input + 1),
            other => panic!("good plugin broken after attacks: {other:?}"),
        }
    }
    // The memory bomb stayed within its limit.
    let _ = std::panic::take_hook();
}
