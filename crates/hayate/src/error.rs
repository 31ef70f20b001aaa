//! The one public error type, `Error`, and `WasmBacktrace`. A trap is an
//! `Error` whose `trap()` is `Some`; host errors pass through Wasm unchanged.

use std::error::Error as StdError;
use std::fmt;

pub use hayate_environ::Trap;

/// A `Result` with Hayate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from Hayate: a trap, a malformed module, a link error, or an
/// error returned by a host function.
pub struct Error {
    inner: Box<ErrorInner>,
}

enum ErrorKind {
    Trap(Trap),
    Message(String),
    Other(Box<dyn StdError + Send + Sync>),
}

struct ErrorInner {
    kind: ErrorKind,
    backtrace: Option<WasmBacktrace>,
}

impl Error {
    fn from_kind(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(ErrorInner {
                kind,
                backtrace: None,
            }),
        }
    }

    /// An error with a message.
    pub fn msg(message: impl fmt::Display) -> Error {
        Error::from_kind(ErrorKind::Message(message.to_string()))
    }

    /// Wraps any error.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Error {
        Error::from_boxed(Box::new(error))
    }

    /// Wraps a boxed error, unwrapping it if it already is an [`Error`].
    pub fn from_boxed(error: Box<dyn StdError + Send + Sync>) -> Error {
        match error.downcast::<Error>() {
            Ok(e) => *e,
            Err(other) => Error::from_kind(ErrorKind::Other(other)),
        }
    }

    /// A trap error.
    pub fn trap(trap: Trap) -> Error {
        Error::from_kind(ErrorKind::Trap(trap))
    }

    /// The trap code, if this error is a trap.
    pub fn as_trap(&self) -> Option<Trap> {
        match self.inner.kind {
            ErrorKind::Trap(t) => Some(t),
            _ => None,
        }
    }

    /// The inner error as `E`, if it is one (use `Trap` for traps).
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match &self.inner.kind {
            ErrorKind::Trap(t) => (t as &dyn std::any::Any).downcast_ref::<E>(),
            ErrorKind::Message(_) => None,
            ErrorKind::Other(e) => e.downcast_ref::<E>(),
        }
    }

    /// The Wasm frames active when the error happened, innermost first.
    pub fn backtrace(&self) -> Option<&WasmBacktrace> {
        self.inner.backtrace.as_ref()
    }

    pub(crate) fn with_backtrace(mut self, backtrace: WasmBacktrace) -> Error {
        if self.inner.backtrace.is_none() && !backtrace.frames.is_empty() {
            self.inner.backtrace = Some(backtrace);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::Trap(t) => write!(f, "wasm trap: {}", t.message())?,
            ErrorKind::Message(m) => f.write_str(m)?,
            ErrorKind::Other(e) => write!(f, "{e}")?,
        }
        if let Some(bt) = &self.inner.backtrace {
            write!(f, "\n{bt}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl StdError for Error {
    /// An `Error` displays as the error it wraps, so its source is that
    /// error's source: a chain printed link by link (`anyhow`'s `{:#}`)
    /// names each message once.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.kind {
            ErrorKind::Trap(_) | ErrorKind::Message(_) => None,
            ErrorKind::Other(e) => e.source(),
        }
    }
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Error {
        Error::trap(trap)
    }
}

/// One Wasm frame of a backtrace.
#[derive(Debug, Clone)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The function's name from the name section.
    pub func_name: Option<String>,
    /// The module's name from the name section.
    pub module_name: Option<String>,
    /// Byte offset of the executing instruction in the module.
    pub module_offset: Option<u32>,
}

/// The Wasm frames of a trap, innermost first.
#[derive(Debug, Clone, Default)]
pub struct WasmBacktrace {
    /// The frames.
    pub frames: Vec<FrameInfo>,
}

impl fmt::Display for WasmBacktrace {
    /// One line per frame, innermost first; runs of identical frames (deep
    /// recursion) are folded into one line with a repeat count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wasm backtrace:")?;
        let same = |a: &FrameInfo, b: &FrameInfo| {
            a.func_index == b.func_index && a.module_offset == b.module_offset
        };
        let mut i = 0;
        while i < self.frames.len() {
            let frame = &self.frames[i];
            let run = self.frames[i..]
                .iter()
                .take_while(|g| same(frame, g))
                .count();
            write!(f, "  {i:>3}: ")?;
            if let Some(offset) = frame.module_offset {
                write!(f, "{offset:#8x} - ")?;
            }
            if let Some(module) = &frame.module_name {
                write!(f, "{module}!")?;
            }
            match &frame.func_name {
                Some(name) => write!(f, "{name}")?,
                None => write!(f, "<wasm function {}>", frame.func_index)?,
            }
            if run > 1 {
                write!(f, " (repeated {run} times)")?;
            }
            writeln!(f)?;
            i += run;
        }
        Ok(())
    }
}
