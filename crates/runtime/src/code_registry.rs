//! The process-wide registry of loaded code: which address ranges hold
//! compiled Wasm, and for each its trap table, function ranges and address
//! maps. The signal handler asks it whether a faulting PC is a Wasm trap;
//! backtraces ask it which function and Wasm offset a return address is.
//!
//! A range is registered by a `Registration`, which removes it when
//! dropped. A module's [`CodeMemory`] holds one for its text; code that
//! appears after load ([`LateCode`]) holds one for each region of its own,
//! so a module's functions may live in several registered ranges, each
//! saying which of the module's defined functions it contains.
//!
//! # The registry and the signal handler
//!
//! The registry is a `RwLock<BTreeMap>` from text start address to the
//! code's metadata (`Arc<CodeMeta>`). The signal handler takes the *read*
//! lock to ask whether a faulting PC lies in compiled code and which trap
//! is recorded there. That is sound in a handler because:
//!
//! * the read path neither allocates nor frees: it walks the map and binary
//!   searches sorted vectors; metadata is only dropped by writers, which
//!   remove entries outside any handler;
//! * no thread holds the lock while running Wasm code: writers
//!   (register/unregister) and ordinary readers hold it only for a few
//!   instructions of Rust, so if another thread holds it the handler just
//!   waits for it;
//! * a thread never waits on itself: every acquisition, including the
//!   handler's, first sets a thread-local flag, and an acquisition that
//!   finds the flag already set (a fault while this thread held the lock)
//!   gives up instead of deadlocking. The handler then treats the fault as
//!   not coming from Wasm and passes it on.
//!
//! [`CodeMemory`]: crate::code_memory::CodeMemory
//! [`LateCode`]: crate::late_code::LateCode

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use hayate_environ::{
    AddressMap, CompiledModule, DefinedFuncIndex, EntityRef, FuncIndex, ModuleInfo, Trap,
};

use crate::code_memory::CodeMemory;

/// Which of the module's defined functions a region's functions are.
#[derive(Debug)]
pub(crate) enum DefinedFunctions {
    /// All of them, in order: the region's function `i` is defined
    /// function `i` (a module's text as compiled at load).
    All,
    /// The region's function `i` is defined function `listed[i]` (code
    /// compiled after load for some functions).
    Listed(Box<[DefinedFuncIndex]>),
}

/// The metadata of registered code.
#[derive(Debug)]
pub(crate) struct CodeMeta {
    /// Address of the first byte of the text.
    pub(crate) start: usize,
    /// Address just past the text.
    pub(crate) end: usize,
    /// The compiler's output without its text (which lives in a mapping).
    pub(crate) compiled: CompiledModule,
    /// The module the functions belong to.
    pub(crate) info: Arc<ModuleInfo>,
    /// Which of its defined functions `compiled.functions` are.
    pub(crate) defined: DefinedFunctions,
}

impl CodeMeta {
    fn contains(&self, pc: usize) -> bool {
        self.start <= pc && pc < self.end
    }

    /// Whether `pc` lies in this text.
    pub(crate) fn contains_pc(&self, pc: usize) -> bool {
        self.contains(pc)
    }

    fn offset(&self, pc: usize) -> Option<u32> {
        if !self.contains(pc) {
            return None;
        }
        u32::try_from(pc - self.start).ok()
    }

    /// The module's defined-function index of this region's function
    /// `position`. Signal-handler safe.
    pub(crate) fn defined_index(&self, position: DefinedFuncIndex) -> DefinedFuncIndex {
        match &self.defined {
            DefinedFunctions::All => position,
            DefinedFunctions::Listed(listed) => listed[position.index()],
        }
    }

    /// The trap recorded at exactly `pc`. Signal-handler safe.
    pub(crate) fn trap_at_pc(&self, pc: usize) -> Option<Trap> {
        self.compiled.trap_at(self.offset(pc)?)
    }

    /// Whether `pc` lies in a function whose memory faults are guard-page
    /// hits (`CompiledFunction::guard_page_faults`). Signal-handler safe.
    pub(crate) fn guard_page_faults_at_pc(&self, pc: usize) -> bool {
        self.offset(pc)
            .and_then(|offset| self.compiled.function_at(offset))
            .is_some_and(|position| self.compiled.functions[position].guard_page_faults)
    }

    /// The module's defined function whose code contains `pc`.
    /// Signal-handler safe.
    pub(crate) fn defined_function_at_pc(&self, pc: usize) -> Option<DefinedFuncIndex> {
        let position = self.compiled.function_at(self.offset(pc)?)?;
        Some(self.defined_index(position))
    }

    /// For a `pc` inside a compiled Wasm function (not a trampoline): the
    /// function's index in the module's function index space
    /// (`num_imported_funcs` + defined index) and the byte offset in the
    /// module of the Wasm instruction it belongs to, if the address map
    /// covers it.
    pub(crate) fn func_and_offset_at_pc(&self, pc: usize) -> Option<(FuncIndex, Option<u32>)> {
        let (position, rel) = self.function_and_offset(pc)?;
        let func = &self.compiled.functions[position];
        let wasm_offset = known(func.address_map.lookup(rel));
        Some((
            self.info.func_index(self.defined_index(position)),
            wasm_offset,
        ))
    }

    /// The position of the function whose code contains `pc`, and `pc`'s
    /// offset from the function's start.
    fn function_and_offset(&self, pc: usize) -> Option<(DefinedFuncIndex, u32)> {
        let offset = self.offset(pc)?;
        let position = self.compiled.function_at(offset)?;
        Some((
            position,
            offset - self.compiled.functions[position].loc.start,
        ))
    }

    /// For a `pc` inside a compiled Wasm function: the Wasm frames it
    /// stands for, innermost first, as [`CodeMeta::func_and_offset_at_pc`]
    /// gives them. A `pc` inside calls the compiler inlined is one frame
    /// for each: the innermost callee at the instruction's offset, then
    /// each caller at its call's offset, ending with the function whose
    /// code it is. At a call whose callee stands for the innermost of
    /// them ([`AddressMap::CONTINUED_IN_CALLEE`]), that one is left out.
    pub(crate) fn frames_at_pc(&self, pc: usize) -> Vec<(FuncIndex, Option<u32>)> {
        let Some((position, rel)) = self.function_and_offset(pc) else {
            return Vec::new();
        };
        let func = &self.compiled.functions[position];
        let func_index = self.info.func_index(self.defined_index(position));
        let looked_up = func.address_map.lookup(rel);
        let continued = looked_up == Some(AddressMap::CONTINUED_IN_CALLEE);
        let innermost = known(looked_up);
        if func.inline_map.is_empty() {
            return match continued {
                true => Vec::new(),
                false => vec![(func_index, innermost)],
            };
        }
        let defined = self.info.num_defined_funcs() as usize;
        let calls = func.inline_map.calls_at(rel);
        let calls = calls.iter().take_while(|c| c.callee.index() < defined);
        // Outermost first: each function at the offset of the call made
        // in it, the innermost at the instruction's.
        let mut frames = vec![func_index];
        let mut offsets = Vec::new();
        for call in calls {
            frames.push(self.info.func_index(call.callee));
            offsets.push(known(Some(call.call_offset)));
        }
        offsets.push(innermost);
        let skip = usize::from(continued);
        frames.into_iter().zip(offsets).rev().skip(skip).collect()
    }

    /// The module.
    pub(crate) fn info(&self) -> &Arc<ModuleInfo> {
        &self.info
    }
}

/// A Wasm offset from an address or inline map, if it names an
/// instruction: not 0 (unknown) nor [`AddressMap::CONTINUED_IN_CALLEE`].
fn known(offset: Option<u32>) -> Option<u32> {
    offset.filter(|o| *o != 0 && *o != AddressMap::CONTINUED_IN_CALLEE)
}

struct Entry {
    meta: Arc<CodeMeta>,
    /// The module's code memory when this entry is its text; dangling for
    /// late code.
    code: Weak<CodeMemory>,
}

static REGISTRY: RwLock<BTreeMap<usize, Entry>> = RwLock::new(BTreeMap::new());

thread_local! {
    /// Whether this thread is inside a registry lock (see the module docs).
    static IN_REGISTRY: Cell<bool> = const { Cell::new(false) };
}

/// Clears `IN_REGISTRY` when dropped.
struct InRegistry;

impl InRegistry {
    fn enter() -> Option<InRegistry> {
        if IN_REGISTRY.get() {
            return None;
        }
        IN_REGISTRY.set(true);
        Some(InRegistry)
    }
}

impl Drop for InRegistry {
    fn drop(&mut self) {
        IN_REGISTRY.set(false);
    }
}

/// A read-locked view of the registry.
pub(crate) struct RegistryView<'a>(&'a BTreeMap<usize, Entry>);

impl RegistryView<'_> {
    fn entry(&self, pc: usize) -> Option<&Entry> {
        let (_, entry) = self.0.range(..=pc).next_back()?;
        entry.meta.contains(pc).then_some(entry)
    }

    /// The registered code containing `pc`. Signal-handler safe.
    pub(crate) fn find(&self, pc: usize) -> Option<&CodeMeta> {
        self.entry(pc).map(|e| &*e.meta)
    }

    /// Whether `pc` lies inside code whose frames are Wasm frames: a
    /// compiled Wasm function, or a call adapter between two of them
    /// (`CompiledModule::call_adapters`), not a trampoline to or from the
    /// host. Signal-handler safe.
    pub(crate) fn is_wasm_code(&self, pc: usize) -> bool {
        self.find(pc).is_some_and(|m| {
            m.offset(pc).is_some_and(|offset| {
                m.compiled.function_at(offset).is_some() || m.compiled.is_call_adapter_at(offset)
            })
        })
    }
}

/// Runs `f` with the registry read-locked, or returns `None` if this thread
/// already holds the registry lock. Neither allocates nor frees, so it may
/// run in a signal handler (if `f` does neither either).
pub(crate) fn with_registry<R>(f: impl FnOnce(&RegistryView<'_>) -> R) -> Option<R> {
    let _in = InRegistry::enter()?;
    let map = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    Some(f(&RegistryView(&map)))
}

/// A registered range of code: traps in it are caught and its frames
/// appear in backtraces until this is dropped. Drop it before unmapping
/// the code.
#[derive(Debug)]
pub(crate) struct Registration {
    meta: Arc<CodeMeta>,
}

impl Registration {
    /// Registers `meta`'s range; `code` is the module's code memory when
    /// the range is its text (for [`lookup_code_memory`]), else dangling.
    /// An empty range is not registered (nothing can fault in it).
    pub(crate) fn new(meta: Arc<CodeMeta>, code: Weak<CodeMemory>) -> Registration {
        if meta.start != meta.end {
            let entry = Entry {
                meta: meta.clone(),
                code,
            };
            let _in = InRegistry::enter().expect("registry lock taken re-entrantly");
            let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
            let previous = map.insert(meta.start, entry);
            assert!(previous.is_none(), "two registrations of one code range");
        }
        Registration { meta }
    }

    /// The registered metadata.
    pub(crate) fn meta(&self) -> &Arc<CodeMeta> {
        &self.meta
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.meta.start == self.meta.end {
            return;
        }
        let removed = {
            let _in = InRegistry::enter().expect("registry lock taken re-entrantly");
            let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
            map.remove(&self.meta.start)
        };
        // The entry (and maybe the last other reference to the metadata) is
        // dropped here, outside the lock.
        drop(removed);
    }
}

/// What the registry knows about a program counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLookup {
    /// Start of the registered range containing the PC.
    pub text_start: usize,
    /// The trap recorded at exactly this PC.
    pub trap: Option<Trap>,
    /// The module's defined function containing the PC; `None` in a
    /// trampoline.
    pub defined_function: Option<DefinedFuncIndex>,
}

/// Looks up `pc` among all loaded code, including code loaded after its
/// module ([`LateCode`](crate::late_code::LateCode)).
///
/// Safe to call from a signal handler: it takes the registry's read lock
/// (see the module docs for why that cannot deadlock) and neither allocates
/// nor frees. Returns `None` if `pc` is not in loaded code, or if this
/// thread is already inside the registry.
pub fn lookup_code(pc: usize) -> Option<CodeLookup> {
    with_registry(|reg| {
        let meta = reg.find(pc)?;
        Some(CodeLookup {
            text_start: meta.start,
            trap: meta.trap_at_pc(pc),
            defined_function: meta.defined_function_at_pc(pc),
        })
    })
    .flatten()
}

/// The module code memory whose text contains `pc`, kept alive (`None`
/// for late code). Not for signal handlers (dropping the returned `Arc`
/// may free memory).
pub fn lookup_code_memory(pc: usize) -> Option<Arc<CodeMemory>> {
    with_registry(|reg| reg.entry(pc)?.code.upgrade()).flatten()
}

/// The registered metadata containing `pc`, kept alive. Not for signal
/// handlers.
pub(crate) fn lookup_meta(pc: usize) -> Option<Arc<CodeMeta>> {
    with_registry(|reg| reg.entry(pc).map(|e| e.meta.clone())).flatten()
}
