//! Perf maps: when profiling is on, every loaded module's compiled functions
//! are appended to `/tmp/perf-<pid>.map`, the format `perf` reads to name
//! JIT code ("START SIZE NAME" per line, hex without `0x`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::Mutex;

use crate::code_memory::CodeMemory;

static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// Appends the functions and trampolines of `code` to this process's perf map.
pub fn register(code: &CodeMemory) -> io::Result<()> {
    let mut guard = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        *guard = Some(OpenOptions::new().create(true).append(true).open(path)?);
    }
    let file = guard.as_mut().expect("opened above");
    let info = code.info();
    let module = info.name.as_deref().unwrap_or("wasm");
    let compiled = code.compiled();
    let base = code.text_start();
    let mut out = String::new();
    for (def, f) in compiled.functions.iter().enumerate() {
        let index = info.num_imported_funcs + def as u32;
        let name = info.func_display_name(index);
        let start = base + f.loc.start as usize;
        out.push_str(&format!("{start:x} {:x} {module}!{name}\n", f.loc.length));
    }
    for (def, loc) in compiled.array_to_wasm_trampolines.iter().enumerate() {
        if let Some(loc) = loc {
            let start = base + loc.start as usize;
            out.push_str(&format!(
                "{start:x} {:x} {module}!array_to_wasm[{def}]\n",
                loc.length
            ));
        }
    }
    for (ty, loc) in compiled.wasm_to_array_trampolines.iter().enumerate() {
        let start = base + loc.start as usize;
        out.push_str(&format!(
            "{start:x} {:x} {module}!wasm_to_array[type {ty}]\n",
            loc.length
        ));
    }
    file.write_all(out.as_bytes())?;
    file.flush()
}
