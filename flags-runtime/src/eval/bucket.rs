//! PostHog's deterministic bucketing: SHA-1 of `"<flag key>.<bucketing value><salt>"`, the
//! first 15 hex digits (top 60 bits) divided by `0xFFFFFFFFFFFFFFF` as a double (which is
//! exactly 2^60). The hash input is fed to SHA-1 piece by piece, never built as a string.

use sha1::block_api::compress;

/// `float(0xFFFFFFFFFFFFFFF)`, which rounds to 2^60.
const LONG_SCALE: f64 = 0xFFF_FFFF_FFFF_FFFF_u64 as f64;

/// SHA-1's initial state.
const H0: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// A SHA-1 computation fed piece by piece on the stack (only the first 60 bits of the
/// digest are needed, so only two state words are read).
#[derive(Clone)]
struct Sha1Stream {
    state: [u32; 5],
    block: [u8; 64],
    pos: usize,
    total: u64,
}

impl Sha1Stream {
    fn new() -> Self {
        Sha1Stream {
            state: H0,
            block: [0; 64],
            pos: 0,
            total: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let n = (64 - self.pos).min(data.len());
            self.block[self.pos..self.pos + n].copy_from_slice(&data[..n]);
            self.pos += n;
            data = &data[n..];
            if self.pos == 64 {
                compress(&mut self.state, &[self.block]);
                self.pos = 0;
            }
        }
    }

    /// The top 60 bits of the digest.
    fn finish_top60(mut self) -> u64 {
        let bits = self.total.wrapping_mul(8);
        let mut pos = self.pos;
        self.block[pos] = 0x80;
        pos += 1;
        if pos > 56 {
            self.block[pos..].fill(0);
            compress(&mut self.state, &[self.block]);
            pos = 0;
        }
        self.block[pos..56].fill(0);
        self.block[56..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &[self.block]);
        ((u64::from(self.state[0]) << 32) | u64::from(self.state[1])) >> 4
    }
}

/// A SHA-1 state that has already absorbed a fixed prefix (`"<flag key>."`), compiled once
/// per flag and copied per evaluation.
#[derive(Clone)]
pub struct HashPrefix {
    stream: Sha1Stream,
}

impl std::fmt::Debug for HashPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashPrefix")
    }
}

impl HashPrefix {
    /// The state after hashing `prefix`.
    pub fn new(prefix: &str) -> Self {
        let mut stream = Sha1Stream::new();
        stream.update(prefix.as_bytes());
        HashPrefix { stream }
    }

    /// The flag hash of `<prefix><value><salt>` in `[0, 1]`.
    pub fn hash(&self, value: &str, salt: &str) -> f64 {
        let mut st = self.stream.clone();
        st.update(value.as_bytes());
        st.update(salt.as_bytes());
        st.finish_top60() as f64 / LONG_SCALE
    }
}

/// The hash PostHog buckets a flag with: `hash("<key>.<value><salt>")`, in `[0, 1]`.
pub fn flag_hash(key: &str, value: &str, salt: &str) -> f64 {
    let mut st = Sha1Stream::new();
    st.update(key.as_bytes());
    st.update(b".");
    st.update(value.as_bytes());
    st.update(salt.as_bytes());
    st.finish_top60() as f64 / LONG_SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_direct_agree() {
        let p = HashPrefix::new("some-flag.");
        for id in ["", "a", "distinct_id_1", "ünïcode"] {
            assert_eq!(p.hash(id, "variant"), flag_hash("some-flag", id, "variant"));
            assert_eq!(p.hash(id, ""), flag_hash("some-flag", id, ""));
        }
    }

    /// Against RustCrypto's own SHA-1 (`Digest`), across block boundaries.
    #[test]
    fn stream_matches_sha1_digest() {
        use sha1::{Digest, Sha1};
        for len in 0..200 {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let d = Sha1::digest(&msg);
            let mut top = [0u8; 8];
            top.copy_from_slice(&d[..8]);
            let mut st = Sha1Stream::new();
            let (a, b) = msg.split_at(len / 3);
            st.update(a);
            st.update(b);
            assert_eq!(
                st.finish_top60(),
                u64::from_be_bytes(top) >> 4,
                "length {len}"
            );
        }
    }

    /// The largest hash is exactly 1.0 (60 one-bits round up to 2^60), never above: the
    /// evaluator skips hashing for rollouts of 100% or more on this fact.
    #[test]
    fn hash_never_exceeds_one() {
        let top = ((1u64 << 60) - 1) as f64 / LONG_SCALE;
        assert_eq!(top, 1.0);
    }

    #[test]
    fn scale_is_two_to_the_sixty() {
        assert_eq!(LONG_SCALE, (1u64 << 60) as f64);
    }
}
