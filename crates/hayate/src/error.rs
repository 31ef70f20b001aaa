//! Errors. Hayate's [`Error`] is `anyhow::Error`, as Wasmtime's was for
//! years: `?` works on any `std::error::Error + Send + Sync + 'static`
//! (an `std::io::Error` in a host function) and on an `anyhow::Error`,
//! [`bail!`], [`ensure!`], [`anyhow!`] and [`Context`] are re-exported, and
//! an embedder's `anyhow::Result` takes Hayate's errors with `?`.
//!
//! A trap is an error whose root is a [`Trap`]: find it with
//! `error.downcast_ref::<Trap>()`. An error that crossed Wasm frames (a
//! trap, or a host function's error) carries the [`WasmBacktrace`] of those
//! frames as context: `error.downcast_ref::<WasmBacktrace>()`. So, as in
//! Wasmtime, `{error}` shows the outermost layer (the backtrace) and
//! `{error:?}` or `{error:#}` the whole chain down to the trap or the host
//! function's own error.

pub use anyhow::{Context, Error, Result, anyhow, bail, ensure};
use std::fmt;

pub use hayate_environ::Trap;

/// Attaches `backtrace` to `error` unless it is empty or the error already
/// carries one (an error that crossed several activations keeps the
/// innermost, which spans them all).
pub(crate) fn with_backtrace(error: Error, backtrace: WasmBacktrace) -> Error {
    if backtrace.frames.is_empty() || error.downcast_ref::<WasmBacktrace>().is_some() {
        error
    } else {
        error.context(backtrace)
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

impl FrameInfo {
    /// Index of the function in its module's function index space.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from the name section, if it has one.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The module's name from the name section, if it has one.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Byte offset in the module of the instruction the frame was at.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset.map(|o| o as usize)
    }
}

/// The Wasm frames an error crossed, innermost first: context on every
/// error that left Wasm (`error.downcast_ref::<WasmBacktrace>()`).
#[derive(Debug, Clone, Default)]
pub struct WasmBacktrace {
    /// The frames.
    pub frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// `error` for a person: its messages joined with `: ` and, if it left
    /// Wasm, its Wasm backtrace on the lines below (what `hayate run`
    /// prints for a trap). No Rust backtrace, whatever `RUST_BACKTRACE`
    /// says.
    pub fn report(error: &Error) -> String {
        let backtrace = error
            .downcast_ref::<WasmBacktrace>()
            .map(|bt| bt.to_string());
        let messages: Vec<String> = error
            .chain()
            .map(|layer| layer.to_string())
            .filter(|message| Some(message) != backtrace.as_ref())
            .collect();
        let mut text = messages.join(": ");
        if let Some(backtrace) = backtrace {
            text.push('\n');
            text.push_str(backtrace.trim_end());
        }
        text
    }
}

impl fmt::Display for WasmBacktrace {
    /// One line per frame, innermost first; runs of identical frames (deep
    /// recursion) are folded into one line with a repeat count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error while executing at wasm backtrace:")?;
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
