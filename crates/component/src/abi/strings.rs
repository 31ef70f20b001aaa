//! Canonical-ABI strings: lifting a `(pointer, code units)` pair in the
//! `utf8`, `utf16` or `latin1+utf16` encoding (validating it), and
//! lowering a host string into guest memory with the spec's `realloc`
//! sequence for each encoding. Host strings are UTF-8, so lowering is the
//! spec's transcoding from a `utf8` source.

use anyhow::{Context as _, Result, bail, ensure};

use super::{
    Memory, StringEncoding, allocate, byte_range, byte_size, check_aligned, offset, read_slice,
    reallocate, write,
};

/// The bit of a `latin1+utf16` length that marks UTF-16.
const UTF16_TAG: u32 = 1 << 31;
/// The largest byte length of a string that can be lifted.
const MAX_STRING_BYTE_LENGTH: u64 = (1 << 28) - 1;

/// The encoding of one lifted string's bytes.
#[derive(Clone, Copy)]
enum Encoding {
    Utf8,
    Utf16,
    Latin1,
}

/// Lifts the string of `tagged_len` code units at `ptr`.
pub(crate) fn load(
    mem: &dyn Memory,
    enc: StringEncoding,
    ptr: u32,
    tagged_len: u32,
) -> Result<String> {
    let len = u64::from(tagged_len);
    let (encoding, byte_len, align) = match enc {
        StringEncoding::Utf8 => (Encoding::Utf8, len, 1),
        StringEncoding::Utf16 => (Encoding::Utf16, 2 * len, 2),
        StringEncoding::CompactUtf16 if tagged_len & UTF16_TAG != 0 => {
            (Encoding::Utf16, 2 * u64::from(tagged_len ^ UTF16_TAG), 2)
        }
        StringEncoding::CompactUtf16 => (Encoding::Latin1, len, 2),
    };
    ensure!(
        byte_len <= MAX_STRING_BYTE_LENGTH,
        "string of {byte_len} bytes is too long"
    );
    check_aligned(ptr, align)?;
    let bytes = read_slice(mem, ptr, byte_len)?;
    mem.charge(byte_len)?;
    match encoding {
        Encoding::Utf8 => Ok(std::str::from_utf8(bytes)
            .context("invalid UTF-8 string")?
            .to_owned()),
        Encoding::Utf16 => decode_utf16(bytes),
        Encoding::Latin1 => Ok(bytes.iter().copied().map(char::from).collect()),
    }
}

/// Decodes little-endian UTF-16, rejecting lone surrogates.
fn decode_utf16(bytes: &[u8]) -> Result<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    match char::decode_utf16(units).collect::<Result<String, _>>() {
        Ok(s) => Ok(s),
        Err(e) => bail!(
            "invalid UTF-16 string: lone surrogate {:#x}",
            e.unpaired_surrogate()
        ),
    }
}

/// Lowers `s` into newly allocated guest memory, returning its pointer
/// and (tagged) length in code units.
pub(crate) fn store(mem: &mut dyn Memory, enc: StringEncoding, s: &str) -> Result<(u32, u32)> {
    let units = byte_size(s.len() as u64, 1).context("string too long")?;
    match enc {
        StringEncoding::Utf8 => store_utf8(mem, s, units),
        StringEncoding::Utf16 => store_utf16(mem, s, units),
        StringEncoding::CompactUtf16 => store_latin1_or_utf16(mem, s, units),
    }
}

/// The little-endian UTF-16 encoding of `s`.
fn encode_utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Copies UTF-8 as is (the spec's `store_string_copy`).
fn store_utf8(mem: &mut dyn Memory, s: &str, units: u32) -> Result<(u32, u32)> {
    let ptr = allocate(mem, 1, units)?;
    write(mem, ptr, s.as_bytes())?;
    Ok((ptr, units))
}

/// Transcodes to UTF-16 into a worst-case allocation, then shrinks it
/// (the spec's `store_utf8_to_utf16`).
fn store_utf16(mem: &mut dyn Memory, s: &str, units: u32) -> Result<(u32, u32)> {
    let worst = byte_size(units.into(), 2)?;
    let ptr = allocate(mem, 2, worst)?;
    let encoded = encode_utf16(s);
    write(mem, ptr, &encoded)?;
    let len = byte_size(encoded.len() as u64, 1)?;
    let ptr = if len < worst {
        reallocate(mem, ptr, worst, 2, len)?
    } else {
        ptr
    };
    Ok((ptr, len / 2))
}

/// Writes Latin-1 while every character fits, else inflates what was
/// written to UTF-16 in place and finishes in UTF-16 (the spec's
/// `store_string_to_latin1_or_utf16`).
fn store_latin1_or_utf16(mem: &mut dyn Memory, s: &str, units: u32) -> Result<(u32, u32)> {
    let mut ptr = allocate(mem, 2, units)?;
    let mut written = 0u32;
    for (at, c) in s.char_indices() {
        match u8::try_from(c) {
            Ok(byte) => {
                write(mem, offset(ptr, written.into())?, &[byte])?;
                written += 1;
            }
            Err(_) => return finish_utf16(mem, ptr, units, written, &s[at..]),
        }
    }
    if written < units {
        ptr = reallocate(mem, ptr, units, 2, written)?;
    }
    ensure!(written < UTF16_TAG, "string too long");
    Ok((ptr, written))
}

/// Switches a `latin1+utf16` lowering to UTF-16 after `written` Latin-1
/// bytes at `ptr` (an allocation of `units` bytes); `rest` is the string
/// from the first non-Latin-1 character on.
fn finish_utf16(
    mem: &mut dyn Memory,
    ptr: u32,
    units: u32,
    written: u32,
    rest: &str,
) -> Result<(u32, u32)> {
    let worst = byte_size(units.into(), 2)?;
    let ptr = reallocate(mem, ptr, units, 2, worst)?;
    inflate_latin1(mem, ptr, written)?;
    let tail = encode_utf16(rest);
    write(mem, offset(ptr, 2 * u64::from(written))?, &tail)?;
    let len = byte_size(2 * u64::from(written) + tail.len() as u64, 1)?;
    let ptr = if len < worst {
        reallocate(mem, ptr, worst, 2, len)?
    } else {
        ptr
    };
    let code_units = len / 2;
    ensure!(code_units < UTF16_TAG, "string too long");
    Ok((ptr, code_units | UTF16_TAG))
}

/// Widens the `n` Latin-1 bytes at `ptr` to UTF-16 in place, back to front.
fn inflate_latin1(mem: &mut dyn Memory, ptr: u32, n: u32) -> Result<()> {
    let range = byte_range(mem, ptr, 2 * u64::from(n))?;
    let Some(bytes) = mem.bytes_mut().get_mut(range) else {
        bail!("out of bounds");
    };
    for j in (0..n as usize).rev() {
        bytes[2 * j] = bytes[j];
        bytes[2 * j + 1] = 0;
    }
    Ok(())
}
