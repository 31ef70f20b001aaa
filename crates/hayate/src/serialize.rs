//! Precompiled modules: the artifact `Module::serialize` writes and
//! `Module::deserialize`/`Module::deserialize_file` load without compiling
//! (layout in `hayate_environ::artifact`).
//!
//! # What loading checks
//!
//! 1. The magic number and the artifact format version.
//! 2. The layout: metadata and text fit the file, the text is aligned.
//! 3. A checksum (CRC-32) of the preamble and metadata (not the text).
//! 4. The header against the loading engine: Hayate version and build,
//!    WebAssembly features, bounds-check strategy, fuel and epoch settings
//!    must be equal. With the `compiler` feature the engine also computes
//!    its own compiler fingerprint (target triple, every Cranelift setting,
//!    every CPU feature the code generator would use) and requires it to be
//!    equal to the artifact's. Without a compiler it cannot know which
//!    settings it would have chosen; it checks instead that the artifact's
//!    target has this host's architecture and operating system and that
//!    every CPU feature the artifact's code may use is present on this CPU
//!    (refusing features it does not know how to detect).
//! 5. The metadata decodes and its indices are consistent, and every
//!    function, trampoline, trap and relocation lies inside the text.
//!
//! Nothing checks that the text is the code the metadata describes: an
//! artifact is trusted input, exactly as trusted as a native library the
//! program would load.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use hayate_environ::artifact::{
    self, ArtifactHeader, DecodedModule, FORMAT_VERSION, PREAMBLE_SIZE, Preamble, TEXT_ALIGN,
    checksum,
};
use hayate_environ::encode::Decoder;
use hayate_environ::image::{self, ImagePlacement};
use hayate_environ::{ByteOwner, CompiledModule, ModuleInfo};
use hayate_runtime::code_memory::CodeMemory;
use hayate_runtime::cow::FileImage;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;

/// The Hayate version and build written into artifacts: the crate version
/// and a hash of the sources that decide the generated code and the
/// runtime's layout (see `build.rs`).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("HAYATE_BUILD_ID"));

/// The header this engine writes, and expects of the artifacts it loads:
/// target, fingerprint and CPU features from the `compiler`, when there is
/// one (the host's triple and no fingerprint otherwise), and the settings
/// the code depends on from `config`.
pub(crate) fn host_header(
    config: &Config,
    compiler: Option<&dyn hayate_environ::Compiler>,
) -> ArtifactHeader {
    let target = match compiler {
        Some(c) => c.target().triple.clone(),
        None => format!(
            "{}-unknown-{}",
            std::env::consts::ARCH,
            std::env::consts::OS
        ),
    };
    ArtifactHeader {
        hayate_version: VERSION.to_string(),
        target,
        compiler_fingerprint: compiler.map(|c| c.fingerprint()).unwrap_or_default(),
        isa_flags: compiler.map(|c| c.isa_flags()).unwrap_or_default(),
        wasm_features: config.features.bits(),
        tunables: config.tunables,
    }
}

/// Writes the artifact of a loaded module.
pub(crate) fn serialize(header: &ArtifactHeader, info: &ModuleInfo, code: &CodeMemory) -> Vec<u8> {
    write_artifact(header, info, code.compiled(), code.unrelocated_text())
}

/// Writes the artifact of freshly compiled code, without loading it: the
/// same bytes `serialize` writes once it is loaded (relocation sites are
/// zero in both).
#[cfg(feature = "compiler")]
pub(crate) fn serialize_compiled(
    header: &ArtifactHeader,
    info: &ModuleInfo,
    compiled: &CompiledModule,
) -> Vec<u8> {
    let mut text = compiled.text.clone();
    for reloc in &compiled.relocations {
        let at = reloc.offset as usize;
        text[at..at + 8].fill(0);
    }
    write_artifact(header, info, compiled, text)
}

fn write_artifact(
    header: &ArtifactHeader,
    info: &ModuleInfo,
    compiled: &CompiledModule,
    text: Vec<u8>,
) -> Vec<u8> {
    let images = image::artifact_images(info, TEXT_ALIGN);
    let placements: Vec<ImagePlacement> = images.iter().map(|(p, _)| *p).collect();
    let (metadata, bulk) = artifact::encode_metadata(header, info, compiled, &placements);
    let images_offset = artifact::images_offset_for(metadata.len(), bulk.len());
    let text_offset = images_offset + artifact::images_len(&placements) as usize;
    let mut preamble = Preamble {
        format_version: FORMAT_VERSION,
        metadata_len: metadata.len() as u64,
        text_offset: text_offset as u64,
        text_len: text.len() as u64,
        bulk_len: bulk.len() as u64,
        checksum: [0; 32],
    };
    preamble.checksum = checksum(&preamble.to_bytes(), &metadata);
    let mut out = Vec::with_capacity(text_offset + text.len());
    out.extend_from_slice(&preamble.to_bytes());
    out.extend_from_slice(&metadata);
    out.extend_from_slice(&bulk);
    out.resize(images_offset, 0);
    for (placement, bytes) in &images {
        out.resize(images_offset + placement.section_offset as usize, 0);
        out.extend_from_slice(bytes);
    }
    out.resize(text_offset, 0);
    out.extend_from_slice(&text);
    out
}

/// The decoded metadata of an artifact that fits the engine.
pub(crate) struct Loaded {
    pub(crate) preamble: Preamble,
    pub(crate) header: ArtifactHeader,
    pub(crate) module: DecodedModule,
}

/// Checks the preamble, checksum and header and decodes the metadata.
/// `head` starts at byte 0 of the artifact and holds at least the
/// preamble, metadata and bulk; `file_len` is the whole artifact's length.
/// Bulk byte strings are slices of `owner` when given (which must hold the
/// bytes of `head`), copies otherwise.
fn load_metadata(
    engine: &Engine,
    head: &[u8],
    owner: Option<&ByteOwner>,
    file_len: u64,
) -> Result<Loaded> {
    let layout = |m: &str| Error::new(artifact::ArtifactError::Layout(m.into()));
    let preamble = Preamble::parse(head, file_len).map_err(Error::new)?;
    let meta_end = preamble.bulk_offset();
    let bulk = meta_end..meta_end + preamble.bulk_len as usize;
    let metadata = head
        .get(PREAMBLE_SIZE..meta_end)
        .ok_or_else(|| layout("metadata cut short"))?;
    if head.len() < bulk.end {
        return Err(layout("bulk cut short"));
    }
    if checksum(head, metadata) != preamble.checksum {
        return Err(Error::new(artifact::ArtifactError::Checksum));
    }
    let metadata_error = |e| Error::new(artifact::ArtifactError::Metadata(e));
    let mut d = match owner {
        Some(owner) => Decoder::with_shared_bulk(metadata, owner, bulk).map_err(metadata_error)?,
        None => Decoder::with_bulk(metadata, &head[bulk]),
    };
    let header = artifact::decode_header(&mut d).map_err(metadata_error)?;
    check_compatible(&engine.inner.header, &header)?;
    // `parse` checked that the bulk ends before the (aligned) text.
    let images_len = preamble.text_offset - preamble.images_offset();
    let module = artifact::decode_module(&mut d, images_len).map_err(metadata_error)?;
    Ok(Loaded {
        preamble,
        header,
        module,
    })
}

/// Loads an artifact held in memory. The text is copied into fresh
/// executable memory, the data segments and address maps out of `bytes`,
/// and memory images are made in memory as for a compiled module.
pub(crate) fn deserialize_bytes(engine: &Engine, bytes: &[u8]) -> Result<Module> {
    let loaded = load_metadata(engine, bytes, None, bytes.len() as u64)?;
    let text = &bytes[loaded.preamble.text_offset as usize..];
    let info = Arc::new(loaded.module.info);
    let code =
        CodeMemory::from_text(text, loaded.module.compiled, info.clone()).map_err(load_error)?;
    Module::from_parts(
        engine,
        info,
        code,
        Arc::new(loaded.header),
        Vec::new(),
        None,
    )
}

/// Loads an artifact file, mapping its text privately where the page size
/// allows (and reading it otherwise), and its metadata and bulk: data
/// segments and address maps are slices of that mapping, and memory images
/// are mapped from the file by each instance. The caller vouches that the
/// file is not changed while the module lives (see
/// `Module::deserialize_file`).
pub(crate) fn deserialize_file(engine: &Engine, path: &Path) -> Result<Module> {
    let fail = |e: Error| Error::msg(format!("cannot load {}: {e}", path.display()));
    let io = |e: std::io::Error| fail(Error::msg(e));
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut preamble_bytes = vec![0u8; PREAMBLE_SIZE.min(file_len as usize)];
    file.read_exact(&mut preamble_bytes).map_err(io)?;
    let preamble = Preamble::parse(&preamble_bytes, file_len).map_err(|e| fail(Error::new(e)))?;
    // `parse` checked that the metadata and bulk lie inside the file.
    let head_len = preamble.bulk_offset() + preamble.bulk_len as usize;
    let head: ByteOwner = Arc::new(crate::vm::map_file_head(&file, head_len).map_err(fail)?);
    let loaded = load_metadata(engine, (*head).as_ref(), Some(&head), file_len).map_err(fail)?;
    let info = Arc::new(loaded.module.info);
    let text_len = loaded.preamble.text_len as usize;
    let offset = loaded.preamble.text_offset;
    let compiled = loaded.module.compiled;
    let code = if offset.is_multiple_of(hayate_runtime::page_size() as u64) {
        crate::vm::load_code_from_file(&file, offset, text_len, compiled, info.clone())
    } else {
        let mut text = vec![0u8; text_len];
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(&mut text).map_err(io)?;
        CodeMemory::from_text(&text, compiled, info.clone()).map_err(load_error)
    }
    .map_err(fail)?;
    let images_offset = loaded.preamble.images_offset();
    let images = loaded
        .module
        .images
        .iter()
        .map(|p| {
            Ok(FileImage {
                memory: p.memory,
                file: file.try_clone()?,
                file_offset: images_offset + p.section_offset,
                memory_offset: p.memory_offset as usize,
                len: p.len as usize,
            })
        })
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io)?;
    Module::from_parts(engine, info, code, Arc::new(loaded.header), images, None)
}

pub(crate) fn load_error(e: std::io::Error) -> Error {
    Error::msg(format!("failed to load code: {e}"))
}

/// Refuses an artifact whose header does not fit the engine's `host`
/// header, saying what differs.
pub(crate) fn check_compatible(host: &ArtifactHeader, artifact: &ArtifactHeader) -> Result<()> {
    let mut host = host.clone();
    let mut problems = Vec::new();
    if host.compiler_fingerprint.is_empty() {
        // No compiler: check what can be checked without one.
        if target_fits_host(&artifact.target) {
            host.target = artifact.target.clone();
        }
        for (flag, value) in &artifact.isa_flags {
            if value != "1" && value != "true" {
                continue;
            }
            match host_has_cpu_feature(flag) {
                Some(true) => {}
                Some(false) => problems.push(format!(
                    "CPU feature: the module's code needs `{flag}`, which this CPU lacks"
                )),
                None => problems.push(format!(
                    "CPU feature: the module's code needs `{flag}`, which this build cannot detect without the compiler"
                )),
            }
        }
    }
    let mut differences = artifact.differences(&host);
    differences.extend(problems);
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "precompiled module is incompatible with this engine: {}",
        differences.join("; ")
    )))
}

/// Whether a target triple names this host's architecture and OS.
fn target_fits_host(triple: &str) -> bool {
    let mut parts = triple.split('-');
    parts.next() == Some(std::env::consts::ARCH)
        && parts.any(|p| p.starts_with(std::env::consts::OS))
}

/// Whether this CPU has the feature a Cranelift ISA flag names; `None` for
/// flags this function does not know.
#[allow(unreachable_code)]
fn host_has_cpu_feature(flag: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        return Some(match flag {
            "has_sse3" => has!("sse3"),
            "has_ssse3" => has!("ssse3"),
            "has_sse41" => has!("sse4.1"),
            "has_sse42" => has!("sse4.2"),
            "has_cmpxchg16b" => has!("cmpxchg16b"),
            "has_popcnt" => has!("popcnt"),
            "has_avx" => has!("avx"),
            "has_avx2" => has!("avx2"),
            "has_fma" => has!("fma"),
            "has_bmi1" => has!("bmi1"),
            "has_bmi2" => has!("bmi2"),
            "has_lzcnt" => has!("lzcnt"),
            "has_avx512bitalg" => has!("avx512bitalg"),
            "has_avx512dq" => has!("avx512dq"),
            "has_avx512f" => has!("avx512f"),
            "has_avx512vl" => has!("avx512vl"),
            "has_avx512vbmi" => has!("avx512vbmi"),
            _ => return None,
        });
    }
    #[cfg(target_arch = "aarch64")]
    {
        use std::arch::is_aarch64_feature_detected as has;
        return Some(match flag {
            "has_lse" => has!("lse"),
            "has_pauth" => has!("paca"),
            "has_fp16" => has!("fp16"),
            // Code generation choices that run on any CPU.
            "sign_return_address"
            | "sign_return_address_all"
            | "sign_return_address_with_bkey"
            | "use_bti" => true,
            _ => return None,
        });
    }
    let _ = flag;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ArtifactHeader {
        host_header(&Config::default(), None)
    }

    #[test]
    fn loader_without_compiler_checks_target_and_cpu() {
        let host = header();
        let mut artifact = host.clone();
        artifact.target = format!(
            "{}-unknown-{}-gnu",
            std::env::consts::ARCH,
            std::env::consts::OS
        );
        artifact.compiler_fingerprint = format!("target {}\n[isa]\n", artifact.target);
        check_compatible(&host, &artifact).unwrap();

        artifact.target = "riscv64gc-unknown-linux-gnu".into();
        let err = check_compatible(&host, &artifact).unwrap_err().to_string();
        assert!(err.contains("target") && err.contains("riscv64"), "{err}");

        artifact.target = host.target.clone();
        artifact.isa_flags = vec![
            ("has_frobnicate".into(), "true".into()),
            ("has_other".into(), "false".into()),
        ];
        let err = check_compatible(&host, &artifact).unwrap_err().to_string();
        assert!(err.contains("has_frobnicate"), "{err}");
        assert!(!err.contains("has_other"), "{err}");
    }

    #[test]
    fn settings_mismatch_names_the_setting() {
        let host = header();
        let artifact = ArtifactHeader {
            tunables: hayate_environ::Tunables {
                consume_fuel: !host.tunables.consume_fuel,
                ..host.tunables
            },
            hayate_version: "0.0.1+old".into(),
            ..host.clone()
        };
        let err = check_compatible(&host, &artifact).unwrap_err().to_string();
        assert!(err.contains("fuel"), "{err}");
        assert!(
            err.contains("Hayate version") && err.contains("0.0.1+old"),
            "{err}"
        );
    }
}
