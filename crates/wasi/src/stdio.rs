//! Standard streams: the host's own stdin/stdout/stderr, or in-memory pipes
//! an embedder (or a test) reads and writes.

use std::io::{self, Cursor, Read, Write};
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

/// A writable pipe for a guest's stdout or stderr: a growing buffer in
/// memory (read it back with [`WritePipe::contents`]) or any writer. Clones
/// share the same stream.
#[derive(Clone)]
pub struct WritePipe {
    inner: WriteInner,
}

#[derive(Clone)]
enum WriteInner {
    Memory(Arc<Mutex<Vec<u8>>>),
    Writer(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl WritePipe {
    /// A pipe that collects everything written in memory.
    pub fn new_in_memory() -> WritePipe {
        WritePipe {
            inner: WriteInner::Memory(Arc::default()),
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
            WriteInner::Memory(m) => m.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            WriteInner::Writer(_) => Vec::new(),
        }
    }

    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.inner {
            WriteInner::Memory(m) => {
                m.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            WriteInner::Writer(w) => {
                let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
                w.write_all(buf)?;
                w.flush()?;
                Ok(buf.len())
            }
        }
    }
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
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::HostStdout => {
                let mut out = io::stdout().lock();
                out.write_all(buf)?;
                out.flush()?;
                Ok(buf.len())
            }
            Output::HostStderr => {
                let mut out = io::stderr().lock();
                out.write_all(buf)?;
                out.flush()?;
                Ok(buf.len())
            }
            Output::Pipe(p) => p.write(buf),
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
