//! `importlib.util.source_hash`: the hash stored in hash-based pycs (PEP 552).
//!
//! CPython computes `_Py_KeyedHash(magic_token, source)`, which is SipHash with
//! `k0 = magic_token`, `k1 = 0`, written as 8 little-endian bytes (`Python/pyhash.c`). 3.7–3.10
//! use SipHash-2-4; 3.11+ use SipHash-1-3 (the variant follows `Py_HASH_ALGORITHM`'s switch in
//! 3.11). The function is a few lines, so it is written here; which variant each version uses
//! is not assumed but checked: `pyc-format/tests/interpreter_headers.rs` compares it with
//! `importlib.util.source_hash` vectors recorded from 3.7-3.15 (`scripts/gen_headers.py`).

use crate::magic::magic_token;
use crate::version::SipHashVariant;

struct State {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
}

impl State {
    #[inline]
    fn round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13);
        self.v1 ^= self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16);
        self.v3 ^= self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21);
        self.v3 ^= self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17);
        self.v1 ^= self.v2;
        self.v2 = self.v2.rotate_left(32);
    }
}

/// SipHash-c-d of `data` with the 128-bit key `(k0, k1)`.
pub fn siphash(c_rounds: u32, d_rounds: u32, k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut s = State {
        v0: k0 ^ 0x736f6d6570736575,
        v1: k1 ^ 0x646f72616e646f6d,
        v2: k0 ^ 0x6c7967656e657261,
        v3: k1 ^ 0x7465646279746573,
    };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = u64::from_le_bytes(word);
        s.v3 ^= m;
        for _ in 0..c_rounds {
            s.round();
        }
        s.v0 ^= m;
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    let b = u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56);
    s.v3 ^= b;
    for _ in 0..c_rounds {
        s.round();
    }
    s.v0 ^= b;
    s.v2 ^= 0xff;
    for _ in 0..d_rounds {
        s.round();
    }
    s.v0 ^ s.v1 ^ s.v2 ^ s.v3
}

/// `importlib.util.source_hash(source)` of the CPython that uses `magic` and `variant`:
/// the 8 bytes a hash-based pyc stores at offset 8.
pub fn source_hash(variant: SipHashVariant, magic: u16, source: &[u8]) -> [u8; 8] {
    let key = u64::from(magic_token(magic));
    let h = match variant {
        SipHashVariant::Sip24 => siphash(2, 4, key, 0, source),
        SipHashVariant::Sip13 => siphash(1, 3, key, 0, source),
    };
    h.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector from the SipHash paper (Aumasson & Bernstein, appendix A):
    /// key 00..0f, message 00..0e, SipHash-2-4 = a129ca6149be45e5.
    #[test]
    fn siphash24_paper_vector() {
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash(2, 4, k0, k1, &msg), 0xa129ca6149be45e5);
    }
}
