//! Perf maps: when profiling is on, every loaded module's compiled
//! functions, and every region of code loaded for it later, are appended
//! to `/tmp/perf-<pid>.map`, the format `perf` reads to name JIT code
//! ("START SIZE NAME" per line, hex without `0x`). A perf map is append
//! only: unloaded code keeps its lines, and `perf` takes the last line
//! covering an address, so code mapped later at the same address is named
//! correctly.

use hayate_environ::DefinedFuncIndex;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::Mutex;

use crate::code_memory::CodeMemory;
use crate::code_registry::CodeMeta;
use crate::late_code::LateCode;

static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// Appends the functions and trampolines of `code` to this process's perf map.
pub fn register(code: &CodeMemory) -> io::Result<()> {
    let (compiled, info) = (code.compiled(), code.info());
    let base = code.text_start();
    // A module's text holds every defined function, in order.
    write(&entries(base, compiled, info, |position| position))
}

/// Appends the functions and trampolines of late code to this process's
/// perf map.
pub fn register_late(code: &LateCode) -> io::Result<()> {
    let meta: &CodeMeta = code.meta();
    write(&entries(
        meta.start,
        &meta.compiled,
        &meta.info,
        |position| meta.defined_index(position),
    ))
}

/// The perf map lines of a region at `base`; `defined` maps a function's
/// position in the region to the module's defined-function index.
fn entries(
    base: usize,
    compiled: &hayate_environ::CompiledModule,
    info: &hayate_environ::ModuleInfo,
    defined: impl Fn(DefinedFuncIndex) -> DefinedFuncIndex,
) -> String {
    let module = info.name.as_deref().unwrap_or("wasm");
    let mut out = String::new();
    for (position, f) in compiled.functions.iter() {
        let index = info.func_index(defined(position));
        let name = info.func_display_name(index);
        let start = base + f.loc.start as usize;
        out.push_str(&format!("{start:x} {:x} {module}!{name}\n", f.loc.length));
    }
    for (position, loc) in compiled.array_to_wasm_trampolines.iter() {
        if let Some(loc) = loc {
            let def = defined(position).as_u32();
            let start = base + loc.start as usize;
            out.push_str(&format!(
                "{start:x} {:x} {module}!array_to_wasm[{def}]\n",
                loc.length
            ));
        }
    }
    for (ty, loc) in compiled.wasm_to_array_trampolines.iter() {
        let ty = ty.as_u32();
        let start = base + loc.start as usize;
        out.push_str(&format!(
            "{start:x} {:x} {module}!wasm_to_array[type {ty}]\n",
            loc.length
        ));
    }
    for loc in &compiled.call_adapters {
        let start = base + loc.start as usize;
        out.push_str(&format!(
            "{start:x} {:x} {module}!call_adapter\n",
            loc.length
        ));
    }
    out
}

fn write(lines: &str) -> io::Result<()> {
    let mut guard = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        *guard = Some(OpenOptions::new().create(true).append(true).open(path)?);
    }
    let file = guard.as_mut().expect("opened above");
    file.write_all(lines.as_bytes())?;
    file.flush()
}
