//! The compile cache: precompiled artifacts on disk, addressed by content.
//!
//! An entry's key is the SHA-256 of the module's bytes and of the engine's
//! artifact header (Hayate version and build, compiler fingerprint with
//! target and CPU features, WebAssembly features, code-changing settings):
//! any change of module, settings or Hayate gives another key, so entries
//! are never stale, only unused. An entry is the artifact
//! `Module::serialize` writes, stored as `<dir>/v1/<key>.hwasm` and loaded
//! with the same checks as `Module::deserialize_file` (a damaged entry is
//! recompiled and replaced).
//!
//! Several processes may share a directory: an entry is written to a
//! temporary file and renamed into place, so readers see a whole file or
//! none, and files are never changed in place (a file being loaded stays
//! valid even if it is replaced or evicted meanwhile). The directory is
//! kept under a size bound by deleting the least recently used entries
//! after each insertion; a hit refreshes the entry's modification time.
//!
//! A lazily compiled module is stored by its compilation in the background
//! when that is done (`lazy::start_background_compilation`), or by another
//! process the CLI hands it to ([`Engine::fill_cache`]): that one marks the
//! entry `<key>.filling` while it compiles, so that concurrent runs of the
//! same cold module do not each compile it again (a marker over an hour
//! old is a leftover and is taken over, or swept with stale temporary
//! files).
//!
//! The cache is as trusted as the artifacts in it: whoever can write the
//! directory can make this process run their code. Keep it private to the
//! user (the default location is under the user's home).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use hayate_environ::artifact::ArtifactHeader;
use hayate_environ::encode::Encoder;
#[cfg(feature = "compiler")]
use hayate_environ::{CompiledModule, ModuleInfo};
use sha2::{Digest, Sha256};

use crate::engine::Engine;
#[cfg(feature = "compiler")]
use crate::error::Error;
use crate::error::Result;
use crate::module::Module;

/// Default bound on the cache's size: 512 MiB.
pub(crate) const DEFAULT_MAX_SIZE: u64 = 512 << 20;

/// Once over the bound, eviction goes down to this share of it, so that
/// every insertion does not evict again.
const EVICT_TO_PERCENT: u64 = 80;

/// Temporary files older than this are leftovers of crashed writers.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Hits and misses of an engine's compile cache since the engine was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules loaded from the cache.
    pub hits: u64,
    /// Modules compiled because the cache had no (usable) entry.
    pub misses: u64,
}

/// An engine's compile cache.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    max_size: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf, max_size: u64) -> Cache {
        Cache {
            dir: dir.join("v1"),
            max_size,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The key of `wasm` compiled by an engine with header `header`.
    fn key(header: &ArtifactHeader, wasm: &[u8]) -> String {
        let mut e = Encoder::new();
        e.put(header);
        let mut h = Sha256::new();
        h.update(b"hayate compile cache v1\0");
        h.update((e.bytes.len() as u64).to_le_bytes());
        h.update(&e.bytes);
        h.update(wasm);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.hwasm"))
    }

    /// Loads `wasm` from the cache or compiles it and stores the result.
    /// Cache failures (unwritable directory, damaged entry) never fail the
    /// compilation; they only cost a compile.
    pub(crate) fn get_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let key = Self::key(&engine.inner.header, wasm);
        let path = self.entry_path(&key);
        if path.exists() {
            match crate::serialize::deserialize_file(engine, &path) {
                Ok(module) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    touch(&path);
                    return Ok(module);
                }
                // Damaged (or written by an incompatible build despite the
                // key): replace it below.
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let module = Module::compile(engine, wasm)?;
        let _ = module.inner.cache_key.set(key.clone());
        // A lazily compiled module is stored by its compilation in the
        // background, once it is whole (`lazy::start_background_compilation`).
        if !engine.config().tunables.lazy_compilation
            && let Ok(bytes) = module.serialize()
        {
            let _ = self.store(&key, &bytes);
        }
        Ok(module)
    }

    /// [`Engine::fill_cache`]: compiles `wasm` whole and stores it, unless
    /// the entry exists or another process is making it (a `.filling`
    /// marker younger than [`STALE_TEMP`]).
    #[cfg(feature = "compiler")]
    pub(crate) fn fill(&self, engine: &Engine, wasm: &[u8]) -> Result<bool> {
        let key = Self::key(&engine.inner.header, wasm);
        let path = self.entry_path(&key);
        if path.exists() {
            return Ok(false);
        }
        let cannot_write = |e: std::io::Error| {
            Error::msg(format!(
                "cannot write to the compile cache `{}`: {e}",
                self.dir.display()
            ))
        };
        std::fs::create_dir_all(&self.dir).map_err(cannot_write)?;
        let marker = self.dir.join(format!("{key}.filling"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&marker)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_none_or(|age| age < STALE_TEMP) {
                    return Ok(false);
                }
                // A leftover of a process that died: take over.
                touch(&marker);
            }
            Err(e) => return Err(cannot_write(e)),
        }
        let result = (|| {
            let info = ModuleInfo::parse(wasm, engine.config().features).map_err(Error::new)?;
            let compiled = engine
                .compiler()?
                .compile_module(&hayate_environ::ModuleInput::new(&info, wasm))
                .map_err(Error::new)?;
            self.store_whole(engine, &key, &info, &compiled)
                .map_err(cannot_write)?;
            Ok(true)
        })();
        let _ = std::fs::remove_file(&marker);
        result
    }

    /// Stores the whole module `compiled` from `wasm` by `engine`, unless an
    /// entry is there already, under `key` if the caller has it (else it
    /// hashes `wasm` for it). Whether it could be written makes no
    /// difference to the caller: it only costs a later compile.
    #[cfg(feature = "compiler")]
    pub(crate) fn store_compiled(
        &self,
        engine: &Engine,
        key: Option<&str>,
        wasm: &[u8],
        info: &ModuleInfo,
        compiled: &CompiledModule,
    ) {
        let key = key.map_or_else(|| Self::key(&engine.inner.header, wasm), str::to_string);
        if !self.entry_path(&key).exists() {
            let _ = self.store_whole(engine, &key, info, compiled);
        }
    }

    /// Stores the whole module `compiled` by `engine` as entry `key`.
    #[cfg(feature = "compiler")]
    fn store_whole(
        &self,
        engine: &Engine,
        key: &str,
        info: &ModuleInfo,
        compiled: &CompiledModule,
    ) -> std::io::Result<()> {
        let bytes = crate::serialize::serialize_compiled(&engine.inner.header, info, compiled);
        self.store(key, &bytes)
    }

    /// Writes an entry: to a temporary file first, then renamed into place;
    /// then evicts what the bound requires (never this entry).
    fn store(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let tmp = self
            .dir
            .join(format!("{key}.{}.{nanos}.tmp", std::process::id()));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.set_modified(SystemTime::now())?;
            drop(f);
            std::fs::rename(&tmp, self.entry_path(key))
        })();
        match result {
            Ok(()) => self.evict(&self.entry_path(key)),
            Err(_) => {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        result
    }

    /// Deletes least recently used entries (never `keep`) while the cache
    /// is over its bound, and stale temporary files.
    fn evict(&self, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for e in dir.flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            match path.extension().and_then(|x| x.to_str()) {
                Some("hwasm") => {
                    total += meta.len();
                    entries.push((modified, meta.len(), path));
                }
                Some("tmp" | "filling")
                    if now.duration_since(modified).unwrap_or_default() > STALE_TEMP =>
                {
                    let _ = std::fs::remove_file(&path);
                }
                _ => {}
            }
        }
        if total <= self.max_size {
            return;
        }
        let target = (u128::from(self.max_size) * u128::from(EVICT_TO_PERCENT) / 100) as u64;
        entries.sort();
        for (_, len, path) in entries {
            if total <= target {
                break;
            }
            if path == keep {
                continue;
            }
            // Another process may have deleted it already; either way it
            // no longer counts.
            let _ = std::fs::remove_file(&path);
            total -= len;
        }
    }
}

/// Marks an entry as just used.
fn touch(path: &Path) {
    if let Ok(f) = File::open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/hayate`, or
/// `$HOME/.cache/hayate`; `None` if neither variable is set to an
/// absolute path.
pub(crate) fn default_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("hayate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_module_and_settings() {
        let a = ArtifactHeader::default();
        let b = ArtifactHeader {
            tunables: hayate_environ::Tunables {
                consume_fuel: true,
                ..Default::default()
            },
            ..ArtifactHeader::default()
        };
        let k = Cache::key(&a, b"\0asm");
        assert_eq!(k.len(), 64);
        assert_eq!(k, Cache::key(&a, b"\0asm"));
        assert_ne!(k, Cache::key(&b, b"\0asm"));
        assert_ne!(k, Cache::key(&a, b"\0asm\x01"));
    }
}
