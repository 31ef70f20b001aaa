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
//! instantiation (imported functions) call [`ensure_compiled`]. Through a
//! reference of its own instance, `call_indirect` reads the entry instead,
//! by the reference's defined index (`vm_func_ref::DEFINED_INDEX`), so
//! indirect calls follow a function to its later code as direct ones do.
//!
//! Meanwhile the embedding layer may compile the whole module at once on
//! other threads and [`LazyFunctions::install`] it: the entries then point
//! into it, and since its own calls are direct, code reached through them
//! stays in it. Before that, a function's first code may be replaced by
//! better code of it alone ([`LazyFunctions::replace`], a second tier). An entry thus goes from null to a function's first code and
//! later to its code in the whole module, and every code it ever held stays
//! alive with the module: a stale read costs one more trip to the runtime,
//! or a call into older code of the same function, and nothing else.
//!
//! Compiled code is kept alive by the module (`LazyFunctions`), which every
//! instance keeps alive, so it outlives any frame running it. The compiler
//! packs it one function after another in a [`CodeArena`](crate::code_arena::CodeArena) where the host
//! allows, so that hot code shares pages and cache sets as code compiled
//! together does. It is
//! registered with the trap handler and backtraces like the module's own
//! code ([`LateCode`]), so traps, backtraces, fuel, epochs and the stack
//! limit behave as in code compiled at load.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
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
    /// `def` (packed into a [`CodeArena`](crate::code_arena::CodeArena) where the host allows:
    /// [`LateCode::new_in`]).
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
    /// The whole module's code is installed.
    installed: AtomicBool,
    /// How many functions have code of their own (compiled on first call).
    compiled: AtomicUsize,
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
            installed: AtomicBool::new(false),
            compiled: AtomicUsize::new(0),
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

    /// How many functions have been compiled: all of them once the whole
    /// module is installed ([`LazyFunctions::install`]).
    pub fn compiled_count(&self) -> usize {
        if self.is_fully_compiled() {
            return self.entries.len();
        }
        self.compiled.load(Ordering::Acquire)
    }

    /// Whether the whole module's code is installed.
    pub fn is_fully_compiled(&self) -> bool {
        self.installed.load(Ordering::Acquire)
    }

    /// Switches every function to `code`, the whole module compiled at
    /// once (its function `i` is defined function `i`, its calls between
    /// them direct): calls through the entries, function references filled
    /// in from now on, and the host's calls run it. Code compiled before
    /// stays alive, since references filled in earlier and frames running
    /// still use it; an entry thus goes from null to a function's first
    /// code and then to its code in `code`, each valid for as long as the
    /// module lives.
    pub fn install(&self, code: Arc<LateCode>) -> Result<(), String> {
        let n = self.entries.len();
        if code.num_functions() != n || (0..n).any(|i| code.defined_function(i).index() != i) {
            return Err("the installed code is not the whole module in order".into());
        }
        let mut held = self.code.lock().unwrap_or_else(PoisonError::into_inner);
        for i in 0..n {
            let array = code.array_to_wasm_trampoline(i).unwrap_or(std::ptr::null());
            self.array_entries[i].store(array.cast_mut(), Ordering::Release);
            self.entries[i].store(code.function_ptr(i).cast_mut(), Ordering::Release);
        }
        held.push(code);
        self.installed.store(true, Ordering::Release);
        Ok(())
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
        self.compiled.fetch_add(1, Ordering::AcqRel);
        Ok(entry)
    }

    /// Switches compiled function `def` to `late`, better code of it alone
    /// (a second tier), unless the whole module's code is installed, which
    /// is better still; calls through the entry run it from now on. As
    /// with [`LazyFunctions::install`], the code it replaces stays alive.
    pub fn replace(&self, late: Arc<LateCode>) -> Result<(), String> {
        if late.num_functions() != 1 {
            return Err("a replacement holds one function".into());
        }
        let def = late.defined_function(0);
        let mut code = self.code.lock().unwrap_or_else(PoisonError::into_inner);
        if self.is_fully_compiled() {
            return Ok(());
        }
        if self.wasm_entry(def).is_null() {
            return Err(format!("function {} is not compiled yet", def.index()));
        }
        let array = late.array_to_wasm_trampoline(0).unwrap_or(std::ptr::null());
        self.array_entries[def.index()].store(array.cast_mut(), Ordering::Release);
        self.entries[def.index()].store(late.function_ptr(0).cast_mut(), Ordering::Release);
        code.push(late);
        Ok(())
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

/// Lowers the calling thread's scheduling priority (a nice value of 10 on
/// Linux; nothing elsewhere), for compiling in the background while code
/// runs. Threads it starts afterwards inherit the priority.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `setpriority` on the calling thread's own id changes only its
    // scheduling; an error (not permitted) leaves it as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}
