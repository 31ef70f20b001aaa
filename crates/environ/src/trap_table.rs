//! A module's trap table: which instructions of its text may trap, and
//! with what code. CPython's has hundreds of thousands of entries; they are
//! kept as fixed 8-byte records in [`SharedBytes`] (a slice of a mapped
//! artifact after a precompiled load, nothing decoded or copied) and
//! binary-searched in place when a signal arrives.

use crate::bytes::SharedBytes;
use crate::trap::Trap;

/// Bytes per record: the text offset (`u32` LE), the trap code (`u8`), and
/// three zero bytes.
const RECORD: usize = 8;

/// Trapping instructions as (offset in the text, trap), sorted by offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrapTable {
    bytes: SharedBytes,
}

impl TrapTable {
    /// The table of `pairs`, in any order (sorted here, stably).
    pub fn from_pairs(mut pairs: Vec<(u32, Trap)>) -> TrapTable {
        pairs.sort_by_key(|(offset, _)| *offset);
        let mut bytes = Vec::with_capacity(pairs.len() * RECORD);
        for (offset, trap) in pairs {
            bytes.extend_from_slice(&offset.to_le_bytes());
            bytes.extend_from_slice(&[trap as u8, 0, 0, 0]);
        }
        TrapTable {
            bytes: SharedBytes::from(bytes),
        }
    }

    /// A table from its encoded bytes ([`TrapTable::as_bytes`]), which
    /// must be whole records; [`TrapTable::check`] checks the rest.
    pub fn from_bytes(bytes: SharedBytes) -> Result<TrapTable, String> {
        if !bytes.len().is_multiple_of(RECORD) {
            return Err(format!("trap table of {} bytes", bytes.len()));
        }
        Ok(TrapTable { bytes })
    }

    /// Checks that the offsets are sorted and below `text_len` and every
    /// trap code is known (a table made by [`TrapTable::from_pairs`] is
    /// sorted and has known codes).
    pub fn check(&self, text_len: u64) -> Result<(), String> {
        let mut prev = None;
        for i in 0..self.len() {
            let (offset, code) = self.raw(i);
            if prev.is_some_and(|p| p > offset) || u64::from(offset) >= text_len {
                return Err(format!(
                    "trap at {offset:#x} out of order or outside the text"
                ));
            }
            if Trap::from_u8(code).is_none() {
                return Err(format!("invalid trap code {code} at {offset:#x}"));
            }
            prev = Some(offset);
        }
        Ok(())
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &SharedBytes {
        &self.bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / RECORD
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn raw(&self, i: usize) -> (u32, u8) {
        let r = &self.bytes[i * RECORD..(i + 1) * RECORD];
        (u32::from_le_bytes(r[..4].try_into().unwrap()), r[4])
    }

    /// Entry `i` (by offset).
    pub fn get(&self, i: usize) -> Option<(u32, Trap)> {
        if i >= self.len() {
            return None;
        }
        let (offset, code) = self.raw(i);
        Some((offset, Trap::from_u8(code)?))
    }

    /// The entries, by offset.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Trap)> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The trap recorded at exactly `offset`.
    pub fn lookup(&self, offset: u32) -> Option<Trap> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.raw(mid).0.cmp(&offset) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.get(mid).map(|(_, t)| t),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_exact_offsets() {
        let t = TrapTable::from_pairs(vec![
            (40, Trap::IntegerDivisionByZero),
            (8, Trap::MemoryOutOfBounds),
            (16, Trap::StackOverflow),
        ]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(8), Some(Trap::MemoryOutOfBounds));
        assert_eq!(t.lookup(40), Some(Trap::IntegerDivisionByZero));
        assert_eq!(t.lookup(9), None);
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(41), None);
        assert_eq!(t.iter().map(|(o, _)| o).collect::<Vec<_>>(), [8, 16, 40]);
        assert_eq!(TrapTable::default().lookup(0), None);
        let again = TrapTable::from_bytes(t.as_bytes().clone()).unwrap();
        again.check(41).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn damaged_tables_are_refused() {
        let t = TrapTable::from_pairs(vec![(8, Trap::MemoryOutOfBounds), (16, Trap::HostError)]);
        let bytes = t.as_bytes().to_vec();
        let check = |b: Vec<u8>, len| TrapTable::from_bytes(b.into()).and_then(|t| t.check(len));
        check(bytes.clone(), 17).unwrap();
        assert!(check(bytes[..12].to_vec(), 100).is_err(), "partial record");
        assert!(check(bytes.clone(), 16).is_err(), "outside the text");
        let mut swapped = bytes[8..].to_vec();
        swapped.extend_from_slice(&bytes[..8]);
        assert!(check(swapped, 100).is_err(), "out of order");
        let mut bad_code = bytes;
        bad_code[4] = 0xee;
        assert!(check(bad_code, 100).is_err(), "bad code");
    }
}
