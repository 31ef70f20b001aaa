//! A guest that is only a shell around the WASI imports: every function of
//! the snapshot (but `proc_exit`) is re-exported by a Wasm function of the
//! same name that forwards its arguments. A test then plays the hostile
//! guest from Rust: it lays out memory as it likes and calls WASI with any
//! numbers, and sees the errno and the memory the host call left behind.

use hayate::{Engine, Instance, Linker, Memory, Module, Store, Val, ValType};
use hayate_wasi::{WasiCtx, WasiCtxBuilder};

/// The functions of the snapshot with their parameter types.
const SIGNATURES: &[(&str, &str)] = &[
    ("args_get", "i32 i32"),
    ("args_sizes_get", "i32 i32"),
    ("environ_get", "i32 i32"),
    ("environ_sizes_get", "i32 i32"),
    ("fd_close", "i32"),
    ("fd_filestat_get", "i32 i32"),
    ("fd_pread", "i32 i32 i32 i64 i32"),
    ("fd_prestat_get", "i32 i32"),
    ("fd_prestat_dir_name", "i32 i32 i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32"),
    ("fd_read", "i32 i32 i32 i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32"),
    ("fd_seek", "i32 i64 i32 i32"),
    ("fd_write", "i32 i32 i32 i32"),
    ("path_create_directory", "i32 i32 i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32"),
    ("path_filestat_set_times", "i32 i32 i32 i32 i64 i64 i32"),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32"),
    ("path_remove_directory", "i32 i32 i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32"),
    ("path_symlink", "i32 i32 i32 i32 i32"),
    ("path_unlink_file", "i32 i32 i32"),
    ("poll_oneoff", "i32 i32 i32 i32"),
    ("random_get", "i32 i32"),
    ("sock_accept", "i32 i32 i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32"),
    ("sock_send", "i32 i32 i32 i32 i32"),
];

/// The shell module's text, with a memory of `pages` pages (fixed size).
pub fn wat(pages: u32) -> String {
    let mut wat = String::from("(module\n");
    for (i, (name, params)) in SIGNATURES.iter().enumerate() {
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" \
             (func $f{i} (param {params}) (result i32)))\n"
        );
    }
    for (i, (name, params)) in SIGNATURES.iter().enumerate() {
        let gets: String = (0..params.split(' ').count())
            .map(|n| format!("(local.get {n}) "))
            .collect();
        wat += &format!(
            "  (func (export \"{name}\") (param {params}) (result i32) \
             (call $f{i} {gets}))\n"
        );
    }
    wat += &format!("  (memory (export \"memory\") {pages} {pages}))\n");
    wat
}

/// An instantiated shell guest.
pub struct Shell {
    pub store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Shell {
    /// A shell with `pages` pages of memory and the context `setup` makes.
    pub fn new(pages: u32, setup: impl FnOnce(&mut WasiCtxBuilder)) -> Shell {
        let engine = Engine::default();
        let module = Module::new(&engine, wat(pages)).expect("shell compiles");
        let mut linker = Linker::new(&engine);
        hayate_wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut builder = WasiCtx::builder();
        setup(&mut builder);
        let mut store = Store::new(&engine, builder.build());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Shell {
            store,
            instance,
            memory,
        }
    }

    /// Calls WASI function `name`; each argument is converted to the
    /// parameter's type. Returns the errno.
    pub fn call(&mut self, name: &str, args: &[i64]) -> u16 {
        let f = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("the shell has no {name}"));
        let params: Vec<Val> = f
            .ty(&self.store)
            .params()
            .zip(args)
            .map(|(t, &a)| match t {
                ValType::I32 => Val::I32(a as i32),
                _ => Val::I64(a),
            })
            .collect();
        assert_eq!(params.len(), args.len(), "{name}: wrong argument count");
        let mut out = [Val::I32(0)];
        f.call(&mut self.store, &params, &mut out)
            .unwrap_or_else(|e| panic!("{name} trapped: {e}"));
        out[0].i32().unwrap() as u16
    }

    /// The guest's memory.
    pub fn mem(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// Copies `bytes` to `at`.
    pub fn put(&mut self, at: u32, bytes: &[u8]) {
        let at = at as usize;
        self.mem()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes a little-endian `u32` at `at`.
    pub fn put_u32(&mut self, at: u32, v: u32) {
        self.put(at, &v.to_le_bytes());
    }

    /// Reads a little-endian `u32` at `at`.
    pub fn u32(&mut self, at: u32) -> u32 {
        let at = at as usize;
        u32::from_le_bytes(self.mem()[at..at + 4].try_into().unwrap())
    }

    /// Writes `count` iovecs at `at`, all `{ptr, len}`.
    pub fn same_iovecs(&mut self, at: u32, count: u32, ptr: u32, len: u32) {
        let mut entry = [0u8; 8];
        entry[..4].copy_from_slice(&ptr.to_le_bytes());
        entry[4..].copy_from_slice(&len.to_le_bytes());
        let bytes = entry.repeat(count as usize);
        self.put(at, &bytes);
    }

    /// Writes `path` at `at` and returns `(at, len)` as call arguments.
    pub fn path(&mut self, at: u32, path: &[u8]) -> (i64, i64) {
        self.put(at, path);
        (at as i64, path.len() as i64)
    }
}
