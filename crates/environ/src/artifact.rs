//! The precompiled-module artifact (`.hwasm`): the one definition of its
//! layout and header, shared by the code that writes artifacts and the code
//! that loads them (in `hayate`).
//!
//! ```text
//! offset      size  field
//!  0          8     MAGIC                     "\0hwasm\x1a\n"
//!  8          4     format version (u32 LE)   FORMAT_VERSION
//! 12          4     reserved, 0
//! 16          8     metadata length (u64 LE)  metadata starts at PREAMBLE_SIZE
//! 24          8     text offset (u64 LE)      a multiple of TEXT_ALIGN
//! 32          8     text length (u64 LE)      the text runs to the end of the file
//! 40          8     bulk length (u64 LE)      the bulk follows the metadata
//! 48         32     checksum: CRC-32 (LE, then 28 zero bytes) of bytes
//!                   0..48 followed by the metadata
//! 80          …     metadata: ArtifactHeader, then ModuleInfo, then the
//!                   CompiledModule without its text, then the placement of
//!                   each memory image (see `encode`)
//! …           …     bulk: data segments and address maps, which the
//!                   metadata refers to by offset and length
//! …                 zero padding up to a multiple of TEXT_ALIGN
//! images      …     the image section: initial memory images, each a
//!                   multiple of TEXT_ALIGN long (see `image`)
//! text offset …     the text section, unrelocated (relocation sites zero)
//! ```
//!
//! Text and images are page-aligned in the file so a loader can map them
//! privately: the text to patch its relocations in place and make it
//! executable, an image straight over the start of each new instance's
//! memory (copy-on-write), neither copied nor read at load. The bulk too
//! is only mapped: a data segment or an address map is read when used.
//!
//! The checksum covers the preamble and the metadata: it catches a
//! truncated or damaged header and metadata, whose errors would otherwise
//! misplace traps or functions. It is a CRC-32 (every burst error of up to
//! 32 bits, every odd number of flipped bits), not a cryptographic hash: it
//! guards against damage, not against someone who can write the file. The
//! bulk, images and text are checked only structurally (every reference
//! into them lies inside them), so that a load reads what an instance
//! touches and not the whole file; damage there changes data or code, as
//! damage to a native library would. The whole artifact is trusted:
//! loading one runs its machine code, so artifacts must come from a source
//! as trusted as the program loading them.

use std::fmt::Write as _;

use crate::compiled::CompiledModule;
use crate::encode::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::entity::{DefinedMemoryIndex, EntityRef};
use crate::image::ImagePlacement;
use crate::module::{DataSegmentKind, ElemItems, ElemSegmentKind, EntityIndex, ModuleInfo};
use crate::tunables::{BoundsChecks, Tunables};
use crate::types::{ConstExpr, ConstOp, TypeRef};

/// The first eight bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"\0hwasm\x1a\n";

/// Version of the layout and of the metadata encoding. Bump it with any
/// change to either.
pub const FORMAT_VERSION: u32 = 11;

/// Size of the fixed preamble before the metadata.
pub const PREAMBLE_SIZE: usize = 80;

/// Alignment of the text and of memory images, in the file and (images) in
/// linear memory: a multiple of the page size of every common host (4 KiB,
/// 16 KiB). On hosts with larger pages loaders read the text and make
/// their own images instead of mapping them.
pub const TEXT_ALIGN: usize = 16 * 1024;

/// Number of bytes at the start of the preamble the checksum covers.
pub const CHECKSUMMED_PREAMBLE: usize = 48;

/// The checksum of an artifact whose preamble is `preamble` (its first
/// [`CHECKSUMMED_PREAMBLE`] bytes count) and whose metadata is `metadata`:
/// their CRC-32, little-endian, in the first four of 32 bytes.
pub fn checksum(preamble: &[u8], metadata: &[u8]) -> [u8; 32] {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&preamble[..CHECKSUMMED_PREAMBLE]);
    crc.update(metadata);
    let mut out = [0; 32];
    out[..4].copy_from_slice(&crc.finalize().to_le_bytes());
    out
}

/// The fixed-size start of an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// Format version the artifact was written with.
    pub format_version: u32,
    /// Length of the metadata, which starts at [`PREAMBLE_SIZE`].
    pub metadata_len: u64,
    /// Offset of the text section, a multiple of [`TEXT_ALIGN`].
    pub text_offset: u64,
    /// Length of the text section.
    pub text_len: u64,
    /// Length of the bulk, which follows the metadata.
    pub bulk_len: u64,
    /// [`checksum`] of the first [`CHECKSUMMED_PREAMBLE`] bytes followed by
    /// the metadata.
    pub checksum: [u8; 32],
}

/// An artifact is not one, or was damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// The magic number is missing.
    #[error("not a Hayate precompiled module (bad magic number)")]
    BadMagic,
    /// Written by a Hayate with another artifact format.
    #[error(
        "precompiled module has format version {found}, this Hayate reads version {FORMAT_VERSION}"
    )]
    FormatVersion {
        /// The artifact's format version.
        found: u32,
    },
    /// Sizes and offsets do not fit together or in the file.
    #[error("precompiled module is truncated or damaged: {0}")]
    Layout(String),
    /// The checksum does not match.
    #[error("precompiled module is damaged: its checksum does not match")]
    Checksum,
    /// The metadata does not decode or is inconsistent.
    #[error("precompiled module is damaged: {0}")]
    Metadata(#[from] DecodeError),
}

impl Preamble {
    /// The preamble's bytes.
    pub fn to_bytes(&self) -> [u8; PREAMBLE_SIZE] {
        let mut b = [0u8; PREAMBLE_SIZE];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.format_version.to_le_bytes());
        b[16..24].copy_from_slice(&self.metadata_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.text_offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.text_len.to_le_bytes());
        b[40..48].copy_from_slice(&self.bulk_len.to_le_bytes());
        b[48..80].copy_from_slice(&self.checksum);
        b
    }

    /// Parses and checks the preamble of an artifact of `file_len` bytes
    /// (the checksum, over the metadata too, is [`checksum`]'s to check).
    pub fn parse(bytes: &[u8], file_len: u64) -> Result<Preamble, ArtifactError> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(ArtifactError::BadMagic);
        }
        if bytes.len() < PREAMBLE_SIZE {
            return Err(ArtifactError::Layout(format!(
                "{} bytes are shorter than the {PREAMBLE_SIZE}-byte preamble",
                bytes.len()
            )));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let format_version = u32_at(8);
        if format_version != FORMAT_VERSION {
            return Err(ArtifactError::FormatVersion {
                found: format_version,
            });
        }
        let p = Preamble {
            format_version,
            metadata_len: u64_at(16),
            text_offset: u64_at(24),
            text_len: u64_at(32),
            bulk_len: u64_at(40),
            checksum: bytes[48..80].try_into().unwrap(),
        };
        let bulk_end = (PREAMBLE_SIZE as u64)
            .checked_add(p.metadata_len)
            .and_then(|end| end.checked_add(p.bulk_len));
        let text_end = p.text_offset.checked_add(p.text_len);
        let ok = u32_at(12) == 0
            && p.text_offset.is_multiple_of(TEXT_ALIGN as u64)
            && bulk_end.is_some_and(|end| end <= p.text_offset)
            && text_end == Some(file_len);
        if !ok {
            return Err(ArtifactError::Layout(format!(
                "metadata of {} bytes, bulk of {} bytes and text of {} bytes at {} do not fit a file of {file_len} bytes",
                p.metadata_len, p.bulk_len, p.text_len, p.text_offset
            )));
        }
        Ok(p)
    }

    /// Offset of the bulk in the file.
    pub fn bulk_offset(&self) -> usize {
        PREAMBLE_SIZE + self.metadata_len as usize
    }

    /// Offset of the image section: after the bulk, aligned.
    pub fn images_offset(&self) -> u64 {
        images_offset_for(self.metadata_len as usize, self.bulk_len as usize) as u64
    }
}

/// Offset of the image section for `metadata_len` bytes of metadata and
/// `bulk_len` bytes of bulk; the text follows the images.
pub fn images_offset_for(metadata_len: usize, bulk_len: usize) -> usize {
    (PREAMBLE_SIZE + metadata_len + bulk_len).next_multiple_of(TEXT_ALIGN)
}

/// What an artifact was compiled for. A loader refuses an artifact whose
/// header does not match its own engine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactHeader {
    /// The Hayate version (and build) that wrote the artifact.
    pub hayate_version: String,
    /// The target triple of the code.
    pub target: String,
    /// The compiler's fingerprint: backend and version, target, CPU
    /// features and every code generator setting
    /// ([`Compiler::fingerprint`](crate::Compiler::fingerprint)); empty
    /// for an engine without a compiler.
    pub compiler_fingerprint: String,
    /// The CPU features the code may use, as `(flag, value)` pairs
    /// ([`Compiler::isa_flags`](crate::Compiler::isa_flags)), so a loader
    /// without a compiler can check them against the host.
    pub isa_flags: Vec<(String, String)>,
    /// The WebAssembly features the module was validated with
    /// (`WasmFeatures::bits`).
    pub wasm_features: u64,
    /// The settings the code depends on.
    pub tunables: Tunables,
}

impl Encode for ArtifactHeader {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.hayate_version)
            .put(&self.target)
            .put(&self.compiler_fingerprint)
            .put(&self.isa_flags)
            .put(&self.wasm_features)
            .put(&self.tunables.bounds_checks.guard_pages())
            .put(&self.tunables.consume_fuel)
            .put(&self.tunables.epoch_interruption)
            .put(&self.tunables.lazy_compilation);
    }
}

impl Decode for ArtifactHeader {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ArtifactHeader {
            hayate_version: d.get()?,
            target: d.get()?,
            compiler_fingerprint: d.get()?,
            isa_flags: d.get()?,
            wasm_features: d.get()?,
            tunables: Tunables {
                bounds_checks: if d.get()? {
                    BoundsChecks::GuardPages
                } else {
                    BoundsChecks::Explicit
                },
                consume_fuel: d.get()?,
                epoch_interruption: d.get()?,
                lazy_compilation: d.get()?,
            },
        })
    }
}

impl ArtifactHeader {
    /// What differs between the artifact's header `self` and the header
    /// `host` the loading engine would write, one line per difference.
    /// Fingerprints are compared only if `host` has one (an engine without
    /// a compiler cannot compute it).
    pub fn differences(&self, host: &ArtifactHeader) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, artifact: String, engine: String| {
            if artifact != engine {
                out.push(format!(
                    "{name}: the module has `{artifact}`, this engine has `{engine}`"
                ));
            }
        };
        field(
            "Hayate version",
            self.hayate_version.clone(),
            host.hayate_version.clone(),
        );
        field("target", self.target.clone(), host.target.clone());
        field(
            "WebAssembly features",
            format!("{:#x}", self.wasm_features),
            format!("{:#x}", host.wasm_features),
        );
        let checks = |c: BoundsChecks| match c {
            BoundsChecks::GuardPages => "guard pages",
            BoundsChecks::Explicit => "explicit",
        };
        field(
            "bounds checks",
            checks(self.tunables.bounds_checks).into(),
            checks(host.tunables.bounds_checks).into(),
        );
        field(
            "fuel",
            self.tunables.consume_fuel.to_string(),
            host.tunables.consume_fuel.to_string(),
        );
        field(
            "epoch interruption",
            self.tunables.epoch_interruption.to_string(),
            host.tunables.epoch_interruption.to_string(),
        );
        field(
            "lazy compilation",
            self.tunables.lazy_compilation.to_string(),
            host.tunables.lazy_compilation.to_string(),
        );
        if !host.compiler_fingerprint.is_empty()
            && self.compiler_fingerprint != host.compiler_fingerprint
        {
            let mine: Vec<&str> = self.compiler_fingerprint.lines().collect();
            let theirs: Vec<&str> = host.compiler_fingerprint.lines().collect();
            let mut s = String::from("code generator settings:");
            for l in mine.iter().filter(|l| !theirs.contains(l)) {
                let _ = write!(s, " module has `{l}`;");
            }
            for l in theirs.iter().filter(|l| !mine.contains(l)) {
                let _ = write!(s, " engine has `{l}`;");
            }
            out.push(s.trim_end_matches(';').to_string());
        }
        out
    }
}

/// Encodes the metadata of an artifact (header, module, compiled metadata,
/// image placements) and its bulk: `(metadata, bulk)`.
pub fn encode_metadata(
    header: &ArtifactHeader,
    info: &ModuleInfo,
    compiled: &CompiledModule,
    images: &[ImagePlacement],
) -> (Vec<u8>, Vec<u8>) {
    let mut e = Encoder::new();
    e.put(header).put(info).put(compiled).put(images);
    (e.bytes, e.bulk)
}

impl Encode for ImagePlacement {
    fn encode(&self, e: &mut Encoder) {
        e.put(&self.memory.as_u32())
            .put(&self.memory_offset)
            .put(&self.section_offset)
            .put(&self.len);
    }
}

impl Decode for ImagePlacement {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ImagePlacement {
            memory: DefinedMemoryIndex::from_u32(d.get()?),
            memory_offset: d.get()?,
            section_offset: d.get()?,
            len: d.get()?,
        })
    }
}

/// A decoded artifact's module: what [`decode_module`] returns.
#[derive(Debug)]
pub struct DecodedModule {
    /// The module's description.
    pub info: ModuleInfo,
    /// Its compiled code's metadata (without the text).
    pub compiled: CompiledModule,
    /// Where its memory images lie.
    pub images: Vec<ImagePlacement>,
}

/// Decodes the header at the start of the metadata, leaving `d` after it.
pub fn decode_header(d: &mut Decoder<'_>) -> Result<ArtifactHeader, DecodeError> {
    d.get()
}

/// Decodes the module, compiled metadata and image placements following
/// the header, and checks that they are consistent (indices in range,
/// constant expressions well formed, each image where the module's
/// segments put it and inside an image section of `images_len` bytes), so
/// that a damaged artifact fails here rather than panicking later.
pub fn decode_module(d: &mut Decoder<'_>, images_len: u64) -> Result<DecodedModule, DecodeError> {
    let info: ModuleInfo = d.get()?;
    let compiled: CompiledModule = d.get()?;
    let images: Vec<ImagePlacement> = d.get()?;
    d.finish()?;
    check_module(&info, &compiled).map_err(|m| d.error(m))?;
    check_images(&info, &images, images_len).map_err(|m| d.error(m))?;
    Ok(DecodedModule {
        info,
        compiled,
        images,
    })
}

/// The length of the image section the placements `images` need.
pub fn images_len(images: &[ImagePlacement]) -> u64 {
    images
        .iter()
        .map(|i| i.section_offset + i.len)
        .max()
        .unwrap_or(0)
}

fn check_images(info: &ModuleInfo, images: &[ImagePlacement], section: u64) -> Result<(), String> {
    let align = TEXT_ALIGN as u64;
    let mut seen = vec![false; info.num_defined_memories() as usize];
    for image in images {
        let def = image.memory.index();
        if seen.get(def).copied() != Some(false) {
            return Err(format!(
                "image for {:?} out of range or repeated",
                image.memory
            ));
        }
        seen[def] = true;
        let expected = info
            .image_range(info.memory_index(image.memory), TEXT_ALIGN)
            .map(|(start, len)| (start as u64, len as u64));
        let in_section = image
            .section_offset
            .checked_add(image.len)
            .is_some_and(|end| end <= section);
        if expected != Some((image.memory_offset, image.len))
            || !image.section_offset.is_multiple_of(align)
            || !in_section
        {
            return Err(format!(
                "image of {:?} does not lie where the module's segments put it",
                image.memory
            ));
        }
    }
    Ok(())
}

/// Checks that recursion groups partition the type section and that every
/// concrete type a type, global or table names is a type of the module.
fn check_types(info: &ModuleInfo) -> Result<(), String> {
    let starts = info.rec_groups.iter().map(|t| t.as_u32());
    let mut expected_first = 0;
    for (i, start) in starts.enumerate() {
        if (i == 0 && start != 0) || (i > 0 && start < expected_first) {
            return Err("recursion groups out of order".into());
        }
        expected_first = start + 1;
    }
    if (!info.types.is_empty() && info.rec_groups.is_empty())
        || info
            .rec_groups
            .last()
            .is_some_and(|t| t.index() >= info.types.len())
    {
        return Err("recursion groups do not cover the types".into());
    }
    let mut bad = None;
    let mut check = |r: TypeRef| {
        if !matches!(r, TypeRef::Module(t) if info.types.is_valid(t)) {
            bad = Some(r);
        }
        r
    };
    for t in info.types.values() {
        t.map_concrete(&mut check);
    }
    for g in info.globals.values() {
        g.content.map_concrete(&mut check);
    }
    for t in info.tables.values() {
        t.element.map_concrete(&mut check);
    }
    for e in info.elements.values() {
        if let ElemItems::Expressions(ty, _) = &e.items {
            ty.map_concrete(&mut check);
        }
    }
    match bad {
        Some(r) => Err(format!("type reference {r} out of range")),
        None => Ok(()),
    }
}

fn check_module(info: &ModuleInfo, compiled: &CompiledModule) -> Result<(), String> {
    let n = |v: usize| v as u64;
    let counts = [
        (info.num_imported_funcs, info.functions.len(), "functions"),
        (info.num_imported_tables, info.tables.len(), "tables"),
        (info.num_imported_memories, info.memories.len(), "memories"),
        (info.num_imported_globals, info.globals.len(), "globals"),
        (info.num_imported_tags, info.tags.len(), "tags"),
    ];
    for (imported, total, what) in counts {
        if u64::from(imported) > n(total) || total > u32::MAX as usize {
            return Err(format!("{imported} imported {what} but {total} in all"));
        }
    }
    if let Some(t) = info
        .functions
        .values()
        .find(|t| info.types.get(**t).and_then(|t| t.as_func()).is_none())
    {
        return Err(format!("function of type {t} out of range"));
    }
    check_types(info)?;
    if let Some(t) = info
        .tags
        .values()
        .find(|t| info.types.get(**t).and_then(|t| t.as_func()).is_none())
    {
        return Err(format!("tag of type {t} out of range"));
    }
    if n(info.global_inits.len()) != u64::from(info.num_defined_globals())
        || n(info.table_inits.len()) != u64::from(info.num_defined_tables())
        || info.escaping_funcs.len() != info.functions.len()
        || info.function_bodies.len() > info.functions.len()
        || n(compiled.functions.len()) != u64::from(info.num_defined_funcs())
        || compiled.array_to_wasm_trampolines.len() > compiled.functions.len()
        || compiled.wasm_to_array_trampolines.len() != info.types.len()
    {
        return Err("per-entity lists have inconsistent lengths".into());
    }
    let entity_ok = |e: EntityIndex| match e {
        EntityIndex::Function(i) => info.functions.is_valid(i),
        EntityIndex::Table(i) => info.tables.is_valid(i),
        EntityIndex::Memory(i) => info.memories.is_valid(i),
        EntityIndex::Global(i) => info.globals.is_valid(i),
        EntityIndex::Tag(i) => info.tags.is_valid(i),
    };
    let imports = info.imports.iter().map(|i| i.index);
    if let Some(e) = imports
        .chain(info.exports.iter().map(|e| e.index))
        .find(|e| !entity_ok(*e))
    {
        return Err(format!("import or export of {e:?} out of range"));
    }
    if info.start.is_some_and(|s| !info.functions.is_valid(s)) {
        return Err("start function out of range".into());
    }
    let check_expr = |e: &ConstExpr| check_const_expr(e, info);
    info.global_inits.values().try_for_each(check_expr)?;
    info.table_inits
        .values()
        .flatten()
        .try_for_each(check_expr)?;
    for d in info.data.values() {
        if let DataSegmentKind::Active { memory, offset } = &d.kind {
            if !info.memories.is_valid(*memory) {
                return Err(format!("data segment for {memory} out of range"));
            }
            check_expr(offset)?;
        }
    }
    for e in info.elements.values() {
        if let ElemSegmentKind::Active { table, offset } = &e.kind {
            if !info.tables.is_valid(*table) {
                return Err(format!("element segment for {table} out of range"));
            }
            check_expr(offset)?;
        }
        match &e.items {
            ElemItems::Functions(f) => {
                if f.iter().any(|f| !info.functions.is_valid(*f)) {
                    return Err("element segment function out of range".into());
                }
            }
            ElemItems::Expressions(_, exprs) => exprs.iter().try_for_each(check_expr)?,
        }
    }
    Ok(())
}

/// Checks that `expr` references existing entities and leaves exactly one
/// value when evaluated.
fn check_const_expr(expr: &ConstExpr, info: &ModuleInfo) -> Result<(), String> {
    let mut depth = 0usize;
    for op in expr.ops() {
        match op {
            ConstOp::GlobalGet(g) if !info.globals.is_valid(*g) => {
                return Err(format!("constant expression reads {g} out of range"));
            }
            ConstOp::RefFunc(f) if !info.functions.is_valid(*f) => {
                return Err(format!("constant expression references {f} out of range"));
            }
            ConstOp::I32Add
            | ConstOp::I32Sub
            | ConstOp::I32Mul
            | ConstOp::I64Add
            | ConstOp::I64Sub
            | ConstOp::I64Mul => {
                depth = depth
                    .checked_sub(1)
                    .filter(|d| *d >= 1)
                    .ok_or("constant expression pops an empty stack")?;
            }
            ConstOp::StructNew(t)
            | ConstOp::StructNewDefault(t)
            | ConstOp::ArrayNew(t)
            | ConstOp::ArrayNewDefault(t)
            | ConstOp::ArrayNewFixed(t, _) => {
                let ty = info.types.get(*t);
                let pops = match op {
                    ConstOp::StructNew(_) => ty.and_then(|t| t.as_struct()).map(|s| s.fields.len()),
                    ConstOp::StructNewDefault(_) => ty.and_then(|t| t.as_struct()).map(|_| 0),
                    ConstOp::ArrayNew(_) => ty.and_then(|t| t.as_array()).map(|_| 2),
                    ConstOp::ArrayNewDefault(_) => ty.and_then(|t| t.as_array()).map(|_| 1),
                    ConstOp::ArrayNewFixed(_, n) => {
                        ty.and_then(|t| t.as_array()).map(|_| *n as usize)
                    }
                    _ => None,
                }
                .ok_or("constant expression allocates a type out of range")?;
                depth = depth
                    .checked_sub(pops)
                    .ok_or("constant expression pops an empty stack")?
                    + 1;
            }
            ConstOp::RefI31 | ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => {
                if depth == 0 {
                    return Err("constant expression pops an empty stack".into());
                }
            }
            _ => depth += 1,
        }
    }
    if depth != 1 {
        return Err("constant expression does not leave one value".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (ModuleInfo, CompiledModule) {
        let wasm = wat::parse_str(
            r#"(module $m
                (import "env" "f" (func $f (param i32) (result i64)))
                (import "env" "g" (global $g i32))
                (memory 1 2) (table 3 funcref)
                (global (mut f64) (f64.const 1.5))
                (global i32 (global.get $g))
                (func $h (export "h") (param v128) (result externref) ref.null extern)
                (elem (i32.const 0) $h $f)
                (elem funcref (ref.func $h) (ref.null func))
                (data (i32.const 8) "hello")
                (data "passive")
                (start $s) (func $s))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm, crate::features_for(None)).unwrap();
        let compiled = CompiledModule {
            text: Vec::new(),
            functions: vec![
                crate::CompiledFunction {
                    loc: crate::FunctionLoc {
                        start: 0,
                        length: 16,
                    },
                    address_map: crate::AddressMap::from_pairs(&[(0, 40), (4, 44)]),
                    inline_map: crate::InlineMap::from_ranges(&[crate::InlinedRange {
                        start: 2,
                        end: 9,
                        depth: 0,
                        callee: crate::DefinedFuncIndex::from_u32(1),
                        call_offset: 42,
                    }]),
                    guard_page_faults: true,
                };
                2
            ]
            .into(),
            array_to_wasm_trampolines: vec![Some(crate::FunctionLoc::default()), None].into(),
            wasm_to_array_trampolines: vec![crate::FunctionLoc::default(); info.types.len()].into(),
            call_adapters: vec![crate::FunctionLoc {
                start: 16,
                length: 8,
            }],
            traps: crate::TrapTable::from_pairs(vec![(3, crate::Trap::MemoryOutOfBounds)]),
            relocations: vec![crate::Relocation {
                offset: 8,
                target: crate::FloatLibcall::FmaF64,
                addend: -4,
            }],
            exceptions: crate::exception_table::ExceptionTable::new(vec![
                crate::exception_table::ExceptionSite {
                    ret_addr: 9,
                    frame_offset: 48,
                    vmctx_sp_offset: 16,
                    handlers: vec![crate::exception_table::ExceptionHandler {
                        tag: None,
                        target: 12,
                    }],
                },
            ]),
            stack_maps: crate::stack_maps::StackMaps::new(vec![crate::stack_maps::StackMapSite {
                ret_addr: 9,
                frame_size: 48,
                slots: vec![8, 24],
            }]),
        };
        (info, compiled)
    }

    #[test]
    fn metadata_round_trips() {
        let (info, compiled) = sample();
        let header = ArtifactHeader {
            hayate_version: "1.2.3".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            compiler_fingerprint: "a\n[isa]\nhas_avx=1\nhas_sse41=0\n[hayate]\nx=1\n".into(),
            isa_flags: vec![
                ("has_avx".into(), "1".into()),
                ("has_sse41".into(), "0".into()),
            ],
            wasm_features: 0x1234,
            tunables: Tunables {
                bounds_checks: BoundsChecks::GuardPages,
                consume_fuel: false,
                epoch_interruption: true,
                lazy_compilation: true,
            },
        };
        let images = sample_images(&info);
        let section = images_len(&images);
        let (bytes, bulk) = encode_metadata(&header, &info, &compiled, &images);
        assert!(
            bulk.windows(5).any(|w| w == b"hello"),
            "data is in the bulk"
        );
        // Copied out of the bulk, and sliced out of a shared owner.
        let owner: crate::ByteOwner = std::sync::Arc::new([bytes.clone(), bulk.clone()].concat());
        let shared = Decoder::with_shared_bulk(&bytes, &owner, bytes.len()..owner_len(&owner));
        for mut d in [Decoder::with_bulk(&bytes, &bulk), shared.unwrap()] {
            assert_eq!(decode_header(&mut d).unwrap(), header);
            let m = decode_module(&mut d, section).unwrap();
            assert_eq!(m.images, images);
            // Re-encoding gives the same bytes: every field made the trip.
            let again = encode_metadata(&header, &m.info, &m.compiled, &m.images);
            assert_eq!(again, (bytes.clone(), bulk.clone()));
            assert_eq!(m.info.func_names, info.func_names);
        }
        // Without the bulk, its references do not decode.
        let mut d = Decoder::new(&bytes);
        decode_header(&mut d).unwrap();
        assert!(decode_module(&mut d, section).is_err());
    }

    fn owner_len(owner: &crate::ByteOwner) -> usize {
        (**owner).as_ref().len()
    }

    fn sample_images(info: &ModuleInfo) -> Vec<ImagePlacement> {
        let images: Vec<_> = crate::image::artifact_images(info, TEXT_ALIGN)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(images.len(), 1);
        images
    }

    #[test]
    fn damaged_metadata_is_an_error_not_a_panic() {
        let (info, compiled) = sample();
        let images = sample_images(&info);
        let section = images_len(&images);
        let (bytes, bulk) = encode_metadata(&ArtifactHeader::default(), &info, &compiled, &images);
        for cut in 0..bytes.len() {
            let mut d = Decoder::with_bulk(&bytes[..cut], &bulk);
            let r = decode_header(&mut d).and_then(|_| decode_module(&mut d, section));
            assert!(r.is_err(), "truncated at {cut}");
        }
        for cut in 0..bulk.len() {
            let mut d = Decoder::with_bulk(&bytes, &bulk[..cut]);
            let r = decode_header(&mut d).and_then(|_| decode_module(&mut d, section));
            assert!(r.is_err(), "bulk truncated at {cut}");
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0xff;
            let mut d = Decoder::with_bulk(&b, &bulk);
            // Must not panic; may or may not decode.
            let _ = decode_header(&mut d).and_then(|_| decode_module(&mut d, section));
        }
    }

    #[test]
    fn images_must_lie_where_the_segments_put_them() {
        let (info, compiled) = sample();
        let good = sample_images(&info);
        let section = images_len(&good);
        let header = ArtifactHeader::default();
        let decode = |images: &[ImagePlacement], section: u64| {
            let (bytes, bulk) = encode_metadata(&header, &info, &compiled, images);
            let mut d = Decoder::with_bulk(&bytes, &bulk);
            decode_header(&mut d).unwrap();
            decode_module(&mut d, section).map(|_| ())
        };
        decode(&good, section).unwrap();
        decode(&[], 0).unwrap();
        let g = good[0];
        let bad = [
            ImagePlacement {
                memory_offset: g.memory_offset + TEXT_ALIGN as u64,
                ..g
            },
            ImagePlacement {
                len: g.len * 2,
                ..g
            },
            ImagePlacement {
                section_offset: 4096,
                ..g
            },
            ImagePlacement {
                memory: DefinedMemoryIndex::from_u32(1),
                ..g
            },
        ];
        for image in bad {
            assert!(decode(&[image], section * 4).is_err(), "{image:?}");
        }
        assert!(decode(&[g, g], section).is_err(), "the same memory twice");
        assert!(decode(&good, section - 1).is_err(), "past the section");
    }

    #[test]
    fn preamble_checks_layout() {
        let p = Preamble {
            format_version: FORMAT_VERSION,
            metadata_len: 100,
            text_offset: TEXT_ALIGN as u64,
            text_len: 10,
            bulk_len: 20,
            checksum: [7; 32],
        };
        let b = p.to_bytes();
        assert_eq!(Preamble::parse(&b, TEXT_ALIGN as u64 + 10), Ok(p));
        assert!(matches!(
            Preamble::parse(&b, TEXT_ALIGN as u64 + 9),
            Err(ArtifactError::Layout(_))
        ));
        assert_eq!(Preamble::parse(b"garbage", 7), Err(ArtifactError::BadMagic));
        let mut v = b;
        v[8] = 99;
        assert!(matches!(
            Preamble::parse(&v, TEXT_ALIGN as u64 + 10),
            Err(ArtifactError::FormatVersion { found: 99 })
        ));
        let mut long_bulk = p;
        long_bulk.bulk_len = TEXT_ALIGN as u64;
        assert!(matches!(
            Preamble::parse(&long_bulk.to_bytes(), TEXT_ALIGN as u64 + 10),
            Err(ArtifactError::Layout(_))
        ));
        assert_eq!(images_offset_for(0, 0), TEXT_ALIGN);
        assert_eq!(p.images_offset(), TEXT_ALIGN as u64);
    }

    #[test]
    fn differences_name_each_field() {
        let a = ArtifactHeader {
            hayate_version: "1".into(),
            target: "x86_64".into(),
            compiler_fingerprint: "t\nhas_avx=1\n".into(),
            tunables: Tunables {
                bounds_checks: BoundsChecks::GuardPages,
                ..Default::default()
            },
            ..Default::default()
        };
        let b = ArtifactHeader {
            target: "aarch64".into(),
            compiler_fingerprint: "t\nhas_avx=0\n".into(),
            tunables: Tunables {
                bounds_checks: BoundsChecks::Explicit,
                ..Default::default()
            },
            ..a.clone()
        };
        let d = a.differences(&b);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].contains("target") && d[0].contains("aarch64"));
        assert!(d[1].contains("bounds checks"));
        assert!(d[2].contains("has_avx=1") && d[2].contains("has_avx=0"));
        let no_compiler = ArtifactHeader {
            compiler_fingerprint: String::new(),
            ..a.clone()
        };
        assert!(a.differences(&no_compiler).is_empty());
    }
}
