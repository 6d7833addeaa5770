//! Store tests: round trips, conflicts, tamper detection, locking, restore; what every engine must do (the
//! projection-equals-fold property among it) is in `conformance`, run on sled and PostgreSQL.

use chrono::{NaiveDate, TimeZone, Utc};
use duban_domain::*;
use proptest::prelude::*;
use ulid::Ulid;

use crate::{chain, Family, SledStore, StoreError};

mod conformance;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn new_event(stream: Ulid, on: NaiveDate, event: Event) -> NewEvent {
    NewEvent {
        id: Ulid::new(),
        stream,
        occurred_on: on,
        recorded_at: Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap(),
        actor: "测试员".into(),
        event,
    }
}

fn registration(signed_on: NaiveDate) -> Event {
    Event::ReplyRegistered(Box::new(ReplyRegistered {
        organ: "上海市测试局".into(),
        doc_no: "测〔2025〕1号".into(),
        signed_on: Some(signed_on),
        ..ReplyRegistered::default()
    }))
}

fn promise(reply: Ulid, text: &str) -> Event {
    Event::CommitmentMade(Box::new(CommitmentMade {
        reply,
        text: text.into(),
        section: Section::NextSteps,
        owner: "上海市测试局".into(),
        co_handlers: vec![],
        due: Some(day("2025-12-31")),
        due_phrase: None,
        locator: None,
    }))
}

fn progress(summary: &str) -> Event {
    Event::ProgressReported(ProgressReported { summary: summary.into(), evidence: vec![], percent: None })
}

/// A store with one reply and one commitment with one progress report: (dir, store, reply, commitment).
fn seeded() -> (tempfile::TempDir, SledStore, Ulid, Ulid) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(&dir.path().join("duban.db")).unwrap();
    let reply = Ulid::new();
    let commitment = Ulid::new();
    store.append(reply, 0, vec![new_event(reply, day("2025-05-29"), registration(day("2025-05-29")))]).unwrap();
    store.append(commitment, 0, vec![new_event(commitment, day("2025-05-29"), promise(reply, "建成平台"))]).unwrap();
    store.append(commitment, 1, vec![new_event(commitment, day("2025-07-01"), progress("完成选址"))]).unwrap();
    (dir, store, reply, commitment)
}

#[test]
fn appended_events_read_back_after_reopening() {
    let (dir, store, reply, commitment) = seeded();
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    let stream = store.read_stream(&commitment).unwrap();
    assert_eq!(stream.len(), 2);
    assert_eq!((stream[0].version, stream[1].version), (1, 2));
    assert_eq!((stream[0].seq, stream[1].seq), (2, 3));
    assert_eq!(stream[1].prev_hash, stream[0].hash);
    let all: Vec<Envelope> = store.read_all(1).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[0].stream, reply);
    assert_eq!(store.read_all(3).count(), 1);
    assert_eq!(store.head().unwrap().hash, all[2].hash);
    let state = store.commitment(&commitment).unwrap().unwrap();
    assert_eq!(state.last_progress_on, Some(day("2025-07-01")));
    assert_eq!(store.reply(&reply).unwrap().unwrap().doc_no(), "测〔2025〕1号");
}

#[test]
fn a_stale_expected_version_is_a_conflict_naming_both_versions() {
    let (_dir, store, _, commitment) = seeded();
    let head_before = store.head().unwrap();
    let error =
        store.append(commitment, 1, vec![new_event(commitment, day("2025-08-01"), progress("迟到"))]).unwrap_err();
    assert!(matches!(error, StoreError::Conflict { expected: 1, actual: 2, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&commitment.to_string()) && message.contains('1') && message.contains('2'), "{message}");
    assert_eq!(store.head().unwrap(), head_before, "nothing was appended");
}

#[test]
fn appends_are_all_or_nothing() {
    let (_dir, store, _, commitment) = seeded();
    let head_before = store.head().unwrap();
    // The second event would re-open the stream: the whole append is refused.
    let events = vec![
        new_event(commitment, day("2025-08-01"), progress("一")),
        new_event(commitment, day("2025-08-01"), promise(Ulid::new(), "再作承诺")),
    ];
    assert!(matches!(store.append(commitment, 2, events), Err(StoreError::BadAppend { .. })));
    assert_eq!(store.head().unwrap(), head_before);
    assert_eq!(store.read_stream(&commitment).unwrap().len(), 2);
    let stranger = Ulid::new();
    let error = store.append(stranger, 0, vec![new_event(stranger, day("2025-08-01"), progress("无头"))]).unwrap_err();
    assert!(matches!(error, StoreError::BadAppend { .. }), "{error:?}");
}

#[test]
fn several_streams_are_appended_together_or_not_at_all() {
    let (_dir, store, _, commitment) = seeded();
    let head_before = store.head().unwrap();
    let new_reply = Ulid::new();
    let new_commitment = Ulid::new();
    let batches = |commitment_version: u32| {
        vec![
            (new_reply, 0, vec![new_event(new_reply, day("2025-06-01"), registration(day("2025-06-01")))]),
            (new_commitment, 0, vec![new_event(new_commitment, day("2025-06-01"), promise(new_reply, "新承诺"))]),
            (commitment, commitment_version, vec![new_event(commitment, day("2025-08-01"), progress("同批"))]),
        ]
    };
    let error = store.append_streams(batches(1)).unwrap_err();
    assert!(matches!(error, StoreError::Conflict { expected: 1, actual: 2, .. }), "{error:?}");
    assert_eq!(store.head().unwrap(), head_before, "the first two streams were not written either");
    assert!(store.reply(&new_reply).unwrap().is_none());
    let sealed = store.append_streams(batches(2)).unwrap();
    assert_eq!(sealed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert_eq!(store.commitment(&new_commitment).unwrap().unwrap().reply, Some(new_reply));
    assert_eq!(store.verify().unwrap().broken, None);
}

/// A text of about 3 KB that does not compress away, different for each `version`.
fn distinct_text(version: u32) -> String {
    (0..1000).map(|i| char::from_u32(0x4E00 + (i * 7 + version * 131) % 2000).unwrap()).collect()
}

/// The payload size of each chunk of the log, in order.
fn chunk_payloads(store: &SledStore) -> Vec<usize> {
    store
        .log
        .iter()
        .map(|entry| {
            let (key, value) = entry.unwrap();
            store.open_log_chunk(u64::from_be_bytes(key.as_ref().try_into().unwrap()), &value).unwrap().len()
        })
        .collect()
}

/// The payload size of each full chunk (kept in a file of its own), in order.
fn full_chunk_payloads(store: &SledStore) -> Vec<usize> {
    let full: Vec<bool> = store.log.iter().map(|entry| entry.unwrap().1[0] == 4).collect();
    chunk_payloads(store).into_iter().zip(full).filter(|(_, full)| *full).map(|(bytes, _)| bytes).collect()
}

/// Single commands fill chunks of `COMMAND_CHUNK_BYTES`, so that a run's small chunks leave sled's segments a few at
/// a time; a bulk session's appends, however small, fill chunks of `CHUNK_BYTES`. Both read back as one log.
#[test]
fn single_commands_fill_small_chunks_and_a_bulk_session_full_ones() {
    let (_dir, store, _, commitment) = seeded();
    let appends = chain::CHUNK_BYTES * 3 / 2 / 4000 + 2;
    let bulk = (&store as &dyn crate::EventStore).bulk().unwrap();
    for version in 2..2 + appends as u32 {
        let event = new_event(commitment, day("2025-08-01"), progress(&distinct_text(version)));
        store.append(commitment, version, vec![event]).unwrap();
    }
    bulk.finish().unwrap();
    let loaded = full_chunk_payloads(&store);
    assert!(!loaded.is_empty(), "{:?}", chunk_payloads(&store));
    assert!(
        loaded.iter().all(|&bytes| bytes > chain::CHUNK_BYTES * 9 / 10),
        "a bulk session fills full-size chunks: {loaded:?}"
    );
    let singles = chain::COMMAND_CHUNK_BYTES * 4 / 3000;
    for version in (2 + appends as u32)..(2 + (appends + singles) as u32) {
        let event = new_event(commitment, day("2025-08-01"), progress(&distinct_text(version)));
        store.append(commitment, version, vec![event]).unwrap();
    }
    let after = full_chunk_payloads(&store);
    assert_eq!(after[..loaded.len()], loaded[..], "the bulk session's chunks stay as they were");
    let small = &after[loaded.len()..];
    assert!(small.len() >= 3, "{after:?}");
    assert!(
        small.iter().all(|&bytes| bytes <= chain::COMMAND_CHUNK_BYTES && bytes > chain::COMMAND_CHUNK_BYTES * 3 / 4),
        "single commands fill small chunks: {after:?}"
    );
    let total = 3 + (appends + singles) as u64;
    assert_eq!(store.read_all(1).map(|e| e.unwrap().seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    assert_eq!(store.read_stream(&commitment).unwrap().len(), total as usize - 1);
    assert_eq!(store.verify().unwrap().broken, None);
}

#[test]
fn small_appends_are_merged_into_full_chunks_once_they_fill_one() {
    let (_dir, store, _, commitment) = seeded();
    assert_eq!(store.log.len(), 3, "each small append is a chunk of its own in the open run");
    // Distinct texts of about 4 KB each (so they do not compress away), enough for a dozen chunks of single commands.
    let appends = chain::CHUNK_BYTES * 3 / 2 / 4000 + 2;
    for version in 2..2 + appends as u32 {
        let event = new_event(commitment, day("2025-08-01"), progress(&distinct_text(version)));
        store.append(commitment, version, vec![event]).unwrap();
    }
    let total = 3 + appends as u64;
    let chunks = store.log.len();
    assert!(chunks < appends / 2, "the run was merged: {chunks} chunks for {total} events");
    let payloads = chunk_payloads(&store);
    assert!(
        payloads[0] > chain::COMMAND_CHUNK_BYTES * 3 / 4 && payloads[0] <= chain::COMMAND_CHUNK_BYTES,
        "the first chunk is full: {payloads:?}"
    );
    let values: Vec<Vec<u8>> = store.log.iter().map(|entry| entry.unwrap().1.to_vec()).collect();
    assert_eq!(values[0][0], 4, "a full chunk is kept in a file, the log holding a pointer to it");
    assert!(values[0].len() < 1024, "the pointer is small: {} bytes", values[0].len());
    let file = std::fs::read(store.path.join("chunks").join(format!("{:016x}", 1))).unwrap();
    assert_eq!(file[0], 3, "the file holds the chunk compressed with zstd, in frames");
    assert_eq!(file.len() as u64, u64::from_le_bytes(values[0][1..9].try_into().unwrap()));
    assert!(values.last().is_some_and(|value| value[0] < 2), "the open run's with LZ4 (or plain)");
    assert_eq!(store.meta.get(b"layout").unwrap().unwrap().as_ref(), &6u16.to_be_bytes(), "layout 6 with the file");
    // Chunk pointers are small values: no spacer keys after them in sled.
    let spacers = store.db.raw_keys(&[crate::space::LOG]).into_iter().filter(|key| key.len() == 10);
    assert_eq!(spacers.count(), 0, "{payloads:?}");
    assert!(store.log.iter().all(|entry| entry.unwrap().0.len() == 8));
    assert_eq!(store.read_all(1).map(|e| e.unwrap().seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    assert_eq!(store.read_stream(&commitment).unwrap().len(), total as usize - 1);
    assert_eq!(store.verify().unwrap().broken, None);
}

#[test]
fn events_are_read_from_anywhere_inside_a_chunk() {
    let (_dir, store, reply, _) = seeded();
    let first = Ulid::new();
    let second = Ulid::new();
    store
        .append_streams(vec![
            (first, 0, vec![new_event(first, day("2025-06-01"), promise(reply, "甲"))]),
            (second, 0, vec![new_event(second, day("2025-06-01"), promise(reply, "乙"))]),
        ])
        .unwrap();
    let from_middle: Vec<u64> = store.read_all(4).map(|e| e.unwrap().seq).collect();
    assert_eq!(from_middle, [4, 5]);
    let second_events = store.read_stream(&second).unwrap();
    assert_eq!(second_events[0].seq, 5);
    assert_eq!(second_events[0].prev_hash, store.read_stream(&first).unwrap()[0].hash);
    assert_eq!(store.hash_at(5).unwrap(), Some(store.head().unwrap().hash));
    assert_eq!(store.hash_at(6).unwrap(), None);
    // One event by its seq, as the log reads it.
    for seq in 1..=5 {
        let alone = store.event_at(seq).unwrap().expect("held");
        let read = store.read_all(seq).next().unwrap().unwrap();
        assert_eq!((alone.seq, &alone.hash, &alone.event), (seq, &read.hash, &read.event));
    }
    assert!(store.event_at(6).unwrap().is_none());
    // A byte flipped in the chunk's fifth event is found at that event.
    tamper(&store, 5, |record| {
        let at = record.windows("乙".len()).position(|w| w == "乙".as_bytes()).unwrap();
        record[at + 1] ^= 0x01;
    });
    let (seq, reason) = store.verify().unwrap().broken.expect("tampering found");
    assert_eq!(seq, 5, "{reason}");
    assert!(store.event_at(5).is_err(), "a point read checks the hash too");
}

#[test]
fn a_large_append_is_split_into_chunks_that_read_back_in_order() {
    let (_dir, store, reply, commitment) = seeded();
    let long = "推进".repeat(500); // 3 KB per event
    let count = chain::CHUNK_BYTES * 5 / 2 / 3000; // two and a half chunks' worth
    let events: Vec<NewEvent> = (0..count).map(|_| new_event(commitment, day("2025-08-01"), progress(&long))).collect();
    store.append(commitment, 2, events).unwrap();
    let total = 3 + count as u64;
    // The three small chunks of the open run and the new events make three chunks, the first two full.
    assert_eq!(store.log.len(), 3, "{} chunks", store.log.len());
    let seqs: Vec<u64> = store.read_all(1).map(|e| e.unwrap().seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    assert_eq!(store.read_stream(&commitment).unwrap().len(), total as usize - 1);
    assert_eq!(store.verify().unwrap().broken, None);
    // Reading from inside any chunk starts at the right event.
    for from in (1..=total).step_by(7) {
        assert_eq!(store.read_all(from).next().unwrap().unwrap().seq, from);
    }
    // Scanning for a fold (two threads decode alternate chunks) sees every event once, in order, from anywhere.
    for from in [1, 2, total / 2, total] {
        let mut seen = Vec::new();
        store
            .scan_log(from, |envelope| {
                seen.push(envelope.seq);
                true
            })
            .unwrap();
        assert_eq!(seen, (from..=total).collect::<Vec<_>>(), "from {from}");
    }
    // Several streams' events read from the chunks that hold them: in log order, as each stream reads alone.
    let both = store.read_streams_for_fold(&[commitment, reply]).unwrap();
    assert_eq!(both.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    let alone = store.read_stream(&commitment).unwrap();
    let folded: Vec<&Envelope> = both.iter().filter(|e| e.stream == commitment).collect();
    assert_eq!(folded.len(), alone.len());
    assert!(folded.iter().zip(&alone).all(|(a, b)| a.event == b.event && a.seq == b.seq && a.hash.is_empty()));
    assert!(store.read_streams_for_fold(&[Ulid::new()]).unwrap().is_empty(), "an unknown stream has no events");
    let mut seen = 0;
    store
        .scan_log(1, |envelope| {
            seen += 1;
            envelope.seq < total / 2
        })
        .unwrap();
    assert_eq!(seen, total / 2, "a scan stops where it is told to");
}

#[test]
fn a_damaged_compressed_chunk_is_reported_not_a_panic() {
    let (_dir, store, _, commitment) = seeded();
    let events: Vec<NewEvent> =
        (0..20).map(|_| new_event(commitment, day("2025-08-01"), progress("按计划推进，完成阶段性任务"))).collect();
    store.append(commitment, 2, events).unwrap();
    let (key, value) = store.log.iter().next().unwrap().unwrap();
    assert_eq!(value[0], 1, "the open run's chunk of similar events is compressed (LZ4)");
    // Past the flag byte and the four-byte length before the compressed bytes (a wrong length alone loses nothing).
    for at in [5, 9, value.len() / 2, value.len() - 1] {
        let mut damaged = value.to_vec();
        damaged[at] ^= 0x55;
        store.log.insert(&key, damaged).unwrap();
        let report = store.verify().unwrap();
        assert!(report.broken.is_some(), "byte {at}");
        let _ = store.read_all(1).collect::<Vec<_>>(); // errors, never a panic
        let _ = store.read_stream(&commitment);
        let _ = store.scan_log(1, |_| true);
    }
    // A chunk that cannot be opened ends a scan with an error (the decoding threads stop; nothing hangs).
    store.log.insert(&key, vec![9u8, 1, 2, 3]).unwrap();
    assert!(matches!(store.scan_log(1, |_| true), Err(StoreError::Corrupt { .. })));
    assert!(store.rebuild().is_err());
}

/// A store (of layout 5, as a duban before chunk files left it) whose log holds one full chunk and the open run
/// after it: (dir, store, commitment, events). Distinct texts of ~4 KB each, so that they do not compress away.
fn with_a_full_chunk() -> (tempfile::TempDir, SledStore, Ulid, u64) {
    let (dir, store, _, commitment) = seeded();
    store.meta.insert(b"layout", &5u16.to_be_bytes()).unwrap();
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    let appends = chain::CHUNK_BYTES * 3 / 2 / 4000 + 2;
    for version in 2..2 + appends as u32 {
        let event = new_event(commitment, day("2025-08-01"), progress(&distinct_text(version)));
        store.append(commitment, version, vec![event]).unwrap();
    }
    (dir, store, commitment, 3 + appends as u64)
}

#[test]
fn a_layout_5_store_opens_as_it_is_and_becomes_layout_6_with_its_first_chunk_file() {
    let (dir, store, commitment, total) = with_a_full_chunk();
    assert_eq!(store.meta.get(b"layout").unwrap().unwrap().as_ref(), &6u16.to_be_bytes());
    assert!(store.path.join("chunks").join(format!("{:016x}", 1)).is_file());
    drop(store);
    // A one-command handle reads the chunk's frames up to each fact, going on from those it holds: the same events
    // as the whole log gives.
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    let whole: Vec<Envelope> = store.read_all(1).map(Result::unwrap).filter(|e| e.stream == commitment).collect();
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    assert_eq!(store.read_stream(&commitment).unwrap(), whole);
    let for_fold = store.read_streams_for_fold(&[commitment]).unwrap();
    assert_eq!(for_fold.iter().map(|e| e.id).collect::<Vec<_>>(), whole.iter().map(|e| e.id).collect::<Vec<_>>());
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    crate::EventStore::serve_many_reads(&store);
    // Every event reads back, from the file a frame at a time (twice: the second time from checkpoints).
    for _ in 0..2 {
        let events = store.read_stream(&commitment).unwrap();
        assert_eq!(events.len() as u64, total - 1);
        assert_eq!(events.last().unwrap().hash, store.head().unwrap().hash);
    }
    assert_eq!(store.read_all(1).count() as u64, total);
    assert_eq!(store.verify().unwrap().broken, None);
}

#[test]
fn a_damaged_or_missing_chunk_file_is_reported_with_the_way_out_never_read_as_something_else() {
    let (dir, store, commitment, _) = with_a_full_chunk();
    let path = dir.path().join("duban.db").join("chunks").join(format!("{:016x}", 1));
    let good = std::fs::read(&path).unwrap();
    let expected = store.read_stream(&commitment).unwrap();
    drop(store);
    let names_the_file = |error: StoreError| {
        let text = error.to_string();
        assert!(text.contains("chunks/0000000000000001") && text.contains("duban restore"), "{text}");
    };
    let mut damages: Vec<(String, Vec<u8>)> = vec![
        ("truncated".into(), good[..good.len() / 2].to_vec()),
        ("empty".into(), Vec::new()),
        ("longer".into(), [&good[..], b"x"].concat()),
    ];
    for at in [0, 3, 20, good.len() / 3, good.len() / 2, good.len() - 1] {
        let mut damaged = good.clone();
        damaged[at] ^= 0x41;
        damages.push((format!("byte {at}"), damaged));
    }
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        // A fresh handle (no checkpoints) and a serving one (checkpoints made by a first read) alike.
        for serving in [false, true] {
            let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
            if serving {
                crate::EventStore::serve_many_reads(&store);
            }
            match store.read_stream(&commitment) {
                Ok(events) => assert_eq!(events, expected, "{what}: read, then only as it was"),
                Err(error) => assert!(matches!(error, StoreError::Corrupt { .. }), "{what}: {error:?}"),
            }
            assert!(store.verify().unwrap().broken.is_some(), "{what}: verify finds it");
            assert!(store.scan_log(1, |_| true).is_err(), "{what}: a scan stops with an error");
        }
    }
    std::fs::remove_file(&path).unwrap();
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    names_the_file(store.read_stream(&commitment).unwrap_err());
    let (seq, reason) = store.verify().unwrap().broken.unwrap();
    assert_eq!(seq, 1, "{reason}");
    assert!(reason.contains("缺失"), "{reason}");
    drop(store);
    std::fs::write(&path, &good[..100]).unwrap();
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    names_the_file(store.read_stream(&commitment).unwrap_err());
}

#[test]
fn verify_accepts_a_sound_log() {
    let (_dir, store, _, _) = seeded();
    let report = store.verify().unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.events, 3);
    assert_eq!(report.head, store.head().unwrap());
}

#[test]
fn one_altered_byte_is_found_at_its_sequence_number() {
    let (_dir, store, _, _) = seeded();
    tamper(&store, 2, |record| {
        let at = record.windows("建成".len()).position(|w| w == "建成".as_bytes()).unwrap();
        record[at + 2] ^= 0x01;
    });
    let report = store.verify().unwrap();
    let (seq, reason) = report.broken.expect("tampering found");
    assert_eq!(seq, 2, "{reason}");
    assert_eq!(report.events, 1);
}

/// A store with one reply, one commitment and three progress reports (seq 1–5), each event in a chunk of its own.
fn longer() -> (tempfile::TempDir, SledStore, Ulid) {
    let (dir, store, _, commitment) = seeded();
    store.append(commitment, 2, vec![new_event(commitment, day("2025-08-01"), progress("二"))]).unwrap();
    store.append(commitment, 3, vec![new_event(commitment, day("2025-09-01"), progress("三"))]).unwrap();
    let records = records(&store);
    store.log.clear().unwrap();
    for (index, (before, record)) in records.iter().enumerate() {
        store.log.insert(chain::seq_key(index as u64 + 1), single(before, record)).unwrap();
    }
    assert_eq!(store.verify().unwrap().broken, None, "one event per chunk is a sound layout too");
    (dir, store, commitment)
}

/// Every stored record, in log order, with the hash before it (each chunk's anchor is checked on the way).
fn records(store: &SledStore) -> Vec<([u8; 32], Vec<u8>)> {
    let (mut all, mut before) = (Vec::new(), [0u8; 32]);
    for entry in store.log.iter() {
        let (key, value) = entry.unwrap();
        let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
        let payload = chain::open_chunk(first, &value).unwrap();
        let (anchor, framed) = chain::split_payload(first, &payload).unwrap();
        assert_eq!(*anchor, before, "chunk {first}");
        for (index, record) in chain::records(first, framed).unwrap().into_iter().enumerate() {
            all.push((before, record.to_vec()));
            before = chain::chained(first + index as u64, &before, record).unwrap();
        }
    }
    all
}

/// A chunk holding one record, which follows the hash `before`.
fn single(before: &[u8; 32], record: &[u8]) -> Vec<u8> {
    chain::seal_log_chunk(&chain::frame(before, &[record]))
}

/// Changes the record of event `seq` in place, inside whatever chunk holds it.
fn tamper(store: &SledStore, seq: u64, change: impl FnOnce(&mut Vec<u8>)) {
    let (first, payload) = store.chunk_holding(seq).unwrap().unwrap();
    let (anchor, framed) = chain::split_payload(first, &payload).unwrap();
    let mut records: Vec<Vec<u8>> = chain::records(first, framed).unwrap().into_iter().map(<[u8]>::to_vec).collect();
    change(&mut records[(seq - first) as usize]);
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    store.log.insert(chain::seq_key(first), chain::seal_log_chunk(&chain::frame(anchor, &refs))).unwrap();
}

/// The chunk stored under `seq` (one event each in `longer`).
fn stored(store: &SledStore, seq: u64) -> Vec<u8> {
    store.log.get(chain::seq_key(seq)).unwrap().unwrap().to_vec()
}

#[test]
fn a_deleted_event_is_found_at_its_sequence_number() {
    let (_dir, store, _) = longer();
    store.log.remove(chain::seq_key(3)).unwrap();
    let (seq, reason) = store.verify().unwrap().broken.expect("deletion found");
    assert_eq!(seq, 3, "{reason}");
    assert!(reason.contains("缺失"), "{reason}");
}

#[test]
fn reordered_events_are_found_at_the_first_moved_one() {
    let (_dir, store, _) = longer();
    let (three, four) = (stored(&store, 3), stored(&store, 4));
    store.log.insert(chain::seq_key(3), four).unwrap();
    store.log.insert(chain::seq_key(4), three).unwrap();
    let (seq, reason) = store.verify().unwrap().broken.expect("reordering found");
    assert_eq!(seq, 3, "{reason}");
}

#[test]
fn an_inserted_event_is_found_right_after_it() {
    let (_dir, store, commitment) = longer();
    // A forger shifts events 3..=5 up by one and writes a well-formed event 3 chained to event 2.
    for seq in (3..=5).rev() {
        store.log.insert(chain::seq_key(seq + 1), stored(&store, seq)).unwrap();
    }
    let previous = store.read_all(2).next().unwrap().unwrap();
    let forged =
        new_event(commitment, day("2025-07-15"), progress("伪造")).sealed(3, 3, previous.hash.clone(), String::new());
    let before = chain::unhex(&previous.hash).unwrap();
    store.log.insert(chain::seq_key(3), single(&before, &chain::seal(&forged).0)).unwrap();
    let (seq, reason) = store.verify().unwrap().broken.expect("insertion found");
    assert_eq!(seq, 3, "the forged event does not continue its stream (or the index): {reason}");
}

#[test]
fn a_wrong_stream_index_is_found_and_rebuilt() {
    let (_dir, store, commitment) = longer();
    let family_id = store.entry(&commitment).unwrap().unwrap().family;
    let mut family = store.family(&family_id).unwrap().unwrap();
    family.seqs.get_mut(&commitment).unwrap().remove(2); // the index loses event 4
    store.families.insert(family_id.to_bytes(), family.to_bytes()).unwrap();
    let report = store.verify().unwrap();
    let (seq, reason) = report.broken.expect("index damage found");
    assert_eq!(seq, 4, "{reason}");
    assert_eq!(report.head.seq, 3);
    assert_eq!(Some(report.head.hash), store.hash_at(3).unwrap());
    let rebuilt = store.rebuild().unwrap();
    assert_eq!(rebuilt.differences, vec![crate::Difference { id: commitment, kind: "index" }]);
    assert_eq!(store.verify().unwrap().broken, None);
    assert_eq!(store.read_stream(&commitment).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4, 5]);
}

#[test]
fn a_store_written_by_a_newer_schema_is_refused() {
    let (dir, store, _, _) = seeded();
    store.meta.insert(b"schema", &99u16.to_be_bytes()).unwrap();
    store.sync().unwrap();
    drop(store);
    let error = SledStore::open(&dir.path().join("duban.db")).err().expect("a newer store must be refused");
    assert!(matches!(error, StoreError::NewerSchema { found: 99, .. }), "{error:?}");
    assert!(error.to_string().contains("升级"), "{error}");
}

#[test]
fn an_event_of_a_newer_schema_is_refused_not_misread() {
    let (_dir, store, _, commitment) = seeded();
    let mut newer = store.read_all(3).next().unwrap().unwrap();
    newer.schema = 99;
    tamper(&store, 3, |record| *record = chain::seal(&newer).0);
    assert!(matches!(store.read_stream(&commitment), Err(StoreError::NewerSchema { found: 99, .. })));
    let (seq, reason) = store.verify().unwrap().broken.expect("refused");
    assert_eq!(seq, 3);
    assert!(reason.contains("升级"), "{reason}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Writers racing on one commitment through the library: exactly one wins each version, the others get the
    /// conflict error, and when they retry no update is lost.
    #[test]
    fn racing_writers_exactly_one_wins_and_no_update_is_lost(writers in 2usize..8) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::create(&dir.path().join("duban.db")).unwrap();
        conformance::racing(&*store, writers);
    }
}

#[test]
fn a_second_open_of_the_same_store_is_refused_clearly() {
    let (dir, store, _, _) = seeded();
    let error = SledStore::open(&dir.path().join("duban.db")).err().expect("second open must fail");
    assert!(matches!(error, StoreError::InUse { .. }), "{error:?}");
    assert!(error.to_string().contains("正被另一个 duban 进程使用"), "{error}");
    drop(store);
    SledStore::open(&dir.path().join("duban.db")).expect("free again once the first handle is dropped");
}

#[test]
fn opening_a_missing_store_and_creating_over_one_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.db");
    assert!(matches!(SledStore::open(&path), Err(StoreError::NotFound { .. })));
    assert!(!path.exists(), "opening a missing store must not create it");
    drop(SledStore::create(&path).unwrap());
    assert!(matches!(SledStore::create(&path), Err(StoreError::AlreadyExists { .. })));
}

#[test]
fn reading_the_projection_reads_no_events() {
    let (_dir, store, _, _) = seeded();
    let before = store.events_read();
    assert_eq!(store.commitments().unwrap().len(), 1);
    assert_eq!(store.replies().unwrap().len(), 1);
    assert_eq!(store.events_read(), before);
    store.read_all(1).for_each(drop);
    assert_eq!(store.events_read(), before + 3);
}

#[test]
fn prefixes_resolve_to_one_id() {
    let (_dir, store, reply, commitment) = seeded();
    let text = commitment.to_string();
    assert_eq!(store.resolve_commitment(&text.to_lowercase()).unwrap(), commitment);
    assert_eq!(store.resolve_stream(&reply.to_string()).unwrap(), reply);
    assert!(matches!(
        store.resolve_commitment(&reply.to_string()),
        Err(StoreError::Domain(DomainError::UnknownId { .. }))
    ));
    assert!(matches!(store.resolve_reply("ZZZZZZ"), Err(StoreError::Domain(DomainError::UnknownId { .. }))));
    assert!(matches!(store.resolve_reply("01"), Err(StoreError::Domain(DomainError::BadId { .. }))));
}

#[test]
fn short_ids_from_neighbours_match_short_ids_from_every_id() {
    let (_dir, store, reply, _) = seeded();
    // Ids made within one millisecond share their first ten characters.
    let base = Ulid::new();
    for n in 0..30u128 {
        let id = Ulid(base.0 ^ (n * 0x9E37_79B9_7F4A_7C15));
        store.append(id, 0, vec![new_event(id, day("2025-06-01"), promise(reply, "近邻"))]).unwrap();
    }
    let all = store.all_ids().unwrap();
    for id in &all {
        assert_eq!(store.short_id(id).unwrap(), short_id(id, &all), "{id}");
    }
}

#[test]
fn export_and_import_give_the_same_chain_and_states() {
    let (dir, store, _, commitment) = seeded();
    let file = dir.path().join("events.jsonl");
    let mut out = std::fs::File::create(&file).unwrap();
    assert_eq!(store.export(&mut out).unwrap(), 3);
    let restored = SledStore::create(&dir.path().join("restored.db")).unwrap();
    assert_eq!(restored.import_events(&file).unwrap(), 3);
    assert_eq!(restored.head().unwrap(), store.head().unwrap());
    assert_eq!(restored.commitment(&commitment).unwrap(), store.commitment(&commitment).unwrap());
    assert_eq!(restored.verify().unwrap().broken, None);
    assert!(matches!(restored.import_events(&file), Err(StoreError::NotEmpty { events: 3 })));
}

#[test]
fn a_broken_export_writes_nothing() {
    let (dir, store, _, _) = seeded();
    let mut bytes = Vec::new();
    store.export(&mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (name, broken) in [
        ("reordered", format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1])),
        ("dropped", format!("{}\n{}\n", lines[0], lines[2])),
        ("altered", text.replace("完成选址", "完成验收")),
        ("garbage", format!("{}\nnot json\n", lines[0])),
    ] {
        let file = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&file, broken).unwrap();
        let target = SledStore::create(&dir.path().join(format!("{name}.db"))).unwrap();
        let error = target.import_events(&file).unwrap_err();
        assert!(matches!(error, StoreError::BadImport { .. }), "{name}: {error:?}");
        assert_eq!(target.head().unwrap().seq, 0, "{name}: nothing written");
        assert!(target.commitments().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn rebuild_repairs_a_damaged_projection_and_says_what_it_fixed() {
    let (_dir, store, _, commitment) = seeded();
    assert!(store.rebuild().unwrap().differences.is_empty());
    let family_id = store.entry(&commitment).unwrap().unwrap().family;
    let mut family = store.family(&family_id).unwrap().unwrap();
    family.commitments[0].owner = "篡改".into();
    let ghost = Ulid::new();
    family.commitments.push(CommitmentState { id: Some(ghost), ..CommitmentState::default() });
    store.families.insert(family_id.to_bytes(), family.to_bytes()).unwrap();
    let report = store.rebuild().unwrap();
    let kinds: Vec<(Ulid, &str)> = report.differences.iter().map(|d| (d.id, d.kind)).collect();
    assert!(kinds.contains(&(commitment, "changed")) && kinds.contains(&(ghost, "extra")), "{kinds:?}");
    assert_eq!(store.commitment(&commitment).unwrap().unwrap().owner, "上海市测试局");
    assert!(store.rebuild().unwrap().differences.is_empty());
}

#[test]
fn write_behind_holds_families_until_settled_and_a_lost_hold_is_caught_up_at_open() {
    let (dir, store, reply, commitment) = seeded();
    store.write_behind(true).unwrap();
    for version in 2..12 {
        store.append(commitment, version, vec![new_event(commitment, day("2025-08-01"), progress("续报"))]).unwrap();
    }
    let second = Ulid::new();
    store.append(second, 0, vec![new_event(second, day("2025-08-02"), promise(reply, "后补承诺"))]).unwrap();
    // Nothing of that is in the stored families yet...
    let stored =
        |store: &SledStore| Family::from_bytes(&store.families.get(reply.to_bytes()).unwrap().unwrap()).unwrap();
    assert_eq!(stored(&store).commitments.len(), 1);
    assert_eq!(stored(&store).commitments[0].version, 2);
    assert!(store.streams.get(&second).unwrap().is_none(), "nor is the new stream's index entry");
    // ...but appends see what is held...
    let again = store.append(second, 0, vec![new_event(second, day("2025-08-02"), promise(reply, "重复"))]);
    assert!(matches!(again, Err(StoreError::Conflict { expected: 0, actual: 1, .. })), "{again:?}");
    // ...and so do this handle's readers, and versions are checked against what is held.
    assert_eq!(store.resolve_commitment(&second.to_string()[..12]).unwrap(), second);
    assert_eq!(store.read_stream(&second).unwrap().len(), 1);
    assert_eq!(store.commitment(&commitment).unwrap().unwrap().progress_reports, 11);
    let stale = store.append(commitment, 5, vec![new_event(commitment, day("2025-08-03"), progress("迟到"))]);
    assert!(matches!(stale, Err(StoreError::Conflict { expected: 5, actual: 12, .. })), "{stale:?}");
    store.append(commitment, 12, vec![new_event(commitment, day("2025-08-03"), progress("再报"))]).unwrap();
    let third = Ulid::new();
    store.append(third, 0, vec![new_event(third, day("2025-08-04"), promise(reply, "再补承诺"))]).unwrap();
    // The process dies holding families and an index entry: what it held is lost from memory, never from the log.
    *store.behind.lock().unwrap() = None;
    assert_eq!(stored(&store).commitments[0].version, 12, "the reader above settled what was held then");
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    let log: Vec<Envelope> = store.read_all(1).collect::<Result<_, _>>().unwrap();
    let folded = Folded::fold(&log, Horizon::ALL);
    assert_eq!(store.commitment(&commitment).unwrap().as_ref(), folded.commitments.get(&commitment));
    assert_eq!(store.commitment(&second).unwrap().as_ref(), folded.commitments.get(&second));
    assert_eq!(store.commitment(&commitment).unwrap().unwrap().version, 13);
    assert_eq!(store.commitment(&third).unwrap().as_ref(), folded.commitments.get(&third));
    assert_eq!(store.read_stream(&third).unwrap().len(), 1, "the index entry was caught up too");
    assert!(store.rebuild().unwrap().differences.is_empty());
    assert_eq!(store.verify().unwrap().broken, None);
}

proptest! {
    /// Whatever a damaged store holds, reading it is an error, never a panic or a giant allocation.
    #[test]
    fn damaged_stored_values_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let payload = chain::open_chunk(1, &bytes);
        if let Ok(payload) = &payload {
            if let Ok((anchor, framed)) = chain::split_payload(1, payload) {
                for record in chain::records(1, framed).unwrap_or_default() {
                    if let Ok(hash) = chain::chained(1, anchor, record) {
                        let _ = chain::decode_stored(1, anchor, &hash, record);
                    }
                }
            }
        }
        let _ = chain::records(1, &bytes);
        let _ = chain::rehash(1, &[0; 32], &bytes);
        let _ = chain::decode_stored(1, &[0; 32], &[0; 32], &bytes);
        let _ = chain::decode_stored_for_fold(1, &bytes);
        let _ = chain::decode(1, &[0; 32], &bytes);
        let _ = chain::decode_for_fold(1, &bytes);
        let _ = Family::from_bytes(&bytes);
        let _ = crate::index::StreamEntry::from_bytes(&bytes);
        // The same bytes behind each format flag.
        for flag in [0u8, 1, 2] {
            let mut value = vec![flag];
            value.extend_from_slice(&bytes);
            let _ = chain::open_chunk(1, &value)
                .map(|payload| chain::split_payload(1, &payload).map(|(_, framed)| chain::records(1, framed).map(|r| r.len())));
            if let Some(mut family) = crate::index::StoredFamily::parse(&value) {
                let reply = Ulid::from_parts(1, 1);
                let envelope = new_event(reply, day("2025-05-29"), registration(day("2025-05-29")))
                    .sealed(1, 1, crate::GENESIS.into(), String::new());
                let _ = family.apply(&envelope);
                let _ = Family::from_bytes(&family.to_bytes());
            }
        }
    }
}

#[test]
fn a_chunk_claiming_a_huge_size_is_refused_before_allocating() {
    let mut value = vec![1u8];
    value.extend_from_slice(&u32::MAX.to_le_bytes());
    value.extend_from_slice(&[0x10, 0x41]);
    let error = chain::open_chunk(7, &value).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { seq: 7, .. }), "{error:?}");
}

#[test]
fn a_restore_cut_short_is_folded_in_at_the_next_open() {
    let (dir, store, _) = longer();
    let log: Vec<Envelope> = store.read_all(1).collect::<Result<_, _>>().unwrap();
    drop(store);
    // A restore that wrote the log and died before building the index and the projection.
    let path = dir.path().join("restored.db");
    let restored = SledStore::create(&path).unwrap();
    restored.write_restored(&log).unwrap();
    restored.sync().unwrap();
    assert!(restored.streams.iter().next().is_none(), "no index yet");
    drop(restored);
    let restored = SledStore::open(&path).unwrap();
    let folded = Folded::fold(&log, Horizon::ALL);
    for (id, state) in &folded.commitments {
        assert_eq!(restored.commitment(id).unwrap().as_ref(), Some(state));
        assert_eq!(restored.read_stream(id).unwrap().len() as u32, state.version);
    }
    for (id, state) in &folded.replies {
        assert_eq!(restored.reply(id).unwrap().as_ref(), Some(state));
    }
    assert!(restored.rebuild().unwrap().differences.is_empty());
    assert_eq!(restored.verify().unwrap().broken, None);
}

#[test]
fn a_store_is_opened_with_the_segment_size_it_was_created_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let reply = Ulid::new();
    {
        let store = SledStore::create(&path).unwrap();
        store.append(reply, 0, vec![new_event(reply, day("2025-05-01"), registration(day("2025-05-01")))]).unwrap();
    }
    assert_eq!(
        crate::space::stored_segment_size(&path),
        Some(crate::space::SEGMENT_BYTES),
        "new stores use duban's size"
    );
    assert_eq!(SledStore::open(&path).unwrap().read_stream(&reply).unwrap().len(), 1);
    // sled refuses to open a store with another segment size than it recorded; older stores recorded its default.
    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(old.join("conf"), "segment_size: 524288\nuse_compression: false\nversion: 0.34\n").unwrap();
    assert_eq!(crate::space::stored_segment_size(&old), Some(524_288));
    assert_eq!(crate::space::stored_segment_size(&dir.path().join("none")), None);
}

#[test]
fn a_rebuild_split_around_a_reopen_repairs_and_folds_again_if_the_log_grew() {
    let (_dir, store, reply, commitment) = seeded();
    // The projection loses its only family; the split rebuild (as `duban rebuild` runs it) puts it back.
    store.families.clear().unwrap();
    let refolded = store.refold().unwrap();
    let store = store.reopen().unwrap();
    let report = store.rebuild_from(refolded).unwrap();
    assert_eq!((report.events, report.replies, report.commitments), (3, 1, 1));
    let kinds: Vec<&str> = report.differences.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, ["missing", "missing"], "{:?}", report.differences);
    assert_eq!(store.commitment(&commitment).unwrap().unwrap().reply, Some(reply));
    assert_eq!(store.verify().unwrap().broken, None);
    // An event appended between the halves is not missed: the log is folded again.
    let refolded = store.refold().unwrap();
    store.append(commitment, 2, vec![new_event(commitment, day("2025-08-01"), progress("其间"))]).unwrap();
    let report = store.rebuild_from(refolded).unwrap();
    assert_eq!(report.events, 4);
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

#[test]
fn a_chunk_whose_anchor_was_altered_is_found_at_its_first_event() {
    let (_dir, store, commitment) = longer();
    // Event 3's chunk claims another hash before it; its record is untouched.
    let (first, payload) = store.chunk_holding(3).unwrap().unwrap();
    let (_, framed) = chain::split_payload(first, &payload).unwrap();
    let mut altered = vec![0xAB; chain::ANCHOR_BYTES];
    altered.extend_from_slice(framed);
    store.log.insert(chain::seq_key(first), chain::seal_log_chunk(&altered)).unwrap();
    let report = store.verify().unwrap();
    let (seq, reason) = report.broken.expect("an altered anchor is found");
    assert_eq!(seq, 3, "{reason}");
    assert!(reason.contains("链锚") || reason.contains("哈希"), "{reason}");
    assert_eq!(report.events, 2);
    // Readers that hand out hashes refuse it rather than hand out a chain that does not hold...
    let read: Vec<_> = store.read_all(1).collect();
    assert!(read[..2].iter().all(Result::is_ok));
    assert!(matches!(read[2], Err(StoreError::Corrupt { seq: 3, .. })), "{:?}", read[2]);
    assert!(matches!(store.read_stream(&commitment), Err(StoreError::Corrupt { seq: 3, .. })));
    // ...while folds, which need no hashes, read on.
    assert_eq!(store.read_all_for_fold(1).filter(Result::is_ok).count(), 5);
}

#[test]
fn a_stored_record_keeps_four_bytes_of_the_hash_the_full_record_keeps_whole() {
    let reply = Ulid::from_parts(1, 1);
    let envelope = new_event(reply, day("2025-05-29"), registration(day("2025-05-29"))).sealed(
        1,
        1,
        crate::GENESIS.into(),
        String::new(),
    );
    let (full, hex) = chain::encode(&envelope);
    let (stored, hash) = chain::seal(&envelope);
    assert_eq!(chain::hex(&hash), hex);
    assert_eq!(hex, crate::hash_of(&envelope));
    assert_eq!(stored[..chain::CHECK_BYTES], hash[..chain::CHECK_BYTES]);
    assert_eq!(stored[chain::CHECK_BYTES..], full[32..], "the same tail");
    assert_eq!(chain::rehash(1, &[0; 32], &stored).unwrap(), Some(hash));
    assert!(chain::rehash(2, &[0; 32], &stored).unwrap().is_none(), "another position is another hash");
    assert!(chain::rehash(1, &[1; 32], &stored).unwrap().is_none(), "so is another predecessor");
    let decoded = chain::decode_stored(1, &[0; 32], &hash, &stored).unwrap();
    assert_eq!((decoded.hash.as_str(), decoded.prev_hash.as_str()), (hex.as_str(), crate::GENESIS));
    assert_eq!(decoded.event, envelope.event);
    assert!(matches!(chain::chained(1, &[0; 32], &stored[..3]), Err(StoreError::Corrupt { seq: 1, .. })));
}

#[test]
fn a_store_of_an_earlier_layout_is_refused_with_the_way_out() {
    let (dir, store, _, _) = seeded();
    store.meta.insert(b"layout", &2u16.to_be_bytes()).unwrap();
    store.sync().unwrap();
    drop(store);
    let error = SledStore::open(&dir.path().join("duban.db")).err().expect("a layout-2 store must be refused");
    assert!(matches!(error, StoreError::OtherLayout { found: 2, supported: crate::LAYOUT, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("export") && message.contains("import-events"), "{message}");
}

/// A commitment id created at `millis` (ms since the epoch): ids of different hours fall in different buckets.
fn id_at(millis: u64, random: u128) -> Ulid {
    Ulid::from_parts(millis, random)
}

/// A store whose streams fall in several index buckets: the seeded reply, and commitments made in it at hours
/// apart (each index bucket spans 2^24 ms, about 4.7 hours).
fn spread() -> (tempfile::TempDir, SledStore, Vec<Ulid>) {
    let (dir, store, reply, first) = seeded();
    let mut ids = vec![reply, first];
    for (index, hours) in [0u64, 1, 10, 10, 30, 500].into_iter().enumerate() {
        let id = id_at(1_750_000_000_000 + hours * 3_600_000, 1000 + index as u128);
        store.append(id, 0, vec![new_event(id, day("2025-06-01"), promise(reply, "分组承诺"))]).unwrap();
        ids.push(id);
    }
    ids.sort();
    (dir, store, ids)
}

#[test]
fn the_stream_index_keeps_streams_in_buckets_by_when_they_were_created() {
    let (_dir, store, ids) = spread();
    let buckets: std::collections::BTreeSet<_> = ids.iter().map(crate::streams::bucket_of).collect();
    assert!(buckets.len() >= 5, "{buckets:?}");
    assert_eq!(store.streams.space().len(), buckets.len(), "one sled key per bucket");
    assert_eq!(store.all_ids().unwrap(), ids, "every stream, in id order");
    for (index, id) in ids.iter().enumerate() {
        assert!(store.streams.get(id).unwrap().is_some());
        // Neighbours are found across bucket boundaries.
        let expected: Vec<Ulid> =
            ids[index.saturating_sub(1)..index].iter().chain(ids.get(index + 1)).copied().collect();
        assert_eq!(store.neighbours(id).unwrap(), expected, "around {id}");
        // Its short id names it, whichever bucket holds it.
        assert_eq!(store.resolve_stream(&store.short_id(id).unwrap()).unwrap(), *id);
    }
    assert!(store.streams.get(&id_at(1, 1)).unwrap().is_none());
    assert_eq!(store.verify().unwrap().broken, None);
    assert!(store.rebuild().unwrap().differences.is_empty());
}

#[test]
fn a_damaged_index_bucket_is_named_by_verify_and_rewritten_by_rebuild() {
    let (_dir, store, ids) = spread();
    // The commitment made 500 hours in has a bucket of its own.
    let lonely = id_at(1_750_000_000_000 + 500 * 3_600_000, 1005);
    let bucket = crate::streams::bucket_of(&lonely);
    assert_eq!(ids.iter().filter(|id| crate::streams::bucket_of(id) == bucket).count(), 1);
    store.streams.space().insert(bucket, vec![7u8; 20]).unwrap();
    let error = store.read_stream(&lonely).unwrap_err();
    assert!(matches!(error, StoreError::ProjectionDamaged { .. }), "not misread: {error:?}");
    assert!(error.to_string().contains("duban rebuild"), "names the way out: {error}");
    let (_, reason) = store.verify().unwrap().broken.expect("the damage is found");
    assert!(reason.contains("流索引"), "{reason}");
    let rebuilt = store.rebuild().unwrap();
    assert_eq!(rebuilt.differences, vec![crate::Difference { id: lonely, kind: "index" }]);
    assert_eq!(store.verify().unwrap().broken, None);
    assert_eq!(store.read_stream(&lonely).unwrap().len(), 1);
}

/// Turns a store into one of layout 3: one index key per stream (the id, then the entry), and the layout mark.
fn to_layout_3(store: &SledStore) -> Vec<(Ulid, crate::index::StreamEntry)> {
    let entries: Vec<(Ulid, crate::index::StreamEntry)> = store.streams.iter().map(Result::unwrap).collect();
    store.streams.space().clear().unwrap();
    for (id, entry) in &entries {
        store.streams.space().insert(id.to_bytes(), entry.to_bytes()).unwrap();
    }
    store.meta.insert(b"layout", &3u16.to_be_bytes()).unwrap();
    store.sync().unwrap();
    entries
}

#[test]
fn a_layout_3_store_is_refused_by_open_and_copied_into_the_current_layout_by_upgrade() {
    let (dir, store, ids) = spread();
    let head = store.head().unwrap();
    let log: Vec<Envelope> = store.read_all(1).collect::<Result<_, _>>().unwrap();
    let entries = to_layout_3(&store);
    drop(store);
    let path = dir.path().join("duban.db");
    // Opening never changes a layout: the store is refused with the way out, and stays of layout 3.
    let error = SledStore::open(&path).err().expect("refused");
    assert!(matches!(error, StoreError::NeedsUpgrade { found: 3, supported: crate::LAYOUT, .. }), "{error:?}");
    assert!(error.is_user_error() && error.to_string().contains("duban upgrade"), "{error}");
    let (still, layout) = SledStore::open_any_layout(&path, true).unwrap();
    assert_eq!(layout, 3);
    drop(still);
    let report = crate::upgrade(&path).unwrap();
    assert_eq!(
        (report.from, report.to, report.events, report.finished_interrupted),
        (3, crate::LAYOUT, head.seq, false)
    );
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.meta.get(b"layout").unwrap().unwrap().as_ref(), &crate::LAYOUT.to_be_bytes());
    assert_eq!(store.head().unwrap(), head, "the same chain");
    assert_eq!(store.read_all(1).collect::<Result<Vec<_>, _>>().unwrap(), log, "the same events, hashes and all");
    let buckets: std::collections::BTreeSet<_> = ids.iter().map(crate::streams::bucket_of).collect();
    assert_eq!(store.streams.space().len(), buckets.len(), "one key per bucket");
    assert_eq!(store.streams.iter().map(Result::unwrap).collect::<Vec<_>>(), entries);
    assert!(store.rebuild().unwrap().differences.is_empty());
    assert_eq!(store.verify().unwrap().broken, None);
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["duban.db"], "nothing left beside it");
}

#[test]
fn a_layout_4_store_whose_projection_no_longer_decodes_is_copied_into_the_current_layout_by_upgrade() {
    let (dir, store, _) = spread();
    let head = store.head().unwrap();
    let log: Vec<Envelope> = store.read_all(1).collect::<Result<_, _>>().unwrap();
    // Layout 4's folded commitments were encoded without their due date's source: to this duban they are
    // unreadable, which the upgrade must not need to read.
    let families: Vec<Vec<u8>> = store.families.iter().map(|entry| entry.unwrap().0.to_vec()).collect();
    for key in &families {
        store.families.insert(key.clone(), vec![0xFF, 0x13, 0x37]).unwrap();
    }
    store.meta.insert(b"layout", &4u16.to_be_bytes()).unwrap();
    store.sync().unwrap();
    drop(store);
    let path = dir.path().join("duban.db");
    let error = SledStore::open(&path).err().expect("refused");
    assert!(matches!(error, StoreError::NeedsUpgrade { found: 4, .. }), "{error:?}");
    let report = crate::upgrade(&path).unwrap();
    assert_eq!((report.from, report.to, report.events), (4, crate::LAYOUT, head.seq));
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(store.read_all(1).collect::<Result<Vec<_>, _>>().unwrap(), log);
    assert_eq!(store.families.iter().count(), families.len());
    assert!(store.rebuild().unwrap().differences.is_empty(), "the projection folded afresh");
    assert!(!dir.path().join("duban.db.previous").exists());
}

#[test]
fn an_upgrade_cut_short_is_finished_or_started_again_by_the_next_upgrade() {
    // Cut between the two renames: the old store renamed away, the complete copy not yet in its place.
    let (dir, store, _) = spread();
    let head = store.head().unwrap();
    drop(store);
    let path = dir.path().join("duban.db");
    std::fs::rename(&path, dir.path().join("duban.db.upgrading")).unwrap();
    let (_old_dir, old, _) = spread();
    to_layout_3(&old);
    let old_path = old.path().to_path_buf();
    drop(old);
    std::fs::rename(&old_path, dir.path().join("duban.db.layout3")).unwrap();
    let error = SledStore::open(&path).err().expect("refused");
    assert!(matches!(error, StoreError::UpgradeInterrupted { .. }), "{error:?}");
    assert!(crate::upgrade(&path).unwrap().finished_interrupted);
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.head().unwrap(), head, "the copy took its place");
    assert!(!dir.path().join("duban.db.layout3").exists() && !dir.path().join("duban.db.upgrading").exists());
    drop(store);

    // Cut while copying: the store is still of layout 3, the copy half made.
    let (dir, store, _) = spread();
    let head = store.head().unwrap();
    to_layout_3(&store);
    drop(store);
    let path = dir.path().join("duban.db");
    let half = SledStore::create(&dir.path().join("duban.db.upgrading")).unwrap();
    drop(half);
    assert!(matches!(SledStore::open(&path), Err(StoreError::NeedsUpgrade { .. })));
    assert_eq!(crate::upgrade(&path).unwrap().from, 3);
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.meta.get(b"layout").unwrap().unwrap().as_ref(), &crate::LAYOUT.to_be_bytes());
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(store.verify().unwrap().broken, None);
    assert!(!dir.path().join("duban.db.upgrading").exists());
}

#[test]
fn facts_in_blob_files_read_back_after_reopening() {
    let (dir, store, _, commitment) = seeded();
    // Texts that do not compress, enough for full chunks large enough to go to blob files (sled syncs each as it
    // writes it: vendor/sled/DUBAN.md change 4, checked under strace by tests/syscalls.rs).
    let mut seed = 7u32;
    let mut noise = |len: usize| -> String {
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                char::from_u32(0x4E00 + (seed >> 8) % 20_000).unwrap()
            })
            .collect()
    };
    let events: Vec<NewEvent> =
        (0..200).map(|_| new_event(commitment, day("2025-08-01"), progress(&noise(1000)))).collect();
    let written = store.append(commitment, 2, events).unwrap();
    let blobs = dir.path().join("duban.db").join("blobs");
    assert!(std::fs::read_dir(&blobs).unwrap().next().is_some(), "full chunks that do not compress are blob files");
    drop(store);
    let store = SledStore::open(&dir.path().join("duban.db")).unwrap();
    store.append(commitment, 202, vec![new_event(commitment, day("2025-08-02"), progress(&noise(1000)))]).unwrap();
    let read = store.read_stream(&commitment).unwrap();
    assert_eq!(read.len(), 203);
    assert_eq!(
        read[2..202].iter().map(|e| &e.hash).collect::<Vec<_>>(),
        written.iter().map(|e| &e.hash).collect::<Vec<_>>()
    );
    assert_eq!(store.verify().unwrap().broken, None);
}

#[test]
fn folding_an_event_a_family_already_holds_changes_nothing() {
    // What `open` does after a crash between two of write-behind's batches: events the stored family already holds
    // are folded again.
    let reply = Ulid::from_parts(1, 1);
    let commitment = Ulid::from_parts(1, 2);
    let events = [
        new_event(reply, day("2025-05-29"), registration(day("2025-05-29"))).sealed(
            1,
            1,
            crate::GENESIS.into(),
            String::new(),
        ),
        new_event(commitment, day("2025-05-29"), promise(reply, "甲")).sealed(2, 1, String::new(), String::new()),
        new_event(commitment, day("2025-08-01"), progress("一")).sealed(3, 2, String::new(), String::new()),
    ];
    let mut once = crate::index::StoredFamily::new();
    for envelope in &events {
        once.apply(envelope).unwrap();
    }
    let mut again = crate::index::StoredFamily::parse(&once.to_bytes()).unwrap();
    for envelope in &events {
        again.apply(envelope).unwrap();
    }
    assert_eq!(again.version(&commitment), 2);
    assert_eq!(Family::from_bytes(&again.to_bytes()), Family::from_bytes(&once.to_bytes()));
    assert_eq!(Family::from_bytes(&again.to_bytes()).unwrap().commitments[0].progress_reports, 1);
}

#[test]
fn a_stream_is_split_between_two_threads_only_where_its_events_lie_far_apart() {
    let apart = crate::CHUNK_APART;
    assert_eq!(crate::split_point(&[]), None);
    assert_eq!(crate::split_point(&[7]), None);
    assert_eq!(crate::split_point(&[1, 2, 3, apart]), None, "close together: one thread");
    assert_eq!(crate::split_point(&[1, 2, 2 + apart, 3 + apart]), Some(2));
    // The gap nearest the middle, not the first or the widest.
    assert_eq!(crate::split_point(&[1, 1 + 9 * apart, 2 + 10 * apart, 3 + 11 * apart, 4 + 11 * apart]), Some(2));
}

#[test]
fn a_stream_whose_events_lie_far_apart_reads_back_whole_and_in_order() {
    let (_dir, store, reply, first) = seeded();
    let second = Ulid::new();
    store.append(second, 0, vec![new_event(second, day("2025-07-01"), promise(reply, "另一项承诺"))]).unwrap();
    // Between each of `first`'s facts, more of `second`'s than lie in one chunk: `first` is read on two threads.
    let mut versions = (2, 1);
    for round in 0..3 {
        let filler = crate::CHUNK_APART as usize + 1;
        let events = (0..filler).map(|_| new_event(second, day("2025-08-01"), progress("推进"))).collect();
        store.append(second, versions.1, events).unwrap();
        versions.1 += filler as u32;
        let summary = format!("第{round}次进展");
        store.append(first, versions.0, vec![new_event(first, day("2025-09-01"), progress(&summary))]).unwrap();
        versions.0 += 1;
    }
    let seqs: Vec<u64> = store.read_stream(&first).unwrap().iter().map(|e| e.seq).collect();
    assert!(crate::split_point(&seqs).is_some(), "{seqs:?}");
    let alone = store.read_stream(&first).unwrap();
    let from_log: Vec<Envelope> = store.read_all(1).map(Result::unwrap).filter(|e| e.stream == first).collect();
    assert_eq!(alone, from_log, "the same events, hashes and all, in log order");
    assert_eq!(alone.len(), 5);
    // A one-command handle read each chunk up to the fact's frame and remembered nothing. A serving handle reads a
    // chunk whole once and remembers its checkpoints; read again, only the frames holding the events are opened and
    // chained from the nearest checkpoint, to the same events and hashes.
    assert_eq!(store.checkpoints.lock().unwrap().len(), 0);
    crate::EventStore::serve_many_reads(&store);
    assert_eq!(store.read_stream(&first).unwrap(), from_log);
    let framed = store.checkpoints.lock().unwrap().len();
    assert!(framed >= 1, "{framed} chunks' checkpoints remembered");
    assert_eq!(store.read_stream(&first).unwrap(), from_log);
    let second_alone = store.read_stream(&second).unwrap();
    let second_from_log: Vec<Envelope> = store.read_all(1).map(Result::unwrap).filter(|e| e.stream == second).collect();
    assert_eq!(second_alone, second_from_log);
}

/// A serving handle keeps the newest chunks — the run appends write — decoded and chained: read again, and after
/// more appends, they give what a one-command handle reads, and a record altered under them is still found.
#[test]
fn a_serving_handle_reads_the_newest_chunks_as_a_fresh_handle_does() {
    let (dir, store, _reply, commitment) = seeded();
    crate::EventStore::serve_many_reads(&store);
    let same_as_the_log = |store: &SledStore| {
        let head = store.head().unwrap().seq;
        for seq in 1..=head {
            let alone = store.event_at(seq).unwrap().expect("held");
            let read = store.read_all(seq).next().unwrap().unwrap();
            assert_eq!(
                (alone.seq, &alone.prev_hash, &alone.hash, &alone.event),
                (seq, &read.prev_hash, &read.hash, &read.event)
            );
        }
    };
    same_as_the_log(&store);
    assert_eq!(store.open_chunks.lock().unwrap().len(), 3, "each append's chunk is held");
    same_as_the_log(&store);
    for (number, version) in (2..6).enumerate() {
        let summary = format!("第{number}次进展");
        store.append(commitment, version, vec![new_event(commitment, day("2025-08-01"), progress(&summary))]).unwrap();
        same_as_the_log(&store);
    }
    tamper(&store, 3, |record| {
        let at = record.windows("选".len()).position(|w| w == "选".as_bytes()).unwrap();
        record[at + 1] ^= 0x01;
    });
    assert!(store.event_at(3).is_err(), "the altered record");
    assert!(store.event_at(2).is_ok(), "the records before it");
    drop(store);
    let fresh = SledStore::open(&dir.path().join("duban.db")).unwrap();
    assert!(fresh.event_at(3).is_err());
}

/// A run's chunk rewritten with more records after the same ones (as a merge leaves a run's last chunk): a serving
/// handle that held it chains only the new records, to the same events; a held record altered in the rewrite is not
/// taken from what was held.
#[test]
fn a_held_chunk_rewritten_longer_reads_as_the_log_does() {
    let (_dir, store, _reply, commitment) = seeded();
    let more = vec![
        new_event(commitment, day("2025-08-01"), progress("完成立项")),
        new_event(commitment, day("2025-09-01"), progress("开工建设")),
    ];
    store.append(commitment, 2, more).unwrap();
    crate::EventStore::serve_many_reads(&store);
    let expected: Vec<Envelope> = store.read_all(1).map(Result::unwrap).collect();
    assert_eq!(store.event_at(3).unwrap().as_ref(), Some(&expected[2]));
    assert!(store.open_chunks.lock().unwrap().contains_key(&3), "seq 3's chunk is held");
    // Seq 3's chunk and seq 4's chunk (seqs 4–5) rewritten as one chunk under seq 3.
    let rewrite = |change: &dyn Fn(&mut Vec<Vec<u8>>)| {
        let (_, three) = store.chunk_holding(3).unwrap().unwrap();
        let (anchor, records) = chain::split_payload(3, &three).unwrap();
        let anchor = *anchor;
        let mut records: Vec<Vec<u8>> = chain::records(3, records).unwrap().into_iter().map(<[u8]>::to_vec).collect();
        let (_, four) = store.chunk_holding(4).unwrap().unwrap();
        let later = chain::split_payload(4, &four).unwrap().1;
        records.extend(chain::records(4, later).unwrap().into_iter().map(<[u8]>::to_vec));
        change(&mut records);
        let mut payload = chain::new_payload(&anchor, 1024);
        for record in &records {
            chain::push_record(&mut payload, record);
        }
        (anchor, payload)
    };
    let (_, longer) = rewrite(&|_| {});
    let (_, altered) = rewrite(&|records| {
        let at = records[0].windows("选".len()).position(|w| w == "选".as_bytes()).unwrap();
        records[0][at + 1] ^= 0x01;
    });
    store.log.remove(chain::seq_key(4)).unwrap();
    store.log.insert(chain::seq_key(3), chain::seal_chunk(&longer)).unwrap();
    for seq in 1..=5 {
        assert_eq!(store.event_at(seq).unwrap().as_ref(), Some(&expected[seq as usize - 1]), "seq {seq}");
    }
    assert_eq!(store.open_chunks.lock().unwrap()[&3].records.len(), 3, "held as rewritten");
    store.log.insert(chain::seq_key(3), chain::seal_chunk(&altered)).unwrap();
    assert!(store.event_at(3).is_err(), "the altered record");
    assert!(store.event_at(5).is_err(), "a record after it");
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { folder_bytes(&entry.path()) } else { meta.len() };
    }
    total
}

/// Daily use: one fact per command, each in a process of its own, on a store whose streams were all created by one
/// import (so its first stream-index bucket holds 12,000 entries, about 400 KB). A command writes on the order of its
/// own event: before the guard keys between key spaces (see `space`), the bucket shared a sled node with the `meta`
/// keys every append writes, and every few commands sled wrote the whole node again — 200 KB and more a command.
#[test]
fn a_single_fact_writes_on_the_order_of_itself_not_of_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duban.db");
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 2, 0, 0).unwrap();
    let id = |n: u128| Ulid::from_parts(at.timestamp_millis() as u64, n);
    let commitments: Vec<Ulid> = (0..6_000).map(|n| id(1_000_000 + n)).collect();
    {
        let store = SledStore::create(&path).unwrap();
        store.write_behind(true).unwrap();
        for (index, commitment) in commitments.iter().enumerate() {
            let reply = id(index as u128);
            store
                .append_streams(vec![
                    (reply, 0, vec![new_event(reply, day("2025-05-29"), registration(day("2025-05-29")))]),
                    (*commitment, 0, vec![new_event(*commitment, day("2025-05-29"), promise(reply, "建成平台"))]),
                ])
                .unwrap();
        }
        store.write_behind(false).unwrap();
    }
    let buckets: Vec<usize> = {
        let store = SledStore::open(&path).unwrap();
        store.streams.space().iter().map(|entry| entry.unwrap().1.len()).collect()
    };
    assert!(buckets.iter().any(|bytes| *bytes > 300_000), "one large bucket: {buckets:?}");
    let before = folder_bytes(&path);
    const COMMANDS: usize = 60;
    for (number, commitment) in commitments.iter().step_by(100).take(COMMANDS).enumerate() {
        let store = SledStore::open(&path).unwrap();
        let version = store.stream_version(commitment).unwrap();
        store
            .append(
                *commitment,
                version,
                vec![new_event(*commitment, day("2025-07-01"), progress(&format!("第{number}次")))],
            )
            .unwrap();
    }
    let added = folder_bytes(&path).saturating_sub(before);
    assert!(added < COMMANDS as u64 * 20_000, "{COMMANDS} one-event commands added {added} bytes");
}

fn folder_contents(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(folder_contents(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// After a bulk load, sled leaves nodes with more keys than it keeps for the next walker to split; a handle opened
/// for reading walks them without splitting, and writes nothing.
#[test]
fn a_reading_handle_leaves_a_bulk_loaded_store_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duban.db");
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 2, 0, 0).unwrap();
    let mut streams = Vec::new();
    {
        let store = SledStore::create(&path).unwrap();
        store.write_behind(true).unwrap();
        for index in 0..3_000u128 {
            let reply = Ulid::from_parts(at.timestamp_millis() as u64 + index as u64 * 7_200_000, index);
            let commitment = Ulid::from_parts(at.timestamp_millis() as u64 + index as u64 * 7_200_000, index + 1);
            store
                .append_streams(vec![
                    (reply, 0, vec![new_event(reply, day("2025-05-29"), registration(day("2025-05-29")))]),
                    (commitment, 0, vec![new_event(commitment, day("2025-05-29"), promise(reply, "建成平台"))]),
                ])
                .unwrap();
            streams.push((reply, commitment));
        }
        store.write_behind(false).unwrap();
    }
    // The writing handle finishes closing on sled's threads: once a second handle has the store, it has.
    drop(SledStore::open_reading(&path).unwrap());
    let before = folder_contents(&path);
    {
        let store = SledStore::open_reading(&path).unwrap();
        for (reply, commitment) in streams.iter().step_by(97) {
            assert!(store.reply(reply).unwrap().is_some());
            assert_eq!(store.read_stream(commitment).unwrap().len(), 1);
            store.resolve_commitment(&store.short_id(commitment).unwrap()).unwrap();
        }
        assert_eq!(store.commitments().unwrap().len(), streams.len());
        assert_eq!(store.read_all(1).count(), streams.len() * 2);
    }
    let after = folder_contents(&path);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (file, bytes) in &before {
        assert!(after[file] == *bytes, "{} changed", file.display());
    }
}

/// A tampered event — well-formed, written to sled as any other write, but not the event the hash chain holds — is
/// never folded: `rebuild` (and every fold: the report, `list --as-of`) refuses at the seq `verify` names, instead
/// of taking a forged closure into the projection. Here the forger reseals event 4 on its true predecessor, so the
/// chain breaks at 5; edited without resealing, it breaks at 4.
#[test]
fn folds_refuse_a_tampered_event_naming_its_seq() {
    for reseal in [true, false] {
        let (_dir, store, commitment) = longer();
        let mut forged = store.read_all(4).next().unwrap().unwrap();
        forged.event =
            Event::Closed(Closed { outcome: Outcome::Fulfilled, summary: "伪造的办结".into(), evidence: vec![] });
        let sealed = chain::seal(&forged).0;
        tamper(&store, 4, |record| {
            if reseal {
                *record = sealed;
            } else {
                // The original check kept, the content replaced.
                record.truncate(chain::CHECK_BYTES);
                record.extend_from_slice(&sealed[chain::CHECK_BYTES..]);
            }
        });
        let broken = if reseal { 5 } else { 4 };
        assert_eq!(store.verify().unwrap().broken.map(|(seq, _)| seq), Some(broken));
        let error = store.rebuild().unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { seq, .. } if seq == broken), "{error:?}");
        let error = store.scan_log(1, |_| true);
        assert!(matches!(error, Err(StoreError::Corrupt { seq, .. }) if seq == broken), "{error:?}");
        assert!(store.commitment(&commitment).unwrap().unwrap().closure.is_none(), "the projection kept the truth");
    }
}

/// A chunk whose records are each consistent but which does not continue the chunk before it (a whole chunk
/// replaced) is refused by a fold at that chunk.
#[test]
fn folds_refuse_a_chunk_that_does_not_continue_the_chain() {
    let (_dir, store, _) = longer();
    let first_event = store.read_all(3).next().unwrap().unwrap();
    let forged = first_event.clone();
    // Sealed after a made-up hash: consistent in itself, anchored elsewhere.
    store.log.insert(chain::seq_key(3), single(&[7; 32], &chain::seal(&forged).0)).unwrap();
    let error = store.scan_log(1, |_| true);
    assert!(matches!(error, Err(StoreError::Corrupt { seq: 3, .. })), "{error:?}");
}

fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// If sled ever came back from a crash without events it had acknowledged, the store says so instead of carrying on:
/// here, sled's files as they were before the last two appends, beside the record those appends left.
#[test]
fn acknowledged_events_missing_after_recovery_are_refused() {
    let (dir, store, _, commitment) = seeded();
    let path = dir.path().join("duban.db");
    drop(store);
    let earlier = dir.path().join("earlier.db");
    copy_folder(&path, &earlier);
    {
        let store = SledStore::open(&path).unwrap();
        store.append(commitment, 2, vec![new_event(commitment, day("2025-08-01"), progress("再推进"))]).unwrap();
        store.append(commitment, 3, vec![new_event(commitment, day("2025-09-01"), progress("又推进"))]).unwrap();
    }
    std::fs::copy(path.join("acknowledged"), earlier.join("acknowledged")).unwrap();
    let error = SledStore::open(&earlier).err().expect("refused");
    assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
    assert!(error.to_string().contains("第 5 条及之前"), "{error}");
    assert!(SledStore::open_reading(&earlier).is_err(), "a read is refused too");
    // A damaged record is ignored rather than bricking a whole log.
    std::fs::write(earlier.join("acknowledged"), [0xAB; 44]).unwrap();
    assert_eq!(SledStore::open(&earlier).unwrap().head().unwrap().seq, 3);
    assert_eq!(SledStore::open(&path).unwrap().head().unwrap().seq, 5);
}

#[test]
fn attachments_are_kept_once_by_their_hash_and_checked_when_read() {
    use crate::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(&dir.path().join("s.db")).unwrap();
    assert_eq!(store.file_hashes().unwrap(), Vec::<String>::new());
    let pdf = b"%PDF-1.4 evidence".to_vec();
    let sha = store.put_file(&pdf).unwrap();
    assert_eq!(sha, crate::sha256_hex(&pdf));
    assert_eq!(store.put_file(&pdf).unwrap(), sha, "the same content, the same name");
    let other = store.put_file(b"\x89PNG other").unwrap();
    let mut both = vec![sha.clone(), other.clone()];
    both.sort();
    assert_eq!(store.file_hashes().unwrap(), both);
    assert_eq!(store.file(&sha).unwrap(), Some(pdf.clone()));
    assert_eq!(store.file(&"0".repeat(64)).unwrap(), None);
    assert_eq!(store.file("../../conf").unwrap(), None, "only a hash names a file");
    // A damaged copy is reported, naming the file, never handed out.
    let path = dir.path().join("s.db").join("files").join(&sha[..2]).join(&sha);
    std::fs::write(&path, b"%PDF-1.4 forged").unwrap();
    let damaged = store.file(&sha).unwrap_err();
    assert!(matches!(damaged, StoreError::Damaged { .. }) && damaged.to_string().contains(&sha), "{damaged}");
}

#[test]
fn a_damaged_attachment_is_mended_by_putting_it_again() {
    use crate::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(&dir.path().join("s.db")).unwrap();
    let sha = store.put_file(b"evidence").unwrap();
    let path = dir.path().join("s.db").join("files").join(&sha[..2]).join(&sha);
    std::fs::write(&path, b"evidencX").unwrap();
    assert!(store.file(&sha).is_err());
    store.put_file(b"evidence").unwrap();
    assert_eq!(store.file(&sha).unwrap().as_deref(), Some(&b"evidence"[..]));
}

#[test]
fn the_same_attachment_put_by_many_threads_at_once_is_kept_whole() {
    use crate::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::create(&dir.path().join("s.db")).unwrap());
    let bytes: Vec<u8> = (0..2_000_000u32).map(|n| (n % 251) as u8).collect();
    let puts: Vec<_> = (0..8)
        .map(|_| {
            let (store, bytes) = (store.clone(), bytes.clone());
            std::thread::spawn(move || store.put_file(&bytes).unwrap())
        })
        .collect();
    let hashes: Vec<String> = puts.into_iter().map(|put| put.join().unwrap()).collect();
    assert!(hashes.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(store.file(&hashes[0]).unwrap().as_deref(), Some(&bytes[..]));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("s.db").join("files").join(&hashes[0][..2]))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no partial copy left: {leftovers:?}");
}
