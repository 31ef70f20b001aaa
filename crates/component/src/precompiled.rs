//! The precompiled component format: the component's binary with the
//! precompiled artifact of each of its core modules, in the order the
//! binary has them. Loading it validates the component as usual and takes
//! each core module from its artifact (whose own header and checksum
//! `hayate::Module` checks), so nothing is compiled.
//!
//! ```text
//! MAGIC  u32 count  (u64 length, artifact) * count  u64 length, component
//! ```
//! Integers are little-endian. A truncated or malformed file is an error.

use anyhow::{Context, Result, ensure};

/// The first bytes of a precompiled component.
pub(crate) const MAGIC: &[u8] = b"\0hayate-component-v1\0";

/// A precompiled component of the `component` binary and the core
/// modules' `artifacts`.
pub(crate) fn join(component: &[u8], artifacts: &[Vec<u8>]) -> Vec<u8> {
    let total = artifacts.iter().map(|a| a.len() + 8).sum::<usize>() + component.len();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(artifacts.len() as u32).to_le_bytes());
    for a in artifacts.iter().map(Vec::as_slice).chain([component]) {
        out.extend_from_slice(&(a.len() as u64).to_le_bytes());
        out.extend_from_slice(a);
    }
    out
}

/// A component's binary and its core modules' artifacts.
pub(crate) type Parts<'a> = (&'a [u8], Vec<&'a [u8]>);

/// Splits a precompiled component into the component's binary and its
/// core modules' artifacts; `None` if `bytes` is not one.
pub(crate) fn split(bytes: &[u8]) -> Result<Option<Parts<'_>>> {
    let Some(mut rest) = bytes.strip_prefix(MAGIC) else {
        return Ok(None);
    };
    let mut take = |n: usize| -> Result<&[u8]> {
        ensure!(rest.len() >= n, "the precompiled component is truncated");
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let mut artifacts = Vec::new();
    for _ in 0..count {
        let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        artifacts.push(take(
            usize::try_from(len).context("an artifact too large")?,
        )?);
    }
    let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let component = take(usize::try_from(len).context("a component too large")?)?;
    Ok(Some((component, artifacts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_split_round_trip_and_truncation_is_an_error() {
        let bytes = join(b"COMP", &[b"aa".to_vec(), b"bbb".to_vec()]);
        let (component, artifacts) = split(&bytes).unwrap().unwrap();
        assert_eq!(component, b"COMP");
        assert_eq!(artifacts, [&b"aa"[..], &b"bbb"[..]]);
        for cut in MAGIC.len()..bytes.len() {
            assert!(split(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(split(b"\0asm").unwrap().is_none());
        // A count far beyond the bytes fails without allocating for it.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(split(&huge).is_err());
    }
}
