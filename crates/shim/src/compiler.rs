//! Precompilation for runwasi's cache: the library calls [`HayateCompiler`]
//! on an image's layers the first time it runs, stores what it returns in
//! containerd's content store under a key of ours, and passes the stored
//! artifacts (marked precompiled) to the sandbox on later starts.

use std::hash::{Hash, Hasher};

use anyhow::Result;
use containerd_shim_wasm::sandbox::context::{WasmBinaryType, WasmLayer};
use containerd_shim_wasm::shim::Compiler;
use hayate::Engine;

/// Compiles module layers into Hayate artifacts.
pub struct HayateCompiler(Engine);

impl HayateCompiler {
    /// A compiler with the sandbox's engine configuration.
    pub fn new() -> Result<Self> {
        Ok(Self(crate::engine()?))
    }
}

/// The artifacts' compatibility: two engines whose keys hash alike load
/// each other's artifacts (Hayate's build, target, CPU features, settings).
struct Key(u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Compiler for HayateCompiler {
    fn cache_key(&self) -> impl Hash {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.precompile_compatibility_hash().hash(&mut hasher);
        Key(hasher.finish())
    }

    async fn compile(&self, layers: &[WasmLayer]) -> Result<Vec<Option<Vec<u8>>>> {
        layers
            .iter()
            .map(|layer| {
                if self.0.detect_precompiled(&layer.layer).is_some() {
                    // Already an artifact: nothing to compile (and it is
                    // refused at run time unless it came from the cache).
                    return Ok(None);
                }
                match WasmBinaryType::from_bytes(&layer.layer) {
                    Some(WasmBinaryType::Module) => {
                        log::info!("precompiling a {} byte module", layer.layer.len());
                        self.0.precompile_module(&layer.layer).map(Some)
                    }
                    // Components and other layers are not Hayate's to compile.
                    _ => Ok(None),
                }
            })
            .collect()
    }
}
