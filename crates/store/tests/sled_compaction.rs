//! A bulk load keeps sled's file compact as it goes (our patch, `vendor/sled/DUBAN.md`, change 8): after each batch
//! the store moves pages in proportion to the bytes it wrote, and when no segment is queued for cleaning, out of the
//! emptiest one if at most 85 % of it is live (`Tree::compact_pages`). Paced cleaning alone (two pages a batch, what
//! a single command pays, change 6) falls behind a load that writes hundreds of kilobytes a batch. Apart from
//! `sled_cleaning.rs`, whose handles' timing this test's threads would disturb if both ran at once.

const KEYS: u32 = 2_000;
const VALUE_BYTES: usize = 1_000;
/// Batches of 500 writes.
const ROUNDS: u32 = 60;

mod sled_patch;

/// Bytes no compressor shrinks, different for every key and version.
fn value(key: u32, version: u32) -> Vec<u8> {
    sled_patch::versioned(key, version, VALUE_BYTES)
}

/// sled's flusher off: how much it cleans would depend on the machine's speed.
fn open(path: &std::path::Path) -> sled::Db {
    sled_patch::open(|| sled::Config::new().path(path).segment_size(256 * 1024).flush_every_ms(None))
}

/// A bulk load's shape: batches of hundreds of writes, most of them over keys written before, through one handle;
/// after each batch either two pages are cleaned (what a single command pays) or pages in proportion to the bytes
/// written, the emptiest segment included when nothing is queued (`Tree::compact_pages`, what a bulk load pays).
/// Returns the mean of the bytes the data file takes on disk after each of the second half of the batches (it goes
/// up and down as segments are cleaned; the mean holds from run to run).
fn load(dir: &std::path::Path, compact: bool) -> u64 {
    let path = dir.join("db");
    let db = open(&path);
    let allocated = || {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path.join("db")).unwrap().blocks() * 512
    };
    let mut sizes = Vec::new();
    let mut last = std::collections::HashMap::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..ROUNDS {
        let mut batch = sled::Batch::default();
        let mut bytes = 0;
        for write in 0..500u32 {
            let key = sled_patch::random_key(&mut state, KEYS);
            let version = round * 500 + write + 1;
            batch.insert(&key.to_be_bytes(), value(key, version));
            last.insert(key, version);
            bytes += VALUE_BYTES;
        }
        db.apply_batch(batch).unwrap();
        if compact {
            db.compact_pages(bytes / 4096, 85).unwrap();
        } else {
            db.clean_pages(2).unwrap();
        }
        // As the store syncs after each append: what sled freed goes back to the file system (change 7).
        let freed = db.freed_segments();
        db.flush().unwrap();
        std::fs::File::open(path.join("db")).unwrap().sync_all().unwrap();
        db.give_back(freed);
        if round >= ROUNDS / 2 {
            sizes.push(allocated());
        }
    }
    // Every key reads back as last written, whatever was moved.
    for (key, version) in last {
        assert_eq!(db.get(key.to_be_bytes()).unwrap().unwrap().as_ref(), &value(key, version)[..], "key {key}");
    }
    sizes.iter().sum::<u64>() / sizes.len() as u64
}

#[test]
fn a_load_that_compacts_as_it_goes_leaves_a_smaller_file() {
    let paced = tempfile::tempdir().unwrap();
    let compacting = tempfile::tempdir().unwrap();
    let paced = load(paced.path(), false);
    let compacting = load(compacting.path(), true);
    let live = u64::from(KEYS) * VALUE_BYTES as u64;
    println!(
        "allocated through the load's second half, mean: paced {paced}, compacting {compacting}; at most {live} live"
    );
    assert!(compacting * 10 < paced * 8, "compacting {compacting} against paced {paced}");
    assert!(compacting < 3 * live, "compacting {compacting} for {live} live");
}
