//! The container's memory limit, read from the cgroup the process runs in
//! (libcontainer has placed it there before the sandbox runs).

use std::path::{Path, PathBuf};

/// Limits of at least this many bytes mean "no limit" (cgroup v1 reports
/// an unlimited group as a number near `i64::MAX`).
const UNLIMITED: u64 = 1 << 62;

/// The memory limit of this process's cgroup in bytes, if it has one:
/// cgroup v2's `memory.max` or cgroup v1's `memory.limit_in_bytes`.
pub fn cgroup_memory_limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    candidates(&cgroups, Path::new("/sys/fs/cgroup"))
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| parse_limit(&text))
}

/// The files that may hold the limit, most specific first: the group's
/// own path under the mount and, inside a cgroup namespace (where the
/// group is the root), the mount's root.
fn candidates(proc_self_cgroup: &str, mount: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            files.push(mount.join(relative).join("memory.max"));
            files.push(mount.join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            let v1 = mount.join("memory");
            files.push(v1.join(relative).join("memory.limit_in_bytes"));
            files.push(v1.join("memory.limit_in_bytes"));
        }
    }
    files
}

fn parse_limit(text: &str) -> Option<u64> {
    let limit: u64 = text.trim().parse().ok()?;
    (limit < UNLIMITED).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(parse_limit("268435456\n"), Some(256 << 20));
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit(""), None);
    }

    #[test]
    fn files_for_v1_and_v2() {
        let mount = Path::new("/sys/fs/cgroup");
        assert_eq!(
            candidates("0::/kubepods/pod1/c1\n", mount),
            [
                mount.join("kubepods/pod1/c1/memory.max"),
                mount.join("memory.max")
            ]
        );
        assert_eq!(
            candidates("4:cpu,cpuacct:/x\n3:memory:/default/c2\n", mount),
            [
                mount.join("memory/default/c2/memory.limit_in_bytes"),
                mount.join("memory/memory.limit_in_bytes")
            ]
        );
        assert!(candidates("garbage\n", mount).is_empty());
    }
}
