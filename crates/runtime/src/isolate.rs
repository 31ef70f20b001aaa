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
//! The child closes every descriptor but the standard streams and its
//! pipe, so it holds none of the host's files or sockets open for as
//! long as it works, and its panics report through the pipe without
//! taking the standard streams' locks.
//!
//! The work must not need a lock another thread of the parent might hold
//! at the fork: glibc's allocator is safe across `fork`, other locks are
//! not. A caller whose work needs shared state (LLVM's) passes a guard
//! that keeps the parent's other threads out of that state; it is held
//! across the fork and dropped on both sides right after.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
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
/// how the child failed. `held_across_fork` is dropped right after the
/// fork, in both processes. See the module docs for what `work` may do.
pub fn in_child_process<G>(
    held_across_fork: G,
    work: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, ChildFailure> {
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
    drop(held_across_fork);
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
        Some(status) if exited_with(status, PANICKED) && !output.is_empty() => {
            format!("panicked: {}", String::from_utf8_lossy(&output))
        }
        Some(status) => describe(status),
        None => "ended without finishing its work".into(),
    }))
}

fn exited_with(status: libc::c_int, code: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == code
}

/// The child's life: the work, its bytes and trailer (or its panic's
/// message), `_exit`.
fn child_main(work: impl FnOnce() -> Vec<u8>, pipe: OwnedFd) -> ! {
    close_all_but_stdio(pipe.as_raw_fd());
    // The default hook would print through the standard streams, whose
    // locks a thread of the parent may have held at the fork.
    std::panic::set_hook(Box::new(|_| {}));
    let (bytes, code) = match catch_unwind(AssertUnwindSafe(work)) {
        Ok(mut bytes) => {
            let len = bytes.len() as u64;
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(TRAILER_MARK);
            (bytes, 0)
        }
        Err(payload) => {
            let message = (payload.downcast_ref::<&str>().copied())
                .or(payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("with a value that is not a message");
            (message.as_bytes().to_vec(), PANICKED)
        }
    };
    let mut pipe = File::from(pipe);
    let code = match std::io::Write::write_all(&mut pipe, &bytes) {
        Ok(()) => code,
        Err(_) => 1,
    };
    // SAFETY: ends this process without running the host's exit handlers
    // or destructors, which belong to the parent.
    unsafe { libc::_exit(code) }
}

/// Closes the descriptors the child inherited, but for the standard
/// streams and `keep`.
fn close_all_but_stdio(keep: RawFd) {
    let Ok(keep) = libc::c_uint::try_from(keep) else {
        return;
    };
    // SAFETY: closes descriptors of this process only, none of which its
    // remaining code uses: the parent's files are the parent's business.
    unsafe {
        if keep > 3 {
            libc::close_range(3, keep - 1, 0);
        }
        libc::close_range(keep.max(2) + 1, libc::c_uint::MAX, 0);
    }
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
    } else if exited_with(status, PANICKED) {
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
        assert_eq!(in_child_process((), move || big).unwrap(), expected);
        assert_eq!(in_child_process((), Vec::new).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn a_crash_or_panic_is_reported_not_shared() {
        let e = in_child_process((), || {
            // SAFETY: ends the child as a failed assertion in a library
            // would.
            unsafe { libc::abort() }
        })
        .unwrap_err();
        assert!(e.to_string().contains("(SIGABRT)"), "{e}");
        let e = in_child_process((), || panic!("in the child {}", 7)).unwrap_err();
        assert!(e.to_string().ends_with("panicked: in the child 7"), "{e}");
        let e = in_child_process((), || {
            // SAFETY: ends the child before it writes anything.
            unsafe { libc::_exit(3) }
        })
        .unwrap_err();
        assert!(e.to_string().contains("status 3"), "{e}");
    }

    #[test]
    fn the_child_keeps_no_descriptor_of_the_host() {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe` writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: `pipe` just opened both; each is owned once.
        let host_files = unsafe { [OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])] };
        let open = |fd: RawFd| {
            // SAFETY: `F_GETFD` only reads the descriptor's flags.
            unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
        };
        let raw = host_files.each_ref().map(AsRawFd::as_raw_fd);
        assert!(raw.iter().all(|&fd| open(fd)));
        let seen = in_child_process((), || {
            let mut seen: Vec<u8> = raw.iter().map(|&fd| u8::from(open(fd))).collect();
            seen.push(u8::from(open(2)));
            seen
        })
        .unwrap();
        assert_eq!(seen, [0, 0, 1], "the host's pipe closed, stderr kept");
        assert!(raw.iter().all(|&fd| open(fd)), "the host's stay open");
    }

    #[test]
    fn a_guard_is_held_across_the_fork_and_released_on_both_sides() {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let guard = LOCK.lock().unwrap();
        let child_could_lock = in_child_process(guard, || vec![u8::from(LOCK.try_lock().is_ok())]);
        assert_eq!(child_could_lock.unwrap(), [1]);
        assert!(LOCK.try_lock().is_ok());
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
