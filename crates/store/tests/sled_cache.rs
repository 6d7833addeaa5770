//! sled's cache is charged what a page it holds costs in memory (our patch, `vendor/sled/DUBAN.md`, change 5): a
//! page stored as a blob — a node of one large value, as the log's chunks are — was charged the ~20-byte pointer to
//! its blob file, and only weighed once 64 accesses to its shard had queued up, so a long-lived handle that had read
//! every chunk once held them all. Measured here with a counting allocator: reading 39 MB of such values through a
//! 1 MB cache must not leave them in memory. (Stock sled: 39.7 MB held. Patched: 12.8 MB — sled's cache is 256
//! shards, each of which keeps the page it admitted last whatever its size, so up to 256 such pages stay.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const VALUES: u32 = 600;
const VALUE_BYTES: usize = 64 * 1024;

mod sled_patch;

/// Bytes no compressor shrinks, different for every key.
fn value(key: u32) -> Vec<u8> {
    sled_patch::incompressible(u64::from(key), VALUE_BYTES)
}

fn open(path: &std::path::Path) -> sled::Db {
    sled_patch::open(|| sled::Config::new().path(path).cache_capacity(1024 * 1024).segment_size(256 * 1024))
}

#[test]
fn large_values_read_once_do_not_stay_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        for key in 0..VALUES {
            db.insert(key.to_be_bytes(), value(key)).unwrap();
            // As the store writes its log's chunks: 17 empty keys after each, so that a node holds one or two.
            for spacer in 1..=17u8 {
                let mut spaced = key.to_be_bytes().to_vec();
                spaced.push(spacer);
                db.insert(spaced, vec![]).unwrap();
            }
        }
        db.flush().unwrap();
    }
    let db = open(dir.path());
    let before = LIVE.load(Ordering::Relaxed);
    for round in 0..2 {
        for key in 0..VALUES {
            let read = db.get(key.to_be_bytes()).unwrap().expect("written");
            assert_eq!(read.len(), VALUE_BYTES, "round {round}, key {key}");
            assert_eq!(read[..64], value(key)[..64]);
        }
    }
    // Evicted pages are freed once no thread can still be reading them (sled's epochs): a few more pins let them go.
    for _ in 0..512 {
        let _ = db.get(0u32.to_be_bytes()).unwrap();
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let read = (VALUES as usize * VALUE_BYTES) as isize;
    assert!(
        held < read / 2,
        "{:.1} MB still held after reading {:.1} MB through a 1 MB cache",
        held as f64 / 1e6,
        read as f64 / 1e6
    );
}
