//! A compiled function's address map: which Wasm instruction each piece
//! of machine code came from, for backtraces. CPython has 1.5 million
//! entries; kept as `(u32, u32)` pairs they were 12 MB of every artifact,
//! read and decoded entry by entry at each load although only a trap's
//! backtrace ever looks at them. Here they are delta-encoded (LEB128 of the
//! code offset's increase, then of the Wasm offset's change, zigzag), about
//! three bytes a pair, and load as one copy of bytes.

use crate::bytes::SharedBytes;

/// Pairs of (code offset from the function's start, byte offset of the
/// Wasm instruction in the module), sorted by code offset. Wasm offset 0,
/// where no instruction is, marks code of no known instruction (the LLVM
/// tier's instructions made of two with different offsets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMap {
    bytes: SharedBytes,
}

pub(crate) fn put_leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The LEB128 number at `bytes[*at..]`, or `None` at the end or on a
/// malformed (over-long) one.
pub(crate) fn get_leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl AddressMap {
    /// The Wasm offset of a call whose callee's frame stands for the
    /// caller's Wasm frame (the LLVM tier's call of a checked copy of the
    /// same function): a backtrace leaves the caller's innermost frame out
    /// at that call. No Wasm instruction has this offset (a module is
    /// smaller than 4 GiB).
    pub const CONTINUED_IN_CALLEE: u32 = u32::MAX;

    /// The map of `pairs` (code offset, Wasm offset), in any order: they
    /// are sorted by code offset (stably).
    pub fn from_pairs(pairs: &[(u32, u32)]) -> AddressMap {
        let mut sorted = pairs.to_vec();
        sorted.sort_by_key(|(code, _)| *code);
        let mut bytes = Vec::with_capacity(sorted.len() * 3);
        let (mut code, mut wasm) = (0u32, 0u32);
        for (c, w) in sorted {
            put_leb(&mut bytes, u64::from(c - code));
            let change = i64::from(w) - i64::from(wasm);
            put_leb(&mut bytes, ((change << 1) ^ (change >> 63)) as u64);
            (code, wasm) = (c, w);
        }
        AddressMap {
            bytes: SharedBytes::from(bytes),
        }
    }

    /// A map from its encoded bytes (as [`AddressMap::as_bytes`] gave
    /// them). Bytes that do not decode end the map where they start.
    pub fn from_bytes(bytes: SharedBytes) -> AddressMap {
        AddressMap { bytes }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &SharedBytes {
        &self.bytes
    }

    /// The pairs, by code offset.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut at = 0;
        let (mut code, mut wasm) = (0u32, 0u32);
        std::iter::from_fn(move || {
            let step = get_leb(&self.bytes, &mut at)?;
            let zigzag = get_leb(&self.bytes, &mut at)?;
            let change = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
            code = code.wrapping_add(step as u32);
            wasm = (i64::from(wasm) + change) as u32;
            Some((code, wasm))
        })
    }

    /// The Wasm offset of the last pair whose code offset is at most
    /// `code`, if there is one.
    pub fn lookup(&self, code: u32) -> Option<u32> {
        self.iter()
            .take_while(|(c, _)| *c <= code)
            .last()
            .map(|(_, w)| w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lookup() {
        let pairs = [
            (0, 40),
            (4, 44),
            (9, 41),
            (9, 41),
            (300, 100_000),
            (70_000, 3),
        ];
        let map =
            AddressMap::from_pairs(&[pairs[3], pairs[0], pairs[5], pairs[1], pairs[2], pairs[4]]);
        assert_eq!(map.iter().collect::<Vec<_>>(), pairs);
        assert!(map.as_bytes().len() < pairs.len() * 8);
        assert_eq!(map.lookup(0), Some(40));
        assert_eq!(map.lookup(8), Some(44));
        assert_eq!(map.lookup(299), Some(41));
        assert_eq!(map.lookup(u32::MAX), Some(3));
        assert_eq!(AddressMap::default().lookup(5), None);
        let bytes = map.as_bytes().to_vec();
        assert_eq!(AddressMap::from_bytes(bytes.into()), map);
        let extremes = [(0, u32::MAX), (u32::MAX, 0)];
        assert_eq!(
            AddressMap::from_pairs(&extremes).iter().collect::<Vec<_>>(),
            extremes
        );
    }

    #[test]
    fn damaged_bytes_end_the_map() {
        assert_eq!(
            AddressMap::from_bytes(vec![0x80; 20].into()).iter().count(),
            0
        );
        assert_eq!(
            AddressMap::from_bytes(vec![1, 2, 3].into()).iter().count(),
            1
        );
        // Anything decodes to something without panicking.
        let noise: Vec<u8> = (0..=255).collect();
        let _ = AddressMap::from_bytes(noise.into()).lookup(1000);
    }
}
