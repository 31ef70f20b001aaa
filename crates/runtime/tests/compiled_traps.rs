//! Traps from code compiled by `hayate-cranelift`, run through its
//! array-to-wasm trampolines inside `catch_traps` with a hand-built minimal
//! VMContext (runtime limits, one memory, imported host functions), so the
//! compiler's trap records, frame pointers and wasm-to-array exit protocol
//! are checked against the runtime's signal handler and backtraces.

#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::cell::RefCell;
use std::sync::Arc;

use hayate_cranelift::{BoundsChecks, Compiler, CompilerSettings};
use hayate_environ::Compiler as _;
use hayate_environ::{
    DefinedMemoryIndex, EntityRef, FuncIndex, MemoryIndex, ModuleInfo, Trap, VMOffsets,
    features_for,
};
use hayate_runtime::vmcontext::ArrayCallFn;
use hayate_runtime::{
    Backtrace, CodeMemory, LinearMemory, MemoryConfig, UnwindReason, VMContext, VMFuncRef,
    VMFunctionImport, VMHostFuncContext, VMMemoryDefinition, VMRuntimeLimits, ValRaw, catch_traps,
    set_pending_host_error,
};

const WAT: &str = r#"
(module $m
  (import "host" "fail" (func $fail))
  (import "host" "reenter" (func $reenter))
  (memory 1)
  (func $unreachable (export "unreachable") unreachable)
  (func $oob (export "oob") (result i32) i32.const 70000 i32.load)
  (func $div (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
  (func $recurse (export "recurse") call $recurse)
  (func $middle call $unreachable)
  (func $outer (export "outer") call $middle)
  (func $calls_fail (export "calls_fail") call $fail)
  (func $calls_reenter (export "calls_reenter") call $reenter)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
)
"#;

const MAX_WASM_STACK: usize = 512 * 1024;

/// A compiled module with a hand-built VMContext.
struct Fixture {
    info: Arc<ModuleInfo>,
    code: Arc<CodeMemory>,
    _memory: LinearMemory,
    limits: Box<VMRuntimeLimits>,
    #[allow(clippy::vec_box, reason = "the contexts need stable addresses")]
    _hosts: Vec<Box<VMHostFuncContext>>,
    vmctx: Vec<u128>,
}

impl Fixture {
    fn new(bounds_checks: BoundsChecks) -> Fixture {
        let wasm = wat::parse_str(WAT).unwrap();
        let info = Arc::new(ModuleInfo::parse(&wasm, features_for(None)).unwrap());
        let settings = CompilerSettings {
            tunables: hayate_environ::Tunables {
                bounds_checks,
                ..Default::default()
            },
            parallel: false,
            ..Default::default()
        };
        let compiled = Compiler::new(settings)
            .unwrap()
            .compile_module(&hayate_environ::ModuleInput::new(&info, &wasm))
            .unwrap();
        let code = CodeMemory::new(&compiled, info.clone()).unwrap();
        let memory = LinearMemory::new(
            &info.memories[MemoryIndex::from_u32(0)],
            &MemoryConfig { bounds_checks },
        )
        .unwrap();
        let limits = Box::new(VMRuntimeLimits::default());

        let offsets = VMOffsets::new(&info);
        let mut vmctx = vec![0u128; (offsets.size() as usize).div_ceil(16)];
        let base = vmctx.as_mut_ptr().cast::<u8>();
        let mut hosts = Vec::new();
        // SAFETY: every write is inside the zeroed, 16-aligned buffer, at
        // the offsets `VMOffsets` gives for this module.
        unsafe {
            base.add(offsets.magic() as usize)
                .cast::<u32>()
                .write(VMOffsets::MAGIC);
            let limits_ptr: *const VMRuntimeLimits = &*limits;
            base.add(offsets.runtime_limits() as usize)
                .cast::<*const VMRuntimeLimits>()
                .write(limits_ptr);
            base.add(offsets.defined_memory(DefinedMemoryIndex::from_u32(0)) as usize)
                .cast::<VMMemoryDefinition>()
                .write(memory.vmmemory());
            let hosts_fns: [ArrayCallFn; 2] = [host_fail, host_reenter];
            for (i, host) in hosts_fns.into_iter().enumerate() {
                let mut ctx = Box::new(VMHostFuncContext {
                    magic: VMHostFuncContext::MAGIC,
                    array_call: host,
                    func_ref: VMFuncRef {
                        wasm_call: std::ptr::null(),
                        array_call: host as *const u8,
                        vmctx: std::ptr::null_mut(),
                        type_id: 0,
                        defined_index: 0,
                    },
                    host_state: std::ptr::null_mut(),
                });
                let ctx_ptr: *mut VMHostFuncContext = &mut *ctx;
                ctx.func_ref.vmctx = ctx_ptr.cast();
                let ty = info.functions[FuncIndex::new(i)];
                base.add(offsets.imported_function(FuncIndex::new(i)) as usize)
                    .cast::<VMFunctionImport>()
                    .write(VMFunctionImport {
                        wasm_call: code.wasm_to_array_trampoline(ty),
                        vmctx: ctx_ptr.cast(),
                    });
                hosts.push(ctx);
            }
        }
        Fixture {
            info,
            code,
            _memory: memory,
            limits,
            _hosts: hosts,
            vmctx,
        }
    }

    fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr().cast_mut().cast()
    }

    /// Calls export `name` with `args` through its array-to-wasm trampoline.
    fn call(&self, name: &str, args: &[ValRaw]) -> Result<Vec<ValRaw>, Box<UnwindReason>> {
        let Some(hayate_environ::EntityIndex::Function(f)) = self.info.export(name) else {
            panic!("no function export {name}")
        };
        let defined = self.info.defined_func(f).unwrap();
        let entry = self.code.array_to_wasm_trampoline(defined).unwrap();
        // SAFETY: the array-to-wasm trampoline has the array-call ABI.
        let entry = unsafe { std::mem::transmute::<*const u8, ArrayCallFn>(entry) };
        let mut values = vec![ValRaw::default(); args.len().max(1)];
        values[..args.len()].copy_from_slice(args);
        let (vmctx, ptr, len) = (self.vmctx(), values.as_mut_ptr(), values.len());
        let limits: *const VMRuntimeLimits = &*self.limits;
        // SAFETY: the VMContext, limits and values outlive the call; the
        // closure holds nothing with a destructor while Wasm runs.
        unsafe {
            catch_traps(limits, MAX_WASM_STACK, || {
                entry(vmctx, vmctx, ptr, len);
            })?;
        }
        Ok(values)
    }
}

thread_local! {
    /// The fixture host functions re-enter, and what the inner call returned.
    static CURRENT: RefCell<Option<*const Fixture>> = const { RefCell::new(None) };
    static INNER: RefCell<Option<Result<Vec<ValRaw>, Box<UnwindReason>>>> = const { RefCell::new(None) };
}

#[derive(Debug)]
struct HostFailure;

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("host failure")
    }
}

impl std::error::Error for HostFailure {}

unsafe extern "C" fn host_fail(
    _: *mut VMContext,
    _: *mut VMContext,
    _: *mut ValRaw,
    _: usize,
) -> u8 {
    set_pending_host_error(Box::new(HostFailure));
    0
}

unsafe extern "C" fn host_reenter(
    _: *mut VMContext,
    _: *mut VMContext,
    _: *mut ValRaw,
    _: usize,
) -> u8 {
    let fixture = CURRENT.with(|c| c.borrow().unwrap());
    // SAFETY: the test sets `CURRENT` to a fixture that outlives the call.
    let result = unsafe { &*fixture }.call("outer", &[]);
    INNER.with(|i| *i.borrow_mut() = Some(result));
    1
}

fn expect_trap(result: Result<Vec<ValRaw>, Box<UnwindReason>>) -> (Trap, Backtrace) {
    match *result.expect_err("expected a trap") {
        UnwindReason::Trap { trap, backtrace } => (trap, backtrace),
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn names(bt: &Backtrace) -> Vec<&str> {
    bt.frames
        .iter()
        .map(|f| f.func_name.as_deref().unwrap_or("?"))
        .collect()
}

fn check_traps(bounds_checks: BoundsChecks) {
    let fx = Fixture::new(bounds_checks);
    let sum = fx.call("add", &[ValRaw::i32(2), ValRaw::i32(40)]).unwrap();
    assert_eq!(sum[0].get_i32(), 42);

    let (trap, bt) = expect_trap(fx.call("unreachable", &[]));
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(names(&bt), ["unreachable"]);
    assert!(bt.frames[0].module_offset.is_some());
    assert_eq!(bt.frames[0].module_name.as_deref(), Some("m"));
    assert_eq!(bt.frames[0].func_index, FuncIndex::from_u32(2));

    let (trap, bt) = expect_trap(fx.call("oob", &[]));
    assert_eq!(trap, Trap::MemoryOutOfBounds);
    assert_eq!(names(&bt), ["oob"]);

    let (trap, _) = expect_trap(fx.call("div", &[ValRaw::i32(0)]));
    assert_eq!(trap, Trap::IntegerDivisionByZero);
    assert_eq!(fx.call("div", &[ValRaw::i32(1)]).unwrap()[0].get_i32(), 1);

    let (trap, bt) = expect_trap(fx.call("outer", &[]));
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(names(&bt), ["unreachable", "middle", "outer"]);
    let text = bt.to_string();
    assert!(text.starts_with("  0: 0x"), "{text}");
    assert!(text.contains(" - m!middle\n"), "{text}");

    let (trap, bt) = expect_trap(fx.call("recurse", &[]));
    assert_eq!(trap, Trap::StackOverflow);
    assert!(bt.frames.len() > 1000, "{} frames", bt.frames.len());
    assert!(
        bt.frames
            .iter()
            .all(|f| f.func_name.as_deref() == Some("recurse"))
    );
    // SAFETY: no Wasm is running.
    assert_eq!(unsafe { *fx.limits.stack_limit.get() }, usize::MAX);

    match *fx.call("calls_fail", &[]).unwrap_err() {
        UnwindReason::HostError { error, backtrace } => {
            assert!(error.is::<HostFailure>());
            assert_eq!(names(&backtrace), ["calls_fail"]);
        }
        other => panic!("expected a host error, got {other:?}"),
    }

    CURRENT.with(|c| *c.borrow_mut() = Some(&fx as *const Fixture));
    fx.call("calls_reenter", &[]).unwrap();
    CURRENT.with(|c| *c.borrow_mut() = None);
    let (trap, bt) = expect_trap(INNER.with(|i| i.borrow_mut().take()).unwrap());
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(
        names(&bt),
        ["unreachable", "middle", "outer", "calls_reenter"]
    );

    // Traps keep working afterwards.
    assert_eq!(
        expect_trap(fx.call("unreachable", &[])).0,
        Trap::UnreachableCodeReached
    );
}

#[test]
fn compiled_code_traps_with_guard_pages() {
    check_traps(BoundsChecks::GuardPages);
}

#[test]
fn compiled_code_traps_with_explicit_bounds_checks() {
    check_traps(BoundsChecks::Explicit);
}
