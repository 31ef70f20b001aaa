//! `Module`: a validated, compiled module, ready to instantiate any number
//! of times in any store of its engine. Modules are compiled, loaded from a
//! precompiled artifact (`serialize`/`deserialize`, see `serialize.rs` and
//! the `deserialize` functions in `vm.rs`, the one module allowed `unsafe`)
//! or from the compile cache.

use std::path::Path;
use std::sync::Arc;

use hayate_environ::artifact::ArtifactHeader;
use hayate_environ::{EntityIndex, ModuleInfo, VMOffsets};
use hayate_runtime::ModuleRuntimeInfo;
use hayate_runtime::code_memory::CodeMemory;
use hayate_runtime::cow::{FileImage, ModuleImages};
use hayate_runtime::lazy_table::ModuleTableImages;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::types::{EngineEntityType, ExportType, ExternType, ImportType};

/// A compiled WebAssembly module. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) runtime: Arc<ModuleRuntimeInfo>,
    /// What the code was compiled for.
    pub(crate) header: Arc<ArtifactHeader>,
    /// The Wasm bytes of a module compiled lazily, to compile all of it
    /// for `serialize`.
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    pub(crate) lazy_wasm: Option<Arc<[u8]>>,
    /// The compile cache's key for this module's bytes, when the cache
    /// compiled it: the compilation in the background stores the whole
    /// module under it without hashing the bytes again.
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    pub(crate) cache_key: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles a module from the binary format or, with the `wat` feature,
    /// the text format. With
    /// [`Config::allow_precompiled`](crate::Config::allow_precompiled) it
    /// also loads a precompiled artifact written by [`Module::serialize`]
    /// (checked as [`Module::deserialize`] checks it); otherwise an
    /// artifact is refused.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        if Module::is_precompiled(bytes) {
            if !engine.config().allow_precompiled {
                return Err(Error::msg(
                    "these bytes are a precompiled module; loading one must be allowed \
                     explicitly (`Config::allow_precompiled`) because its machine code is \
                     trusted input",
                ));
            }
            return crate::serialize::deserialize_bytes(engine, bytes);
        }
        #[cfg(feature = "wat")]
        if !bytes.starts_with(b"\0asm") {
            let binary = wat::parse_bytes(bytes).map_err(|e| Error::msg(e.to_string()))?;
            return Module::from_binary(engine, &binary);
        }
        Module::from_binary(engine, bytes)
    }

    /// Reads and compiles a `.wasm` or `.wat` file. With
    /// [`Config::allow_precompiled`](crate::Config::allow_precompiled) it also
    /// loads a precompiled artifact written by [`Module::serialize`], mapping
    /// its code instead of compiling; otherwise an artifact is refused.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        use std::io::Read;
        let path = path.as_ref();
        let read_error =
            |e: std::io::Error| Error::msg(format!("failed to read {}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(read_error)?;
        // Look at the magic number first: an artifact is mapped, not read.
        let mut bytes = Vec::new();
        (&mut file)
            .take(hayate_environ::artifact::MAGIC.len() as u64)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if Module::is_precompiled(&bytes) {
            if !engine.config().allow_precompiled {
                return Err(Error::msg(format!(
                    "{} is a precompiled module; loading one must be allowed explicitly \
                     (`Config::allow_precompiled`, `--allow-precompiled`) because its machine \
                     code is trusted input",
                    path.display()
                )));
            }
            return crate::serialize::deserialize_file(engine, path);
        }
        file.read_to_end(&mut bytes).map_err(read_error)?;
        #[cfg(feature = "wat")]
        if !bytes.starts_with(b"\0asm") {
            // Parsed here rather than by `new` so that errors name the file.
            let binary = wat::parse_bytes(&bytes).map_err(|mut e| {
                e.set_path(path);
                Error::msg(e.to_string())
            })?;
            return Module::from_binary(engine, &binary);
        }
        Module::new(engine, bytes)
    }

    /// Whether `bytes` start like a precompiled artifact of [`Module::serialize`].
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        bytes.starts_with(&hayate_environ::artifact::MAGIC)
    }

    /// Compiles a module from the binary format, or loads it from the
    /// engine's compile cache (see `Config::cache_dir`).
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        if let Some(cache) = &engine.inner.cache {
            return cache.get_or_compile(engine, bytes);
        }
        Module::compile(engine, bytes)
    }

    /// Validates and compiles `bytes` with the engine's compiler.
    pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let compiler = engine.compiler()?;
        let info = ModuleInfo::parse(bytes, engine.config().features).map_err(Error::new)?;
        #[cfg(feature = "compiler")]
        if engine.config().tunables.lazy_compilation {
            return Module::compile_lazily(engine, info, bytes);
        }
        let compiled = compiler
            .compile_module(&hayate_environ::ModuleInput::new(&info, bytes))
            .map_err(Error::new)?;
        let info = Arc::new(info);
        let code = crate::vm::load_code(&compiled, info.clone())?;
        Module::from_parts(
            engine,
            info,
            code,
            engine.inner.header.clone(),
            Vec::new(),
            None,
        )
    }

    /// A validated module whose functions are compiled on first call: only
    /// its wasm-to-array trampolines are compiled now.
    #[cfg(feature = "compiler")]
    fn compile_lazily(engine: &Engine, info: ModuleInfo, bytes: &[u8]) -> Result<Module> {
        use hayate_environ::{CompileJob, EntityRef, TypeIndex};
        let compiler = engine.compiler()?;
        let input = hayate_environ::ModuleInput::lazy(&info, bytes);
        let jobs: Vec<CompileJob> = (0..info.types.len())
            .map(|t| CompileJob::WasmToArray(TypeIndex::new(t)))
            .collect();
        let bodies = jobs
            .iter()
            .map(|job| compiler.compile_job(&input, *job))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::new)?;
        let compiled = hayate_environ::link::link(compiler.target().architecture, &jobs, bodies)
            .map_err(Error::new)?;
        let info = Arc::new(info);
        let code = crate::vm::load_code_without_functions(&compiled, info.clone())?;
        let functions = info.num_defined_funcs() as usize;
        let wasm: Arc<[u8]> = bytes.into();
        let module_compiler = crate::lazy::ModuleCompiler::new(engine, info.clone(), wasm.clone());
        let tier_up = module_compiler.tier_up();
        let lazy = hayate_runtime::lazy::LazyFunctions::new(functions, Box::new(module_compiler));
        let header = engine.inner.header.clone();
        let mut module = Module::from_parts(engine, info, code, header, Vec::new(), Some(lazy))?;
        Arc::get_mut(&mut module.inner)
            .expect("a module just made is not shared")
            .lazy_wasm = Some(wasm);
        tier_up.attach(&module.inner.runtime);
        if engine.config().background_compilation {
            crate::lazy::start_background_compilation(&module);
        }
        Ok(module)
    }

    /// A module from its loaded code. `header` says what the code was
    /// compiled for (written again by `serialize`).
    pub(crate) fn from_parts(
        engine: &Engine,
        info: Arc<ModuleInfo>,
        code: Arc<CodeMemory>,
        header: Arc<ArtifactHeader>,
        image_files: Vec<FileImage>,
        lazy: Option<hayate_runtime::lazy::LazyFunctions>,
    ) -> Result<Module> {
        crate::vm::register_with_profiler(engine, &code);
        let type_ids = engine.register_module_types(&info);
        // An image the system refuses (no memfd) only means copying.
        let images = match engine.config().memory_init_cow {
            true => crate::vm::module_images(&info, image_files),
            false => ModuleImages::none(),
        };
        let table_images = match engine.config().table_lazy_init {
            true => ModuleTableImages::new(&info),
            false => ModuleTableImages::none(),
        };
        // Code made for lazy compilation reads function entries through the
        // VMContext even when loaded whole.
        let code_entries = (engine.config().tunables.lazy_compilation && lazy.is_none())
            .then(|| ModuleRuntimeInfo::entries_of_code(&info, &code));
        let runtime = ModuleRuntimeInfo {
            offsets: VMOffsets::new(&info),
            info,
            code,
            type_ids,
            images,
            table_images,
            lazy,
            code_entries,
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                runtime: Arc::new(runtime),
                header,
                lazy_wasm: None,
                cache_key: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The precompiled artifact of this module: its machine code and
    /// everything needed to instantiate it, which
    /// [`Module::deserialize`] and [`Module::deserialize_file`] load
    /// without compiling into an engine with the same settings on a
    /// compatible host. The output is deterministic.
    ///
    /// The artifact records the Hayate version and build, the target, the
    /// CPU features and every setting the code was compiled with; loading
    /// refuses it (saying what differs) anywhere those do not match. Its
    /// text section is page-aligned so it can be mapped from a file.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let runtime = &self.inner.runtime;
        #[cfg(feature = "compiler")]
        if let Some(wasm) = &self.inner.lazy_wasm {
            // Functions compiled lazily are loaded piecemeal: an artifact
            // gets the whole module compiled at once.
            let compiled = self
                .engine()
                .compiler()?
                .compile_module(&hayate_environ::ModuleInput::new(&runtime.info, wasm))
                .map_err(Error::new)?;
            return Ok(crate::serialize::serialize_compiled(
                &self.inner.header,
                &runtime.info,
                &compiled,
            ));
        }
        Ok(crate::serialize::serialize(
            &self.inner.header,
            &runtime.info,
            &runtime.code,
        ))
    }

    /// Checks that `bytes` is a valid module for `engine`, without compiling.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        ModuleInfo::parse(bytes, engine.config().features)
            .map(drop)
            .map_err(Error::new)
    }

    /// The engine this module belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.info().name.as_deref()
    }

    /// Whether all of the module's code is compiled and in use: always,
    /// except for a module compiled lazily (`Config::lazy_compilation`),
    /// until its compilation in the background is done and installed
    /// (`Config::background_compilation`), which, with a compile cache,
    /// comes after the module is written to the cache.
    pub fn is_fully_compiled(&self) -> bool {
        self.inner
            .runtime
            .lazy
            .as_ref()
            .is_none_or(|lazy| lazy.is_fully_compiled())
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.inner.runtime.info
    }

    /// The type of entity `index` in engine form: its type indices mapped
    /// to the engine's ids.
    pub(crate) fn engine_entity_type(&self, index: EntityIndex) -> EngineEntityType {
        let runtime = &self.inner.runtime;
        let info = &runtime.info;
        match index {
            EntityIndex::Function(f) => {
                EngineEntityType::Function(runtime.shared_type(info.functions[f]))
            }
            EntityIndex::Global(g) => EngineEntityType::Global(hayate_environ::GlobalType {
                content: runtime.engine_val_type(info.globals[g].content),
                ..info.globals[g]
            }),
            EntityIndex::Table(t) => EngineEntityType::Table(hayate_environ::TableType {
                element: runtime.engine_ref_type(info.tables[t].element),
                ..info.tables[t]
            }),
            EntityIndex::Memory(m) => EngineEntityType::Memory(info.memories[m]),
            EntityIndex::Tag(t) => EngineEntityType::Tag(runtime.shared_type(info.tags[t])),
        }
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let info = self.info();
        info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            engine: self.engine(),
            ty: self.engine_entity_type(i.index),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        let info = self.info();
        info.exports.iter().map(move |e| ExportType {
            name: &e.name,
            ty: ExternType::from_env(self.engine(), self.engine_entity_type(e.index)),
        })
    }
}
