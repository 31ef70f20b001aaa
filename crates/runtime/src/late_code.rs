//! Code that appears after load: machine code for some of a module's
//! functions compiled after the module was loaded (lazy compilation, or a
//! second, optimising tier), and how calls reach it.
//!
//! # Where late code lives
//!
//! A [`LateCode`] is one region of such code, in a W^X mapping of its own
//! (loaded by the same steps as a module's text, `code_memory::load_text`),
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
//! * **For lazy compilation**, a function not compiled at load would get, at
//!   load, a small stub in place of its body: direct calls and copied
//!   imports reach the stub, which calls into the runtime to compile the
//!   function on first use (a `LateCode`), stores its entry in a
//!   per-function slot of the VMContext, and jumps there; later calls
//!   through the stub load the slot and jump. The function's `VMFuncRef` is
//!   replaced as above, so calls through references skip the stub. The slot
//!   array and the stub are the compiler seam's part of this design (they
//!   change the VMContext layout in `hayate-environ` and the code the
//!   compiler emits for a not-yet-compiled function); the runtime part —
//!   code that can be added, registered and referenced after load — is this
//!   module.
//!
//! Late code is kept alive by every instance that runs it (it holds an
//! `Arc`), so it outlives any frame executing it.
//!
//! [`Instance::replace_function_code`]: crate::Instance::replace_function_code

use std::io;
use std::sync::{Arc, Weak};

use hayate_environ::{CompiledModule, DefinedFuncIndex, EntityRef, ModuleInfo};

use crate::code_memory::{copy_to_fresh_mapping, load_text, loc_ptr, validate, without_text};
use crate::code_registry::{CodeMeta, DefinedFunctions, Registration};
use crate::mmap::Mmap;

/// A region of machine code for some of a module's functions, loaded after
/// the module.
#[derive(Debug)]
pub struct LateCode {
    // Declared before `mmap`: unregistered before the mapping goes away.
    registration: Registration,
    mmap: Mmap,
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
        let text_len = compiled.text.len();
        validate(&mut meta, text_len, defined.len())?;
        let mut mmap = copy_to_fresh_mapping(&compiled.text)?;
        // SAFETY: the mapping is fresh and read/write, the metadata was
        // validated, and the text is compiler output (trusted as a module's
        // is by `CodeMemory::new`).
        let start = unsafe { load_text(&mut mmap, text_len, &meta)? };
        let listed = defined.to_vec().into_boxed_slice();
        let meta = Arc::new(CodeMeta {
            start,
            end: start + text_len,
            compiled: meta,
            info,
            defined: DefinedFunctions::Listed(listed),
        });
        Ok(Arc::new(LateCode {
            registration: Registration::new(meta, Weak::new()),
            mmap,
        }))
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
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), meta.end - meta.start) }
    }
}
