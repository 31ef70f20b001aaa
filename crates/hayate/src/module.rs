//! `Module`: a validated, compiled module, ready to instantiate any number
//! of times in any store of its engine.

use std::path::Path;
use std::sync::Arc;

use hayate_environ::{ModuleInfo, VMOffsets};
use hayate_runtime::ModuleRuntimeInfo;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::types::{ExportType, ExternType, ImportType};

/// A compiled WebAssembly module. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) runtime: Arc<ModuleRuntimeInfo>,
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
    /// the text format.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        #[cfg(feature = "wat")]
        if !bytes.starts_with(b"\0asm") {
            let binary = wat::parse_bytes(bytes).map_err(|e| Error::msg(e.to_string()))?;
            return Module::from_binary(engine, &binary);
        }
        Module::from_binary(engine, bytes)
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::msg(format!("failed to read {}: {e}", path.display())))?;
        Module::new(engine, bytes)
    }

    /// Compiles a module from the binary format.
    #[cfg(feature = "compiler")]
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let info = ModuleInfo::parse(bytes, engine.config().features).map_err(Error::new)?;
        let compiled = engine
            .inner
            .compiler
            .compile_module(&info, bytes)
            .map_err(Error::new)?;
        let info = Arc::new(info);
        let code = crate::vm::load_code(&compiled, info.clone())?;
        crate::vm::register_with_profiler(engine, &code);
        let type_ids = info.types.iter().map(|t| engine.register_type(t)).collect();
        let runtime = ModuleRuntimeInfo {
            offsets: VMOffsets::new(&info),
            info,
            code,
            type_ids,
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                runtime: Arc::new(runtime),
            }),
        })
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

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.inner.runtime.info
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let info = self.info();
        info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: ExternType::from_env(info.entity_type(i.index)),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        let info = self.info();
        info.exports.iter().map(move |e| ExportType {
            name: &e.name,
            ty: ExternType::from_env(info.entity_type(e.index)),
        })
    }
}
