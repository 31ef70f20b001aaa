//! Runs every plugin in a directory (default: this example's `plugins/`)
//! a few times and prints what each returned or why it was stopped.
//!
//! `cargo run -p hayate --example plugin_host [DIR]`

mod host;

fn main() -> hayate::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugin_host/plugins")
        });
    // Keep the default panic message of host functions out of the report.
    std::panic::set_hook(Box::new(|_| {}));
    let (mut host, errors) = host::PluginHost::load_dir(&dir)?;
    for e in errors {
        println!("not loaded: {e}");
    }
    for round in 1..=2 {
        for (name, outcome) in host.call_all(round * 10) {
            match outcome {
                host::Outcome::Returned(v) => println!("round {round}: {name} returned {v}"),
                host::Outcome::Stopped(why) => {
                    let first_line = why.lines().next().unwrap_or_default();
                    println!("round {round}: {name} was stopped: {first_line}")
                }
                host::Outcome::HostPanicked(msg) => {
                    println!("round {round}: {name} made a host function panic: {msg}")
                }
            }
        }
    }
    Ok(())
}
