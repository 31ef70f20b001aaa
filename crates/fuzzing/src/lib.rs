//! Test-case generators and oracles for fuzzing Hayate.
//!
//! This crate is shared by the libFuzzer targets in `fuzz/` and by the
//! deterministic differential test (`cargo test -p hayate-fuzzing
//! differential`). It is test-only: nothing in the product depends on it, and
//! it is the only place the oracle engine, `wasmi`, is used.
//!
//! - [`generators`]: `wasm-smith` configurations restricted to what both
//!   Hayate and the oracle implement, argument values, and a seeded byte
//!   source for reproducible runs.
//! - [`oracles`]: the checks. [`oracles::compile`] (arbitrary bytes never
//!   crash `Module::new`), [`oracles::instantiate`] (generated modules compile,
//!   instantiate and run without crashing), and [`oracles::differential`]
//!   (Hayate and `wasmi` agree on every result, trap, memory, global and
//!   table).
//!
//! See `FUZZING.md` at the repository root for how to run the fuzzers.

#![forbid(unsafe_code)]

pub mod generators;
pub mod oracles;

pub use arbitrary;
pub use wasm_smith;

/// A deterministic source of pseudo-random bytes (SplitMix64), so that a seed
/// names one test case forever, independent of any `rand` crate version.
#[derive(Debug, Clone)]
pub struct SeedRng(u64);

impl SeedRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SeedRng {
        SeedRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `len` random bytes: the input an `arbitrary::Unstructured` draws from.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The input bytes of seeded test case `seed`: what the deterministic test
/// and `hayate-fuzzing`'s loop runner feed to the same oracles the libFuzzer
/// targets use. `len` bytes, enough for a module of a few dozen functions.
pub fn seeded_input(seed: u64, len: usize) -> Vec<u8> {
    SeedRng::new(seed).bytes(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable() {
        // A seed must name the same test case on every machine and version.
        assert_eq!(
            seeded_input(1, 8),
            [0xc1, 0x5c, 0x02, 0x89, 0xec, 0x2d, 0x0a, 0x91]
        );
        assert_ne!(seeded_input(1, 64), seeded_input(2, 64));
        assert_eq!(seeded_input(7, 13).len(), 13);
    }
}
