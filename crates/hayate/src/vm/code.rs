//! Loading compiled code into executable memory (from the compiler, or
//! mapped from an artifact file), announcing it to the profiler, and the
//! public, `unsafe` entry points that load precompiled modules.

use std::path::Path;
use std::sync::Arc;

use hayate_environ::{CompiledModule, ModuleInfo};
use hayate_runtime::code_memory::CodeMemory;
use hayate_runtime::cow::{FileImage, ModuleImages};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;

/// Loads compiled code into executable memory.
pub(crate) fn load_code(
    compiled: &CompiledModule,
    info: Arc<ModuleInfo>,
) -> Result<Arc<CodeMemory>> {
    CodeMemory::new(compiled, info).map_err(|e| Error::msg(format!("failed to load code: {e}")))
}

/// Loads the trampolines of a module compiled lazily (no functions yet).
#[cfg(feature = "compiler")]
pub(crate) fn load_code_without_functions(
    compiled: &CompiledModule,
    info: Arc<ModuleInfo>,
) -> Result<Arc<CodeMemory>> {
    CodeMemory::without_functions(compiled, info)
        .map_err(|e| Error::msg(format!("failed to load code: {e}")))
}

/// Tells the configured profiler about a lazily compiled function.
#[cfg(feature = "compiler")]
pub(crate) fn register_late_with_profiler(engine: &Engine, code: &hayate_runtime::LateCode) {
    if engine.config().profiler == crate::config::ProfilingStrategy::PerfMap {
        // Best effort, as for `register_with_profiler`.
        let _ = hayate_runtime::perfmap::register_late(code);
    }
}

/// Tells the configured profiler about newly loaded code.
pub(crate) fn register_with_profiler(engine: &Engine, code: &CodeMemory) {
    if engine.config().profiler == crate::config::ProfilingStrategy::PerfMap {
        // Profiling is best effort: a perf map that cannot be written only
        // means unnamed frames in the profile.
        let _ = hayate_runtime::perfmap::register(code);
    }
}

/// The first bytes of an artifact file (its preamble and metadata), mapped
/// rather than read: no zero-filled buffer to fault in and copy into, and
/// pages the decoder never reaches are never read.
pub(crate) struct FileHead(hayate_runtime::Mmap);

impl AsRef<[u8]> for FileHead {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the mapping is private and readable, and nothing writes
        // to it: it is only handed out as a shared slice. The file is not
        // changed while loaded (see `map_file_head`).
        unsafe { self.0.as_slice() }
    }
}

/// The memory images of `info`: those in `files` (parts of the artifact
/// file a module is loaded from) mapped from there, the rest made in
/// memory; none if the system refuses (instances then copy segments).
/// Callers vouch that the files are not modified while the module lives,
/// as for [`load_code_from_file`], and that each holds what its memory's
/// segments put there (the artifact was written by `Module::serialize`).
pub(crate) fn module_images(info: &ModuleInfo, files: Vec<FileImage>) -> ModuleImages {
    // SAFETY: the caller's promises above, which are the contract of
    // `Module::deserialize_file` (and the compile cache keeps it).
    unsafe { ModuleImages::with_files(info, files) }.unwrap_or_else(|_| ModuleImages::none())
}

/// Maps the first `len` bytes of an artifact file (at most its length).
/// Callers vouch that the file is not modified while mapped, as for
/// [`load_code_from_file`].
pub(crate) fn map_file_head(file: &std::fs::File, len: usize) -> Result<FileHead> {
    // SAFETY: the file stays as it is while mapped (the caller's promise).
    unsafe { hayate_runtime::Mmap::map_file_private(file, 0, len) }
        .map(FileHead)
        .map_err(crate::serialize::load_error)
}

/// Maps `len` bytes of text at `offset` of an artifact file privately and
/// loads them. Callers vouch that the file is not modified while loaded:
/// `Module::deserialize_file`'s caller, or the compile cache, which never
/// changes a file in place (it writes new ones and renames them).
pub(crate) fn load_code_from_file(
    file: &std::fs::File,
    offset: u64,
    len: usize,
    compiled: CompiledModule,
    info: Arc<ModuleInfo>,
) -> Result<Arc<CodeMemory>> {
    // SAFETY: the file stays as it is while mapped (see above).
    let mmap = unsafe { hayate_runtime::Mmap::map_file_private(file, offset, len) }
        .map_err(crate::serialize::load_error)?;
    // SAFETY: a private file mapping is read/write; the text is trusted
    // artifact code (the contract of `Module::deserialize_file`).
    unsafe { CodeMemory::from_mapping(mmap, len, compiled, info) }
        .map_err(crate::serialize::load_error)
}

impl Module {
    /// Loads a precompiled module made by [`Module::serialize`], without
    /// compiling: the code is copied into executable memory and linked.
    ///
    /// The artifact's header must match `engine` (Hayate version and
    /// build, target, CPU features, compiler settings, WebAssembly features,
    /// bounds checks, fuel and epoch settings); otherwise, or if the
    /// artifact is truncated or its metadata damaged (it carries a
    /// checksum), this fails with an error saying what is wrong.
    ///
    /// # Safety
    /// An artifact is trusted input: its machine code runs as is, and
    /// nothing can check that it is the code Hayate's compiler made for the
    /// module. Only load bytes produced by `Module::serialize` and kept
    /// where nobody less trusted than this program could change them.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        crate::serialize::deserialize_bytes(engine, bytes.as_ref())
    }

    /// Loads a precompiled module from a file written with the bytes of
    /// [`Module::serialize`]. The code is mapped from the file privately
    /// (copy-on-write), patched and made executable, not read and copied;
    /// checks are as for [`Module::deserialize`].
    ///
    /// # Safety
    /// As for [`Module::deserialize`]; in addition the file must not be
    /// modified or truncated while the module (or any instance of it) lives:
    /// replace it by writing a new file and renaming it over the old one.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        crate::serialize::deserialize_file(engine, path.as_ref())
    }
}
