//! Executable memory for a compiled module, and the process-wide registry
//! of code ranges the trap handler consults.
//!
//! [`CodeMemory::new`] maps fresh read/write pages, copies the module's text
//! section there, patches its relocations (absolute addresses of the float
//! libcalls below), then turns the pages read/execute (W^X: never writable
//! and executable at once) and registers the range.
//! [`CodeMemory::from_mapping`] does the same with text already mapped, for
//! example privately from a precompiled artifact, without copying it.
//! Dropping the last `Arc<CodeMemory>` unregisters it before unmapping it.
//!
//! # The registry and the signal handler
//!
//! The registry is a `RwLock<BTreeMap>` from text start address to the
//! code's metadata (`Arc<CodeMeta>`: trap table, function ranges, address
//! maps, module info). The signal handler takes the *read* lock to ask
//! whether a faulting PC lies in compiled code and which trap is recorded
//! there. That is sound in a handler because:
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

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use hayate_environ::{CompiledModule, FloatLibcall, FunctionLoc, ModuleInfo, Trap};

use crate::mmap::Mmap;

/// Machine code of one module in executable memory, with its metadata.
#[derive(Debug)]
pub struct CodeMemory {
    mmap: Mmap,
    meta: Arc<CodeMeta>,
}

/// The metadata of registered code, shared with the registry.
#[derive(Debug)]
pub(crate) struct CodeMeta {
    /// Address of the first byte of the text section.
    start: usize,
    /// Address just past the text section.
    end: usize,
    /// The compiler's output without its text (which lives in the mapping).
    compiled: CompiledModule,
    /// The module.
    info: Arc<ModuleInfo>,
}

impl CodeMemory {
    /// Loads `compiled` into executable memory and registers it so that
    /// traps in it are caught.
    ///
    /// Fails with `InvalidData` if the metadata does not fit the text (a
    /// function, trampoline, trap or relocation out of range), or with the
    /// operating system's error if mapping fails.
    pub fn new(compiled: &CompiledModule, info: Arc<ModuleInfo>) -> io::Result<Arc<CodeMemory>> {
        // Keep everything but the text, which is copied into the mapping.
        let meta = CompiledModule {
            text: Vec::new(),
            functions: compiled.functions.clone(),
            array_to_wasm_trampolines: compiled.array_to_wasm_trampolines.clone(),
            wasm_to_array_trampolines: compiled.wasm_to_array_trampolines.clone(),
            traps: compiled.traps.clone(),
            relocations: compiled.relocations.clone(),
        };
        Self::from_text(&compiled.text, meta, info)
    }

    /// Like [`CodeMemory::new`] with the text given apart from the rest of
    /// the compiler's output (whose `text` is ignored).
    pub fn from_text(
        text: &[u8],
        compiled: CompiledModule,
        info: Arc<ModuleInfo>,
    ) -> io::Result<Arc<CodeMemory>> {
        let mut mmap = Mmap::accessible(text.len())?;
        // SAFETY: the mapping is fresh, read/write and at least `text.len()`
        // bytes long; nothing else points into it.
        unsafe { mmap.as_mut_slice()[..text.len()].copy_from_slice(text) };
        // SAFETY: the mapping is read/write; the text is what the caller
        // vouches for, as with `new`.
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
        if text_len > mmap.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the text is longer than its mapping",
            ));
        }
        validate(&mut compiled, text_len, &info)?;
        // SAFETY: the mapping is read/write (the caller's promise) and owned
        // here; nothing else points into it.
        let code = unsafe { &mut mmap.as_mut_slice()[..text_len] };
        for reloc in &compiled.relocations {
            let value = (libcall_address(reloc.target) as i64).wrapping_add(reloc.addend);
            let at = reloc.offset as usize;
            code[at..at + 8].copy_from_slice(&value.to_ne_bytes());
        }
        let len = mmap.len();
        // SAFETY: the whole mapping holds the module's machine code (and
        // zero padding), and the slice above is no longer used.
        unsafe { mmap.make_executable(0, len)? };

        let start = mmap.as_ptr() as usize;
        let meta = Arc::new(CodeMeta {
            start,
            end: start + text_len,
            compiled,
            info,
        });
        let code = Arc::new(CodeMemory { mmap, meta });
        register(&code);
        Ok(code)
    }

    /// The text section as the compiler produced it: the loaded text with
    /// every relocation site zeroed, as an artifact stores it.
    pub fn unrelocated_text(&self) -> Vec<u8> {
        let mut text = self.text().to_vec();
        for reloc in &self.meta.compiled.relocations {
            let at = reloc.offset as usize;
            text[at..at + 8].fill(0);
        }
        text
    }

    /// Address of the first byte of the text section.
    pub fn text_start(&self) -> usize {
        self.meta.start
    }

    /// Address just past the text section.
    pub fn text_end(&self) -> usize {
        self.meta.end
    }

    /// The loaded (relocated) machine code.
    pub fn text(&self) -> &[u8] {
        if self.meta.start == self.meta.end {
            return &[];
        }
        // SAFETY: the text is mapped read/execute, so readable, for as long
        // as `self` lives, and never written again.
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.meta.end - self.meta.start) }
    }

    fn loc_ptr(&self, loc: FunctionLoc) -> *const u8 {
        // `validate` checked that every location lies inside the text.
        (self.meta.start + loc.start as usize) as *const u8
    }

    /// Entry of defined function `defined_index`, with the Wasm calling
    /// convention. Panics if there is no such function.
    pub fn function_ptr(&self, defined_index: u32) -> *const u8 {
        self.loc_ptr(self.meta.compiled.functions[defined_index as usize].loc)
    }

    /// Array-call entry trampoline of defined function `defined_index`, if
    /// the function escapes.
    pub fn array_to_wasm_trampoline(&self, defined_index: u32) -> Option<*const u8> {
        let loc = self
            .meta
            .compiled
            .array_to_wasm_trampolines
            .get(defined_index as usize)?;
        loc.map(|loc| self.loc_ptr(loc))
    }

    /// Wasm-to-array trampoline for type `type_index` of the module's type
    /// section. Panics if there is no such type.
    pub fn wasm_to_array_trampoline(&self, type_index: u32) -> *const u8 {
        self.loc_ptr(self.meta.compiled.wasm_to_array_trampolines[type_index as usize])
    }

    /// The module this code was compiled from.
    pub fn info(&self) -> &Arc<ModuleInfo> {
        &self.meta.info
    }

    /// The compiler's metadata: functions, trampolines, traps (sorted by
    /// offset), address maps. Its `text` is empty: the code lives in this
    /// mapping (see [`CodeMemory::text`]).
    pub fn compiled(&self) -> &CompiledModule {
        &self.meta.compiled
    }

    /// Whether `pc` lies in this module's text.
    pub fn contains(&self, pc: usize) -> bool {
        self.meta.contains(pc)
    }

    /// The trap recorded at exactly `pc`.
    pub fn trap_at_pc(&self, pc: usize) -> Option<Trap> {
        self.meta.trap_at_pc(pc)
    }

    /// For a `pc` inside a compiled Wasm function (not a trampoline): the
    /// function's index in the module's function index space
    /// (`num_imported_funcs` + defined index) and the byte offset in the
    /// module of the Wasm instruction it belongs to, if the address map
    /// covers it.
    pub fn func_and_offset_at_pc(&self, pc: usize) -> Option<(u32, Option<u32>)> {
        self.meta.func_and_offset_at_pc(pc)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // Unregister before the mapping goes away with `self.mmap`.
        unregister(&self.meta);
    }
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

    /// The trap recorded at exactly `pc`. Signal-handler safe.
    pub(crate) fn trap_at_pc(&self, pc: usize) -> Option<Trap> {
        self.compiled.trap_at(self.offset(pc)?)
    }

    /// The defined function containing `pc`. Signal-handler safe.
    pub(crate) fn defined_function_at_pc(&self, pc: usize) -> Option<u32> {
        self.compiled.function_at(self.offset(pc)?)
    }

    /// See [`CodeMemory::func_and_offset_at_pc`].
    pub(crate) fn func_and_offset_at_pc(&self, pc: usize) -> Option<(u32, Option<u32>)> {
        let offset = self.offset(pc)?;
        let defined = self.compiled.function_at(offset)?;
        let func = &self.compiled.functions[defined as usize];
        let rel = offset - func.loc.start;
        let i = func.address_map.partition_point(|(code, _)| *code <= rel);
        let wasm_offset = i.checked_sub(1).map(|i| func.address_map[i].1);
        Some((self.info.num_imported_funcs + defined, wasm_offset))
    }

    /// The module.
    pub(crate) fn info(&self) -> &Arc<ModuleInfo> {
        &self.info
    }
}

/// Checks that the metadata fits the text and sorts what lookups
/// binary-search.
fn validate(compiled: &mut CompiledModule, text_len: usize, info: &ModuleInfo) -> io::Result<()> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let len = text_len as u64;
    let in_text = |loc: &FunctionLoc| u64::from(loc.start) + u64::from(loc.length) <= len;
    if compiled.functions.len() as u64 != u64::from(info.num_defined_funcs()) {
        return Err(bad(format!(
            "compiled code has {} functions but the module defines {}",
            compiled.functions.len(),
            info.num_defined_funcs()
        )));
    }
    let mut prev_end = 0;
    for (i, f) in compiled.functions.iter().enumerate() {
        if !in_text(&f.loc) || f.loc.start < prev_end {
            return Err(bad(format!(
                "function {i} at {:?} is out of order or range",
                f.loc
            )));
        }
        prev_end = f.loc.start + f.loc.length;
    }
    let trampolines = compiled.array_to_wasm_trampolines.iter().flatten();
    if let Some(loc) = trampolines
        .chain(&compiled.wasm_to_array_trampolines)
        .find(|l| !in_text(l))
    {
        return Err(bad(format!("trampoline at {loc:?} lies outside the text")));
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
    if let Some((o, _)) = compiled.traps.iter().find(|(o, _)| u64::from(*o) >= len) {
        return Err(bad(format!("trap at {o:#x} lies outside the text")));
    }
    compiled.traps.sort_by_key(|(o, _)| *o);
    for f in &mut compiled.functions {
        f.address_map.sort_by_key(|(code, _)| *code);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Float libcalls, patched into code by `Relocation`s.

// WebAssembly requires a NaN result to be an arithmetic NaN (quiet bit
// set); the host's rounding may pass a signalling NaN through unchanged.

fn quiet32(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | 0x0040_0000)
}
fn quiet64(x: f64) -> f64 {
    f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
}
extern "C" fn ceil_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.ceil() }
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.ceil() }
}
extern "C" fn floor_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.floor() }
}
extern "C" fn floor_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.floor() }
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    if x.is_nan() { quiet32(x) } else { x.trunc() }
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    if x.is_nan() { quiet64(x) } else { x.trunc() }
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    if x.is_nan() {
        quiet32(x)
    } else {
        x.round_ties_even()
    }
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    if x.is_nan() {
        quiet64(x)
    } else {
        x.round_ties_even()
    }
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// Address of the implementation of `libcall` (an `extern "C"` function
/// taking and returning the float type).
pub fn libcall_address(libcall: FloatLibcall) -> usize {
    type F32 = extern "C" fn(f32) -> f32;
    type F64 = extern "C" fn(f64) -> f64;
    type Fma32 = extern "C" fn(f32, f32, f32) -> f32;
    type Fma64 = extern "C" fn(f64, f64, f64) -> f64;
    match libcall {
        FloatLibcall::CeilF32 => ceil_f32 as F32 as usize,
        FloatLibcall::CeilF64 => ceil_f64 as F64 as usize,
        FloatLibcall::FloorF32 => floor_f32 as F32 as usize,
        FloatLibcall::FloorF64 => floor_f64 as F64 as usize,
        FloatLibcall::TruncF32 => trunc_f32 as F32 as usize,
        FloatLibcall::TruncF64 => trunc_f64 as F64 as usize,
        FloatLibcall::NearestF32 => nearest_f32 as F32 as usize,
        FloatLibcall::NearestF64 => nearest_f64 as F64 as usize,
        FloatLibcall::FmaF32 => fma_f32 as Fma32 as usize,
        FloatLibcall::FmaF64 => fma_f64 as Fma64 as usize,
    }
}

// ---------------------------------------------------------------------------
// The global registry.

struct Entry {
    meta: Arc<CodeMeta>,
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
    /// The registered code containing `pc`. Signal-handler safe.
    pub(crate) fn find(&self, pc: usize) -> Option<&CodeMeta> {
        let (_, entry) = self.0.range(..=pc).next_back()?;
        entry.meta.contains(pc).then_some(&*entry.meta)
    }

    /// Whether `pc` lies inside a compiled Wasm function (not a
    /// trampoline). Signal-handler safe.
    pub(crate) fn is_wasm_function(&self, pc: usize) -> bool {
        self.find(pc)
            .is_some_and(|m| m.defined_function_at_pc(pc).is_some())
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

fn register(code: &Arc<CodeMemory>) {
    if code.meta.start == code.meta.end {
        return;
    }
    let entry = Entry {
        meta: code.meta.clone(),
        code: Arc::downgrade(code),
    };
    let _in = InRegistry::enter().expect("registry lock taken re-entrantly");
    let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    map.insert(code.meta.start, entry);
}

fn unregister(meta: &Arc<CodeMeta>) {
    if meta.start == meta.end {
        return;
    }
    let removed = {
        let _in = InRegistry::enter().expect("registry lock taken re-entrantly");
        let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        map.remove(&meta.start)
    };
    // The entry (and maybe the last other reference to the metadata) is
    // dropped here, outside the lock.
    drop(removed);
}

/// What the registry knows about a program counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLookup {
    /// Start of the text section containing the PC.
    pub text_start: usize,
    /// The trap recorded at exactly this PC.
    pub trap: Option<Trap>,
    /// The defined function containing the PC; `None` in a trampoline.
    pub defined_function: Option<u32>,
}

/// Looks up `pc` among all loaded code.
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

/// The loaded code containing `pc`, kept alive. Not for signal handlers
/// (dropping the returned `Arc` may free memory).
pub fn lookup_code_memory(pc: usize) -> Option<Arc<CodeMemory>> {
    with_registry(|reg| {
        let (_, entry) = reg.0.range(..=pc).next_back()?;
        if !entry.meta.contains(pc) {
            return None;
        }
        entry.code.upgrade()
    })
    .flatten()
}

/// The registered metadata containing `pc`, kept alive. Not for signal
/// handlers.
pub(crate) fn lookup_meta(pc: usize) -> Option<Arc<CodeMeta>> {
    with_registry(|reg| {
        let (_, entry) = reg.0.range(..=pc).next_back()?;
        entry.meta.contains(pc).then(|| entry.meta.clone())
    })
    .flatten()
}

#[cfg(test)]
mod libcall_tests {
    #[test]
    fn rounding_libcalls_quiet_signalling_nans() {
        let snan32 = f32::from_bits(0x7fa0_0000);
        let snan64 = f64::from_bits(0x7ff4_0000_0000_0000);
        for f in [
            super::ceil_f32,
            super::floor_f32,
            super::trunc_f32,
            super::nearest_f32,
        ] {
            let r = f(snan32).to_bits();
            assert_eq!(r & 0x7fc0_0000, 0x7fc0_0000, "{r:#x}");
        }
        for f in [
            super::ceil_f64,
            super::floor_f64,
            super::trunc_f64,
            super::nearest_f64,
        ] {
            let r = f(snan64).to_bits();
            assert_eq!(r >> 51 & 0xfff, 0xfff, "{r:#x}");
        }
        assert_eq!(super::floor_f32(-1.5), -2.0);
        assert_eq!(super::nearest_f64(2.5), 2.0);
    }
}
