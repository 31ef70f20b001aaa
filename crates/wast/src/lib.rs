//! Hayate's `.wast` script runner.
//!
//! A `.wast` script is the format of the official WebAssembly spec test
//! suite: a sequence of directives that define modules, register them under
//! names, invoke their exports and assert on the outcome. [`WastRunner`] runs
//! one script against a Hayate [`Engine`] and returns a [`Report`] that counts
//! every directive as passed or failed, with the location and reason of each
//! failure. The runner keeps going after a failure, and a panic raised while
//! running a directive is caught and counted as that directive's failure.
//!
//! ```no_run
//! use hayate::Config;
//! use hayate_wast::WastRunner;
//!
//! let runner = WastRunner::new(&Config::new())?;
//! let report = runner.run("example.wast", "(module (func (export \"f\")))");
//! for failure in &report.failures {
//!     println!("{failure}");
//! }
//! println!("{} passed, {} failed", report.passed, report.failed);
//! # Ok::<(), hayate::Error>(())
//! ```
#![forbid(unsafe_code)]

mod script;
mod spectest;
pub mod traps;
pub mod values;

pub use script::install_panic_hook;

use hayate::{Config, Engine};
use std::fmt;
use std::path::Path;

/// The stack size of the thread a script runs on by default: deep recursion
/// tests need room between the guest's stack limit and the end of the
/// thread's stack.
pub const DEFAULT_STACK_SIZE: usize = 32 << 20;

/// Runs `.wast` scripts on one [`Engine`].
#[derive(Clone)]
pub struct WastRunner {
    engine: Engine,
    stack_size: usize,
}

impl WastRunner {
    /// A runner with an engine built from `config`.
    pub fn new(config: &Config) -> hayate::Result<WastRunner> {
        Ok(WastRunner::with_engine(Engine::new(config)?))
    }

    /// A runner that uses `engine`.
    pub fn with_engine(engine: Engine) -> WastRunner {
        WastRunner {
            engine,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// Sets the stack size of the thread [`WastRunner::run`] starts.
    pub fn stack_size(mut self, bytes: usize) -> WastRunner {
        self.stack_size = bytes;
        self
    }

    /// The engine scripts run on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the script `text`, named `file` in failure messages, on a new
    /// thread with a large stack, and reports how every directive went.
    pub fn run(&self, file: &str, text: &str) -> Report {
        let spawned = std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name(format!("wast {file}"))
                .stack_size(self.stack_size)
                .spawn_scoped(scope, || self.run_on_current_thread(file, text));
            match handle {
                Ok(handle) => handle.join().map_err(|p| script::panic_message(&*p)),
                Err(e) => Err(format!("cannot start a thread for the script: {e}")),
            }
        });
        spawned.unwrap_or_else(|reason| Report::whole_file_failed(file, reason))
    }

    /// Runs the script `text` on the calling thread. Deep recursion in the
    /// script needs the calling thread to have a large stack.
    pub fn run_on_current_thread(&self, file: &str, text: &str) -> Report {
        script::run(&self.engine, file, text)
    }

    /// Reads the script at `path` and runs it with [`WastRunner::run`].
    pub fn run_file(&self, path: &Path) -> std::io::Result<Report> {
        let text = std::fs::read_to_string(path)?;
        Ok(self.run(&path.display().to_string(), &text))
    }
}

/// The outcome of one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The script's name as given to the runner.
    pub file: String,
    /// How many directives passed.
    pub passed: usize,
    /// How many directives failed; equals `failures.len()`.
    pub failed: usize,
    /// Every failed directive, in script order.
    pub failures: Vec<Failure>,
}

impl Report {
    fn new(file: &str) -> Report {
        Report {
            file: file.to_string(),
            ..Report::default()
        }
    }

    fn whole_file_failed(file: &str, reason: String) -> Report {
        let mut report = Report::new(file);
        report.fail(1, 1, reason);
        report
    }

    fn pass(&mut self) {
        self.passed += 1;
    }

    fn fail(&mut self, line: usize, col: usize, reason: String) {
        self.failed += 1;
        self.failures.push(Failure {
            file: self.file.clone(),
            line,
            col,
            reason,
        });
    }

    /// Whether every directive passed.
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }
}

/// One failed directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The script's name.
    pub file: String,
    /// 1-based line of the directive.
    pub line: usize,
    /// 1-based column of the directive.
    pub col: usize,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for Failure {
    /// Formats as `file:line:col: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.reason
        )
    }
}
