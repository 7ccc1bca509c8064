//! Hash functions and hashers. Everything is seeded with constants: the same input gives the
//! same hashes on every run and machine, which determinism of clusters depends on.

use std::hash::{BuildHasher, Hasher};

use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

/// 128-bit digest of a (normalised) text, the key of exact-duplicate clusters.
#[inline]
pub fn text_digest(bytes: &[u8]) -> u128 {
    xxh3_128(bytes)
}

#[inline]
pub fn word_hash(word: impl AsRef<[u8]>) -> u64 {
    xxh3_64(word.as_ref())
}

/// splitmix64 finaliser: a cheap bijective mixer for combining already-uniform hashes.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of an ordered pair of hashes (a word bigram, or an n-gram built step by step).
#[inline]
pub fn combine(left: u64, right: u64) -> u64 {
    mix64(left.rotate_left(23) ^ right.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
}

/// Hasher for keys that are already uniform hashes: use their low bits as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityBuildHasher;

#[derive(Debug, Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than u64/u128; fold bytes so it stays correct.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = combine(self.0, u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64 ^ (i >> 64) as u64;
    }
}

impl BuildHasher for IdentityBuildHasher {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable() {
        // Pinned values: a change here changes every cluster id users have stored.
        assert_eq!(word_hash("hello"), xxh3_64(b"hello"));
        assert_eq!(text_digest(b""), xxh3_128(b""));
        assert_eq!(format!("{:032x}", text_digest(b"hello world")), PINNED_HELLO_WORLD);
    }

    const PINNED_HELLO_WORLD: &str = "df8d09e93f874900a99b8775cc15b6c7";

    #[test]
    fn combine_is_order_sensitive() {
        assert_ne!(combine(1, 2), combine(2, 1));
    }
}
