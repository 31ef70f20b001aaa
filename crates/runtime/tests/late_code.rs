//! Code that appears after load (`hayate_runtime::late_code`): a region of
//! late code is found by the trap handler's lookup while it lives and
//! forgotten when dropped, and replacing a defined function's code changes
//! what calls through its function reference run (exports, tables) while
//! direct calls stay linked to the code compiled at load.
//!
//! The "late" code is compiled from a second tiny module whose one
//! function has the replaced function's signature and touches only the
//! VMContext header (the stack limit), which every module's layout shares;
//! a lazy-compilation tier would compile the module's own function.

#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::sync::{Arc, Mutex};

use hayate_cranelift::{Compiler, CompilerSettings};
use hayate_environ::Compiler as _;
use hayate_environ::{
    BoundsChecks, CompiledModule, DefinedFuncIndex, EntityRef, ModuleInfo, Trap, VMOffsets,
    features_for,
};
use hayate_runtime::cow::ModuleImages;
use hayate_runtime::lazy_table::ModuleTableImages;
use hayate_runtime::vmcontext::EpochCounter;
use hayate_runtime::{
    CodeMemory, HostError, HostState, Imports, Instance, InstanceAllocator, LateCode, MemoryConfig,
    ModuleRuntimeInfo, ReplaceCodeError, TypeRegistry, VMExport, VMRuntimeLimits, VMStore,
    VMStoreContext, ValRaw, lookup_code,
};

/// Tests here load and unload code; one at a time, so that an address
/// freed by one is not reused by another while it is being checked.
static CODE: Mutex<()> = Mutex::new(());

const MODULE: &str = r#"
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $f)
  (func $f (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "via_table") (param i32) (result i32)
    local.get 0 i32.const 0 call_indirect (type $t))
  (func (export "direct") (param i32) (result i32) local.get 0 call $f))
"#;

/// The replacement body of `$f`: same signature, different result.
const TIMES_100: &str = r#"
(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 100 i32.mul))
"#;

const TRAPS: &str = r#"(module (func (export "boom") unreachable))"#;

fn compile(wat: &str) -> (Arc<ModuleInfo>, CompiledModule) {
    let wasm = wat::parse_str(wat).unwrap();
    let info = Arc::new(ModuleInfo::parse(&wasm, features_for(None)).unwrap());
    let settings = CompilerSettings {
        parallel: false,
        ..Default::default()
    };
    let compiled = Compiler::new(settings)
        .unwrap()
        .compile_module(&hayate_environ::ModuleInput::new(&info, &wasm))
        .unwrap();
    (info, compiled)
}

/// A store that only runs Wasm: no host functions, growth allowed.
#[derive(Default)]
struct PlainStore {
    exceptions: hayate_runtime::exceptions::ExceptionHeap,
    gc: hayate_runtime::gc::GcHeap,
}

impl VMStore for PlainStore {
    fn call_host(
        &mut self,
        _host: &HostState,
        _caller: Option<usize>,
        _values: &mut [ValRaw],
    ) -> Result<(), HostError> {
        unreachable!("these modules import nothing")
    }
    fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> bool {
        true
    }
    fn table_growing(&mut self, _: u64, _: u64, _: Option<u64>) -> bool {
        true
    }
    fn gc_roots(&mut self, _: &mut dyn FnMut(usize)) {}
    fn gc_layout(&self, _: u32) -> hayate_runtime::gc::GcLayout {
        unreachable!("these modules have no GC types")
    }
    fn gc_heap(&mut self) -> &mut hayate_runtime::gc::GcHeap {
        &mut self.gc
    }
    fn is_subtype(
        &self,
        actual: hayate_environ::VMSharedTypeIndex,
        expected: hayate_environ::VMSharedTypeIndex,
    ) -> bool {
        actual == expected
    }
    fn exceptions(&mut self) -> &mut hayate_runtime::exceptions::ExceptionHeap {
        &mut self.exceptions
    }
    fn out_of_fuel(&mut self) -> bool {
        false
    }
    fn epoch_deadline_reached(&mut self) -> Result<bool, HostError> {
        Ok(false)
    }
}

/// An instance of `MODULE` with everything it points to.
struct Fixture {
    info: Arc<ModuleInfo>,
    instance: Box<Instance>,
    limits: Box<VMRuntimeLimits>,
    _store: Box<PlainStore>,
    _epoch: Box<EpochCounter>,
    /// Outlives the instance (declared after it).
    _allocator: InstanceAllocator,
}

impl Fixture {
    fn new() -> Fixture {
        hayate_runtime::init_traps();
        let (info, compiled) = compile(MODULE);
        let code = CodeMemory::new(&compiled, info.clone()).unwrap();
        let types = TypeRegistry::new();
        let module = Arc::new(ModuleRuntimeInfo {
            info: info.clone(),
            code,
            offsets: VMOffsets::new(&info),
            type_ids: types
                .register_module(&info.types, &info.rec_groups)
                .into_iter()
                .map(|id| id.as_u32())
                .collect(),
            images: ModuleImages::none(),
            table_images: ModuleTableImages::none(),
            lazy: None,
            code_entries: None,
        });
        let mut store = Box::new(PlainStore::default());
        let limits = Box::new(VMRuntimeLimits::default());
        let epoch = Box::new(EpochCounter::new(0));
        let store_ptr: *mut dyn VMStore = &mut *store;
        let ctx = VMStoreContext {
            store: store_ptr,
            limits: &*limits,
            epoch: &*epoch,
        };
        let allocator = InstanceAllocator::on_demand();
        // SAFETY: the module imports nothing; the store, limits and epoch
        // are boxed and live in the fixture as long as the instance, and
        // the allocator longer.
        let mut instance = unsafe {
            Instance::new(
                &module,
                Imports::default(),
                ctx,
                &MemoryConfig {
                    bounds_checks: BoundsChecks::default(),
                },
                &allocator,
                0,
            )
        }
        .unwrap();
        instance.initialize(&module).unwrap();
        Fixture {
            info,
            instance,
            limits,
            _store: store,
            _epoch: epoch,
            _allocator: allocator,
        }
    }

    /// Calls export `name` with one `i32` through its function reference.
    fn call(&mut self, name: &str, arg: i32) -> i32 {
        let Some(VMExport::Function(f)) = self.instance.export(name) else {
            panic!("no function export {name}")
        };
        let mut values = [ValRaw::default()];
        values[0].bytes[..4].copy_from_slice(&arg.to_le_bytes());
        // SAFETY: `f` is a live function reference of this fixture's store,
        // taking and returning one i32; nothing else uses the store.
        unsafe { hayate_runtime::invoke(f, &mut values, &*self.limits, 512 * 1024) }
            .unwrap_or_else(|e| panic!("{name} trapped: {e:?}"));
        i32::from_le_bytes(values[0].bytes[..4].try_into().unwrap())
    }
}

#[test]
fn late_code_traps_are_found_while_registered_and_only_then() {
    let _one_at_a_time = CODE.lock().unwrap_or_else(|e| e.into_inner());
    let (module_info, _) = compile(MODULE);
    let (_, compiled) = compile(TRAPS);
    // The trapping function stands in for the module's defined function 2.
    let late = LateCode::new(&compiled, module_info.clone(), &[DefinedFuncIndex::new(2)]).unwrap();
    let (offset, trap) = late.compiled().traps.get(0).unwrap();
    assert_eq!(trap, Trap::UnreachableCodeReached);
    let pc = late.text_start() + offset as usize;
    let found = lookup_code(pc).expect("a registered region is found");
    assert_eq!(found.text_start, late.text_start());
    assert_eq!(found.trap, Some(Trap::UnreachableCodeReached));
    assert_eq!(
        found.defined_function,
        Some(DefinedFuncIndex::from_u32(2)),
        "frames are named by the module's function, not the region's position"
    );
    assert_eq!(late.defined_function(0), DefinedFuncIndex::new(2));
    assert_eq!(late.position_of(DefinedFuncIndex::new(2)), Some(0));

    // The profiler names the region's function after the module's.
    hayate_runtime::perfmap::register_late(&late).unwrap();
    let map_path = format!("/tmp/perf-{}.map", std::process::id());
    let map = std::fs::read_to_string(&map_path).unwrap();
    let _ = std::fs::remove_file(&map_path);
    let start =
        late.text_start() + late.compiled().functions.as_values_slice()[0].loc.start as usize;
    let name = module_info.func_display_name(module_info.func_index(DefinedFuncIndex::from_u32(2)));
    assert!(
        map.lines()
            .any(|l| l.starts_with(&format!("{start:x} ")) && l.ends_with(&format!("!{name}"))),
        "{map}"
    );
    drop(late);
    assert_eq!(lookup_code(pc), None, "dropping the region unregisters it");

    // Late code naming a function the module does not define is refused.
    let err = LateCode::new(&compiled, module_info, &[DefinedFuncIndex::new(3)]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn replacing_a_call_target_changes_calls_through_the_function_reference() {
    let _one_at_a_time = CODE.lock().unwrap_or_else(|e| e.into_inner());
    let mut fixture = Fixture::new();
    assert_eq!(fixture.call("f", 5), 6);
    assert_eq!(fixture.call("via_table", 5), 6);
    assert_eq!(fixture.call("direct", 5), 6);

    let (_, compiled) = compile(TIMES_100);
    let f = DefinedFuncIndex::new(0);
    let late = LateCode::new(&compiled, fixture.info.clone(), &[f]).unwrap();
    let pc = late.function_ptr(0) as usize;
    assert_eq!(
        lookup_code(pc).and_then(|l| l.defined_function),
        Some(DefinedFuncIndex::from_u32(0))
    );

    // Refused, changing nothing: code for another module, or for another
    // of its functions.
    let (other_info, _) = compile(MODULE);
    let foreign = LateCode::new(&compiled, other_info, &[f]).unwrap();
    assert_eq!(
        fixture.instance.replace_function_code(f, &foreign, 0),
        Err(ReplaceCodeError::OtherModule)
    );
    let misplaced = DefinedFuncIndex::new(1);
    assert_eq!(
        fixture.instance.replace_function_code(misplaced, &late, 0),
        Err(ReplaceCodeError::OtherFunction {
            position: 0,
            defined: 1
        })
    );
    assert_eq!(fixture.call("f", 5), 6);

    fixture.instance.replace_function_code(f, &late, 0).unwrap();
    // The instance keeps the late code alive.
    drop(late);
    assert_eq!(fixture.call("f", 5), 500, "the export runs the late code");
    assert_eq!(
        fixture.call("via_table", 5),
        500,
        "call_indirect runs the late code"
    );
    assert_eq!(
        fixture.call("direct", 5),
        6,
        "direct calls stay linked to the code compiled at load"
    );
    assert!(lookup_code(pc).is_some(), "still registered while used");
    drop(fixture);
    assert_eq!(lookup_code(pc), None);
}

#[test]
fn late_code_packed_in_an_arena_is_registered_like_any_other() {
    let _one_at_a_time = CODE.lock().unwrap_or_else(|e| e.into_inner());
    let (module_info, _) = compile(MODULE);
    let (_, compiled) = compile(TRAPS);
    let Ok(arena) = hayate_runtime::code_arena::CodeArena::new() else {
        return; // Hosts without packed late code map each region alone.
    };
    let f = DefinedFuncIndex::new(2);
    let first = LateCode::new_in(&arena, &compiled, module_info.clone(), &[f]).unwrap();
    let second = LateCode::new_in(&arena, &compiled, module_info, &[f]).unwrap();
    // Packed: the second region follows the first in the same pages.
    assert!(second.text_start() > first.text_start());
    assert!(second.text_start() - first.text_start() < 4096);
    assert_eq!(second.text(), first.text());
    for late in [&first, &second] {
        let (offset, _) = late.compiled().traps.get(0).unwrap();
        let found = lookup_code(late.text_start() + offset as usize).unwrap();
        assert_eq!(found.trap, Some(Trap::UnreachableCodeReached));
        assert_eq!(found.defined_function, Some(f));
    }
    let (offset, _) = second.compiled().traps.get(0).unwrap();
    let pc = second.text_start() + offset as usize;
    drop(second);
    assert_eq!(lookup_code(pc), None, "dropping a region unregisters it");
    assert!(lookup_code(first.text_start() + 1).is_some());
}

/// Stands in for the embedding layer's compiler: "compiles" any function
/// as the one function of `code`, counting the calls.
#[derive(Debug)]
struct CountingCompiler {
    info: Arc<ModuleInfo>,
    code: CompiledModule,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl hayate_runtime::lazy::LazyCompiler for CountingCompiler {
    fn compile(&self, def: DefinedFuncIndex) -> Result<Arc<LateCode>, String> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        LateCode::new(&self.code, self.info.clone(), &[def]).map_err(|e| e.to_string())
    }
}

/// `MODULE`'s description and whole code, and its functions compiled
/// lazily, each (the same code) by a compiler that counts its calls.
fn counted_lazy_module() -> (
    Arc<ModuleInfo>,
    CompiledModule,
    hayate_runtime::lazy::LazyFunctions,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let (info, whole) = compile(MODULE);
    let (_, one) = compile(TIMES_100);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let compiler = CountingCompiler {
        info: info.clone(),
        code: one,
        calls: calls.clone(),
    };
    let lazy = hayate_runtime::lazy::LazyFunctions::new(3, Box::new(compiler));
    (info, whole, lazy, calls)
}

#[test]
fn installing_the_whole_module_replaces_every_entry() {
    let _one_at_a_time = CODE.lock().unwrap_or_else(|e| e.into_inner());
    let (info, whole, lazy, calls) = counted_lazy_module();
    let [f0, f1, f2] = [0, 1, 2].map(DefinedFuncIndex::new);
    let first = lazy.compile(f0).unwrap();
    assert_eq!(lazy.compile(f0).unwrap(), first, "compiled once");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(!lazy.is_fully_compiled());
    assert_eq!(lazy.compiled_count(), 1);

    // Only the whole module, in order, is accepted.
    let whole_code = LateCode::new(&whole, info.clone(), &[f0, f1, f2]).unwrap();
    let (_, trap_module) = compile(TRAPS);
    let single = LateCode::new(&trap_module, info.clone(), &[f2]).unwrap();
    assert!(lazy.install(single).is_err());
    assert!(!lazy.is_fully_compiled());

    lazy.install(whole_code.clone()).unwrap();
    assert!(lazy.is_fully_compiled());
    assert_eq!(lazy.compiled_count(), 3);
    for (i, f) in [f0, f1, f2].into_iter().enumerate() {
        assert_eq!(lazy.compile(f).unwrap(), whole_code.function_ptr(i));
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "nothing compiled after the install"
    );
}

#[test]
fn a_second_tier_replaces_one_function_until_the_whole_module_is_installed() {
    let _one_at_a_time = CODE.lock().unwrap_or_else(|e| e.into_inner());
    let (info, whole, lazy, calls) = counted_lazy_module();
    let [f0, f1, f2] = [0, 1, 2].map(DefinedFuncIndex::new);
    let first = lazy.compile(f0).unwrap();
    let (_, better) = compile(TIMES_100);

    // Only a compiled function, and one function at a time.
    let for_f1 = LateCode::new(&better, info.clone(), &[f1]).unwrap();
    assert!(lazy.replace(for_f1).is_err());
    let all = LateCode::new(&whole, info.clone(), &[f0, f1, f2]).unwrap();
    assert!(lazy.replace(all).is_err());
    assert_eq!(lazy.compile(f0).unwrap(), first);

    let second = LateCode::new(&better, info.clone(), &[f0]).unwrap();
    lazy.replace(second.clone()).unwrap();
    assert_eq!(lazy.compile(f0).unwrap(), second.function_ptr(0));
    assert_eq!(lazy.compiled_count(), 1, "replacing compiles nothing");

    // The whole module wins, and a late replacement changes nothing.
    let whole_code = LateCode::new(&whole, info.clone(), &[f0, f1, f2]).unwrap();
    lazy.install(whole_code.clone()).unwrap();
    let late = LateCode::new(&better, info.clone(), &[f0]).unwrap();
    lazy.replace(late).unwrap();
    assert_eq!(lazy.compile(f0).unwrap(), whole_code.function_ptr(0));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}
