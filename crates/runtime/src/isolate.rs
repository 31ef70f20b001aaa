//! Running work in a forked child process, so that a crash in it ends the
//! child and not the host. The engine compiles with LLVM this way: LLVM,
//! a C++ library, has inputs it crashes on, and a module is an input a
//! hostile party may choose.
//!
//! The child is a copy of the calling process with only the calling
//! thread. It runs the work, writes its bytes and a trailer (their length
//! and a marker) to a pipe and exits with `_exit`, running no destructor
//! and no `atexit` handler of the host. The parent reads the pipe to its
//! end and reaps the child; the bytes count only with an intact trailer,
//! so a child that died midway is never taken for one that finished, also
//! when the host ignores `SIGCHLD` and the exit status is lost.
//!
//! The work must not need a lock another thread of the parent might hold
//! at the fork (the standard streams, a registry): glibc's allocator is
//! safe across `fork`, other locks are not.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Marks the end of a finished child's output.
const TRAILER_MARK: &[u8; 8] = b"hayate\0\x01";

/// Exit status of a child whose work panicked.
const PANICKED: i32 = 101;

/// Why the work in the child produced nothing.
#[derive(Debug)]
pub enum ChildFailure {
    /// No pipe or no child process.
    Spawn(std::io::Error),
    /// The child died (a crash, a panic, a kill) before it finished.
    Died(String),
}

impl fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildFailure::Spawn(e) => write!(f, "could not start a child process: {e}"),
            ChildFailure::Died(how) => write!(f, "the child process {how}"),
        }
    }
}

impl std::error::Error for ChildFailure {}

/// Runs `work` in a child process and returns the bytes it produced, or
/// how the child failed. See the module docs for what `work` may do.
pub fn in_child_process(work: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, ChildFailure> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(ChildFailure::Spawn(std::io::Error::last_os_error()));
    }
    // SAFETY: `pipe2` just opened both descriptors; each is owned once.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child runs only `child_main`, which never returns (see
    // the module docs for what the work may touch).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(ChildFailure::Spawn(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(read_end);
        child_main(work, write_end);
    }
    drop(write_end);
    let mut output = Vec::new();
    let read = File::from(read_end).read_to_end(&mut output);
    let status = reap(pid);
    if read.is_ok()
        && let Some(len) = finished_len(&output)
    {
        output.truncate(len);
        return Ok(output);
    }
    Err(ChildFailure::Died(match status {
        Some(status) => describe(status),
        None => "ended without finishing its work".into(),
    }))
}

/// The child's life: the work, its bytes and trailer, `_exit`.
fn child_main(work: impl FnOnce() -> Vec<u8>, pipe: OwnedFd) -> ! {
    let code = match catch_unwind(AssertUnwindSafe(work)) {
        Ok(mut bytes) => {
            let len = bytes.len() as u64;
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(TRAILER_MARK);
            let mut pipe = File::from(pipe);
            match std::io::Write::write_all(&mut pipe, &bytes) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(_) => PANICKED,
    };
    // SAFETY: ends this process without running the host's exit handlers
    // or destructors, which belong to the parent.
    unsafe { libc::_exit(code) }
}

/// The length of the work's bytes if `output` ends with an intact trailer.
fn finished_len(output: &[u8]) -> Option<usize> {
    let body = output.strip_suffix(TRAILER_MARK)?;
    let (bytes, len) = body.split_at_checked(body.len().checked_sub(8)?)?;
    let len = u64::from_le_bytes(len.try_into().ok()?);
    (len == bytes.len() as u64).then_some(bytes.len())
}

/// Waits for child `pid`; its wait status, or `None` if it was reaped
/// elsewhere (the host ignores `SIGCHLD`).
fn reap(pid: libc::pid_t) -> Option<libc::c_int> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; `pid` is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Some(status);
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

/// How a child with wait status `status` ended, in words.
fn describe(status: libc::c_int) -> String {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        let name = match signal {
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGBUS => " (SIGBUS)",
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGILL => " (SIGILL)",
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGFPE => " (SIGFPE)",
            _ => "",
        };
        format!("was killed by signal {signal}{name}")
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == PANICKED {
        "panicked".into()
    } else if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else {
        format!("ended with wait status {status:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_back() {
        let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let expected = big.clone();
        assert_eq!(in_child_process(move || big).unwrap(), expected);
        assert_eq!(in_child_process(Vec::new).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn a_crash_or_panic_is_reported_not_shared() {
        let e = in_child_process(|| {
            // SAFETY: ends the child as a failed assertion in a library
            // would.
            unsafe { libc::abort() }
        })
        .unwrap_err();
        assert!(e.to_string().contains("(SIGABRT)"), "{e}");
        let e = in_child_process(|| panic!("in the child")).unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
        let e = in_child_process(|| {
            // SAFETY: ends the child before it writes anything.
            unsafe { libc::_exit(3) }
        })
        .unwrap_err();
        assert!(e.to_string().contains("status 3"), "{e}");
    }

    #[test]
    fn only_an_intact_trailer_counts() {
        let mut out = b"abc".to_vec();
        out.extend_from_slice(&3u64.to_le_bytes());
        out.extend_from_slice(TRAILER_MARK);
        assert_eq!(finished_len(&out), Some(3));
        assert_eq!(finished_len(&out[1..]), None);
        assert_eq!(finished_len(&out[..out.len() - 1]), None);
        assert_eq!(finished_len(TRAILER_MARK), None);
    }
}
