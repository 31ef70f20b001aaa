//! Lazy compilation, the runtime's side: a module loaded without its
//! functions' code gets each one compiled on first call, by a compiler the
//! embedding layer provides ([`LazyCompiler`]), as [`LateCode`].
//!
//! # How calls find the code
//!
//! Code compiled for lazy compilation (`Tunables::lazy_compilation`) calls
//! the module's other functions through [`LazyFunctions`]' entries, one per
//! defined function, which the VMContext points to
//! (`VMOffsets::lazy_entries`): a null entry makes the caller ask the
//! `lazy_compile` builtin, which compiles the function and fills the entry
//! in. Function references (`VMFuncRef`) are filled in from the entries when
//! an instance hands them out, so a reference to a function not compiled yet
//! has a null `wasm_call` and `array_call`; `call_indirect` checks and asks
//! `lazy_compile_func_ref`, the host's calls (`crate::invoke`) and
//! instantiation (imported functions) call [`ensure_compiled`]. Every entry
//! only ever goes from null to the one compiled code of its function, so a
//! stale read costs one more trip to the runtime and nothing else.
//!
//! Compiled code is kept alive by the module (`LazyFunctions`), which every
//! instance keeps alive, so it outlives any frame running it. It is
//! registered with the trap handler and backtraces like the module's own
//! code ([`LateCode`]), so traps, backtraces, fuel, epochs and the stack
//! limit behave as in code compiled at load.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hayate_environ::{DefinedFuncIndex, EntityRef};

use crate::instance::Instance;
use crate::late_code::LateCode;
use crate::vmcontext::VMFuncRef;

/// Compiles one function of a module for lazy compilation: the embedding
/// layer's compiler, bound to the module.
pub trait LazyCompiler: Send + Sync + std::fmt::Debug {
    /// Compiles defined function `def` (and its array-call entry trampoline
    /// if it escapes) into loaded, registered code whose only function is
    /// `def`.
    fn compile(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String>;
}

/// The lazily compiled functions of a module.
#[derive(Debug)]
pub struct LazyFunctions {
    /// Wasm-convention entry of each defined function, null until compiled.
    entries: Box<[AtomicPtr<u8>]>,
    /// Array-call entry of each defined function, null until compiled (or
    /// for a function that does not escape).
    array_entries: Box<[AtomicPtr<u8>]>,
    /// The code, kept alive with the module; compilations happen under
    /// this lock, one at a time.
    code: Mutex<Vec<Arc<LateCode>>>,
    compiler: Box<dyn LazyCompiler>,
}

impl LazyFunctions {
    /// Nothing compiled yet of a module with `defined` functions.
    pub fn new(defined: usize, compiler: Box<dyn LazyCompiler>) -> LazyFunctions {
        let nulls = || (0..defined).map(|_| AtomicPtr::default()).collect();
        LazyFunctions {
            entries: nulls(),
            array_entries: nulls(),
            code: Mutex::new(Vec::new()),
            compiler,
        }
    }

    /// The entries array the VMContext points to.
    pub(crate) fn entries_ptr(&self) -> *const AtomicPtr<u8> {
        self.entries.as_ptr()
    }

    /// `def`'s Wasm-convention entry, null if not compiled yet.
    pub(crate) fn wasm_entry(&self, def: DefinedFuncIndex) -> *const u8 {
        self.entries[def.index()].load(Ordering::Acquire)
    }

    /// `def`'s array-call entry, null if not compiled yet or if it has none.
    pub(crate) fn array_entry(&self, def: DefinedFuncIndex) -> *const u8 {
        self.array_entries[def.index()].load(Ordering::Acquire)
    }

    /// How many functions have been compiled.
    pub fn compiled_count(&self) -> usize {
        self.code
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Compiles `def` unless it is compiled; its Wasm-convention entry.
    pub fn compile(&self, def: DefinedFuncIndex) -> Result<*const u8, String> {
        let entry = self.wasm_entry(def);
        if !entry.is_null() {
            return Ok(entry);
        }
        let mut code = self.code.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have compiled it while this one waited.
        let entry = self.wasm_entry(def);
        if !entry.is_null() {
            return Ok(entry);
        }
        let late = self.compiler.compile(def)?;
        if late.num_functions() != 1 || late.defined_function(0) != def {
            return Err(format!(
                "lazy compilation of function {} returned other code",
                def.index()
            ));
        }
        let array = late.array_to_wasm_trampoline(0).unwrap_or(std::ptr::null());
        let entry = late.function_ptr(0);
        // The array entry first: a reader that sees the Wasm entry (the
        // "compiled" mark) sees both.
        self.array_entries[def.index()].store(array.cast_mut(), Ordering::Release);
        self.entries[def.index()].store(entry.cast_mut(), Ordering::Release);
        code.push(late);
        Ok(entry)
    }
}

/// Makes sure the function of `func_ref` has code, compiling it if needed,
/// and fills in the reference's entries.
///
/// # Safety
/// `func_ref` must be a live, filled-in function reference (its `vmctx` a
/// live instance's), not used by anyone else during the call.
pub unsafe fn ensure_compiled(func_ref: *mut VMFuncRef) -> Result<(), String> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if !(*func_ref).wasm_call.is_null() {
            return Ok(());
        }
        let owner = &*Instance::from_vmctx((*func_ref).vmctx);
        let index = owner
            .func_index_of_ref(func_ref)
            .ok_or("a function reference without code that belongs to no function")?;
        let module = owner.module();
        let (Some(lazy), Some(def)) = (&module.lazy, module.info.defined_func(index)) else {
            return Err(format!(
                "function {} has no code and is not compiled lazily",
                index.index()
            ));
        };
        let entry = lazy.compile(def)?;
        (*func_ref).wasm_call = entry;
        (*func_ref).array_call = lazy.array_entry(def);
        Ok(())
    }
}
