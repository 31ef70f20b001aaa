//! Executable memory for compiled code: mapping, relocation and W^X.
//!
//! [`CodeMemory::new`] maps fresh read/write pages, copies a module's text
//! section there, patches its relocations (absolute addresses of the
//! float libcalls, [`crate::libcalls`]), then turns the pages
//! read/execute (W^X: never writable and executable at once) and
//! registers the range with the trap handler ([`crate::code_registry`]).
//! [`CodeMemory::from_mapping`] does the same with text already mapped,
//! for example privately from a precompiled artifact, without copying it.
//! Dropping the last `Arc<CodeMemory>` unregisters it before unmapping it.
//!
//! A `CodeMemory` holds everything compiled when its module loaded. Code
//! compiled later for some of the module's functions goes through the same
//! steps (`load_text`) into a mapping of its own, a
//! [`LateCode`](crate::late_code::LateCode); see there for how it is
//! reached.

use std::io;
use std::sync::Arc;

use hayate_environ::{
    CompiledModule, DefinedFuncIndex, FuncIndex, FunctionLoc, ModuleInfo, Trap, TypeIndex,
};

use crate::code_registry::{CodeMeta, DefinedFunctions, Registration};
use crate::libcalls::libcall_address;
use crate::mmap::Mmap;

/// Machine code of one module in executable memory, with its metadata.
#[derive(Debug)]
pub struct CodeMemory {
    // Declared before `mmap`: unregistered before the mapping goes away.
    registration: Registration,
    mmap: Mmap,
}

impl CodeMemory {
    /// Loads `compiled` into executable memory and registers it so that
    /// traps in it are caught.
    ///
    /// Fails with `InvalidData` if the metadata does not fit the text (a
    /// function, trampoline, trap or relocation out of range), or with the
    /// operating system's error if mapping fails.
    pub fn new(compiled: &CompiledModule, info: Arc<ModuleInfo>) -> io::Result<Arc<CodeMemory>> {
        Self::from_text(&compiled.text, without_text(compiled), info)
    }

    /// Like [`CodeMemory::new`] with the text given apart from the rest of
    /// the compiler's output (whose `text` is ignored).
    pub fn from_text(
        text: &[u8],
        compiled: CompiledModule,
        info: Arc<ModuleInfo>,
    ) -> io::Result<Arc<CodeMemory>> {
        let mmap = copy_to_fresh_mapping(text)?;
        // SAFETY: the mapping is fresh and read/write; the text is what the
        // caller vouches for, as with `new`.
        unsafe { Self::from_mapping(mmap, text.len(), compiled, info) }
    }

    /// Loads code that is already in `mmap`: its first `text_len` bytes are
    /// the text section (unrelocated), the mapping is read/write and
    /// private to this process (an anonymous mapping, or a file mapped with
    /// [`Mmap::map_file_private`]). `compiled` is the metadata; its `text`
    /// is ignored. Patches relocations, makes the code executable and
    /// registers it, like [`CodeMemory::new`].
    ///
    /// # Safety
    /// The whole mapping must be readable and writable, and the text must
    /// be machine code for this host that follows Hayate's conventions (a
    /// trusted artifact): it will run.
    pub unsafe fn from_mapping(
        mut mmap: Mmap,
        text_len: usize,
        mut compiled: CompiledModule,
        info: Arc<ModuleInfo>,
    ) -> io::Result<Arc<CodeMemory>> {
        compiled.text = Vec::new();
        validate(
            &mut compiled,
            text_len,
            info.num_defined_funcs() as usize,
            info.tags.len(),
        )?;
        // SAFETY: guaranteed by the caller; `validate` checked the metadata.
        let start = unsafe { load_text(&mut mmap, text_len, &compiled)? };
        let meta = Arc::new(CodeMeta {
            start,
            end: start + text_len,
            compiled,
            info,
            defined: DefinedFunctions::All,
        });
        Ok(Arc::new_cyclic(|code| CodeMemory {
            registration: Registration::new(meta, code.clone()),
            mmap,
        }))
    }

    /// Loads `compiled`, which holds none of `info`'s functions but only
    /// trampolines: the code of a module compiled lazily, whose functions
    /// arrive later as [`LateCode`](crate::late_code::LateCode).
    pub fn without_functions(
        compiled: &CompiledModule,
        info: Arc<ModuleInfo>,
    ) -> io::Result<Arc<CodeMemory>> {
        let mut meta = without_text(compiled);
        let text_len = compiled.text.len();
        validate(&mut meta, text_len, 0, info.tags.len())?;
        let mut mmap = copy_to_fresh_mapping(&compiled.text)?;
        // SAFETY: the mapping is fresh and read/write, the metadata was
        // validated, and the text is compiler output (trusted as by `new`).
        let start = unsafe { load_text(&mut mmap, text_len, &meta)? };
        let meta = Arc::new(CodeMeta {
            start,
            end: start + text_len,
            compiled: meta,
            info,
            defined: DefinedFunctions::Listed(Box::new([])),
        });
        Ok(Arc::new_cyclic(|code| CodeMemory {
            registration: Registration::new(meta, code.clone()),
            mmap,
        }))
    }

    fn meta(&self) -> &CodeMeta {
        self.registration.meta()
    }

    /// The text section as the compiler produced it: the loaded text with
    /// every relocation site zeroed, as an artifact stores it.
    pub fn unrelocated_text(&self) -> Vec<u8> {
        let mut text = self.text().to_vec();
        for reloc in &self.meta().compiled.relocations {
            let at = reloc.offset as usize;
            text[at..at + 8].fill(0);
        }
        text
    }

    /// Address of the first byte of the text section.
    pub fn text_start(&self) -> usize {
        self.meta().start
    }

    /// Address just past the text section.
    pub fn text_end(&self) -> usize {
        self.meta().end
    }

    /// The loaded (relocated) machine code.
    pub fn text(&self) -> &[u8] {
        let meta = self.meta();
        if meta.start == meta.end {
            return &[];
        }
        // SAFETY: the text is mapped read/execute, so readable, for as long
        // as `self` lives, and never written again.
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), meta.end - meta.start) }
    }

    /// Entry of defined function `defined_index`, with the Wasm calling
    /// convention. Panics if there is no such function.
    pub fn function_ptr(&self, defined_index: DefinedFuncIndex) -> *const u8 {
        let meta = self.meta();
        loc_ptr(meta, meta.compiled.functions[defined_index].loc)
    }

    /// Array-call entry trampoline of defined function `defined_index`, if
    /// the function escapes.
    pub fn array_to_wasm_trampoline(&self, defined_index: DefinedFuncIndex) -> Option<*const u8> {
        let meta = self.meta();
        let loc = meta.compiled.array_to_wasm_trampolines.get(defined_index)?;
        loc.map(|loc| loc_ptr(meta, loc))
    }

    /// Wasm-to-array trampoline for type `type_index` of the module's type
    /// section. Panics if there is no such type.
    pub fn wasm_to_array_trampoline(&self, type_index: TypeIndex) -> *const u8 {
        let meta = self.meta();
        loc_ptr(meta, meta.compiled.wasm_to_array_trampolines[type_index])
    }

    /// The module this code was compiled from.
    pub fn info(&self) -> &Arc<ModuleInfo> {
        &self.meta().info
    }

    /// The compiler's metadata: functions, trampolines, traps (sorted by
    /// offset), address maps. Its `text` is empty: the code lives in this
    /// mapping (see [`CodeMemory::text`]).
    pub fn compiled(&self) -> &CompiledModule {
        &self.meta().compiled
    }

    /// Whether `pc` lies in this module's text.
    pub fn contains(&self, pc: usize) -> bool {
        self.meta().contains_pc(pc)
    }

    /// The trap recorded at exactly `pc`.
    pub fn trap_at_pc(&self, pc: usize) -> Option<Trap> {
        self.meta().trap_at_pc(pc)
    }

    /// For a `pc` inside a compiled Wasm function (not a trampoline): the
    /// function's index in the module's function index space
    /// (`num_imported_funcs` + defined index) and the byte offset in the
    /// module of the Wasm instruction it belongs to, if the address map
    /// covers it.
    pub fn func_and_offset_at_pc(&self, pc: usize) -> Option<(FuncIndex, Option<u32>)> {
        self.meta().func_and_offset_at_pc(pc)
    }
}

/// The address of `loc` in registered code. `validate` checked that every
/// location lies inside the text.
pub(crate) fn loc_ptr(meta: &CodeMeta, loc: FunctionLoc) -> *const u8 {
    (meta.start + loc.start as usize) as *const u8
}

/// Everything of `compiled` but its text.
pub(crate) fn without_text(compiled: &CompiledModule) -> CompiledModule {
    CompiledModule {
        text: Vec::new(),
        functions: compiled.functions.clone(),
        array_to_wasm_trampolines: compiled.array_to_wasm_trampolines.clone(),
        wasm_to_array_trampolines: compiled.wasm_to_array_trampolines.clone(),
        call_adapters: compiled.call_adapters.clone(),
        traps: compiled.traps.clone(),
        exceptions: compiled.exceptions.clone(),
        stack_maps: compiled.stack_maps.clone(),
        relocations: compiled.relocations.clone(),
    }
}

/// A fresh read/write mapping holding `text`.
pub(crate) fn copy_to_fresh_mapping(text: &[u8]) -> io::Result<Mmap> {
    let mut mmap = Mmap::accessible(text.len())?;
    // SAFETY: the mapping is fresh, read/write and at least `text.len()`
    // bytes long; nothing else points into it.
    unsafe { mmap.as_mut_slice()[..text.len()].copy_from_slice(text) };
    Ok(mmap)
}

/// Patches `compiled`'s relocations into the first `text_len` bytes of
/// `mmap` and makes the whole mapping read/execute. Returns the text's
/// start address.
///
/// # Safety
/// The mapping must be readable and writable and private to this process;
/// `compiled` must have passed [`validate`] for `text_len`; the text must
/// be trusted machine code for this host (it will run).
pub(crate) unsafe fn load_text(
    mmap: &mut Mmap,
    text_len: usize,
    compiled: &CompiledModule,
) -> io::Result<usize> {
    if text_len > mmap.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the text is longer than its mapping",
        ));
    }
    // SAFETY: the mapping is read/write (the caller's promise) and owned
    // by the caller; nothing else points into it.
    patch_relocations(unsafe { &mut mmap.as_mut_slice()[..text_len] }, compiled);
    let len = mmap.len();
    // SAFETY: the whole mapping holds the machine code (and zero padding),
    // and the slice above is no longer used.
    unsafe { mmap.make_executable(0, len)? };
    Ok(mmap.as_ptr() as usize)
}

/// Writes the absolute addresses `compiled`'s relocations name into its
/// text `code` (which [`validate`] checked they fit in).
pub(crate) fn patch_relocations(code: &mut [u8], compiled: &CompiledModule) {
    for reloc in &compiled.relocations {
        let value = (libcall_address(reloc.target) as i64).wrapping_add(reloc.addend);
        let at = reloc.offset as usize;
        code[at..at + 8].copy_from_slice(&value.to_ne_bytes());
    }
}

/// Checks that the metadata fits the text (with `functions` functions)
/// and that the trap table is sorted and names known traps.
pub(crate) fn validate(
    compiled: &mut CompiledModule,
    text_len: usize,
    functions: usize,
    tags: usize,
) -> io::Result<()> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let len = text_len as u64;
    let in_text = |loc: &FunctionLoc| u64::from(loc.start) + u64::from(loc.length) <= len;
    if compiled.functions.len() != functions {
        return Err(bad(format!(
            "compiled code has {} functions but {functions} were expected",
            compiled.functions.len(),
        )));
    }
    let mut prev_end = 0;
    for (i, f) in compiled.functions.iter() {
        if !in_text(&f.loc) || f.loc.start < prev_end {
            return Err(bad(format!(
                "function {} at {:?} is out of order or range",
                i.as_u32(),
                f.loc
            )));
        }
        prev_end = f.loc.start + f.loc.length;
    }
    let trampolines = compiled.array_to_wasm_trampolines.values().flatten();
    if let Some(loc) = trampolines
        .chain(compiled.wasm_to_array_trampolines.values())
        .find(|l| !in_text(l))
    {
        return Err(bad(format!("trampoline at {loc:?} lies outside the text")));
    }
    let mut prev_end = 0;
    for loc in &compiled.call_adapters {
        if !in_text(loc) || loc.start < prev_end {
            return Err(bad(format!(
                "call adapter at {loc:?} is out of order or range"
            )));
        }
        prev_end = loc.start + loc.length;
    }
    if let Some(r) = compiled
        .relocations
        .iter()
        .find(|r| u64::from(r.offset) + 8 > len)
    {
        return Err(bad(format!(
            "relocation at {:#x} lies outside the text",
            r.offset
        )));
    }
    compiled.traps.check(len).map_err(bad)?;
    compiled.exceptions.check(len, tags).map_err(bad)?;
    compiled.stack_maps.check(len).map_err(bad)?;
    Ok(())
}
