//! What every engine must do, asked through the interface alone (`dyn EventStore`): each test runs on sled and on
//! PostgreSQL. The PostgreSQL runs are `#[ignore]`d by a plain `cargo test` (they need a server) and run by `.ci/run`,
//! which starts one and names it in `DUBAN_TEST_POSTGRES`; run without it, they fail saying so rather than pass.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use duban_domain::*;
use proptest::prelude::*;
use ulid::Ulid;

use super::{day, new_event, progress, promise, registration};
use crate::{EventStore, StoreError};

/// Where a test's store lives, removed when the test ends.
enum Place {
    Folder(tempfile::TempDir),
    Database { admin: String, name: String },
}

/// A fresh, empty store on one engine.
struct Engine {
    place: Place,
    store: Option<Arc<dyn EventStore>>,
}

impl Engine {
    fn sled() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::create(&dir.path().join("duban.db")).unwrap();
        Engine { place: Place::Folder(dir), store: Some(store) }
    }

    fn postgres() -> Engine {
        let admin = std::env::var("DUBAN_TEST_POSTGRES").expect(
            "DUBAN_TEST_POSTGRES names no PostgreSQL server: start one with `.ci/postgres` and set it to the URL it prints",
        );
        let name = format!("duban_test_{}", Ulid::new().to_string().to_lowercase());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("the test server answers");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let place = Place::Database { admin, name };
        let store = crate::create(&Engine::location_of(&place)).unwrap();
        Engine { place, store: Some(store) }
    }

    fn location_of(place: &Place) -> PathBuf {
        match place {
            Place::Folder(dir) => dir.path().join("duban.db"),
            Place::Database { admin, name } => {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
                PathBuf::from(format!("{base}/{name}"))
            }
        }
    }

    fn location(&self) -> PathBuf {
        Engine::location_of(&self.place)
    }

    fn store(&self) -> &dyn EventStore {
        self.store.as_deref().unwrap()
    }

    /// Closes the handle and opens the store again.
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(crate::open(&self.location()).unwrap());
    }

    /// Another empty store on the same engine.
    fn another(&self) -> Engine {
        match self.place {
            Place::Folder(_) => Engine::sled(),
            Place::Database { .. } => Engine::postgres(),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.store = None;
        if let Place::Database { admin, name } = &self.place {
            if let Ok(mut client) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Runs each named test on both engines: `sled::name` always, `postgres::name` when asked for (`--ignored`).
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $( #[test] fn $name() { super::$name(super::Engine::sled()) } )*
        }
        mod on_postgres {
            $(
                #[test]
                #[ignore = "needs a PostgreSQL server: DUBAN_TEST_POSTGRES (see .ci/postgres)"]
                fn $name() { super::$name(super::Engine::postgres()) }
            )*
        }
    };
}

on_both_engines!(
    appended_events_read_back_with_their_chain_after_reopening,
    a_stale_version_is_a_conflict_and_an_append_is_all_or_nothing,
    racing_writers_one_wins_each_version_and_no_update_is_lost,
    prefixes_resolve_and_short_ids_are_unique,
    export_and_import_give_the_same_chain_and_a_broken_file_writes_nothing,
    secrets_derived_values_derived_files_and_attachments_are_kept,
    the_projection_equals_the_fold_of_the_log_for_random_commands,
);

/// What only the PostgreSQL store has: connections that can die under it.
mod on_postgres_only {
    use super::Engine;

    /// The derived lock's session ended by the server (a restart, an administrator): dropping the guard lets its
    /// connection go once, the lock is free, and the store goes on.
    #[test]
    #[ignore = "needs a PostgreSQL server: DUBAN_TEST_POSTGRES (see .ci/postgres)"]
    fn a_derived_lock_whose_session_was_ended_is_let_go_and_the_store_goes_on() {
        let engine = Engine::postgres();
        let store = engine.store();
        let guard = store.lock_derived(true).unwrap().expect("free");
        let url = engine.location().to_string_lossy().to_string();
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let ended = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .unwrap();
        assert_eq!(ended, 1, "the guard's session");
        drop(guard);
        assert!(store.lock_derived(false).unwrap().is_some(), "the lock went with its session");
        assert_eq!(store.head().unwrap().seq, 0);
        let mut export = Vec::new();
        assert_eq!(store.export(&mut export).unwrap(), 0);
    }
}

/// One reply, one commitment with one progress report: (reply, commitment).
fn seed(store: &dyn EventStore) -> (Ulid, Ulid) {
    let (reply, commitment) = (Ulid::new(), Ulid::new());
    let on = day("2025-05-29");
    store.append(vec![(reply, 0, vec![new_event(reply, on, registration(on))])]).unwrap();
    store.append(vec![(commitment, 0, vec![new_event(commitment, on, promise(reply, "建成平台"))])]).unwrap();
    store.append(vec![(commitment, 1, vec![new_event(commitment, day("2025-07-01"), progress("完成选址"))])]).unwrap();
    (reply, commitment)
}

fn appended_events_read_back_with_their_chain_after_reopening(mut engine: Engine) {
    let (reply, commitment) = seed(engine.store());
    for _ in 0..2 {
        let store = engine.store();
        let log: Vec<Envelope> = store.read_log(1).collect::<Result<_, _>>().unwrap();
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log[0].prev_hash, crate::GENESIS);
        for pair in log.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash, "each event chains to the one before");
        }
        for envelope in &log {
            assert_eq!(crate::hash_of(envelope), envelope.hash);
            assert_eq!(store.hash_at(envelope.seq).unwrap().as_deref(), Some(envelope.hash.as_str()));
            assert_eq!(store.event_at(envelope.seq).unwrap().as_ref(), Some(envelope));
        }
        assert_eq!(store.event_at(4).unwrap(), None);
        assert_eq!(store.head().unwrap(), crate::Head { seq: 3, hash: log[2].hash.clone() });
        assert_eq!(store.read_stream(&commitment).unwrap(), log[1..].to_vec());
        assert_eq!(store.read_log(3).collect::<Result<Vec<_>, _>>().unwrap(), log[2..].to_vec());
        assert_eq!(store.stream_version(&commitment).unwrap(), 2);
        assert_eq!(store.stream_version(&Ulid::new()).unwrap(), 0);
        let folded = store.read_streams_for_fold(&[commitment, reply]).unwrap();
        assert_eq!(folded.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let state = store.commitment(&commitment).unwrap().unwrap();
        assert_eq!((state.reply, state.progress_reports), (Some(reply), 1));
        assert_eq!(store.reply(&reply).unwrap().unwrap().doc_no(), "测〔2025〕1号");
        assert_eq!(store.reply(&commitment).unwrap(), None, "a commitment is not a reply");
        assert_eq!(store.commitment(&Ulid::new()).unwrap(), None);
        let families: Vec<crate::Family> = store.families_between(None, None).collect::<Result<_, _>>().unwrap();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].seqs[&commitment], [2, 3]);
        assert_eq!(store.family_bounds().unwrap(), Some((reply, reply)));
        let mut ids = vec![reply, commitment];
        ids.sort();
        assert_eq!(store.all_ids().unwrap(), ids);
        let mut seen = Vec::new();
        store
            .scan_log(2, &mut |envelope| {
                seen.push(envelope.seq);
                true
            })
            .unwrap();
        assert_eq!(seen, [2, 3]);
        assert_eq!(store.verify().unwrap().broken, None);
        engine.reopen();
    }
}

fn a_stale_version_is_a_conflict_and_an_append_is_all_or_nothing(engine: Engine) {
    let store = engine.store();
    let (reply, commitment) = seed(store);
    let head = store.head().unwrap();
    let stale = store.append(vec![(commitment, 1, vec![new_event(commitment, day("2025-08-01"), progress("迟到"))])]);
    assert!(matches!(stale, Err(StoreError::Conflict { expected: 1, actual: 2, .. })), "{stale:?}");
    // Two streams, the second stale: neither is written.
    let other = Ulid::new();
    let on = day("2025-08-01");
    let both = store.append(vec![
        (other, 0, vec![new_event(other, on, promise(reply, "另一项"))]),
        (commitment, 1, vec![new_event(commitment, on, progress("迟到"))]),
    ]);
    assert!(matches!(both, Err(StoreError::Conflict { .. })), "{both:?}");
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(store.stream_version(&other).unwrap(), 0);
    assert_eq!(store.commitment(&other).unwrap(), None);
    // The same stream twice, and an event of another kind on a stream, are refused.
    let twice = store.append(vec![
        (commitment, 2, vec![new_event(commitment, on, progress("一"))]),
        (commitment, 2, vec![new_event(commitment, on, progress("二"))]),
    ]);
    assert!(matches!(twice, Err(StoreError::BadAppend { .. })), "{twice:?}");
    let kind = store.append(vec![(reply, 1, vec![new_event(reply, on, progress("错流"))])]);
    assert!(kind.is_err(), "{kind:?}");
    assert_eq!(store.head().unwrap(), head);
    // Both together when both are current: one append, consecutive seqs.
    let sealed = store
        .append(vec![
            (other, 0, vec![new_event(other, on, promise(reply, "另一项"))]),
            (commitment, 2, vec![new_event(commitment, on, progress("按时"))]),
        ])
        .unwrap();
    assert_eq!(sealed.iter().map(|e| (e.seq, e.version)).collect::<Vec<_>>(), [(4, 1), (5, 3)]);
    assert_eq!(store.reply(&reply).unwrap().unwrap().doc_no(), "测〔2025〕1号");
    assert_eq!(store.commitment(&other).unwrap().unwrap().reply, Some(reply));
    assert_eq!(store.verify().unwrap().broken, None);
}

fn racing_writers_one_wins_each_version_and_no_update_is_lost(engine: Engine) {
    racing(engine.store(), 6);
}

/// `writers` threads append version 3 of one commitment at once: exactly one wins, the others get the conflict;
/// retrying as a command does, every update lands exactly once and the log stays gapless.
pub(super) fn racing(store: &dyn EventStore, writers: usize) {
    let (_, commitment) = seed(store);
    let barrier = std::sync::Barrier::new(writers);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|writer| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let event = new_event(commitment, day("2025-08-01"), progress(&format!("写入者{writer}")));
                    store.append(vec![(commitment, 2, vec![event])])
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1, "exactly one writer wins version 3");
    for result in results.iter().filter(|result| result.is_err()) {
        assert!(matches!(result, Err(StoreError::Conflict { expected: 2, actual: 3, .. })), "{result:?}");
    }
    std::thread::scope(|scope| {
        for writer in 0..writers {
            scope.spawn(move || loop {
                let version = store.stream_version(&commitment).unwrap();
                let event = new_event(commitment, day("2025-08-02"), progress(&format!("重试{writer}")));
                match store.append(vec![(commitment, version, vec![event])]) {
                    Ok(_) => break,
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(other) => panic!("{other:?}"),
                }
            });
        }
    });
    let stream = store.read_stream(&commitment).unwrap();
    assert_eq!(stream.len(), 2 + 1 + writers);
    for writer in 0..writers {
        let needle = format!("重试{writer}");
        let count = stream.iter().filter(|e| matches!(&e.event, Event::ProgressReported(p) if p.summary == needle));
        assert_eq!(count.count(), 1, "{needle}");
    }
    let seqs: Vec<u64> = store.read_log(1).map(|e| e.unwrap().seq).collect();
    assert_eq!(seqs, (1..=3 + 1 + writers as u64).collect::<Vec<_>>(), "gapless");
    assert_eq!(store.commitment(&commitment).unwrap().unwrap().progress_reports as usize, 2 + writers);
    assert_eq!(store.verify().unwrap().broken, None);
}

fn prefixes_resolve_and_short_ids_are_unique(engine: Engine) {
    let store = engine.store();
    let (reply, commitment) = seed(store);
    let text = commitment.to_string();
    assert_eq!(store.resolve(&text[..20], Some(StreamKind::Commitment)).unwrap(), commitment);
    assert_eq!(store.resolve(&text.to_lowercase(), None).unwrap(), commitment);
    assert!(store.resolve(&text, Some(StreamKind::Reply)).is_err(), "a commitment is no reply");
    assert!(store.resolve("ZZZZZZZZ", None).is_err());
    assert_eq!(store.resolve(&reply.to_string(), Some(StreamKind::Reply)).unwrap(), reply);
    for id in [reply, commitment] {
        let short = store.short_id(&id).unwrap();
        assert!(short.len() >= 6 && id.to_string().starts_with(&short));
        assert_eq!(store.resolve(&short, None).unwrap(), id);
    }
}

fn export_and_import_give_the_same_chain_and_a_broken_file_writes_nothing(engine: Engine) {
    let store = engine.store();
    let (_, commitment) = seed(store);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    let mut bytes = Vec::new();
    assert_eq!(store.export(&mut bytes).unwrap(), 3);
    std::fs::write(&file, &bytes).unwrap();
    let copy = engine.another();
    assert_eq!(copy.store().import_events(&file).unwrap(), 3);
    assert_eq!(copy.store().head().unwrap(), store.head().unwrap());
    assert_eq!(copy.store().commitment(&commitment).unwrap(), store.commitment(&commitment).unwrap());
    let mut again = Vec::new();
    copy.store().export(&mut again).unwrap();
    assert_eq!(again, bytes, "the same export");
    assert!(matches!(copy.store().import_events(&file), Err(StoreError::NotEmpty { events: 3 })));
    assert_eq!(copy.store().verify().unwrap().broken, None);
    // Without its trailer, or with an altered event, the file writes nothing.
    let text = String::from_utf8(bytes).unwrap();
    let cut: String = text.lines().take(3).map(|line| format!("{line}\n")).collect();
    let altered = text.replacen("完成选址", "完成验收", 1);
    for broken in [cut, altered] {
        std::fs::write(&file, broken).unwrap();
        let empty = engine.another();
        assert!(matches!(empty.store().import_events(&file), Err(StoreError::BadImport { .. })));
        assert_eq!(empty.store().head().unwrap().seq, 0);
        assert_eq!(empty.store().all_ids().unwrap(), Vec::<Ulid>::new());
    }
    // `restore` fills a new store, or an empty one in place.
    std::fs::write(&file, text).unwrap();
    let target = engine.another();
    let location = match &target.place {
        Place::Folder(dir) => dir.path().join("restored.db"),
        Place::Database { .. } => target.location(),
    };
    let (restored, count) = crate::restore(&location, &file).unwrap();
    assert_eq!((count, restored.head().unwrap()), (3, store.head().unwrap()));
    assert_eq!(restored.verify().unwrap().broken, None);
}

fn secrets_derived_values_derived_files_and_attachments_are_kept(engine: Engine) {
    let store = engine.store();
    store.set_secret("session:a", Some(b"1")).unwrap();
    store.set_secret("session:b", Some(b"2")).unwrap();
    store.set_secret("password:a", Some(b"hash")).unwrap();
    store.set_secret("session:b", Some(b"3")).unwrap();
    assert_eq!(store.secret("session:b").unwrap().as_deref(), Some(&b"3"[..]));
    let sessions = store.secrets_with_prefix("session:").unwrap();
    assert_eq!(sessions, [("session:a".to_string(), b"1".to_vec()), ("session:b".to_string(), b"3".to_vec())]);
    store.set_secret("session:a", None).unwrap();
    assert_eq!(store.secret("session:a").unwrap(), None);

    store.write_derived(vec![(b"k/1".to_vec(), Some(b"one".to_vec())), (b"k/2".to_vec(), Some(vec![0, 255]))]).unwrap();
    store.write_derived(vec![(b"k/1".to_vec(), None), (b"other".to_vec(), Some(b"x".to_vec()))]).unwrap();
    assert_eq!(store.derived(b"k/2").unwrap(), Some(vec![0, 255]));
    assert_eq!(store.derived(b"k/1").unwrap(), None);
    assert_eq!(store.derived_keys(b"k/").unwrap(), [b"k/2".to_vec()]);

    let body: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
    store.write_derived_file("search-1.seg", &body).unwrap();
    let file = store.derived_file("search-1.seg").unwrap().unwrap();
    assert_eq!(file.len(), body.len() as u64);
    assert_eq!(file.read_at(70_000, 1_000).unwrap(), body[70_000..71_000]);
    assert!(file.read_at(99_500, 1_000).is_err(), "past its end");
    assert!(store.derived_file("search-2.seg").unwrap().is_none());
    assert_eq!(store.derived_file_names().unwrap(), ["search-1.seg"]);
    store.remove_derived_file("search-1.seg").unwrap();
    store.remove_derived_file("search-1.seg").unwrap();
    assert!(store.derived_file_names().unwrap().is_empty());

    let sha = store.put_file(b"%PDF-1.4 evidence").unwrap();
    assert_eq!(sha, crate::sha256_hex(b"%PDF-1.4 evidence"));
    assert_eq!(store.put_file(b"%PDF-1.4 evidence").unwrap(), sha, "the same content is kept once");
    assert_eq!(store.file(&sha).unwrap().as_deref(), Some(&b"%PDF-1.4 evidence"[..]));
    assert_eq!(store.file(&crate::sha256_hex(b"none")).unwrap(), None);
    assert_eq!(store.file_hashes().unwrap(), [sha]);

    // None of it is in the log or an export.
    assert_eq!(store.head().unwrap().seq, 0);
    let mut export = Vec::new();
    store.export(&mut export).unwrap();
    assert!(!String::from_utf8(export).unwrap().contains("session"));
    // The derived lock is held until dropped.
    let held = store.lock_derived(true).unwrap();
    assert!(held.is_some());
    drop(held);
    assert!(store.lock_derived(false).unwrap().is_some());
}

fn the_projection_equals_the_fold_of_the_log_for_random_commands(engine: Engine) {
    // Each case on a store of its own: a PostgreSQL database costs more to make than a sled folder.
    let cases = match engine.place {
        Place::Folder(_) => 48,
        Place::Database { .. } => 12,
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    let strategy = (proptest::collection::vec(step(), 1..50), any::<bool>());
    runner.run(&strategy, |(steps, bulk)| projection_equals_fold(engine.another().store(), steps, bulk)).unwrap();
}

fn projection_equals_fold(
    store: &dyn EventStore,
    steps: Vec<(Step, u16, u16)>,
    bulk: bool,
) -> Result<(), TestCaseError> {
    let session = if bulk { Some(store.bulk().unwrap()) } else { None };
    let signed_on = day("2025-03-01");
    let mut made = 0u128;
    let mut id_on = |date: NaiveDate| {
        made += 1;
        let at = Utc.from_utc_datetime(&date.and_hms_opt(2, 0, 0).unwrap()).timestamp_millis() as u64;
        Ulid::from_parts(at, made)
    };
    let replies: Vec<Ulid> = (0..4).map(|_| id_on(signed_on)).collect();
    for reply in &replies {
        store.append(vec![(*reply, 0, vec![new_event(*reply, signed_on, registration(signed_on))])]).unwrap();
    }
    let reply = replies[0];
    let mut commitments: Vec<Ulid> = Vec::new();
    let mut today = signed_on;
    let outcomes = [Outcome::Fulfilled, Outcome::PartiallyFulfilled, Outcome::NotFulfilled];
    for (number, (step, days_later, days_back)) in steps.into_iter().enumerate() {
        today += Duration::days(i64::from(days_later));
        let on = (today - Duration::days(i64::from(days_back))).max(signed_on);
        let pick = |index: usize| commitments.get(index % commitments.len().max(1)).copied();
        let (stream, event) = match step {
            Step::NewCommitment(r) => (id_on(today), promise(replies[r % replies.len()], "随机承诺")),
            Step::Evaluate(s) => {
                let satisfaction =
                    [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied][s as usize];
                (reply, Event::ReplyEvaluated(ReplyEvaluated { satisfaction, comment: None }))
            }
            Step::Progress(c, long) => match pick(c) {
                Some(id) if long => (id, progress(&long_report(number as u64))),
                Some(id) => (id, progress("推进")),
                None => continue,
            },
            Step::Close(c, o) => match pick(c) {
                Some(id) => (
                    id,
                    Event::Closed(Closed { outcome: outcomes[o as usize], summary: "办结".into(), evidence: vec![] }),
                ),
                None => continue,
            },
            Step::Reopen(c) => match pick(c) {
                Some(id) => (id, Event::Reopened(Reopened { reason: "复查".into() })),
                None => continue,
            },
            Step::Due(c, offset, with_reason) => match pick(c) {
                Some(id) => (
                    id,
                    Event::DueDateSet(DueDateSet {
                        due: signed_on + Duration::days(i64::from(offset)),
                        reason: with_reason.then(|| "调整".to_string()),
                    }),
                ),
                None => continue,
            },
            Step::Reassign(c) => match pick(c) {
                Some(id) => {
                    (id, Event::Reassigned(Reassigned { owner: format!("单位{today}"), reason: "调整".into() }))
                }
                None => continue,
            },
            Step::Note(c) => match pick(c) {
                Some(id) => (id, Event::NoteAdded(NoteAdded { text: "备注".into() })),
                None => continue,
            },
            Step::Dismiss(c) => match pick(c) {
                Some(id) => (id, Event::Dismissed(Dismissed { reason: "误录".into(), duplicate_of: None })),
                None => continue,
            },
        };
        let checked = match event.stream_kind() {
            StreamKind::Reply => check_reply_event(&store.reply(&reply).unwrap().unwrap(), on, &event, today),
            StreamKind::Commitment => {
                let state = store.commitment(&stream).unwrap().unwrap_or_default();
                let owner = match &event {
                    Event::CommitmentMade(made) => made.reply,
                    _ => state.reply.unwrap_or(reply),
                };
                check_commitment_event(&state, &store.reply(&owner).unwrap().unwrap(), on, &event, today)
            }
            StreamKind::Proposal | StreamKind::Account => unreachable!("no step makes such an event"),
        };
        if checked.is_err() {
            continue;
        }
        let version = store.stream_version(&stream).unwrap();
        store.append(vec![(stream, version, vec![new_event(stream, on, event.clone())])]).unwrap();
        if matches!(event, Event::CommitmentMade(_)) {
            commitments.push(stream);
        }
    }
    if let Some(session) = session {
        session.finish().unwrap();
    }
    let log: Vec<Envelope> = store.read_log(1).collect::<Result<_, _>>().unwrap();
    let folded = Folded::fold(&log, Horizon::ALL);
    let mut projected = std::collections::BTreeMap::new();
    for family in store.families_between(None, None) {
        for state in family.unwrap().commitments {
            projected.insert(state.id.unwrap(), state);
        }
    }
    prop_assert_eq!(&projected, &folded.commitments.clone().into_iter().collect::<std::collections::BTreeMap<_, _>>());
    for id in folded.commitments.keys() {
        let state = store.commitment(id).unwrap();
        prop_assert_eq!(state.as_ref(), projected.get(id));
    }
    let refolded = store.refold().unwrap();
    prop_assert!(store.rebuild_from(refolded).unwrap().differences.is_empty());
    prop_assert_eq!(store.verify().unwrap().broken, None);
    Ok(())
}

/// A step of a random history: which commitment, what to try, and how many days later.
#[derive(Clone, Debug)]
enum Step {
    /// In which reply.
    NewCommitment(usize),
    /// With a long report (tens of kilobytes: a few fill a log chunk).
    Progress(usize, bool),
    Close(usize, u8),
    Reopen(usize),
    Due(usize, u16, bool),
    Reassign(usize),
    Note(usize),
    Dismiss(usize),
    Evaluate(u8),
}

fn step() -> impl Strategy<Value = (Step, u16, u16)> {
    let pick = 0usize..6;
    let step = prop_oneof![
        (0usize..4).prop_map(Step::NewCommitment),
        (pick.clone(), any::<bool>()).prop_map(|(c, long)| Step::Progress(c, long)),
        (pick.clone(), 0u8..3).prop_map(|(c, o)| Step::Close(c, o)),
        pick.clone().prop_map(Step::Reopen),
        (pick.clone(), 0u16..400, any::<bool>()).prop_map(|(c, d, r)| Step::Due(c, d, r)),
        pick.clone().prop_map(Step::Reassign),
        pick.clone().prop_map(Step::Note),
        pick.prop_map(Step::Dismiss),
        (0u8..3).prop_map(Step::Evaluate),
    ];
    // Days later, and how many days back the fact is dated (a fact entered late).
    (step, 0u16..60, 0u16..20)
}

/// A long progress report that compresses poorly (so that a few of them fill a log chunk).
fn long_report(seed: u64) -> String {
    let mut state = seed | 1;
    (0..20_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from_u32(0x4E00 + (state % 0x5000) as u32).unwrap_or('督')
        })
        .collect()
}
