//! Trap handling end to end without the compiler: small hand-assembled
//! x86_64 functions are loaded with `CodeMemory`, registered, and run inside
//! `catch_traps`. They fault the ways compiled Wasm does (`ud2`, a load
//! from a protected page, a hardware division by zero, a stack-limit check)
//! and follow the frame-pointer and exit-fp/pc conventions, so this checks
//! the signal handler, the unwinding, the backtraces across nested
//! activations, and that faults outside Wasm still kill the process.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use hayate_environ::{
    CompiledFunction, CompiledModule, DefinedFuncIndex, FloatLibcall, FuncIndex, FunctionLoc,
    ModuleInfo, Relocation, Trap, TypeIndex,
};
use hayate_runtime::{
    Backtrace, CodeMemory, Mmap, UnwindReason, VMRuntimeLimits, catch_traps, is_in_wasm,
    lookup_code, set_pending_host_error, set_pending_panic,
};

/// Imported functions the fake module pretends to have, so that function
/// indices differ from defined indices.
const IMPORTS: u32 = 2;

const UD2: u32 = 0;
const SEGV: u32 = 1;
const DIV0: u32 = 2;
const CALLER: u32 = 3;
const RECURSE: u32 = 4;
const CALL_HOST: u32 = 5;
const NEAREST: u32 = 6;

/// (name, code, traps as (offset in function, trap), address map, relocations).
type FnSpec = (
    &'static str,
    Vec<u8>,
    Vec<(u32, Trap)>,
    Vec<(u32, u32)>,
    Vec<(u32, FloatLibcall)>,
);

fn rel32(from_next: u32, to: u32) -> [u8; 4] {
    (to as i32 - from_next as i32).to_le_bytes()
}

/// Lays the functions out 16-byte aligned, then the wasm-to-array trampoline.
fn build() -> (CompiledModule, ModuleInfo) {
    // Function starts are fixed up front so calls can be encoded.
    let starts: Vec<u32> = (0..8).map(|i| i * 32).collect();
    let trampoline_start = starts[7];
    let specs: Vec<FnSpec> = vec![
        // push rbp; mov rbp, rsp; ud2
        (
            "ud2_fn",
            vec![0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b],
            vec![(4, Trap::UnreachableCodeReached)],
            vec![(0, 0x30), (4, 0x40)],
            vec![],
        ),
        // push rbp; mov rbp, rsp; xor eax, eax; mov eax, [rax]; ud2
        (
            "segv_fn",
            vec![0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0, 0x8b, 0x00, 0x0f, 0x0b],
            vec![(6, Trap::MemoryOutOfBounds)],
            vec![(6, 0x50)],
            vec![],
        ),
        // push rbp; mov rbp, rsp; xor ecx, ecx; mov eax, 1; xor edx, edx; div ecx; ud2
        (
            "div_fn",
            vec![
                0x55, 0x48, 0x89, 0xe5, 0x31, 0xc9, 0xb8, 1, 0, 0, 0, 0x31, 0xd2, 0xf7, 0xf1, 0x0f,
                0x0b,
            ],
            vec![(13, Trap::IntegerDivisionByZero)],
            vec![],
            vec![],
        ),
        // push rbp; mov rbp, rsp; call ud2_fn; pop rbp; ret
        (
            "caller_fn",
            [
                vec![0x55, 0x48, 0x89, 0xe5, 0xe8],
                rel32(starts[3] + 9, starts[0]).to_vec(),
                vec![0x5d, 0xc3],
            ]
            .concat(),
            vec![],
            vec![(0, 0x5f), (4, 0x60), (9, 0x61)],
            vec![],
        ),
        // push rbp; mov rbp, rsp; cmp rsp, [rdi]; jb trap; call self; pop rbp; ret; trap: ud2
        (
            "recurse_fn",
            vec![
                0x55, 0x48, 0x89, 0xe5, 0x48, 0x3b, 0x27, 0x72, 0x07, 0xe8, 0xf2, 0xff, 0xff, 0xff,
                0x5d, 0xc3, 0x0f, 0x0b,
            ],
            vec![(16, Trap::StackOverflow)],
            vec![(9, 0x90)],
            vec![],
        ),
        // push rbp; mov rbp, rsp; call trampoline; pop rbp; ret
        (
            "call_host_fn",
            [
                vec![0x55, 0x48, 0x89, 0xe5, 0xe8],
                rel32(starts[5] + 9, trampoline_start).to_vec(),
                vec![0x5d, 0xc3],
            ]
            .concat(),
            vec![],
            vec![(4, 0x70)],
            vec![],
        ),
        // push rbp; mov rbp, rsp; movabs rax, <nearest_f64>; call rax; pop rbp; ret
        (
            "nearest_fn",
            [
                vec![0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8],
                vec![0; 8],
                vec![0xff, 0xd0, 0x5d, 0xc3],
            ]
            .concat(),
            vec![],
            vec![],
            vec![(6, FloatLibcall::NearestF64)],
        ),
    ];
    // The wasm-to-array trampoline: records its frame pointer and return
    // address in the limits (rdi), calls the host function whose address
    // is at [rsi], and traps with HostError if it returns 0:
    // push rbp; mov rbp, rsp; mov [rdi+24], rbp; mov rax, [rbp+8];
    // mov [rdi+32], rax; call [rsi]; test al, al; jz trap; pop rbp; ret;
    // trap: ud2
    let trampoline = vec![
        0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0x6f, 0x18, 0x48, 0x8b, 0x45, 0x08, 0x48, 0x89, 0x47,
        0x20, 0xff, 0x16, 0x84, 0xc0, 0x74, 0x02, 0x5d, 0xc3, 0x0f, 0x0b,
    ];

    let mut compiled = CompiledModule::default();
    let mut trap_list = Vec::new();
    let mut info = ModuleInfo {
        functions: (0..IMPORTS as usize + specs.len())
            .map(|_| TypeIndex::from_u32(0))
            .collect(),
        num_imported_funcs: IMPORTS,
        name: Some("hand".into()),
        ..ModuleInfo::default()
    };
    let mut text = vec![0xcc; trampoline_start as usize];
    for (i, (name, code, traps, map, relocs)) in specs.into_iter().enumerate() {
        let start = starts[i];
        assert!(code.len() <= 32);
        text[start as usize..start as usize + code.len()].copy_from_slice(&code);
        compiled.functions.push(CompiledFunction {
            loc: FunctionLoc {
                start,
                length: code.len() as u32,
            },
            address_map: hayate_environ::AddressMap::from_pairs(&map),
            inline_map: Default::default(),
            guard_page_faults: false,
        });
        compiled.array_to_wasm_trampolines.push(None);
        trap_list.extend(traps.into_iter().map(|(o, t)| (start + o, t)));
        compiled
            .relocations
            .extend(relocs.into_iter().map(|(o, target)| Relocation {
                offset: start + o,
                target,
                addend: 0,
            }));
        info.func_names
            .insert(FuncIndex::from_u32(IMPORTS + i as u32), name.to_string());
    }
    text.extend_from_slice(&trampoline);
    compiled.wasm_to_array_trampolines.push(FunctionLoc {
        start: trampoline_start,
        length: trampoline.len() as u32,
    });
    trap_list.push((trampoline_start + 24, Trap::HostError));
    compiled.traps = hayate_environ::TrapTable::from_pairs(trap_list);
    compiled.text = text;
    (compiled, info)
}

fn code() -> &'static Arc<CodeMemory> {
    static CODE: OnceLock<Arc<CodeMemory>> = OnceLock::new();
    CODE.get_or_init(|| {
        let (compiled, info) = build();
        CodeMemory::new(&compiled, Arc::new(info)).unwrap()
    })
}

type TestFn = unsafe extern "C" fn(*const VMRuntimeLimits, *const c_void) -> u64;
/// Host functions get the limits and the (opaque) host cell pointer.
type HostFn = unsafe extern "C" fn(*const VMRuntimeLimits, *const c_void) -> u8;

fn func(defined: u32) -> TestFn {
    // SAFETY: every test function follows this C signature.
    unsafe {
        std::mem::transmute::<*const u8, TestFn>(
            code().function_ptr(DefinedFuncIndex::from_u32(defined)),
        )
    }
}

const STACK: usize = 256 * 1024;

/// Runs defined function `defined` inside `catch_traps`.
fn run(defined: u32, limits: &VMRuntimeLimits, host: HostFn) -> Result<(), Box<UnwindReason>> {
    let f = func(defined);
    let host_cell: HostFn = host;
    let limits: *const VMRuntimeLimits = limits;
    let host_ptr: *const c_void = (&raw const host_cell).cast();
    // SAFETY: the closure holds nothing with a destructor across the call;
    // the limits and host cell outlive it.
    unsafe {
        catch_traps(limits, STACK, || {
            f(limits, host_ptr);
        })
    }
}

unsafe extern "C" fn host_ok(_: *const VMRuntimeLimits, _: *const c_void) -> u8 {
    1
}

fn expect_trap(result: Result<(), Box<UnwindReason>>) -> (Trap, Backtrace) {
    match *result.expect_err("expected a trap") {
        UnwindReason::Trap { trap, backtrace } => (trap, backtrace),
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn frames(bt: &Backtrace) -> Vec<(u32, Option<u32>)> {
    bt.frames
        .iter()
        .map(|f| (f.func_index.as_u32(), f.module_offset))
        .collect()
}

#[test]
fn unreachable_traps_with_backtrace() {
    let limits = VMRuntimeLimits::default();
    let (trap, bt) = expect_trap(run(UD2, &limits, host_ok));
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(frames(&bt), [(IMPORTS + UD2, Some(0x40))]);
    assert_eq!(bt.frames[0].func_name.as_deref(), Some("ud2_fn"));
    assert_eq!(bt.frames[0].module_name.as_deref(), Some("hand"));
    assert_eq!(bt.to_string(), "  0: 0x40 - hand!ud2_fn");
    assert!(!is_in_wasm());
}

#[test]
fn out_of_bounds_load_traps() {
    let limits = VMRuntimeLimits::default();
    let (trap, bt) = expect_trap(run(SEGV, &limits, host_ok));
    assert_eq!(trap, Trap::MemoryOutOfBounds);
    assert_eq!(frames(&bt), [(IMPORTS + SEGV, Some(0x50))]);
}

#[test]
fn division_by_zero_traps() {
    let limits = VMRuntimeLimits::default();
    let (trap, bt) = expect_trap(run(DIV0, &limits, host_ok));
    assert_eq!(trap, Trap::IntegerDivisionByZero);
    assert_eq!(frames(&bt), [(IMPORTS + DIV0, None)]);
}

#[test]
fn backtrace_includes_callers() {
    let limits = VMRuntimeLimits::default();
    let (trap, bt) = expect_trap(run(CALLER, &limits, host_ok));
    assert_eq!(trap, Trap::UnreachableCodeReached);
    // The caller's frame points at its call instruction (offset 4 -> 0x60).
    assert_eq!(
        frames(&bt),
        [(IMPORTS + UD2, Some(0x40)), (IMPORTS + CALLER, Some(0x60))]
    );
    assert_eq!(
        bt.to_string(),
        "  0: 0x40 - hand!ud2_fn\n  1: 0x60 - hand!caller_fn"
    );
}

#[test]
fn traps_are_repeatable() {
    let limits = VMRuntimeLimits::default();
    for _ in 0..200 {
        let (trap, _) = expect_trap(run(CALLER, &limits, host_ok));
        assert_eq!(trap, Trap::UnreachableCodeReached);
    }
}

#[test]
fn infinite_recursion_hits_the_stack_limit() {
    let limits = VMRuntimeLimits::default();
    let (trap, bt) = expect_trap(run(RECURSE, &limits, host_ok));
    assert_eq!(trap, Trap::StackOverflow);
    // Each frame takes 16 bytes of the STACK bytes allowed.
    let n = bt.frames.len();
    // (less what the host frames between `catch_traps` and the call use).
    assert!(n > STACK / 16 - 512 && n <= STACK / 16 + 16, "{n} frames");
    assert!(
        bt.frames
            .iter()
            .all(|f| f.func_index.as_u32() == IMPORTS + RECURSE)
    );
    assert_eq!(bt.frames[1].module_offset, Some(0x90));
    // SAFETY: no Wasm is running.
    assert_eq!(
        unsafe { *limits.stack_limit.get() },
        usize::MAX,
        "limit restored"
    );
}

#[test]
fn small_thread_stack_traps_instead_of_crashing() {
    // A thread whose stack is smaller than the Wasm stack allowed: the
    // limit is raised so that recursion traps before the guard page.
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let limits = VMRuntimeLimits::default();
            let f = func(RECURSE);
            let l: *const VMRuntimeLimits = &limits;
            // SAFETY: as in `run`.
            let result = unsafe { catch_traps(l, 64 << 20, || _ = f(l, std::ptr::null())) };
            assert_eq!(expect_trap(result).0, Trap::StackOverflow);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn tiny_thread_stacks_trap_instead_of_crashing() {
    // Down to threads whose whole stack is smaller than the host reserve:
    // the limit never points below the stack, so recursion (or, with no
    // room at all, the first Wasm frame) traps instead of overflowing.
    for kib in [48, 64, 100, 128, 136, 160, 256] {
        std::thread::Builder::new()
            .stack_size(kib * 1024)
            .spawn(move || {
                let limits = VMRuntimeLimits::default();
                let f = func(RECURSE);
                let l: *const VMRuntimeLimits = &limits;
                // SAFETY: as in `run`.
                let result = unsafe { catch_traps(l, 512 << 10, || _ = f(l, std::ptr::null())) };
                assert_eq!(expect_trap(result).0, Trap::StackOverflow, "{kib} KiB");
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

thread_local! {
    static INNER: RefCell<Option<Result<(), Box<UnwindReason>>>> = const { RefCell::new(None) };
    static INNER_LIMIT: RefCell<usize> = const { RefCell::new(0) };
}

/// A host function that calls back into Wasm (a trapping function).
unsafe extern "C" fn host_reenters(limits: *const VMRuntimeLimits, _: *const c_void) -> u8 {
    // SAFETY: the limits outlive the outer call; Wasm is not running.
    let limits = unsafe { &*limits };
    // SAFETY: as above.
    INNER_LIMIT.with(|l| *l.borrow_mut() = unsafe { *limits.stack_limit.get() });
    let result = run(UD2, limits, host_ok);
    INNER.with(|i| *i.borrow_mut() = Some(result));
    1
}

#[test]
fn nested_activation_backtrace_spans_both() {
    let limits = VMRuntimeLimits::default();
    run(CALL_HOST, &limits, host_reenters).unwrap();
    let inner = INNER.with(|i| i.borrow_mut().take()).unwrap();
    let (trap, bt) = expect_trap(inner);
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(
        frames(&bt),
        [
            (IMPORTS + UD2, Some(0x40)),
            (IMPORTS + CALL_HOST, Some(0x70))
        ]
    );
    let inner_limit = INNER_LIMIT.with(|l| *l.borrow());
    assert!(
        inner_limit != usize::MAX,
        "the outer call set a stack limit"
    );
    // SAFETY: no Wasm is running.
    assert_eq!(unsafe { *limits.stack_limit.get() }, usize::MAX);
}

#[derive(Debug)]
struct HostFailure;

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("host failure")
    }
}

impl std::error::Error for HostFailure {}

unsafe extern "C" fn host_fails(_: *const VMRuntimeLimits, _: *const c_void) -> u8 {
    assert!(is_in_wasm());
    set_pending_host_error(Box::new(HostFailure));
    0
}

unsafe extern "C" fn host_panics(_: *const VMRuntimeLimits, _: *const c_void) -> u8 {
    set_pending_panic(Box::new("boom"));
    0
}

#[test]
fn host_error_through_the_trampoline() {
    let limits = VMRuntimeLimits::default();
    match *run(CALL_HOST, &limits, host_fails).unwrap_err() {
        UnwindReason::HostError { error, backtrace } => {
            assert!(error.is::<HostFailure>());
            // The trampoline is not a frame; the calling function is.
            assert_eq!(frames(&backtrace), [(IMPORTS + CALL_HOST, Some(0x70))]);
        }
        other => panic!("expected a host error, got {other:?}"),
    }
    match *run(CALL_HOST, &limits, host_panics).unwrap_err() {
        UnwindReason::Panic(p) => assert_eq!(p.downcast_ref::<&str>(), Some(&"boom")),
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn relocated_libcall_is_called() {
    let f = code().function_ptr(DefinedFuncIndex::from_u32(NEAREST));
    // SAFETY: `nearest_fn` takes and returns an f64 in xmm0.
    let f = unsafe { std::mem::transmute::<*const u8, extern "C" fn(f64) -> f64>(f) };
    assert_eq!(f(2.5), 2.0);
    assert_eq!(f(3.5), 4.0);
    assert_eq!(f(-0.5), -0.0);
}

#[test]
fn registry_lookup() {
    let c = code();
    let pc = c.function_ptr(DefinedFuncIndex::from_u32(UD2)) as usize + 4;
    let found = lookup_code(pc).unwrap();
    assert_eq!(found.trap, Some(Trap::UnreachableCodeReached));
    assert_eq!(
        found.defined_function,
        Some(DefinedFuncIndex::from_u32(UD2))
    );
    assert_eq!(found.text_start, c.text_start());
    assert_eq!(
        c.func_and_offset_at_pc(pc),
        Some((FuncIndex::from_u32(IMPORTS + UD2), Some(0x40)))
    );
    let tramp = c.wasm_to_array_trampoline(TypeIndex::from_u32(0)) as usize;
    assert_eq!(lookup_code(tramp).unwrap().defined_function, None);
    assert!(lookup_code(c.text_end()).is_none());

    // A second copy registers and unregisters its own range.
    let (compiled, info) = build();
    let other = CodeMemory::new(&compiled, Arc::new(info)).unwrap();
    let pc = other.function_ptr(DefinedFuncIndex::from_u32(UD2)) as usize + 4;
    assert!(lookup_code(pc).is_some());
    assert!(Arc::ptr_eq(
        &hayate_runtime::lookup_code_memory(pc).unwrap(),
        &other
    ));
    drop(other);
    assert!(lookup_code(pc).is_none());
}

#[test]
fn bad_metadata_is_rejected() {
    let (mut compiled, info) = build();
    let mut traps: Vec<_> = compiled.traps.iter().collect();
    traps.push((compiled.text.len() as u32, Trap::HostError));
    compiled.traps = hayate_environ::TrapTable::from_pairs(traps);
    let err = CodeMemory::new(&compiled, Arc::new(info)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn catch_traps_without_wasm() {
    let limits = VMRuntimeLimits::default();
    let mut ran = false;
    // SAFETY: the closure runs no Wasm.
    unsafe { catch_traps(&limits, STACK, || ran = is_in_wasm()) }.unwrap();
    assert!(ran);
    assert!(!is_in_wasm());
    // SAFETY: as above; null limits are allowed.
    unsafe { catch_traps(std::ptr::null(), STACK, || {}) }.unwrap();

    // SAFETY: as above.
    let err = unsafe { catch_traps(&limits, STACK, || panic!("in closure")) }.unwrap_err();
    assert!(matches!(*err, UnwindReason::Panic(_)));

    // A pending error without a trap is still reported.
    // SAFETY: as above.
    let err = unsafe {
        catch_traps(&limits, STACK, || {
            set_pending_host_error(Box::new(HostFailure))
        })
    }
    .unwrap_err();
    assert!(matches!(&*err, UnwindReason::HostError { error, .. } if error.is::<HostFailure>()));
    assert_eq!(err.to_string(), "a host function failed");

    // Outside catch_traps a pending error is dropped.
    set_pending_host_error(Box::new(HostFailure));
    // SAFETY: as above.
    unsafe { catch_traps(&limits, STACK, || {}) }.unwrap();
}

#[test]
fn traps_on_a_thread_without_an_alternate_stack() {
    std::thread::spawn(|| {
        // SAFETY: disabling this thread's alternate signal stack (Rust's is
        // simply no longer used).
        unsafe {
            let disable = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            assert_eq!(libc::sigaltstack(&disable, std::ptr::null_mut()), 0);
        }
        let limits = VMRuntimeLimits::default();
        let (trap, _) = expect_trap(run(UD2, &limits, host_ok));
        assert_eq!(trap, Trap::UnreachableCodeReached);
        // SAFETY: querying this thread's alternate stack.
        let current = unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            assert_eq!(libc::sigaltstack(std::ptr::null(), &mut current), 0);
            current
        };
        assert_eq!(current.ss_flags & libc::SS_DISABLE, 0);
        assert!(current.ss_size >= 64 * 1024);
    })
    .join()
    .unwrap();
}

#[test]
fn traps_on_many_threads() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let limits = VMRuntimeLimits::default();
                let mut seen = HashMap::new();
                for j in 0..100 {
                    let f = [UD2, SEGV, DIV0, CALLER][(i + j) % 4];
                    let (trap, _) = expect_trap(run(f, &limits, host_ok));
                    *seen.entry(trap).or_insert(0) += 1;
                }
                seen.len()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 3);
    }
}

/// In a child process (this test binary run again with `HAYATE_TRAP_CHILD`
/// set), each fault must kill the process with its signal instead of being
/// taken for a Wasm trap.
#[test]
fn faults_outside_wasm_are_not_swallowed() {
    if let Ok(what) = std::env::var("HAYATE_TRAP_CHILD") {
        child(&what);
        std::process::exit(0);
    }
    let cases = [
        ("write-protected", libc::SIGSEGV),
        ("host-fault-under-wasm", libc::SIGSEGV),
        ("trap-outside-catch-traps", libc::SIGILL),
    ];
    for (what, signal) in cases {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "faults_outside_wasm_are_not_swallowed",
                "--exact",
                "--nocapture",
            ])
            .env("HAYATE_TRAP_CHILD", what)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(signal), "{what}: {out:?}");
    }
}

static PROTECTED: OnceLock<usize> = OnceLock::new();

fn protected_page() -> *mut u8 {
    *PROTECTED.get_or_init(|| {
        let m = Mmap::reserve(1).unwrap();
        let p = m.as_mut_ptr() as usize;
        std::mem::forget(m);
        p
    }) as *mut u8
}

unsafe extern "C" fn host_faults(_: *const VMRuntimeLimits, _: *const c_void) -> u8 {
    // SAFETY: deliberately faults on a reserved (inaccessible) page.
    unsafe { protected_page().write_volatile(1) };
    1
}

fn child(what: &str) {
    let limits = VMRuntimeLimits::default();
    match what {
        "write-protected" => {
            // SAFETY: deliberately faults on a reserved page.
            let _ = unsafe { catch_traps(&limits, STACK, || protected_page().write_volatile(1)) };
        }
        "host-fault-under-wasm" => {
            let _ = run(CALL_HOST, &limits, host_faults);
        }
        "trap-outside-catch-traps" => {
            hayate_runtime::init_traps();
            // SAFETY: deliberately runs a trapping function outside catch_traps.
            unsafe { func(UD2)(&limits, std::ptr::null()) };
        }
        other => panic!("unknown child case {other}"),
    }
}
