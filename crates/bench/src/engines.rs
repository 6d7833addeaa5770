//! duban's store beside a SQLite baseline on the same workload, in the same run: the same events in the same
//! batches, the same projection work, and the same deferrals. Each append checks every stream's version, stores the
//! events (one row each: duban's compact record after its full 32-byte hash, since a row read alone must be checkable
//! against the row before it) and folds them into the states of their replies and commitments. In a bulk load duban
//! holds touched states and its stream index in memory and checks versions there, writing them every
//! `BEHIND_EVENTS` events and at the end (write-behind, decision 0005); the baseline does the same: versions checked
//! against the states it holds, states written every `BEHIND_EVENTS` events, and its `(stream, version)` index built
//! once at the end of the load (cheaper than duban's periodic writes beyond a million events: in the baseline's
//! favour). Both keep a 32 MiB page cache. SQLite runs in WAL mode with `synchronous=FULL`, so a committed
//! transaction is on disk, as an acknowledged duban append is.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use duban_domain::{CommitmentState, Envelope, NewEvent, ReplyState, StreamKind};
use duban_store::{encode_full, format, SledStore};
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

/// The bytes a file or folder takes on disk, as `du` counts them: the blocks allocated to its files, whatever their
/// lengths say (a file with holes, as sled's data file has where freed segments were given back, takes less; a
/// short file takes a whole block). The same measure for every engine.
pub fn size_of(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    if path.is_dir() {
        std::fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|entry| size_of(&entry.path())).sum())
    } else {
        std::fs::metadata(path).map_or(0, |meta| meta.blocks() * 512)
    }
}

pub struct Figures {
    pub append_per_second: f64,
    pub rebuild_seconds: f64,
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
    // The rebuild right after the load, in this process (the median over runs is taken by the caller).
    let started = Instant::now();
    assert!(store.rebuild().unwrap().differences.is_empty());
    let rebuild = started.elapsed().as_secs_f64();
    drop(store);
    Figures {
        append_per_second: events as f64 / append,
        rebuild_seconds: rebuild,
        bytes_per_event: size_of(&path) as f64 / events as f64,
    }
}

/// A state the SQLite baseline holds in memory between writes (a reply's boxed as duban boxes it; a commitment's
/// inline, as most held states are commitments).
#[allow(clippy::large_enum_variant)]
enum Held {
    Reply(Box<ReplyState>),
    Commitment(CommitmentState),
}

/// As duban's write-behind: touched states are written once this many events have gone by.
const BEHIND_EVENTS: usize = duban_store::BEHIND_EVENTS as usize;

/// Prints how sled's store is made up after a load: live bytes per key space, files.
pub fn describe_duban(dir: &Path, events: usize) {
    let path = dir.join("duban.db");
    let store = SledStore::open_reading(&path).unwrap();
    for (space, keys, bytes) in store.live_bytes() {
        println!("store: duban  {space:<8} {keys:>9} keys {:>12.1} live bytes/event", bytes as f64 / events as f64);
    }
    drop(store);
    println!(
        "store: duban  files: db {:.1} MB, blobs {:.1} MB in {} files, log chunks {:.1} MB in {} files",
        size_of(&path.join("db")) as f64 / 1e6,
        size_of(&path.join("blobs")) as f64 / 1e6,
        std::fs::read_dir(path.join("blobs")).map_or(0, |entries| entries.count()),
        size_of(&path.join("chunks")) as f64 / 1e6,
        std::fs::read_dir(path.join("chunks")).map_or(0, |entries| entries.count())
    );
}

const SCHEMA: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
     CREATE TABLE events (seq INTEGER PRIMARY KEY, stream BLOB NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL);
     CREATE TABLE replies (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;
     CREATE TABLE commitments (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;";

/// The index a bulk load builds at its end (single commands then check versions against it).
const INDEX: &str = "CREATE UNIQUE INDEX events_by_stream ON events (stream, version);";

pub fn sqlite(dir: &Path, batches: &[Batch], events: usize) -> Figures {
    let path = dir.join("baseline.sqlite");
    let mut db = Connection::open(&path).unwrap();
    db.execute_batch(crate::scan::CACHE).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let started = Instant::now();
    let (mut seq, mut previous_hash) = (0u64, duban_store::GENESIS.to_string());
    // The projection is written behind, as duban's bulk load does: states kept in memory, the touched ones written
    // every `BEHIND_EVENTS` events (inside that append's transaction) and at the end.
    let mut held: HashMap<Ulid, Held> = HashMap::new();
    let mut pending = 0usize;
    for (index, batch) in batches.iter().enumerate() {
        let tx = db.transaction().unwrap();
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO events (seq, stream, version, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for (stream, expected, new_events) in batch {
                let key = stream.to_bytes().to_vec();
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
                // The version check, against the state held (or read from its table), as duban checks its
                // family's; the unique index, built at the end, would refuse a duplicate then.
                let actual = match state {
                    Held::Reply(state) => state.version,
                    Held::Commitment(state) => state.version,
                };
                assert_eq!(actual, *expected, "optimistic concurrency check");
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
            if index + 1 == batches.len() {
                tx.execute_batch(INDEX).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let append = started.elapsed().as_secs_f64();
    drop(db);
    // Rebuild: fold the whole log in order and compare with the stored projection, as `duban rebuild` does.
    let started = Instant::now();
    assert_eq!(crate::probe::sqlite_rebuild(&path).1, 0);
    let rebuild = started.elapsed().as_secs_f64();
    let bytes = size_of(&path) + size_of(&dir.join("baseline.sqlite-wal"));
    Figures {
        append_per_second: events as f64 / append,
        rebuild_seconds: rebuild,
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

/// Single durable commands in one process: a progress report on each pick, each its own durable append, the engines
/// alternating command by command (each one first every other time). duban's latencies, then SQLite's.
/// With `pg`, the PostgreSQL store takes its turn too (first and last in turn, SQLite between): its latencies third.
pub fn singles(dir: &Path, picks: &[(Ulid, u32)], pg: Option<&Postgres>) -> (Latency, Latency, Option<Latency>) {
    let store = SledStore::open(&dir.join("duban.db")).unwrap();
    let mut db = Connection::open(dir.join("baseline.sqlite")).unwrap();
    db.execute_batch(crate::scan::CACHE).unwrap();
    db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
    let on_pg = pg.map(|pg| duban_store::open(&pg.url()).unwrap());
    let mut samples = [Vec::with_capacity(picks.len()), Vec::with_capacity(picks.len()), Vec::new()];
    for (number, (stream, version)) in picks.iter().enumerate() {
        let order: &[usize] = match (number % 2 == 0, on_pg.is_some()) {
            (true, false) => &[0, 1],
            (false, false) => &[1, 0],
            (true, true) => &[0, 1, 2],
            (false, true) => &[2, 1, 0],
        };
        for &engine in order {
            let started = Instant::now();
            match engine {
                0 => drop(store.append(*stream, *version, vec![progress(*stream, number)]).unwrap()),
                1 => sqlite_progress(&mut db, *stream, *version, number),
                _ => postgres_progress(on_pg.as_deref().unwrap(), *stream, *version, number),
            }
            samples[engine].push(started.elapsed().as_secs_f64());
        }
    }
    let [duban, sqlite, pg] = samples;
    (latency(duban), latency(sqlite), on_pg.map(|_| latency(pg)))
}

/// One progress report on `stream` at `version`, in one transaction: the state read and its version checked, the
/// event chained to the last one (its hash is the first 32 bytes of the last row), the state written back.
pub fn sqlite_progress(db: &mut Connection, stream: Ulid, version: u32, number: usize) {
    let tx = db.transaction().unwrap();
    let key = stream.to_bytes().to_vec();
    let stored: Vec<u8> =
        tx.query_row("SELECT state FROM commitments WHERE id = ?1", params![key], |row| row.get(0)).unwrap();
    let mut state: CommitmentState = postcard::from_bytes(&stored).unwrap();
    assert_eq!(state.version, version);
    crate::daily::sqlite_append(&tx, &mut state, progress(stream, number));
    tx.commit().unwrap();
}

/// Storage formats apart from engines: the baseline holding duban's own log format — its records with short checks,
/// cut into the same chunks, compressed the same way, one row per chunk — with the same stream index and states.
/// Bytes on disk per event (the time to load it is printed, not compared).
pub fn sqlite_chunks(dir: &Path, batches: &[Batch], events: usize) -> f64 {
    let path = dir.join("baseline-chunks.sqlite");
    let mut db = Connection::open(&path).unwrap();
    db.execute_batch(crate::scan::CACHE).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE log (first INTEGER PRIMARY KEY, chunk BLOB NOT NULL);
         CREATE TABLE streams (stream BLOB NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL,
                               PRIMARY KEY (stream, version)) WITHOUT ROWID;
         CREATE TABLE replies (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;
         CREATE TABLE commitments (id BLOB PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;",
    )
    .unwrap();
    let started = Instant::now();
    let mut states: HashMap<Ulid, Held> = HashMap::new();
    let mut index: Vec<(Ulid, u32, u64)> = Vec::new();
    let (mut seq, mut previous) = (0u64, [0u8; 32]);
    let mut payload = format::new_payload(&previous, format::CHUNK_BYTES);
    let mut first = 1u64;
    let tx = db.transaction().unwrap();
    for batch in batches {
        for (stream, expected, new_events) in batch {
            let reply = new_events[0].event.stream_kind() == StreamKind::Reply;
            let state = states.entry(*stream).or_insert_with(|| {
                if reply {
                    Held::Reply(Box::default())
                } else {
                    Held::Commitment(CommitmentState::default())
                }
            });
            for (offset, new) in new_events.iter().enumerate() {
                seq += 1;
                let version = expected + offset as u32 + 1;
                let mut envelope = new.clone().sealed(seq, version, duban_store::hex(&previous), String::new());
                let (record, hash) = format::seal(&envelope);
                envelope.hash = duban_store::hex(&hash);
                format::push_record(&mut payload, &record);
                previous = hash;
                index.push((*stream, version, seq));
                match state {
                    Held::Reply(state) => state.apply(&envelope),
                    Held::Commitment(state) => state.apply(&envelope),
                }
                if payload.len() >= format::CHUNK_BYTES {
                    tx.execute(
                        "INSERT INTO log (first, chunk) VALUES (?1, ?2)",
                        params![first as i64, format::seal_log_chunk(&payload)],
                    )
                    .unwrap();
                    payload = format::new_payload(&previous, format::CHUNK_BYTES);
                    first = seq + 1;
                }
            }
        }
    }
    if payload.len() > 32 {
        tx.execute(
            "INSERT INTO log (first, chunk) VALUES (?1, ?2)",
            params![first as i64, format::seal_log_chunk(&payload)],
        )
        .unwrap();
    }
    index.sort_unstable();
    {
        let mut insert = tx.prepare("INSERT INTO streams (stream, version, seq) VALUES (?1, ?2, ?3)").unwrap();
        for (stream, version, seq) in index {
            insert.execute(params![stream.to_bytes().to_vec(), version, seq as i64]).unwrap();
        }
        for (id, state) in states {
            let (table, bytes) = match state {
                Held::Reply(state) => ("replies", postcard::to_stdvec(&state).unwrap()),
                Held::Commitment(state) => ("commitments", postcard::to_stdvec(&state).unwrap()),
            };
            tx.prepare_cached(&format!("INSERT INTO {table} (id, state) VALUES (?1, ?2)"))
                .unwrap()
                .execute(params![id.to_bytes().to_vec(), bytes])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(db);
    let bytes = size_of(&path) + size_of(&dir.join("baseline-chunks.sqlite-wal"));
    println!(
        "store: SQLite holding duban's chunk format: loaded in {:.1} s, {:.1} bytes/event",
        started.elapsed().as_secs_f64(),
        bytes as f64 / events as f64
    );
    bytes as f64 / events as f64
}

/// The store benchmark's third engine: duban's own PostgreSQL store (`duban_store::open("postgres://…")`), in a
/// database of its own that each run makes afresh. It runs the same appends through the same interface; what it
/// does not defer (every append writes its touched families in its own transaction: nothing is held in memory
/// between appends, so that other processes see them) is part of what is measured.
pub struct Postgres {
    admin: String,
    name: String,
}

impl Postgres {
    pub fn new(admin: &str) -> Postgres {
        Postgres { admin: admin.to_string(), name: "duban_bench".into() }
    }

    pub fn url(&self) -> std::path::PathBuf {
        let base = self.admin.rsplit_once('/').map_or(self.admin.as_str(), |(base, _)| base);
        std::path::PathBuf::from(format!("{base}/{}", self.name))
    }

    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.admin, postgres::NoTls).expect("the PostgreSQL server answers")
    }

    /// An empty database in place of the last run's.
    pub fn reset(&self) {
        let mut admin = self.admin();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {}", self.name)).unwrap();
    }

    /// Bytes the store's tables take: heap, indexes and TOAST, after a checkpoint-free `VACUUM` has settled the
    /// visibility maps (the write-ahead log is the server's, shared, and recycled: not counted).
    pub fn bytes(&self) -> u64 {
        let mut client = postgres::Client::connect(self.url().to_str().unwrap(), postgres::NoTls).unwrap();
        client.batch_execute("VACUUM").unwrap();
        let row = client
            .query_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname LIKE 'duban_%'",
                &[],
            )
            .unwrap();
        row.get::<_, i64>(0) as u64
    }

    pub fn drop_database(&self) {
        let _ = self.admin().batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Loads the batches into a fresh PostgreSQL store, then rebuilds it (refold and compare), as `duban` does.
pub fn postgres(pg: &Postgres, batches: &[Batch], events: usize) -> Figures {
    pg.reset();
    let store = duban_store::create(&pg.url()).unwrap();
    let started = Instant::now();
    let bulk = store.bulk().unwrap();
    for batch in batches {
        store.append(batch.clone()).unwrap();
    }
    bulk.finish().unwrap();
    let append = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let refolded = store.refold().unwrap();
    assert!(store.rebuild_from(refolded).unwrap().differences.is_empty());
    let rebuild = started.elapsed().as_secs_f64();
    drop(store);
    Figures {
        append_per_second: events as f64 / append,
        rebuild_seconds: rebuild,
        bytes_per_event: pg.bytes() as f64 / events as f64,
    }
}

/// Single durable commands on the PostgreSQL store, as [`singles`] times them on the other two (called between
/// them, command by command, by the caller).
pub fn postgres_progress(store: &dyn duban_store::EventStore, stream: Ulid, version: u32, number: usize) {
    store.append(vec![(stream, version, vec![progress(stream, number)])]).unwrap();
}

/// Durable appends per second from `writers` threads at once, each appending one progress report at a time to a
/// commitment of its own (no conflicts: what is measured is how the engine serialises and syncs concurrent
/// appends — sled's group commit, PostgreSQL's locked head row and its WAL flushes), for `seconds`.
pub fn concurrent(store: &dyn duban_store::EventStore, picks: &[(Ulid, u32)], writers: usize, seconds: f64) -> f64 {
    let streams: Vec<Ulid> = picks.iter().map(|(stream, _)| *stream).take(writers).collect();
    assert_eq!(streams.len(), writers, "one commitment per writer");
    let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let appended: usize = std::thread::scope(|scope| {
        let threads: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(writer, stream)| {
                scope.spawn(move || {
                    let mut version = store.stream_version(stream).unwrap();
                    let mut count = 0;
                    while Instant::now() < deadline {
                        let number = 2_000_000 + writer * 100_000 + count;
                        store.append(vec![(*stream, version, vec![progress(*stream, number)])]).unwrap();
                        version += 1;
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().unwrap()).sum()
    });
    appended as f64 / started.elapsed().as_secs_f64()
}
