//! Code that appears after load: machine code for some of a module's
//! functions compiled after the module was loaded (lazy compilation, or a
//! second, optimising tier), and how calls reach it.
//!
//! # Where late code lives
//!
//! A [`LateCode`] is one region of such code, either in a W^X mapping of
//! its own (loaded by the same steps as a module's text,
//! `code_memory::load_text`) or appended to a [`CodeArena`] (packed with
//! other regions, never writable where it runs; see `code_arena`),
//! registered with the trap handler and backtraces
//! ([`crate::code_registry`]) for as long as it lives, and optionally
//! announced to the profiler (`perfmap::register_late`). It records which
//! of the module's defined functions it holds, so traps and backtrace
//! frames in it name the right function. The compiler produces it like a
//! module's code (a `CompiledModule` whose function `i` is the `i`-th of
//! the functions asked for) and never learns that it is late.
//!
//! # How calls reach it
//!
//! A function is called in one of three ways, and they differ in what a
//! later change of code can affect:
//!
//! * **Through its function reference** — `call_indirect` and `call_ref`
//!   (tables hold pointers to the instance's `VMFuncRef`s), exports called
//!   from the host (through the reference's array-call entry), and instances
//!   instantiated afterwards that import it. Each defined function's
//!   `VMFuncRef` lives in its instance's VMContext; `fill_vmctx` writes it
//!   at instantiation, and [`Instance::replace_function_code`] rewrites
//!   its `wasm_call` and `array_call` to late code, so all of these run the
//!   new code from the next call on. (Instances that imported the function
//!   *before* the replacement copied its old entry into their own VMContext
//!   and keep calling it.)
//! * **By a direct `call`** between functions compiled together: a
//!   PC-relative call patched when the module was compiled and loaded.
//!   These stay linked at load, exactly as today, so eager code pays
//!   nothing for the possibility of late code.
//! * **For lazy compilation**, calls between a module's functions go
//!   through per-function entries the VMContext points to, filled in with
//!   late code on first call and later with the whole module's code
//!   (`crate::lazy`).
//!
//! Late code is kept alive by every instance that runs it (it holds an
//! `Arc`), so it outlives any frame executing it.
//!
//! [`Instance::replace_function_code`]: crate::Instance::replace_function_code

use std::io;
use std::sync::{Arc, Weak};

use hayate_environ::{CompiledModule, DefinedFuncIndex, EntityRef, ModuleInfo};

use crate::code_arena::{Chunk, CodeArena};
use crate::code_memory::{
    copy_to_fresh_mapping, load_text, loc_ptr, patch_relocations, validate, without_text,
};
use crate::code_registry::{CodeMeta, DefinedFunctions, Registration};
use crate::mmap::Mmap;

/// A region of machine code for some of a module's functions, loaded after
/// the module.
#[derive(Debug)]
pub struct LateCode {
    // Declared before `_memory`: unregistered before the code goes away.
    registration: Registration,
    _memory: LateMemory,
}

/// What keeps a region's code mapped.
#[derive(Debug)]
enum LateMemory {
    /// A mapping of its own.
    Own { _mapping: Mmap },
    /// A place in a chunk of a [`CodeArena`].
    Arena { _chunk: Arc<Chunk> },
}

impl LateCode {
    /// Loads `compiled`, whose function `i` is defined function
    /// `defined[i]` of the module `info` (compiled for that module, with its
    /// VMContext layout), into executable memory and registers it, so that
    /// traps in it are caught and its frames named, until it is dropped.
    ///
    /// Fails with `InvalidData` if `compiled` does not have one function per
    /// entry of `defined`, names a function the module does not define, or
    /// its metadata does not fit its text; or with the system's error.
    pub fn new(
        compiled: &CompiledModule,
        info: Arc<ModuleInfo>,
        defined: &[DefinedFuncIndex],
    ) -> io::Result<Arc<LateCode>> {
        let meta = checked_meta(compiled, &info, defined)?;
        let text_len = compiled.text.len();
        let mut mmap = copy_to_fresh_mapping(&compiled.text)?;
        // SAFETY: the mapping is fresh and read/write, the metadata was
        // validated, and the text is compiler output (trusted as a module's
        // is by `CodeMemory::new`).
        let start = unsafe { load_text(&mut mmap, text_len, &meta)? };
        Ok(Self::registered(
            meta,
            info,
            defined,
            start,
            text_len,
            LateMemory::Own { _mapping: mmap },
        ))
    }

    /// Like [`LateCode::new`], but the code is appended to `arena` instead
    /// of getting a mapping of its own.
    pub fn new_in(
        arena: &CodeArena,
        compiled: &CompiledModule,
        info: Arc<ModuleInfo>,
        defined: &[DefinedFuncIndex],
    ) -> io::Result<Arc<LateCode>> {
        let meta = checked_meta(compiled, &info, defined)?;
        let mut text = compiled.text.clone();
        let text_len = text.len();
        patch_relocations(&mut text, &meta);
        // SAFETY: the metadata was validated, the relocations patched (the
        // rest of the text does not depend on where it lands), and the text
        // is compiler output (trusted as a module's is by `CodeMemory::new`).
        let (chunk, start) = unsafe { arena.place(&text)? };
        Ok(Self::registered(
            meta,
            info,
            defined,
            start,
            text_len,
            LateMemory::Arena { _chunk: chunk },
        ))
    }

    /// Registers code loaded at `start`.
    fn registered(
        compiled: CompiledModule,
        info: Arc<ModuleInfo>,
        defined: &[DefinedFuncIndex],
        start: usize,
        text_len: usize,
        memory: LateMemory,
    ) -> Arc<LateCode> {
        let listed = defined.to_vec().into_boxed_slice();
        let meta = Arc::new(CodeMeta {
            start,
            end: start + text_len,
            compiled,
            info,
            defined: DefinedFunctions::Listed(listed),
        });
        Arc::new(LateCode {
            registration: Registration::new(meta, Weak::new()),
            _memory: memory,
        })
    }

    pub(crate) fn meta(&self) -> &CodeMeta {
        self.registration.meta()
    }

    /// The module the functions belong to.
    pub fn info(&self) -> &Arc<ModuleInfo> {
        &self.meta().info
    }

    /// Address of the first byte of the region.
    pub fn text_start(&self) -> usize {
        self.meta().start
    }

    /// Address just past the region.
    pub fn text_end(&self) -> usize {
        self.meta().end
    }

    /// The number of functions in the region.
    pub fn num_functions(&self) -> usize {
        self.meta().compiled.functions.len()
    }

    /// Where defined function `defined` is in this region, if it is.
    pub fn position_of(&self, defined: DefinedFuncIndex) -> Option<usize> {
        let meta = self.meta();
        (0..self.num_functions()).find(|&i| meta.defined_index(DefinedFuncIndex::new(i)) == defined)
    }

    /// The module's defined-function index of the region's function `i`.
    /// Panics if there is no such function.
    pub fn defined_function(&self, i: usize) -> DefinedFuncIndex {
        assert!(i < self.num_functions(), "no function {i} in this region");
        self.meta().defined_index(DefinedFuncIndex::new(i))
    }

    /// Entry of the region's function `i`, with the Wasm calling
    /// convention. Panics if there is no such function.
    pub fn function_ptr(&self, i: usize) -> *const u8 {
        let meta = self.meta();
        loc_ptr(meta, meta.compiled.functions.as_values_slice()[i].loc)
    }

    /// Array-call entry trampoline of the region's function `i`, if it has
    /// one (the compiler makes one for functions that escape).
    pub fn array_to_wasm_trampoline(&self, i: usize) -> Option<*const u8> {
        let meta = self.meta();
        let loc = (*meta
            .compiled
            .array_to_wasm_trampolines
            .as_values_slice()
            .get(i)?)?;
        Some(loc_ptr(meta, loc))
    }

    /// The compiler's metadata for the region (its `text` is empty).
    pub fn compiled(&self) -> &CompiledModule {
        &self.meta().compiled
    }

    /// The mapping holding the code, for as long as `self` lives.
    pub fn text(&self) -> &[u8] {
        let meta = self.meta();
        if meta.start == meta.end {
            return &[];
        }
        // SAFETY: the text is mapped read/execute, so readable, for as long
        // as `self` lives, and never written again.
        unsafe { std::slice::from_raw_parts(meta.start as *const u8, meta.end - meta.start) }
    }
}

/// `compiled`'s metadata (without its text), checked to fit its text and to
/// name one function of the module `info` per entry of `defined`.
fn checked_meta(
    compiled: &CompiledModule,
    info: &ModuleInfo,
    defined: &[DefinedFuncIndex],
) -> io::Result<CompiledModule> {
    if let Some(f) = defined
        .iter()
        .find(|f| f.index() >= info.num_defined_funcs() as usize)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "late code for defined function {} of a module that defines {}",
                f.index(),
                info.num_defined_funcs()
            ),
        ));
    }
    let mut meta = without_text(compiled);
    validate(
        &mut meta,
        compiled.text.len(),
        defined.len(),
        info.tags.len(),
    )?;
    Ok(meta)
}
