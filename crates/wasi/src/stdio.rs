//! Standard streams: the host's own stdin/stdout/stderr, or in-memory pipes
//! an embedder (or a test) reads and writes.

use std::io::{self, Cursor, IoSlice, Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

use crate::types::filetype;

/// A readable pipe for a guest's stdin: bytes in memory, or any reader.
/// Clones share the same stream.
#[derive(Clone)]
pub struct ReadPipe {
    inner: Arc<Mutex<Box<dyn Read + Send>>>,
}

impl ReadPipe {
    /// A pipe that yields what `reader` yields.
    pub fn new(reader: impl Read + Send + 'static) -> ReadPipe {
        ReadPipe {
            inner: Arc::new(Mutex::new(Box::new(reader))),
        }
    }

    /// A pipe that yields `bytes`, then end of file.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> ReadPipe {
        ReadPipe::new(Cursor::new(bytes.into()))
    }

    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .read(buf)
    }
}

impl From<&str> for ReadPipe {
    fn from(s: &str) -> ReadPipe {
        ReadPipe::from_bytes(s.as_bytes())
    }
}

/// A writable pipe for a guest's stdout or stderr: a buffer in memory
/// (read it back with [`WritePipe::contents`]), unbounded or with a
/// capacity, or any writer. Clones share the same stream.
///
/// A pipe made with [`WritePipe::new_in_memory`] grows as long as the guest
/// writes: give a guest you do not trust
/// [`WritePipe::new_in_memory_with_capacity`] instead.
#[derive(Clone)]
pub struct WritePipe {
    inner: WriteInner,
}

#[derive(Clone)]
enum WriteInner {
    Memory {
        buf: Arc<Mutex<Vec<u8>>>,
        capacity: usize,
    },
    Writer(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl WritePipe {
    /// A pipe that collects everything written in memory, without limit.
    pub fn new_in_memory() -> WritePipe {
        WritePipe::new_in_memory_with_capacity(usize::MAX)
    }

    /// A pipe that collects at most `capacity` bytes in memory (like
    /// Wasmtime's `MemoryOutputPipe::new(capacity)`; nothing is allocated
    /// up front). A write that does not fit keeps what does and reports
    /// that short count; a write to a full pipe fails with `nospc`, as a
    /// write to a full disk does.
    pub fn new_in_memory_with_capacity(capacity: usize) -> WritePipe {
        WritePipe {
            inner: WriteInner::Memory {
                buf: Arc::default(),
                capacity,
            },
        }
    }

    /// A pipe that passes what is written to `writer`.
    pub fn new(writer: impl Write + Send + 'static) -> WritePipe {
        WritePipe {
            inner: WriteInner::Writer(Arc::new(Mutex::new(Box::new(writer)))),
        }
    }

    /// Everything written so far (empty for a pipe made with [`WritePipe::new`]).
    pub fn contents(&self) -> Vec<u8> {
        match &self.inner {
            WriteInner::Memory { buf, .. } => buf.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            WriteInner::Writer(_) => Vec::new(),
        }
    }

    /// Writes `bufs` in order, all of them unless the pipe is full.
    pub(crate) fn write_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        match &self.inner {
            WriteInner::Memory { buf, capacity } => {
                let mut buf = buf.lock().unwrap_or_else(|p| p.into_inner());
                let room = capacity.saturating_sub(buf.len());
                if total == 0 {
                    return Ok(0);
                }
                if room == 0 {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::NOSPC.raw_os_error(),
                    ));
                }
                let mut left = room.min(total);
                let n = left;
                for b in bufs.iter() {
                    let k = b.len().min(left);
                    buf.extend_from_slice(&b[..k]);
                    left -= k;
                }
                Ok(n)
            }
            WriteInner::Writer(w) => {
                let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
                write_all_vectored(&mut *w, bufs)?;
                w.flush()?;
                Ok(total)
            }
        }
    }
}

/// Writes all of `bufs` with as few calls as the writer allows, without
/// joining them into one buffer.
fn write_all_vectored(w: &mut dyn Write, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where a guest's input stream reads from.
pub(crate) enum Input {
    /// The host process's stdin.
    Host,
    /// An in-memory or custom pipe.
    Pipe(ReadPipe),
}

/// Where a guest's output stream writes to.
pub(crate) enum Output {
    /// The host process's stdout.
    HostStdout,
    /// The host process's stderr.
    HostStderr,
    /// An in-memory or custom pipe.
    Pipe(WritePipe),
}

impl Input {
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Host => rustix::io::read(stdin_fd(), buf).map_err(io::Error::from),
            Input::Pipe(p) => p.read(buf),
        }
    }

    /// The host fd, for polling (pipes are always ready).
    pub(crate) fn host_fd(&self) -> Option<BorrowedFd<'static>> {
        match self {
            Input::Host => Some(stdin_fd()),
            Input::Pipe(_) => None,
        }
    }
}

fn stdin_fd() -> BorrowedFd<'static> {
    rustix::stdio::stdin()
}

impl Output {
    /// Writes all of `bufs` (a full in-memory pipe may take fewer).
    pub(crate) fn write_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<usize> {
        let total = bufs.iter().map(|b| b.len()).sum();
        match self {
            Output::HostStdout => {
                let mut out = io::stdout().lock();
                write_all_vectored(&mut out, bufs)?;
                out.flush()?;
                Ok(total)
            }
            Output::HostStderr => {
                let mut out = io::stderr().lock();
                write_all_vectored(&mut out, bufs)?;
                out.flush()?;
                Ok(total)
            }
            Output::Pipe(p) => p.write_vectored(bufs),
        }
    }

    pub(crate) fn host_fd(&self) -> Option<BorrowedFd<'static>> {
        match self {
            Output::HostStdout => Some(static_fd(1)),
            Output::HostStderr => Some(static_fd(2)),
            Output::Pipe(_) => None,
        }
    }
}

fn static_fd(n: i32) -> BorrowedFd<'static> {
    if n == 1 {
        rustix::stdio::stdout()
    } else {
        rustix::stdio::stderr()
    }
}

/// The WASI file type of a host stdio fd: a terminal is a character device
/// (so that `isatty` is true in the guest), a regular file stays one, a
/// socket is a stream socket, and a pipe is `unknown`, as in Wasmtime.
pub(crate) fn host_filetype(fd: Option<BorrowedFd<'_>>) -> u8 {
    let Some(fd) = fd else {
        return filetype::UNKNOWN;
    };
    match rustix::fs::fstat(fd) {
        Ok(st) => match rustix::fs::FileType::from_raw_mode(st.st_mode) {
            rustix::fs::FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
            rustix::fs::FileType::RegularFile => filetype::REGULAR_FILE,
            rustix::fs::FileType::Socket => filetype::SOCKET_STREAM,
            rustix::fs::FileType::BlockDevice => filetype::BLOCK_DEVICE,
            _ => filetype::UNKNOWN,
        },
        Err(_) => filetype::UNKNOWN,
    }
}
