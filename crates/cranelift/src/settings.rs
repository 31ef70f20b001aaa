//! Compiler settings chosen by the embedder, and how they become Cranelift
//! flags.

use cranelift_codegen::settings::{self, Configurable};
use hayate_environ::{CompileError, Tunables};

/// How hard Cranelift optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimizations: fastest compilation.
    None,
    /// Optimize for speed.
    Speed,
    /// Optimize for speed and code size.
    SpeedAndSize,
}

/// Everything that configures a [`Compiler`](crate::Compiler).
#[derive(Clone, Debug)]
pub struct CompilerSettings {
    /// Cranelift optimization level.
    pub opt_level: OptLevel,
    /// What the code assumes about its runtime: bounds checks, fuel,
    /// epochs.
    pub tunables: Tunables,
    /// Compile function bodies on all cores.
    pub parallel: bool,
    /// Run Cranelift's IR verifier on every function (slower).
    pub verifier: bool,
}

impl Default for CompilerSettings {
    fn default() -> Self {
        CompilerSettings {
            opt_level: OptLevel::Speed,
            tunables: Tunables::default(),
            parallel: true,
            verifier: cfg!(debug_assertions),
        }
    }
}

impl CompilerSettings {
    /// The shared Cranelift flags for these settings.
    pub(crate) fn cranelift_flags(&self) -> Result<settings::Flags, CompileError> {
        let mut b = settings::builder();
        let opt = match self.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        };
        let flags: [(&str, &str); 8] = [
            ("opt_level", opt),
            ("preserve_frame_pointers", "true"),
            ("enable_probestack", "false"),
            ("is_pic", "false"),
            (
                "enable_verifier",
                if self.verifier { "true" } else { "false" },
            ),
            ("unwind_info", "false"),
            // Functions may return more values than fit in registers
            // (multi-value); every caller and callee is compiled here, so
            // the implicit return area is consistent on both sides.
            ("enable_multi_ret_implicit_sret", "true"),
            ("enable_nan_canonicalization", "false"),
        ];
        for (name, value) in flags {
            b.set(name, value)
                .map_err(|e| CompileError::Codegen(format!("setting {name}={value}: {e}")))?;
        }
        Ok(settings::Flags::new(b))
    }
}
