//! Which functions of a module this tier compiles, and in which calling
//! convention.
//!
//! Code from LLVM and code from the fallback (Cranelift) call each other
//! in the Wasm convention, Cranelift's `tail`. LLVM cannot emit that
//! convention, but its C convention coincides with it for the common
//! signatures: the callee's and caller's vmctx in `rdi`/`rsi`, up to four
//! integer parameters in `rdx`, `rcx`, `r8`, `r9`, up to eight float
//! parameters in `xmm0`–`xmm7`, at most one result (`rax` or `xmm0`),
//! the same callee-saved registers, and no stack arguments (whose
//! popping the two conventions disagree on). [`wasm_compatible`] is that
//! test. This tier's calls out of its code with other signatures go
//! through a call adapter ([`adaptable`], `translate/call.rs`), except
//! the `call_indirect`s that dispatch to this tier's code
//! ([`IndirectTargets`]).
//!
//! A function any code outside this tier may call (exported, in a table,
//! referenced, the start function, or called by a function the fallback
//! compiles) must be reachable in the Wasm convention. With another
//! signature the fallback compiles that entry, and this tier compiles a
//! *copy* of the function beside it, internal to the LLVM module, which
//! this tier's calls reach: the copy's code follows the fallback's in the
//! function's body, so its frames are the function's in backtraces. The
//! other functions are internal to the LLVM module (`fastcc`, any
//! signature, results in a structure), where LLVM is free to inline,
//! specialise or drop them.
//!
//! The compiled functions are cut into *partitions*, runs of consecutive
//! functions of about [`PARTITION_BYTES`] of Wasm each, and each
//! partition is an LLVM module of its own, optimised and compiled on its
//! own thread. Consecutive functions come from the same source file as a
//! rule, so most calls stay within a partition, where LLVM inlines them;
//! a `fastcc` function that another partition calls keeps its
//! convention but is visible outside its module (LLVM then leaves its
//! signature alone), and the call is a relocation the linker resolves.
//! The partitions depend on the module only, never on the number of
//! threads, so the code is the same on every machine.

use std::collections::{BTreeSet, HashMap};

use hayate_environ::wasmparser::{BinaryReader, FunctionBody, Operator};
use hayate_environ::{
    CompileError, DefinedFuncIndex, EntityRef, FuncType, ModuleInfo, WasmValType,
};

/// LLVM's `fastcc` calling convention number.
pub(crate) const FASTCC: u32 = 8;

/// The Wasm bytes of function bodies per partition, by default: large
/// enough that a partition holds whole source files (the inliner's
/// reach), small enough that CPython's 26 MB compile on every core.
pub const PARTITION_BYTES: usize = 256 * 1024;

/// The calling convention of a function this tier compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abi {
    /// The Wasm convention (LLVM's C convention on a compatible
    /// signature): callable from anywhere.
    Wasm,
    /// LLVM's `fastcc`: called only from this tier's code.
    Internal,
}

/// Whether a signature's Wasm convention is LLVM's C convention.
pub(crate) fn wasm_compatible(ty: &FuncType) -> bool {
    let (mut ints, mut floats) = (0, 0);
    for p in ty.params.iter() {
        match p {
            WasmValType::I32 | WasmValType::I64 => ints += 1,
            WasmValType::F32 | WasmValType::F64 | WasmValType::V128 => floats += 1,
            _ => return false,
        }
    }
    let scalar = |t: &WasmValType| {
        matches!(
            t,
            WasmValType::I32
                | WasmValType::I64
                | WasmValType::F32
                | WasmValType::F64
                | WasmValType::V128
        )
    };
    ints <= 4 && floats <= 8 && ty.results.len() <= 1 && ty.results.iter().all(scalar)
}

/// Whether calls of a signature can go through a call adapter: all its
/// values are numbers or vectors (see `translate/call.rs`).
pub(crate) fn adaptable(ty: &FuncType) -> bool {
    ty.params
        .iter()
        .chain(ty.results.iter())
        .all(|t| !matches!(t, WasmValType::Ref(_)))
}

/// The most functions one `call_indirect` dispatches to directly (see
/// [`IndirectTargets`]): a jump table and a call for each, at every call
/// site of the signature.
pub(crate) const MAX_DIRECT_TARGETS: usize = 32;

/// The most values (parameters and results, and one for the call) the
/// calls of one dispatching `call_indirect` pass in all, so that a module
/// of wide signatures cannot multiply its code by [`MAX_DIRECT_TARGETS`].
const MAX_DISPATCHED_VALUES: usize = 512;

/// The functions a `call_indirect` through a call adapter may reach in
/// its own instance, by signature.
///
/// A `call_indirect` whose signature needs a call adapter
/// ([`wasm_compatible`] fails) would reach the fallback's entry of the
/// function through the adapter. When the element's instance is the
/// caller's, the element is one of the module's escaping functions of
/// that signature, which its `defined_index` names; the call then
/// dispatches on that index to direct calls of this tier's copies, with
/// no adapter and no fallback code in between, and LLVM may inline them.
/// Only signatures with at most [`MAX_DIRECT_TARGETS`] such functions
/// (and [`MAX_DISPATCHED_VALUES`]) dispatch so; the others, and elements
/// of other instances, go through the adapter.
#[derive(Debug, Default, Clone)]
pub(crate) struct IndirectTargets {
    by_signature: HashMap<FuncType, Vec<DefinedFuncIndex>>,
}

impl IndirectTargets {
    /// The escaping functions of `info` whose signatures need an adapter
    /// (and can have one), by signature, in index order.
    pub fn new(info: &ModuleInfo) -> IndirectTargets {
        let mut by_signature: HashMap<FuncType, Vec<DefinedFuncIndex>> = HashMap::new();
        for (d, _) in info.function_bodies.iter() {
            let ty = info.signature(info.defined_func_type_index(d));
            if info.is_escaping(d) && !wasm_compatible(ty) && adaptable(ty) {
                by_signature.entry(ty.clone()).or_default().push(d);
            }
        }
        by_signature.retain(|ty, targets| {
            let values = 1 + ty.params.len() + ty.results.len();
            targets.len() <= MAX_DIRECT_TARGETS && targets.len() * values <= MAX_DISPATCHED_VALUES
        });
        IndirectTargets { by_signature }
    }

    /// The functions a `call_indirect` of signature `ty` dispatches to
    /// directly; none when it does not dispatch.
    pub fn of(&self, ty: &FuncType) -> &[DefinedFuncIndex] {
        self.by_signature.get(ty).map_or(&[], Vec::as_slice)
    }
}

/// The calls between a module's defined functions: direct calls, and
/// the calls `call_indirect` dispatches to directly.
pub(crate) struct CallGraph {
    /// For each defined function, the defined functions calling it.
    callers: Vec<Vec<DefinedFuncIndex>>,
    /// For each defined function, how many call sites call it.
    call_sites: Vec<usize>,
    indirect_targets: IndirectTargets,
}

impl CallGraph {
    /// Reads the calls of every function body of `info`.
    pub fn new(info: &ModuleInfo, wasm: &[u8]) -> Result<CallGraph, CompileError> {
        let n = info.function_bodies.len();
        let mut callers = vec![Vec::new(); n];
        let mut call_sites = vec![0; n];
        let indirect_targets = IndirectTargets::new(info);
        let mut call = |caller: DefinedFuncIndex, callee: DefinedFuncIndex| {
            call_sites[callee.index()] += 1;
            let list: &mut Vec<DefinedFuncIndex> = &mut callers[callee.index()];
            if list.last() != Some(&caller) {
                list.push(caller);
            }
        };
        for (caller, range) in info.function_bodies.iter() {
            let bytes = wasm
                .get(range.clone())
                .ok_or_else(|| CompileError::Codegen("function body outside the module".into()))?;
            let body = FunctionBody::new(BinaryReader::new(bytes, range.start as u64));
            let mut reader = body.get_operators_reader().map_err(wasm_error)?;
            while !reader.eof() {
                match reader.read().map_err(wasm_error)? {
                    Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                        let callee = hayate_environ::FuncIndex::from_u32(function_index);
                        if let Some(defined) = info.defined_func(callee) {
                            call(caller, defined);
                        }
                    }
                    Operator::CallIndirect { type_index, .. } => {
                        let ty = info.signature(hayate_environ::TypeIndex::from_u32(type_index));
                        for &target in indirect_targets.of(ty) {
                            call(caller, target);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(CallGraph {
            callers,
            call_sites,
            indirect_targets,
        })
    }
}

fn wasm_error(e: hayate_environ::wasmparser::BinaryReaderError) -> CompileError {
    CompileError::Wasm(e.into())
}

/// The functions this tier compiles and their conventions.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Translated by this tier (its entry, or a copy).
    compiled: Vec<bool>,
    /// Translated as a copy beside the fallback's entry.
    copy: Vec<bool>,
    internal: Vec<bool>,
    /// Internal and called from its own partition only: private to its
    /// LLVM module.
    local: Vec<bool>,
    /// For a local function called from one call site, its caller.
    only_caller: Vec<Option<DefinedFuncIndex>>,
    /// The compiled functions of each partition, in index order.
    partitions: Vec<Vec<DefinedFuncIndex>>,
    indirect_targets: IndirectTargets,
}

impl Plan {
    /// The plan for `info` with the functions of `declined` left to the
    /// fallback; the functions that would need the Wasm convention with a
    /// signature it cannot express get the fallback's entry and a copy.
    pub fn new(
        info: &ModuleInfo,
        graph: &CallGraph,
        declined: &BTreeSet<DefinedFuncIndex>,
        partition_bytes: usize,
    ) -> Plan {
        let n = info.function_bodies.len();
        // Functions whose entry the fallback compiles: its code calls
        // their callees in the Wasm convention.
        let mut by_fallback = declined.clone();
        let needs_wasm_convention = |d: DefinedFuncIndex, by_fallback: &BTreeSet<_>| {
            info.is_escaping(d)
                || info.start == Some(info.func_index(d))
                || graph.callers[d.index()]
                    .iter()
                    .any(|c| by_fallback.contains(c))
        };
        loop {
            let newly: Vec<DefinedFuncIndex> = (0..n)
                .map(DefinedFuncIndex::new)
                .filter(|d| !by_fallback.contains(d))
                .filter(|d| {
                    needs_wasm_convention(*d, &by_fallback)
                        && !wasm_compatible(info.signature(info.defined_func_type_index(*d)))
                })
                .collect();
            if newly.is_empty() {
                break;
            }
            by_fallback.extend(newly);
        }
        let index = DefinedFuncIndex::new;
        let compiled: Vec<bool> = (0..n).map(|i| !declined.contains(&index(i))).collect();
        let copy: Vec<bool> = (0..n)
            .map(|i| compiled[i] && by_fallback.contains(&index(i)))
            .collect();
        let internal: Vec<bool> = (0..n)
            .map(|i| copy[i] || (compiled[i] && !needs_wasm_convention(index(i), &by_fallback)))
            .collect();
        let mut partition = vec![0; n];
        let mut partitions: Vec<Vec<DefinedFuncIndex>> = Vec::new();
        let mut bytes = 0;
        for (d, body) in info.function_bodies.iter() {
            if !compiled[d.index()] {
                continue;
            }
            match partitions.last_mut() {
                Some(last) if bytes + body.len() <= partition_bytes => last.push(d),
                _ => {
                    partitions.push(vec![d]);
                    bytes = 0;
                }
            }
            bytes += body.len();
            partition[d.index()] = (partitions.len() - 1) as u32;
        }
        let local = (0..n)
            .map(|i| {
                internal[i]
                    && graph.callers[i]
                        .iter()
                        .all(|c| !compiled[c.index()] || partition[c.index()] == partition[i])
            })
            .collect::<Vec<bool>>();
        let only_caller = (0..n)
            .map(|i| match graph.callers[i].as_slice() {
                [caller] if local[i] && graph.call_sites[i] == 1 => Some(*caller),
                _ => None,
            })
            .collect();
        Plan {
            compiled,
            copy,
            internal,
            local,
            only_caller,
            partitions,
            indirect_targets: graph.indirect_targets.clone(),
        }
    }

    /// The functions this tier compiles that a `call_indirect` of
    /// signature `ty` dispatches to directly (see [`IndirectTargets`]).
    pub fn direct_targets<'p>(
        &'p self,
        ty: &FuncType,
    ) -> impl Iterator<Item = DefinedFuncIndex> + 'p {
        let targets = self.indirect_targets.of(ty);
        targets.iter().copied().filter(|d| self.compiles(*d))
    }

    /// Whether defined function `index` is internal to its partition's
    /// LLVM module: compiled in the internal convention, and called by no
    /// other partition.
    pub fn is_local(&self, index: DefinedFuncIndex) -> bool {
        self.local.get(index.index()).copied().unwrap_or(false)
    }

    /// The caller of defined function `index` if it is local and called
    /// from one call site only: LLVM inlines such a function whatever its
    /// size, as long as that call stays the only one.
    pub fn only_caller(&self, index: DefinedFuncIndex) -> Option<DefinedFuncIndex> {
        self.only_caller.get(index.index()).copied().flatten()
    }

    /// The compiled functions of each partition.
    pub fn partitions(&self) -> &[Vec<DefinedFuncIndex>] {
        &self.partitions
    }

    /// Whether this tier compiles defined function `index` (its entry or
    /// a copy).
    pub fn compiles(&self, index: DefinedFuncIndex) -> bool {
        self.compiled.get(index.index()).copied().unwrap_or(false)
    }

    /// Whether this tier compiles a copy of defined function `index`
    /// beside the fallback's entry.
    pub fn is_copy(&self, index: DefinedFuncIndex) -> bool {
        self.copy.get(index.index()).copied().unwrap_or(false)
    }

    /// The convention of defined function `index`.
    pub fn abi(&self, index: DefinedFuncIndex) -> Abi {
        match self.internal.get(index.index()) {
            Some(true) => Abi::Internal,
            _ => Abi::Wasm,
        }
    }

    /// How many functions this tier compiles, copies included.
    pub fn compiled_count(&self) -> usize {
        self.compiled.iter().filter(|c| **c).count()
    }
}
