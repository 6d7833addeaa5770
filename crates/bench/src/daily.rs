//! Daily use: how offices really use duban — one clerk, one fact per command, every day, for years — on both engines
//! in the same run. Each command records one fact (a progress report, a note, a due date, a closure) about one
//! commitment, the way `duban progress` does: read the commitment's folded state and its reply's, let the domain
//! check the fact, append it with the version read, make it durable. Some commands run in the benchmark's process
//! (as a server would run them); the first of each round run as whole processes (start, open, append, fsync, exit:
//! the `duban` binary, and `duban-bench probe --op record` on the SQLite baseline, which does the same work). The
//! engines alternate command by command. Rounds of the same size (two by default): bytes on disk added per event in
//! each (a later round must add no more than the first), and latency per kind of run.

use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use duban_app::App;
use duban_domain::{
    business_date, check_commitment_event, Closed, CommitmentState, DueDateSet, Event, NewEvent, NoteAdded, Outcome,
    ProgressReported, ReplyState,
};
use duban_store::{encode_full, SledStore};
use rusqlite::{params, Connection, OptionalExtension};
use ulid::Ulid;

use crate::engines::{latency, size_of, Latency};

/// What one command records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Progress,
    Note,
    Due,
    Close,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Progress => "progress",
            Kind::Note => "note",
            Kind::Due => "due",
            Kind::Close => "close",
        }
    }

    pub fn parse(code: &str) -> Kind {
        match code {
            "progress" => Kind::Progress,
            "note" => Kind::Note,
            "due" => Kind::Due,
            _ => Kind::Close,
        }
    }

    /// The fact command `number` records, as it would come from the command line.
    pub fn event(self, number: usize, today: NaiveDate) -> Event {
        match self {
            Kind::Progress => Event::ProgressReported(ProgressReported {
                summary: format!("日常督办：第{number}次报告进展，完成阶段性工作"),
                evidence: vec![],
                percent: None,
            }),
            Kind::Note => Event::NoteAdded(NoteAdded {
                text: format!("电话督办第{number}次，承办单位称按计划推进")
            }),
            Kind::Due => Event::DueDateSet(DueDateSet {
                // Unique per command, and past any due date a reply gave: never "unchanged".
                due: today + Duration::days(1_000 + number as i64),
                reason: Some("资金下达延迟，经商定调整期限".into()),
            }),
            Kind::Close => Event::Closed(Closed {
                outcome: Outcome::Fulfilled,
                summary: format!("第{number}项已办结"),
                evidence: vec!["验收材料".into()],
            }),
        }
    }

    /// The `duban` command line that records it (after `--store STORE`).
    fn argv(self, id: &str, number: usize, today: NaiveDate) -> Vec<String> {
        let words: Vec<String> = match self.event(number, today) {
            Event::ProgressReported(p) => vec!["progress".into(), id.into(), "--summary".into(), p.summary],
            Event::NoteAdded(n) => vec!["note".into(), id.into(), "--text".into(), n.text],
            Event::DueDateSet(d) => {
                vec!["due".into(), id.into(), d.due.to_string(), "--reason".into(), d.reason.unwrap_or_default()]
            }
            Event::Closed(c) => vec![
                "close".into(),
                id.into(),
                "--outcome".into(),
                "fulfilled".into(),
                "--summary".into(),
                c.summary,
                "--evidence".into(),
                c.evidence.join(""),
            ],
            _ => unreachable!("only these kinds"),
        };
        words
    }
}

/// One command of the workload.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    pub commitment: Ulid,
    pub kind: Kind,
    pub number: usize,
}

impl Command {
    /// The fact this command records, made now.
    fn fact(&self, event: Event, now: DateTime<Utc>) -> NewEvent {
        NewEvent {
            id: Ulid::from_datetime(now.into()),
            stream: self.commitment,
            occurred_on: business_date(now),
            recorded_at: now,
            actor: "联络员".into(),
            event,
        }
    }
}

/// `count` commands over `commitments` (all open), from `first_number` on: half progress reports, a quarter notes,
/// some due dates and closures; a commitment once closed only gets notes. Deterministic.
pub fn workload(
    commitments: &[Ulid],
    count: usize,
    first_number: usize,
    closed: &mut std::collections::HashSet<Ulid>,
) -> Vec<Command> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ first_number as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (first_number..first_number + count)
        .map(|number| {
            let commitment = commitments[(next() % commitments.len() as u64) as usize];
            let kind = match next() % 20 {
                0..=9 => Kind::Progress,
                10..=14 => Kind::Note,
                15..=17 => Kind::Due,
                _ => Kind::Close,
            };
            let kind = if closed.contains(&commitment) || (kind == Kind::Close && !closed.insert(commitment)) {
                Kind::Note
            } else {
                kind
            };
            Command { commitment, kind, number }
        })
        .collect()
}

/// The baseline's single command: in one transaction, the commitment's and its reply's states, the domain's check,
/// the event (chained to the last one) with the version check of the unique index, the state written back.
pub fn sqlite_record(db: &mut Connection, command: &Command, now: DateTime<Utc>) -> u64 {
    let today = business_date(now);
    let tx = db.transaction().unwrap();
    let key = command.commitment.to_bytes().to_vec();
    let stored: Vec<u8> =
        tx.query_row("SELECT state FROM commitments WHERE id = ?1", params![key], |row| row.get(0)).unwrap();
    let mut state: CommitmentState = postcard::from_bytes(&stored).unwrap();
    let reply: ReplyState = match state.reply {
        Some(reply) => tx
            .query_row("SELECT state FROM replies WHERE id = ?1", params![reply.to_bytes().to_vec()], |row| {
                row.get::<_, Vec<u8>>(0)
            })
            .optional()
            .unwrap()
            .map(|bytes| postcard::from_bytes(&bytes).unwrap())
            .unwrap_or_default(),
        None => ReplyState::default(),
    };
    let event = command.kind.event(command.number, today);
    check_commitment_event(&state, &reply, today, &event, today).expect("the workload's facts are allowed");
    let seq = sqlite_append(&tx, &mut state, command.fact(event, now));
    tx.commit().unwrap();
    seq
}

/// The baseline's append of one fact about a commitment whose `state` the transaction read: the event chained to
/// the log's last row (whose hash is its first 32 bytes) under the unique `(stream, version)` index, and the state
/// written back with the fact folded in. Returns the event's seq.
pub fn sqlite_append(tx: &rusqlite::Transaction, state: &mut CommitmentState, new: NewEvent) -> u64 {
    let (seq, previous): (u64, [u8; 32]) = tx
        .query_row("SELECT seq, body FROM events ORDER BY seq DESC LIMIT 1", [], |row| {
            Ok((row.get::<_, i64>(0)? as u64, duban_store::full_hash(row.get_ref(1)?.as_blob()?)))
        })
        .unwrap();
    let key = new.stream.to_bytes().to_vec();
    let mut envelope = new.sealed(seq + 1, state.version + 1, duban_store::hex(&previous), String::new());
    let (bytes, hash) = encode_full(&envelope);
    envelope.hash = hash;
    tx.prepare_cached("INSERT INTO events (seq, stream, version, body) VALUES (?1, ?2, ?3, ?4)")
        .unwrap()
        .execute(params![envelope.seq as i64, key, envelope.version, bytes])
        .unwrap();
    state.apply(&envelope);
    tx.prepare_cached("UPDATE commitments SET state = ?2 WHERE id = ?1")
        .unwrap()
        .execute(params![key, postcard::to_stdvec(&*state).unwrap()])
        .unwrap();
    envelope.seq
}

/// duban's single command in the benchmark's process: the same steps through the store's interface.
/// One command's work as `duban progress` (and the others) do it: the states read, the fact checked, appended with
/// the version read, then the search index's upkeep every write does (`App::append`).
fn duban_record(app: &App, command: &Command, now: DateTime<Utc>) {
    let store = app.store();
    let today = business_date(now);
    let state = store.commitment(&command.commitment).unwrap().expect("a stored commitment");
    let reply = state.reply.and_then(|reply| store.reply(&reply).unwrap()).unwrap_or_default();
    let event = command.kind.event(command.number, today);
    check_commitment_event(&state, &reply, today, &event, today).expect("the workload's facts are allowed");
    let new = command.fact(event, now);
    store.append(vec![(command.commitment, state.version, vec![new])]).unwrap();
    app.index_behind();
}

/// Builds the search index of a bulk-loaded store (whose load bypassed the writes' upkeep), as a store in daily use
/// has it; prints its time and size.
pub fn index_search(dir: &Path, events: usize) {
    let path = dir.join("duban.db");
    let before = size_of(&path);
    let started = Instant::now();
    App::open(&path).unwrap().index_search().unwrap();
    println!(
        "store: search index built after the bulk load in {:.1} s, {:.0} bytes per event",
        started.elapsed().as_secs_f64(),
        (size_of(&path) as f64 - before as f64) / events as f64
    );
}

/// Latencies of one round, per engine and kind of run, and the bytes it added per event.
struct Round {
    in_process: [Vec<f64>; 2],
    processes: [Vec<f64>; 2],
    added: [f64; 2],
    /// Each engine's bytes on disk every twentieth of the round.
    samples: [Vec<f64>; 2],
}

/// Bytes added per event, judged by each round's mean size rather than its last: a log-structured store's file
/// moves in a sawtooth as its garbage is collected (sled's data file by several megabytes every few thousand
/// commands), so a round's last size says where in that sawtooth the round ended; the mean of sizes sampled
/// through the round does not. Each round's mean stands for its size at its samples' mean position; the start
/// (one size, before the first round) stands at 0. So the first figure covers the first half round, every later
/// one a whole round. Samples are taken after every `every` commands of a round.
fn by_mean(start: f64, rounds: &[&[f64]], per_round: usize, every: usize) -> Vec<f64> {
    let mut figures = Vec::new();
    let (mut size, mut at) = (start, 0.0);
    for (number, samples) in rounds.iter().enumerate() {
        let count = samples.len().max(1) as f64;
        let mean = samples.iter().sum::<f64>() / count;
        let position = (number * per_round) as f64 + every as f64 * (count + 1.0) / 2.0;
        figures.push((mean - size) / (position - at));
        (size, at) = (mean, position);
    }
    figures
}

/// How many times a round samples each engine's size.
const SAMPLES: usize = 20;

/// Runs `rounds` rounds of `per_round` commands on the stores `dir` holds (`duban.db`, `baseline.sqlite`), the first
/// `processes` of each round as whole processes. `commitments` are open ones; `now` is after every stored fact.
pub fn run(
    dir: &Path,
    commitments: &[Ulid],
    now: DateTime<Utc>,
    (per_round, processes, round_count): (usize, usize, usize),
    label: &str,
) {
    let duban_binary = std::env::current_exe().unwrap().with_file_name("duban");
    assert!(duban_binary.exists(), "build the duban binary first: cargo build --release");
    let bench = std::env::current_exe().unwrap();
    let store_path = dir.join("duban.db");
    let sqlite_path = dir.join("baseline.sqlite");
    let sqlite_bytes = || size_of(&sqlite_path) + size_of(&dir.join("baseline.sqlite-wal"));
    let mut closed = std::collections::HashSet::new();
    let mut rounds = Vec::new();
    let start = [size_of(&store_path) as f64, sqlite_bytes() as f64];
    let every = (per_round / SAMPLES).max(1);
    for round in 0..round_count {
        let commands = workload(commitments, per_round, round * per_round, &mut closed);
        let before = [size_of(&store_path) as f64, sqlite_bytes() as f64];
        let mut result = Round {
            in_process: [vec![], vec![]],
            processes: [vec![], vec![]],
            added: [0.0; 2],
            samples: [vec![], vec![]],
        };
        let sample = |result: &mut Round, index: usize| {
            if (index + 1).is_multiple_of(every) {
                result.samples[0].push(size_of(&store_path) as f64);
                result.samples[1].push(sqlite_bytes() as f64);
            }
        };
        // Whole processes first, alternating engines command by command.
        for (index, command) in commands.iter().take(processes).enumerate() {
            let at = now + Duration::seconds((round * per_round + index) as i64);
            let now_text = at.to_rfc3339();
            let today = business_date(at);
            let mut duban_argv = vec!["--store".to_string(), store_path.to_string_lossy().to_string()];
            duban_argv.extend(command.kind.argv(&command.commitment.to_string(), command.number, today));
            let record = format!("{}|{}|{}", command.commitment, command.kind.code(), command.number);
            let probe_argv: Vec<String> =
                ["probe", "--db", &sqlite_path.to_string_lossy(), "--op", "record", "--arg", &record]
                    .iter()
                    .map(|arg| arg.to_string())
                    .collect();
            let order: [usize; 2] = if index % 2 == 0 { [0, 1] } else { [1, 0] };
            for engine in order {
                let (program, argv) = if engine == 0 { (&duban_binary, &duban_argv) } else { (&bench, &probe_argv) };
                let started = Instant::now();
                let output = std::process::Command::new(program)
                    .args(argv)
                    .env("DUBAN_NOW", &now_text)
                    .env("DUBAN_ACTOR", "联络员")
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&output.stderr));
                result.processes[engine].push(started.elapsed().as_secs_f64());
            }
            sample(&mut result, index);
        }
        // Then in the benchmark's process, one store handle and one connection, alternating.
        {
            let store = App::open(&store_path).unwrap();
            let mut db = Connection::open(&sqlite_path).unwrap();
            db.execute_batch(crate::scan::CACHE).unwrap();
            db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
            for (index, command) in commands.iter().enumerate().skip(processes) {
                let at = now + Duration::seconds((round * per_round + index) as i64);
                let order: [usize; 2] = if index % 2 == 0 { [0, 1] } else { [1, 0] };
                for engine in order {
                    let started = Instant::now();
                    if engine == 0 {
                        duban_record(&store, command, at);
                    } else {
                        sqlite_record(&mut db, command, at);
                    }
                    result.in_process[engine].push(started.elapsed().as_secs_f64());
                }
                sample(&mut result, index);
            }
        }
        result.added = [
            (size_of(&store_path) as f64 - before[0]) / per_round as f64,
            (sqlite_bytes() as f64 - before[1]) / per_round as f64,
        ];
        rounds.push(result);
    }
    let by_mean = [0, 1].map(|engine| {
        let samples: Vec<&[f64]> = rounds.iter().map(|round| round.samples[engine].as_slice()).collect();
        by_mean(start[engine], &samples, per_round, every)
    });
    println!(
        "daily ({label}): {per_round} single commands a round ({processes} as whole processes), engines alternating"
    );
    println!("daily ({label}):                                   duban     SQLite   duban ÷ SQLite");
    for (number, round) in rounds.iter().enumerate() {
        let row = |name: &str, duban: f64, sqlite: f64| {
            println!(
                "daily ({label}): round {} {name:<26} {duban:>9.1} {sqlite:>9.1} {:>10.2}",
                number + 1,
                sqlite / duban
            );
        };
        row("bytes added per event", round.added[0], round.added[1]);
        row("the same, by mean size", by_mean[0][number], by_mean[1][number]);
        let (duban, sqlite): (Latency, Latency) =
            (latency(round.processes[0].clone()), latency(round.processes[1].clone()));
        row("whole process p50 (ms)", duban.p50_ms, sqlite.p50_ms);
        row("whole process p99 (ms)", duban.p99_ms, sqlite.p99_ms);
        let (duban, sqlite): (Latency, Latency) =
            (latency(round.in_process[0].clone()), latency(round.in_process[1].clone()));
        row("in process p50 (ms)", duban.p50_ms, sqlite.p50_ms);
        row("in process p99 (ms)", duban.p99_ms, sqlite.p99_ms);
    }
    let total = (per_round * rounds.len()) as f64;
    println!(
        "daily ({label}): after the run, bytes added per event: duban {:.1}, SQLite {:.1}",
        (size_of(&store_path) as f64 - start[0]) / total,
        (sqlite_bytes() as f64 - start[1]) / total
    );
    println!(
        "daily ({label}): folders after: duban {:.1} MB, SQLite {:.1} MB",
        size_of(&store_path) as f64 / 1e6,
        sqlite_bytes() as f64 / 1e6
    );
}

/// The commitments still open at the end of `log`, and an instant after every fact in it.
pub fn open_commitments(log: &[duban_domain::Envelope]) -> (Vec<Ulid>, DateTime<Utc>) {
    let folded = duban_domain::Folded::fold(log, duban_domain::Horizon::ALL);
    let mut open: Vec<Ulid> = folded
        .commitments
        .iter()
        .filter(|(_, state)| !state.is_closed() && !state.is_dismissed())
        .map(|(id, _)| *id)
        .collect();
    open.sort_unstable();
    let latest = log.iter().map(|e| e.recorded_at.max(e.occurred_on.and_hms_opt(12, 0, 0).unwrap().and_utc())).max();
    (open, latest.unwrap_or_default() + Duration::days(1))
}

/// duban alone, in process, on a copy of `source`: `rounds` rounds of `per_round` commands, and after each (and
/// `rest_seconds` with the store open) how sled's data file, its blob files, the live keys and values and the whole
/// folder have grown.
pub fn only(source: &Path, per_round: usize, rounds: usize, processes: usize, rest_seconds: u64, sample: usize) {
    let duban_binary = std::env::current_exe().unwrap().with_file_name("duban");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duban.db");
    copy_folder(source, &path);
    // As a store in daily use has it (a kept bulk-loaded store may not have it yet).
    let events = SledStore::open_reading(&path).unwrap().head().unwrap().seq as usize;
    index_search(dir.path(), events);
    let open = |path: &Path| {
        let store = std::sync::Arc::new(SledStore::open(path).unwrap());
        (store.clone(), App::new(store))
    };
    let mut store = Some(open(&path));
    let commitments: Vec<Ulid> = store
        .as_ref()
        .unwrap()
        .0
        .commitments()
        .unwrap()
        .into_iter()
        .filter(|state| !state.is_closed() && !state.is_dismissed())
        .filter_map(|state| state.id)
        .collect();
    let now = DateTime::parse_from_rfc3339("2031-01-01T08:00:00Z").unwrap().with_timezone(&Utc);
    let sizes = |(store, _): &(std::sync::Arc<SledStore>, App)| {
        let live: u64 = store.live_bytes().iter().map(|(_, _, bytes)| bytes).sum();
        // sled's blob files and the log's chunk files together: both hold values written once, in files of their own.
        let index = size_of(&path.join("derived"));
        (
            size_of(&path.join("db")),
            size_of(&path.join("blobs")) + size_of(&path.join("chunks")),
            live,
            size_of(&path),
            index,
        )
    };
    let mut closed = std::collections::HashSet::new();
    let mut before = sizes(store.as_ref().unwrap());
    println!(
        "start: data {:.1} MB, blobs and chunks {:.1} MB, live {:.1} MB",
        before.0 as f64 / 1e6,
        before.1 as f64 / 1e6,
        before.2 as f64 / 1e6
    );
    for round in 0..rounds {
        let started = Instant::now();
        for (index, command) in workload(&commitments, per_round, round * per_round, &mut closed).iter().enumerate() {
            let at = now + Duration::seconds((round * per_round + index) as i64);
            if index < processes {
                store = None;
                let mut argv = vec!["--store".to_string(), path.to_string_lossy().to_string()];
                argv.extend(command.kind.argv(&command.commitment.to_string(), command.number, business_date(at)));
                let output = std::process::Command::new(&duban_binary)
                    .args(&argv)
                    .env("DUBAN_NOW", at.to_rfc3339())
                    .env("DUBAN_ACTOR", "联络员")
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&output.stderr));
            } else {
                let (_, app) = store.get_or_insert_with(|| open(&path));
                duban_record(app, command, at);
            }
            if sample > 0 && (index + 1).is_multiple_of(sample) {
                let mb = |part: &str| size_of(&path.join(part)) as f64 / 1e6;
                println!(
                    "sample {} data {:.2} blobs {:.2} chunks {:.2} index {:.2} whole {:.2}",
                    round * per_round + index + 1,
                    mb("db"),
                    mb("blobs"),
                    mb("chunks"),
                    mb("derived"),
                    size_of(&path) as f64 / 1e6
                );
            }
        }
        let store = store.get_or_insert_with(|| open(&path));
        std::thread::sleep(std::time::Duration::from_secs(rest_seconds));
        let after = sizes(store);
        let per = |a: u64, b: u64| (a as f64 - b as f64) / per_round as f64;
        println!(
            "round {}: {:.1} s; bytes per event: data {:.0}, blobs and chunks {:.0}, search index {:.0}, live {:.0}, the whole folder {:.0}; data {:.1} MB",
            round + 1,
            started.elapsed().as_secs_f64(),
            per(after.0, before.0),
            per(after.1, before.1),
            per(after.4, before.4),
            per(after.2, before.2),
            per(after.3, before.3),
            after.0 as f64 / 1e6
        );
        before = after;
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::by_mean;

    /// Sizes sampled every `every` commands from `start`, `rounds` rounds of `per_round`, by `size(command)`.
    fn sampled(rounds: usize, per_round: usize, every: usize, size: impl Fn(usize) -> f64) -> Vec<Vec<f64>> {
        (0..rounds)
            .map(|round| (1..=per_round / every).map(|step| size(round * per_round + step * every)).collect())
            .collect()
    }

    fn figures(samples: &[Vec<f64>], start: f64, per_round: usize, every: usize) -> Vec<f64> {
        let slices: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
        by_mean(start, &slices, per_round, every)
    }

    #[test]
    fn steady_growth_gives_every_round_the_same_figure_the_first_included() {
        let samples = sampled(3, 10_000, 500, |command| 1e6 + 120.0 * command as f64);
        for figure in figures(&samples, 1e6, 10_000, 500) {
            assert!((figure - 120.0).abs() < 1e-9, "{figure}");
        }
    }

    #[test]
    fn a_sawtooth_whose_period_divides_the_round_leaves_only_the_growth() {
        // A collection every 2,500 commands drops 8 MB that the 2,500 commands before built up, on 100 bytes a command
        // of growth: each round's last size is at the bottom of a tooth, its mean is not.
        let tooth = |command: usize| 8e6 * ((command % 2_500) as f64 / 2_500.0);
        let samples = sampled(3, 10_000, 500, |command| 3e7 + 100.0 * command as f64 + tooth(command));
        let figures = figures(&samples, 3e7, 10_000, 500);
        assert!(figures[0] > 100.0, "the first half round rises to the tooth's mean: {figures:?}");
        for figure in &figures[1..] {
            assert!((figure - 100.0).abs() < 1e-6, "{figures:?}");
        }
    }

    #[test]
    fn a_store_that_shrinks_then_holds_shows_it_mostly_in_the_first_round() {
        // 4 MB given back over the first 2,000 commands, nothing after: the first round's mean still holds some of
        // the larger sizes, so the second figure is a little below zero (never above), and the third is zero.
        let size = |command: usize| if command <= 2_000 { 5e7 - 2_000.0 * command as f64 } else { 4.6e7 };
        let figures = figures(&sampled(3, 10_000, 500, size), 5e7, 10_000, 500);
        assert!(figures[0] < -500.0, "{figures:?}");
        assert!(figures[1] <= 0.0 && figures[1] > figures[0] / 10.0, "{figures:?}");
        assert!(figures[2].abs() < 1e-9, "{figures:?}");
    }
}
