//! duban's store beside a SQLite baseline on the same workload, in the same run: the same events in the same
//! batches, the same stored bytes (duban's compact record and hash chain), and the same projection work (each
//! append folds its events into the states of their replies and commitments; in the bulk load both engines hold
//! touched states in memory and write them every `BEHIND_EVENTS` events, as duban's write-behind does). SQLite runs in WAL
//! mode with `synchronous=FULL`, so a committed transaction is on disk, as an acknowledged duban append is.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use duban_domain::{CommitmentState, Envelope, NewEvent, ReplyState, StreamKind};
use duban_store::{encode_full, SledStore};
use rusqlite::{params, Connection, OptionalExtension};
use ulid::Ulid;

/// One append call: several streams, each with the version it was read at.
pub type Batch = Vec<(Ulid, u32, Vec<NewEvent>)>;

/// Groups the log (in recording order) into appends of about `size` events, stream by stream within each.
pub fn batches(log: Vec<Envelope>, size: usize) -> Vec<Batch> {
    let mut versions: HashMap<Ulid, u32> = HashMap::new();
    let mut out = Vec::new();
    let mut events = log.into_iter().peekable();
    while events.peek().is_some() {
        let mut batch: Vec<(Ulid, u32, Vec<NewEvent>)> = Vec::new();
        let mut index: HashMap<Ulid, usize> = HashMap::new();
        for envelope in events.by_ref().take(size) {
            let new = NewEvent {
                id: envelope.id,
                stream: envelope.stream,
                occurred_on: envelope.occurred_on,
                recorded_at: envelope.recorded_at,
                actor: envelope.actor,
                event: envelope.event,
            };
            let slot = *index.entry(new.stream).or_insert_with(|| {
                let version = *versions.get(&new.stream).unwrap_or(&0);
                batch.push((new.stream, version, Vec::new()));
                batch.len() - 1
            });
            batch[slot].2.push(new);
        }
        for (stream, version, events) in &batch {
            versions.insert(*stream, version + events.len() as u32);
        }
        out.push(batch);
    }
    out
}

pub fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|entry| size_of(&entry.path())).sum())
    } else {
        std::fs::metadata(path).map_or(0, |meta| meta.len())
    }
}

/// Seconds `run` takes, the median of three runs: a rebuild right after a bulk load shares the machine with the
/// writeback of what the load wrote, and one run can be a quarter off.
fn median_of_three(mut run: impl FnMut()) -> f64 {
    let mut seconds: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    seconds[1]
}

pub struct Figures {
    pub append_per_second: f64,
    pub rebuild_per_second: f64,
    pub bytes_per_event: f64,
}

pub fn duban(dir: &Path, batches: &[Batch], events: usize) -> Figures {
    let path = dir.join("duban.db");
    let store = SledStore::create(&path).unwrap();
    let started = Instant::now();
    let bulk = (&store as &dyn duban_store::EventStore).bulk().unwrap();
    for batch in batches {
        store.append_streams(batch.clone()).unwrap();
    }
    bulk.finish().unwrap();
    let append = started.elapsed().as_secs_f64();
    let rebuild = median_of_three(|| assert!(store.rebuild().unwrap().differences.is_empty()));
    for (space, keys, bytes) in store.live_bytes() {
        println!("store: duban  {space:<8} {keys:>9} keys {:>12.1} live bytes/event", bytes as f64 / events as f64);
    }
    drop(store);
    println!(
        "store: duban  files: db {:.1} MB, blobs {:.1} MB in {} files",
        size_of(&path.join("db")) as f64 / 1e6,
        size_of(&path.join("blobs")) as f64 / 1e6,
        std::fs::read_dir(path.join("blobs")).map_or(0, |entries| entries.count())
    );
    Figures {
        append_per_second: events as f64 / append,
        rebuild_per_second: events as f64 / rebuild,
        bytes_per_event: size_of(&path) as f64 / events as f64,
    }
}

/// A state the SQLite baseline holds in memory between writes.
enum Held {
    Reply(Box<ReplyState>),
    Commitment(CommitmentState),
}

/// As duban's write-behind: touched states are written once this many events have gone by.
const BEHIND_EVENTS: usize = duban_store::BEHIND_EVENTS as usize;

pub fn sqlite(dir: &Path, batches: &[Batch], events: usize) -> Figures {
    let path = dir.join("baseline.sqlite");
    let mut db = Connection::open(&path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE events (seq INTEGER PRIMARY KEY, stream BLOB NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL);
         CREATE UNIQUE INDEX events_by_stream ON events (stream, version);
         CREATE TABLE replies (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;
         CREATE TABLE commitments (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;",
    )
    .unwrap();
    let started = Instant::now();
    let (mut seq, mut previous_hash) = (0u64, duban_store::GENESIS.to_string());
    // The projection is written behind, as duban's bulk load does: states kept in memory, the touched ones written
    // every `BEHIND_EVENTS` events (inside that append's transaction) and at the end.
    let mut held: HashMap<Ulid, Held> = HashMap::new();
    let mut pending = 0usize;
    for (index, batch) in batches.iter().enumerate() {
        let tx = db.transaction().unwrap();
        {
            let mut version_of = tx.prepare_cached("SELECT max(version) FROM events WHERE stream = ?1").unwrap();
            let mut insert =
                tx.prepare_cached("INSERT INTO events (seq, stream, version, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for (stream, expected, new_events) in batch {
                let key = stream.to_bytes().to_vec();
                let actual: Option<u32> = version_of.query_row(params![key], |row| row.get(0)).unwrap();
                assert_eq!(actual.unwrap_or(0), *expected, "optimistic concurrency check");
                let reply = new_events[0].event.stream_kind() == StreamKind::Reply;
                let state = match held.entry(*stream) {
                    std::collections::hash_map::Entry::Occupied(state) => state.into_mut(),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        let table = if reply { "replies" } else { "commitments" };
                        let mut select =
                            tx.prepare_cached(&format!("SELECT state FROM {table} WHERE id = ?1")).unwrap();
                        let stored: Option<Vec<u8>> =
                            select.query_row(params![key], |row| row.get(0)).optional().unwrap();
                        slot.insert(match (reply, stored) {
                            (true, Some(bytes)) => Held::Reply(Box::new(postcard::from_bytes(&bytes).unwrap())),
                            (true, None) => Held::Reply(Box::default()),
                            (false, Some(bytes)) => Held::Commitment(postcard::from_bytes(&bytes).unwrap()),
                            (false, None) => Held::Commitment(CommitmentState::default()),
                        })
                    }
                };
                for (offset, new) in new_events.iter().enumerate() {
                    seq += 1;
                    let version = expected + offset as u32 + 1;
                    let mut envelope = new.clone().sealed(seq, version, previous_hash.clone(), String::new());
                    let (bytes, hash) = encode_full(&envelope);
                    envelope.hash = hash;
                    previous_hash = envelope.hash.clone();
                    insert.execute(params![seq as i64, key, version, bytes]).unwrap();
                    match state {
                        Held::Reply(state) => state.apply(&envelope),
                        Held::Commitment(state) => state.apply(&envelope),
                    }
                    pending += 1;
                }
            }
            if pending >= BEHIND_EVENTS || index + 1 == batches.len() {
                for (id, state) in held.drain() {
                    let (table, bytes) = match state {
                        Held::Reply(state) => ("replies", postcard::to_stdvec(&state).unwrap()),
                        Held::Commitment(state) => ("commitments", postcard::to_stdvec(&state).unwrap()),
                    };
                    let mut upsert = tx
                        .prepare_cached(&format!("INSERT OR REPLACE INTO {table} (id, state) VALUES (?1, ?2)"))
                        .unwrap();
                    upsert.execute(params![id.to_bytes().to_vec(), bytes]).unwrap();
                }
                pending = 0;
            }
        }
        tx.commit().unwrap();
    }
    let append = started.elapsed().as_secs_f64();
    // Rebuild: fold the whole log in order and compare with the stored projection, as `duban rebuild` does.
    let rebuild = median_of_three(|| assert_eq!(crate::probe::sqlite_rebuild(&db).1, 0));
    drop(db);
    let bytes = size_of(&path) + size_of(&dir.join("baseline.sqlite-wal"));
    Figures {
        append_per_second: events as f64 / append,
        rebuild_per_second: events as f64 / rebuild,
        bytes_per_event: bytes as f64 / events as f64,
    }
}

/// Latency of single durable commands: the 50th and 99th percentile, in milliseconds.
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn latency(mut samples: Vec<f64>) -> Latency {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize] * 1000.0;
    Latency { p50_ms: at(0.50), p99_ms: at(0.99) }
}

/// The progress report one single command records, on `stream` at `version`.
fn progress(stream: Ulid, number: usize) -> NewEvent {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    NewEvent {
        id: Ulid::from_parts(1_782_000_000_000 + number as u64, number as u128),
        stream,
        occurred_on: day,
        recorded_at: day.and_hms_opt(2, 0, 0).unwrap().and_utc(),
        actor: "联络员1".into(),
        event: duban_domain::Event::ProgressReported(duban_domain::ProgressReported {
            summary: format!("单条命令测量：第{number}次报告进展"),
            evidence: vec![],
            percent: None,
        }),
    }
}

/// `count` progress reports, each its own durable append on an existing commitment: duban.
pub fn duban_single(dir: &Path, picks: &[(Ulid, u32)]) -> Latency {
    let store = SledStore::open(&dir.join("duban.db")).unwrap();
    let mut samples = Vec::with_capacity(picks.len());
    for (number, (stream, version)) in picks.iter().enumerate() {
        let started = Instant::now();
        store.append(*stream, *version, vec![progress(*stream, number)]).unwrap();
        samples.push(started.elapsed().as_secs_f64());
    }
    latency(samples)
}

/// The same single commands against SQLite: one transaction each, with the version check and projection update.
pub fn sqlite_single(dir: &Path, picks: &[(Ulid, u32)]) -> Latency {
    let mut db = Connection::open(dir.join("baseline.sqlite")).unwrap();
    db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
    let (mut seq, mut previous): (u64, String) = db
        .query_row("SELECT seq, body FROM events ORDER BY seq DESC LIMIT 1", [], |row| {
            let seq: i64 = row.get(0)?;
            let body: Vec<u8> = row.get(1)?;
            Ok((seq as u64, duban_store::decode_full(seq as u64, &[0; 32], &body).unwrap().hash))
        })
        .unwrap();
    let mut samples = Vec::with_capacity(picks.len());
    for (number, (stream, version)) in picks.iter().enumerate() {
        let started = Instant::now();
        let tx = db.transaction().unwrap();
        let key = stream.to_bytes().to_vec();
        let actual: Option<u32> =
            tx.query_row("SELECT max(version) FROM events WHERE stream = ?1", params![key], |row| row.get(0)).unwrap();
        assert_eq!(actual.unwrap_or(0), *version);
        let stored: Vec<u8> =
            tx.query_row("SELECT state FROM commitments WHERE id = ?1", params![key], |row| row.get(0)).unwrap();
        let mut state: CommitmentState = postcard::from_bytes(&stored).unwrap();
        seq += 1;
        let mut envelope = progress(*stream, number).sealed(seq, version + 1, previous.clone(), String::new());
        let (bytes, hash) = encode_full(&envelope);
        envelope.hash = hash;
        previous = envelope.hash.clone();
        tx.execute(
            "INSERT INTO events (seq, stream, version, body) VALUES (?1, ?2, ?3, ?4)",
            params![seq as i64, key, version + 1, bytes],
        )
        .unwrap();
        state.apply(&envelope);
        tx.execute(
            "UPDATE commitments SET state = ?2 WHERE id = ?1",
            params![key, postcard::to_stdvec(&state).unwrap()],
        )
        .unwrap();
        tx.commit().unwrap();
        samples.push(started.elapsed().as_secs_f64());
    }
    latency(samples)
}
