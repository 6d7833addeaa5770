//! duban's store beside a SQLite baseline on the same workload, in the same run: the same events in the same
//! batches, the same stored bytes (duban's compact body and hash chain), and the same projection work (each append
//! folds the touched reply or commitment into its stored state). SQLite runs in WAL mode with `synchronous=FULL`,
//! so a committed transaction is on disk, as an acknowledged duban append is.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use duban_domain::{CommitmentState, Envelope, Folded, NewEvent, ReplyState, StreamKind};
use duban_store::{encode_stored, Store};
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

fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|entry| size_of(&entry.path())).sum())
    } else {
        std::fs::metadata(path).map_or(0, |meta| meta.len())
    }
}

pub struct Figures {
    pub append_per_second: f64,
    pub rebuild_per_second: f64,
    pub bytes_per_event: f64,
}

pub fn duban(dir: &Path, batches: &[Batch], events: usize) -> Figures {
    let path = dir.join("duban.db");
    let store = Store::create(&path).unwrap();
    let started = Instant::now();
    for batch in batches {
        store.append_streams(batch.clone()).unwrap();
    }
    let append = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = store.rebuild().unwrap();
    let rebuild = started.elapsed().as_secs_f64();
    assert!(report.differences.is_empty());
    for (space, keys, bytes) in store.live_bytes() {
        println!("store: duban  {space:<8} {keys:>9} keys {:>12.1} live bytes/event", bytes as f64 / events as f64);
    }
    drop(store);
    Figures {
        append_per_second: events as f64 / append,
        rebuild_per_second: events as f64 / rebuild,
        bytes_per_event: size_of(&path) as f64 / events as f64,
    }
}

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
    for batch in batches {
        let tx = db.transaction().unwrap();
        {
            let mut version_of = tx.prepare_cached("SELECT max(version) FROM events WHERE stream = ?1").unwrap();
            let mut insert =
                tx.prepare_cached("INSERT INTO events (seq, stream, version, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for (stream, expected, new_events) in batch {
                let key = stream.to_bytes().to_vec();
                let actual: Option<u32> = version_of.query_row(params![key], |row| row.get(0)).unwrap();
                assert_eq!(actual.unwrap_or(0), *expected, "optimistic concurrency check");
                let table =
                    if new_events[0].event.stream_kind() == StreamKind::Reply { "replies" } else { "commitments" };
                let mut select = tx.prepare_cached(&format!("SELECT state FROM {table} WHERE id = ?1")).unwrap();
                let mut upsert =
                    tx.prepare_cached(&format!("INSERT OR REPLACE INTO {table} (id, state) VALUES (?1, ?2)")).unwrap();
                let stored: Option<Vec<u8>> = select.query_row(params![key], |row| row.get(0)).optional().unwrap();
                let mut reply_state = ReplyState::default();
                let mut commitment_state = CommitmentState::default();
                if let Some(bytes) = &stored {
                    if table == "replies" {
                        reply_state = postcard::from_bytes(bytes).unwrap();
                    } else {
                        commitment_state = postcard::from_bytes(bytes).unwrap();
                    }
                }
                for (offset, new) in new_events.iter().enumerate() {
                    seq += 1;
                    let version = expected + offset as u32 + 1;
                    let mut envelope = new.clone().sealed(seq, version, previous_hash.clone(), String::new());
                    let (bytes, hash) = encode_stored(&envelope);
                    envelope.hash = hash;
                    previous_hash = envelope.hash.clone();
                    insert.execute(params![seq as i64, key, version, bytes]).unwrap();
                    if table == "replies" {
                        reply_state.apply(&envelope);
                    } else {
                        commitment_state.apply(&envelope);
                    }
                }
                let state = if table == "replies" {
                    postcard::to_stdvec(&reply_state).unwrap()
                } else {
                    postcard::to_stdvec(&commitment_state).unwrap()
                };
                upsert.execute(params![key, state]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let append = started.elapsed().as_secs_f64();
    // Rebuild: fold the whole log in order and compare with the stored projection, as `duban rebuild` does.
    let started = Instant::now();
    let mut folded = Folded::default();
    {
        let mut all = db.prepare("SELECT seq, body FROM events ORDER BY seq").unwrap();
        let mut rows = all.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let seq: i64 = row.get(0).unwrap();
            let body: Vec<u8> = row.get(1).unwrap();
            folded.apply(&duban_store::decode_for_fold(seq as u64, &body).unwrap());
        }
    }
    let mut differences = 0;
    for (table, is_reply) in [("replies", true), ("commitments", false)] {
        let mut all = db.prepare(&format!("SELECT id, state FROM {table}")).unwrap();
        let mut rows = all.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id: Vec<u8> = row.get(0).unwrap();
            let state: Vec<u8> = row.get(1).unwrap();
            let id = Ulid::from_bytes(id.try_into().unwrap());
            let same = if is_reply {
                folded.replies.get(&id) == Some(&postcard::from_bytes::<ReplyState>(&state).unwrap())
            } else {
                folded.commitments.get(&id) == Some(&postcard::from_bytes::<CommitmentState>(&state).unwrap())
            };
            differences += usize::from(!same);
        }
    }
    let rebuild = started.elapsed().as_secs_f64();
    assert_eq!(differences, 0);
    drop(db);
    let bytes = size_of(&path) + size_of(&dir.join("baseline.sqlite-wal"));
    Figures {
        append_per_second: events as f64 / append,
        rebuild_per_second: events as f64 / rebuild,
        bytes_per_event: bytes as f64 / events as f64,
    }
}
