//! What the tests of our patches to sled (`vendor/sled/DUBAN.md`) share: bytes no compressor shrinks, a key's value
//! at each version, random keys, and opening a database while the handle dropped before still lets go of it.

/// `len` bytes no compressor shrinks (a xorshift stream), different for every seed.
pub fn incompressible(seed: u64, len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Key `key`'s value at `version`: `len` incompressible bytes, different for every key and version.
#[allow(dead_code)] // each test binary compiles this module; `sled_cache.rs` has no versions
pub fn versioned(key: u32, version: u32, len: usize) -> Vec<u8> {
    incompressible((u64::from(key) << 20) ^ u64::from(version), len)
}

/// The next of `keys` keys from a xorshift `state`.
#[allow(dead_code)] // as above
pub fn random_key(state: &mut u64, keys: u32) -> u32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % u64::from(keys)) as u32
}

/// Opens the database `config` describes, waiting while the handle dropped before still holds its lock (sled's
/// flusher lets go of the file a moment after the last handle is dropped; the store waits the same way).
pub fn open(config: impl Fn() -> sled::Config) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match config().open() {
            Ok(db) => return db,
            Err(sled::Error::Io(error))
                if error.to_string().contains("could not acquire lock")
                    && started.elapsed() < std::time::Duration::from_secs(30) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(other) => panic!("opening the database: {other}"),
        }
    }
}
