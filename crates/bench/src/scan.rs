//! The SQLite baseline's log scan, built as duban's is (`SledStore::read_batches`): two decoding threads, each with
//! its own connection, take every other range of sequence numbers, decode its rows and check each row's hash
//! against the row before it; the calling thread folds the batches in log order. The same three threads, the same
//! work per event (a SHA-256 of its record chained to the hash before it, then decoding), so that a fold over the
//! log compares the engines, not their thread counts.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};

use duban_domain::Envelope;
use duban_store::{chained_full, decode_full_for_fold, full_hash};
use rusqlite::{params, Connection, OpenFlags};

/// Sequence numbers per batch: about one of duban's log chunks (256 KiB of records).
const BATCH: i64 = 2048;
const DECODERS: usize = 2;

/// Page cache of each connection: 32 MiB, as duban's sled cache (`crates/store/src/space.rs`, `CACHE_BYTES`).
pub const CACHE: &str = "PRAGMA cache_size = -32768;";

pub fn connect(path: &Path) -> Connection {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("the baseline database");
    db.execute_batch(CACHE).unwrap();
    db
}

/// Shows `each` every event of the log at `path` in order, decoded for folding (no `prev_hash` or `hash`, as
/// duban's folds, the report's included, read them), checking the chain as it goes (a broken link panics: the
/// baseline refuses to fold it, as duban does).
pub fn scan(path: &Path, mut each: impl FnMut(&Envelope)) -> u64 {
    let last: i64 = connect(path).query_row("SELECT coalesce(max(seq), 0) FROM events", [], |row| row.get(0)).unwrap();
    let mut events = 0u64;
    std::thread::scope(|scope| {
        let outputs: Vec<Receiver<Vec<Envelope>>> = (0..DECODERS)
            .map(|decoder| {
                let (sender, output) = sync_channel::<Vec<Envelope>>(4);
                scope.spawn(move || {
                    let db = connect(path);
                    let mut rows = db
                        .prepare_cached("SELECT seq, body FROM events WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")
                        .unwrap();
                    let mut start = 1 + decoder as i64 * BATCH;
                    while start <= last {
                        let end = start + BATCH;
                        let mut batch = Vec::with_capacity(BATCH as usize);
                        let mut previous = [0u8; 32];
                        let mut read = rows.query(params![start - 1, end]).unwrap();
                        while let Some(row) = read.next().unwrap() {
                            let seq = row.get::<_, i64>(0).unwrap() as u64;
                            let body = row.get_ref(1).unwrap().as_blob().unwrap();
                            if seq < start as u64 {
                                previous = full_hash(body);
                                continue;
                            }
                            let hash = chained_full(seq, &previous, body).expect("an unbroken chain");
                            batch.push(decode_full_for_fold(seq, body).unwrap());
                            previous = hash;
                        }
                        if sender.send(batch).is_err() {
                            return;
                        }
                        start += BATCH * DECODERS as i64;
                    }
                });
                output
            })
            .collect();
        let mut turn = 0;
        while let Ok(batch) = outputs[turn % DECODERS].recv() {
            for envelope in &batch {
                each(envelope);
            }
            events += batch.len() as u64;
            turn += 1;
        }
    });
    events
}
