//! PostHog's deterministic bucketing: SHA-1 of `"<flag key>.<bucketing value><salt>"`, the
//! first 15 hex digits (top 60 bits) divided by `0xFFFFFFFFFFFFFFF` as a double (which is
//! exactly 2^60). The hash input is fed to SHA-1 piece by piece, never built as a string.

use sha1::{Digest, Sha1};

/// `float(0xFFFFFFFFFFFFFFF)`, which rounds to 2^60.
const LONG_SCALE: f64 = 0xFFF_FFFF_FFFF_FFFF_u64 as f64;

/// A SHA-1 state that has already absorbed a fixed prefix (`"<flag key>."`), compiled once
/// per flag and cloned per evaluation.
#[derive(Clone)]
pub struct HashPrefix {
    state: Sha1,
}

impl std::fmt::Debug for HashPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashPrefix")
    }
}

impl HashPrefix {
    /// The state after hashing `prefix`.
    pub fn new(prefix: &str) -> Self {
        let mut state = Sha1::new();
        state.update(prefix.as_bytes());
        HashPrefix { state }
    }

    /// The flag hash of `<prefix><value><salt>` in `[0, 1]`.
    pub fn hash(&self, value: &str, salt: &str) -> f64 {
        let mut st = self.state.clone();
        st.update(value.as_bytes());
        st.update(salt.as_bytes());
        let digest = st.finalize();
        let mut top = [0u8; 8];
        top.copy_from_slice(&digest[..8]);
        let v = u64::from_be_bytes(top) >> 4;
        v as f64 / LONG_SCALE
    }
}

/// The hash PostHog buckets a flag with: `hash("<key>.<value><salt>")`.
pub fn flag_hash(key: &str, value: &str, salt: &str) -> f64 {
    let mut st = Sha1::new();
    st.update(key.as_bytes());
    st.update(b".");
    st.update(value.as_bytes());
    st.update(salt.as_bytes());
    let digest = st.finalize();
    let mut top = [0u8; 8];
    top.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(top) >> 4) as f64 / LONG_SCALE
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

    #[test]
    fn scale_is_two_to_the_sixty() {
        assert_eq!(LONG_SCALE, (1u64 << 60) as f64);
    }
}
