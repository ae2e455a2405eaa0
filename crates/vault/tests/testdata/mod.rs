//! Test data shared by the vault's and the CLI's tests.

/// Pseudo-random bytes that do not compress, from a small xorshift (deterministic per seed).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
