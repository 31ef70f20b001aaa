//! End to end with a real containerd: `tests/e2e.sh` starts a private
//! containerd (Debian's 1.6) with this build's `containerd-shim-hayate-v1`,
//! builds both image forms with `image/build-image.py`, and runs them with
//! `ctr` (arguments, environment, exit status, a trap, a bind mount, the
//! memory limit, SIGTERM, and the precompiled-module cache). It needs root,
//! containerd, `ctr` and python3; without them it says so and passes,
//! unless `HAYATE_REQUIRE_CONTAINERD` is set (as `.ci/run` sets it).

use std::process::Command;

#[test]
fn images_run_under_containerd() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e.sh");
    let mut command = Command::new("bash");
    command
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_containerd-shim-hayate-v1"));
    if std::env::var_os("HAYATE_REQUIRE_CONTAINERD").is_some() {
        command.env("HAYATE_E2E_REQUIRE", "1");
    }
    let output = command.output().expect("cannot run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => println!("{stdout}"),
        Some(77) => eprintln!("skipped: {stdout}{stderr}"),
        _ => panic!("e2e.sh failed ({})\n{stdout}\n{stderr}", output.status),
    }
}
