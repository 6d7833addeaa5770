//! duban's benchmarks: `cargo run --release -p duban-bench -- parse` measures reply-parsing throughput on one core;
//! `-- store --events 1000000` sets duban's store beside SQLite; `-- report --events 1000000` builds the annual
//! report over a generated history.

/// mimalloc: the store and the report allocate and free many small strings and vectors per event; glibc's allocator
/// spent a fifth of the time of a bulk append in malloc and free. Built without transparent huge pages (`no_thp`):
/// with them a cold `list` touched twice the memory and spent half its time having the kernel zero 2 MiB pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod daily;
mod engines;
mod generate;
mod probe;
mod scan;
mod search;
mod serve;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "duban-bench", about = "duban's benchmarks (build with --release)")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Many people through `duban serve`: concurrent clients, 80 % reads and 20 % progress writes, on a store of
    /// the generated history (needs target/release/duban beside this binary).
    ServeLoad {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 50)]
        clients: usize,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
    },
    /// Parse throughput: documents per second and MB per second on one core.
    Parse {
        /// Folder of reply documents (default: ../shared/seeds when present, else the bundled samples).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// duban's store beside a SQLite baseline on the same generated history: bulk append, single durable commands,
    /// full rebuild, bytes on disk, and cold-process list, show, as-of reconstruction, report and rebuild.
    Store {
        /// How many events to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Events per append call (per transaction).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Single durable commands to time.
        #[arg(long, default_value_t = 300)]
        singles: usize,
        /// Runs of the whole measurement, engines alternating which goes first (and as many cold pairs).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Only the in-process figures (no cold processes): for a machine without the duban binary built.
        #[arg(long)]
        in_process: bool,
        /// Keep both engines' stores in this folder (new or empty) instead of a temporary one, to look at afterwards.
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Daily use afterwards: this many single commands a round (0: none).
        #[arg(long, default_value_t = 0)]
        daily: usize,
        /// Of each round's daily commands, how many run as whole processes.
        #[arg(long, default_value_t = 1000)]
        daily_processes: usize,
        /// How many rounds of daily commands.
        #[arg(long, default_value_t = 2)]
        daily_rounds: usize,
        /// A PostgreSQL server (a URL to a database the benchmark may create others from, e.g. what `.ci/postgres`
        /// prints): duban's PostgreSQL store is then measured beside sled and SQLite in the same runs.
        #[arg(long, env = "DUBAN_BENCH_POSTGRES", value_name = "URL")]
        postgres: Option<String>,
    },
    /// Daily use on a store made by one import of generated reply documents (about four promises each), beside the
    /// SQLite baseline loaded with the same events: single commands, bytes added per event, latency.
    DailyImport {
        /// How many reply documents the import reads.
        #[arg(long, default_value_t = 5_000)]
        replies: usize,
        /// Single commands a round.
        #[arg(long, default_value_t = 10_000)]
        commands: usize,
        /// Of each round's commands, how many run as whole processes.
        #[arg(long, default_value_t = 1_000)]
        processes: usize,
        /// How many rounds.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// Keep both engines' stores in this folder (new or empty), as they are after the rounds, to run
        /// `daily-only` or `duban` on afterwards.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// One cold-process operation on the SQLite baseline (run by `store`, timed from outside).
    #[command(hide = true)]
    Probe {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        op: String,
        #[arg(long, default_value = "")]
        arg: String,
    },
    /// Daily use on duban's side only, in process, on a copy of an existing store (a `--keep` folder's
    /// `duban.db`): how its files grow round after round (sled's data file, its blobs, live bytes per tree).
    #[command(hide = true)]
    DailyOnly {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        commands: usize,
        #[arg(long, default_value_t = 4)]
        rounds: usize,
        /// Of each round's commands, how many run as whole `duban` processes.
        #[arg(long, default_value_t = 0)]
        processes: usize,
        /// After each round, the store stays open this many seconds before it is measured, as a server's would
        /// between commands people type over a day (sled cleans its segments a little every half second).
        #[arg(long, default_value_t = 0)]
        rest_seconds: u64,
        /// Print sled's data file's size every this many commands (0: never).
        #[arg(long, default_value_t = 0)]
        sample: usize,
    },
    /// Search: the index checked against a substring scan with random queries, its size and build time, and cold,
    /// in-process and served query times (needs target/release/duban beside this binary for the last two).
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Random queries checked against the scan.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Keep the timed store in DIR (`DIR/bare.db`); when it is already there, only time the queries on it.
        #[arg(long, value_name = "DIR")]
        keep: Option<std::path::PathBuf>,
    },
    /// The annual report over a generated history: the pure build and every renderer.
    Report {
        /// How many events to generate (about ten per commitment).
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 2025)]
        year: i32,
        /// Keep the generated log and store here (and reuse them when present) instead of a temporary folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() {
    match Cli::parse().bench {
        Bench::Parse { dir, seconds } => parse(dir, seconds),
        Bench::ServeLoad { events, seed, clients, seconds } => serve::run(events, seed, clients, seconds),
        Bench::DailyOnly { store, commands, rounds, processes, rest_seconds, sample } => {
            daily::only(&store, commands, rounds, processes, rest_seconds, sample)
        }
        Bench::Report { events, seed, year, dir } => report(events, seed, year, dir),
        Bench::Store {
            events,
            seed,
            batch,
            singles,
            runs,
            in_process,
            keep,
            daily,
            daily_processes,
            daily_rounds,
            postgres,
        } => {
            let pg = postgres.as_deref().map(engines::Postgres::new);
            store(
                events,
                seed,
                batch,
                singles,
                runs,
                in_process,
                keep,
                (daily, daily_processes, daily_rounds),
                pg.as_ref(),
            );
            if let Some(pg) = pg {
                pg.drop_database();
            }
        }
        Bench::DailyImport { replies, commands, processes, rounds, keep } => {
            daily_import(replies, commands, processes, rounds, keep.as_deref())
        }
        Bench::Probe { db, op, arg } => probe::run(&db, &op, &arg),
        Bench::Search { events, seed, queries, keep } => search::run(events, seed, queries, keep.as_deref()),
    }
}

/// Median and range of a set of figures.
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

fn spread(values: &[f64]) -> Spread {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    Spread { median, low: sorted[0], high: sorted[n - 1] }
}

/// The machine's load (one-minute average) as the figures are taken.
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// One line of a summary: each engine's median and range over the runs, and the per-pair ratio's median and range,
/// oriented so that above 1 means duban does better (`higher_is_better` for rates; times and bytes: SQLite ÷ duban).
fn summary_row(name: &str, unit: &str, pairs: &[(f64, f64)], higher_is_better: bool) {
    let duban: Vec<f64> = pairs.iter().map(|pair| pair.0).collect();
    let sqlite: Vec<f64> = pairs.iter().map(|pair| pair.1).collect();
    let ratios: Vec<f64> = pairs.iter().map(|(d, s)| if higher_is_better { d / s } else { s / d }).collect();
    let (d, s, r) = (spread(&duban), spread(&sqlite), spread(&ratios));
    let cell = |spread: &Spread| format!("{:.1} ({:.1}–{:.1})", spread.median, spread.low, spread.high);
    println!(
        "store: {name:<38} {unit:<10} {:>30} {:>30}   {:.2} ({:.2}–{:.2})",
        cell(&d),
        cell(&s),
        r.median,
        r.low,
        r.high
    );
}

/// Writers appending at once in the concurrency figure (issue 21 names 8).
const WRITERS: usize = 8;

/// One figure of one run: sled's, SQLite's and PostgreSQL's.
type Triple = (f64, f64, f64);

/// One line of the PostgreSQL summary: its median and range over the runs, and its per-run ratio to sled's and to
/// SQLite's figure, oriented so that above 1 means PostgreSQL does better.
fn pg_row(name: &str, unit: &str, triples: &[(f64, f64, f64)], higher_is_better: bool) {
    let ratio = |of: f64, pg: f64| if higher_is_better { pg / of } else { of / pg };
    let pg = spread(&triples.iter().map(|t| t.2).collect::<Vec<_>>());
    let to_sled = spread(&triples.iter().map(|t| ratio(t.0, t.2)).collect::<Vec<_>>());
    let to_sqlite = spread(&triples.iter().map(|t| ratio(t.1, t.2)).collect::<Vec<_>>());
    println!(
        "store: {name:<38} {unit:<10} {:>30}   {:.2} ({:.2}–{:.2})   {:.2} ({:.2}–{:.2})",
        format!("{:.1} ({:.1}–{:.1})", pg.median, pg.low, pg.high),
        to_sled.median,
        to_sled.low,
        to_sled.high,
        to_sqlite.median,
        to_sqlite.low,
        to_sqlite.high
    );
}

fn pg_header(title: &str) {
    println!("store: {title}");
    println!(
        "store: {:<38} {:<10} {:>30}   PostgreSQL's advantage ×, per run: over sled, over SQLite",
        "figure", "unit", "PostgreSQL: median (range)"
    );
}

fn summary_header(title: &str) {
    println!("store: {title}");
    println!(
        "store: {:<38} {:<10} {:>30} {:>30}   duban's advantage ×, per pair: median (range)",
        "figure", "unit", "duban: median (range)", "SQLite: median (range)"
    );
}

#[allow(clippy::too_many_arguments)]
fn store(
    events: usize,
    seed: u64,
    batch: usize,
    singles: usize,
    runs: usize,
    in_process: bool,
    keep: Option<PathBuf>,
    (daily, daily_processes, daily_rounds): (usize, usize, usize),
    pg: Option<&engines::Postgres>,
) {
    let started = Instant::now();
    let histories = generate::histories(seed, events);
    let log = generate::seal(&histories, |_| String::new());
    drop(histories);
    let events = log.len();
    let open = (daily > 0).then(|| daily::open_commitments(&log));
    // Single commands go to commitments spread over the register, each at the version the history left it at.
    let mut versions: std::collections::HashMap<ulid::Ulid, u32> = std::collections::HashMap::new();
    let mut commitments = Vec::new();
    for envelope in &log {
        versions.insert(envelope.stream, envelope.version);
        if matches!(envelope.event, duban_domain::Event::CommitmentMade(_)) {
            commitments.push(envelope.stream);
        }
    }
    let step = (commitments.len() / singles.max(1)).max(1);
    let picks: Vec<(ulid::Ulid, u32)> =
        commitments.iter().step_by(step).take(singles).map(|id| (*id, versions[id])).collect();
    let shown = commitments[commitments.len() / 2];
    drop(versions);
    let batches = engines::batches(log, batch);
    println!(
        "store: {events} events in {} appends of up to {batch}, generated in {:.1} s",
        batches.len(),
        started.elapsed().as_secs_f64()
    );
    let temporary = tempfile::tempdir().unwrap();
    let dir = kept_or(keep.as_deref(), &temporary);
    // Runs alternate which engine goes first (ABAB…); each run loads both from nothing into the same folder.
    let (mut append, mut rebuild, mut bytes, mut p50, mut p99) = (vec![], vec![], vec![], vec![], vec![]);
    let mut on_pg: Vec<[(f64, f64, f64); 5]> = Vec::new();
    let mut concurrent: Vec<(f64, f64)> = Vec::new();
    println!("store: run  first   load   duban: append/s rebuild s bytes/ev p50 ms  SQLite: append/s rebuild s bytes/ev p50 ms");
    for run in 0..runs.max(1) {
        for name in ["duban.db", "baseline.sqlite", "baseline.sqlite-wal", "baseline.sqlite-shm"] {
            let path = dir.join(name);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else if path.exists() {
                std::fs::remove_file(&path).unwrap();
            }
        }
        let load_at_start = load();
        // With PostgreSQL, it goes last when duban goes first and first when duban goes last.
        let (duban, sqlite, postgres) = if run % 2 == 0 {
            let duban = engines::duban(dir, &batches, events);
            let sqlite = engines::sqlite(dir, &batches, events);
            (duban, sqlite, pg.map(|pg| engines::postgres(pg, &batches, events)))
        } else {
            let postgres = pg.map(|pg| engines::postgres(pg, &batches, events));
            let sqlite = engines::sqlite(dir, &batches, events);
            (engines::duban(dir, &batches, events), sqlite, postgres)
        };
        let (duban_single, sqlite_single, pg_single) = engines::singles(dir, &picks, pg);
        if let (Some(postgres), Some(single)) = (&postgres, &pg_single) {
            // Eight writers at once, on both of duban's engines, in turn.
            let (sled_store, pg_store) = (
                duban_store::open(&dir.join("duban.db")).unwrap(),
                pg.map(|pg| duban_store::open(&pg.url()).unwrap()).unwrap(),
            );
            let writers = |store: &dyn duban_store::EventStore| engines::concurrent(store, &picks, WRITERS, 2.0);
            let (sled_rate, pg_rate) = if run % 2 == 0 {
                let sled_rate = writers(&*sled_store);
                (sled_rate, writers(&*pg_store))
            } else {
                let pg_rate = writers(&*pg_store);
                (writers(&*sled_store), pg_rate)
            };
            concurrent.push((sled_rate, pg_rate));
            drop((sled_store, pg_store));
            println!(
                "store: {:>3}  PostgreSQL: {:>10.0} append/s {:>9.3} rebuild s {:>8.1} bytes/ev {:>6.2} p50 ms {:>6.2} p99 ms",
                run + 1,
                postgres.append_per_second,
                postgres.rebuild_seconds,
                postgres.bytes_per_event,
                single.p50_ms,
                single.p99_ms
            );
            on_pg.push([
                (duban.append_per_second, sqlite.append_per_second, postgres.append_per_second),
                (duban.rebuild_seconds * 1000.0, sqlite.rebuild_seconds * 1000.0, postgres.rebuild_seconds * 1000.0),
                (duban_single.p50_ms, sqlite_single.p50_ms, single.p50_ms),
                (duban_single.p99_ms, sqlite_single.p99_ms, single.p99_ms),
                (duban.bytes_per_event, sqlite.bytes_per_event, postgres.bytes_per_event),
            ]);
        }
        println!(
            "store: {:>3}  {:<6} {:>5.2}   {:>15.0} {:>9.3} {:>8.1} {:>6.2}  {:>16.0} {:>9.3} {:>8.1} {:>6.2}",
            run + 1,
            if run % 2 == 0 { "duban" } else { "SQLite" },
            load_at_start,
            duban.append_per_second,
            duban.rebuild_seconds,
            duban.bytes_per_event,
            duban_single.p50_ms,
            sqlite.append_per_second,
            sqlite.rebuild_seconds,
            sqlite.bytes_per_event,
            sqlite_single.p50_ms,
        );
        append.push((duban.append_per_second, sqlite.append_per_second));
        rebuild.push((duban.rebuild_seconds * 1000.0, sqlite.rebuild_seconds * 1000.0));
        bytes.push((duban.bytes_per_event, sqlite.bytes_per_event));
        p50.push((duban_single.p50_ms, sqlite_single.p50_ms));
        p99.push((duban_single.p99_ms, sqlite_single.p99_ms));
    }
    println!("store: generated and measured {} runs in {:.1} s", runs.max(1), started.elapsed().as_secs_f64());
    summary_header(&format!("in one process, {} alternated runs", runs.max(1)));
    summary_row("bulk append", "events/s", &append, true);
    summary_row("full rebuild (in the loading process)", "ms", &rebuild, false);
    summary_row("single durable command p50", "ms", &p50, false);
    summary_row("single durable command p99", "ms", &p99, false);
    summary_row("bytes on disk per event", "bytes", &bytes, false);
    if !on_pg.is_empty() {
        pg_header(&format!("PostgreSQL in the same {} runs", on_pg.len()));
        let figures = [
            ("bulk append", "events/s", true),
            ("full rebuild (in the loading process)", "ms", false),
            ("single durable command p50", "ms", false),
            ("single durable command p99", "ms", false),
            ("bytes on disk per event (tables)", "bytes", false),
        ];
        for (index, (name, unit, higher)) in figures.into_iter().enumerate() {
            pg_row(name, unit, &on_pg.iter().map(|run| run[index]).collect::<Vec<_>>(), higher);
        }
        // The baseline is left out: it would need a connection per thread and its own retry on SQLITE_BUSY.
        let triples: Vec<Triple> = concurrent.iter().map(|&(on_sled, on_pg)| (on_sled, f64::NAN, on_pg)).collect();
        pg_row(&format!("{WRITERS} writers at once, durable appends"), "appends/s", &triples, true);
        let sled = spread(&concurrent.iter().map(|pair| pair.0).collect::<Vec<_>>());
        println!(
            "store: ({WRITERS} writers at once on sled: {:.0} ({:.0}–{:.0}) appends/s; no SQLite figure)",
            sled.median, sled.low, sled.high
        );
    }
    let chunk_format = engines::sqlite_chunks(dir, &batches, events);
    let duban_bytes = spread(&bytes.iter().map(|pair| pair.0).collect::<Vec<_>>()).median;
    println!(
        "store: bytes per event, the same chunk format in both: duban {duban_bytes:.1}, SQLite {chunk_format:.1} ({:.2} ×)",
        chunk_format / duban_bytes
    );
    for name in ["baseline-chunks.sqlite", "baseline-chunks.sqlite-wal", "baseline-chunks.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    engines::describe_duban(dir, events);
    drop(batches);
    // From here on, whole `duban` processes run on the store as a store in use is: with its search index, which every
    // write keeps up (the bulk load bypassed that upkeep; without it the first writes would catch it up).
    daily::index_search(dir, events);
    if let Some(pg) = pg {
        duban_app::App::open(&pg.url()).unwrap().index_search().unwrap();
    }
    if !in_process {
        cold(dir, &shown.to_string(), &picks, runs.max(1), pg);
    }
    if let Some((open, now)) = open {
        // The single commands above moved some versions on: the daily commands read each state as they go.
        let sizes = (daily, daily_processes.min(daily), daily_rounds);
        daily::run(dir, &open, now + chrono::Duration::days(1), sizes, "generated history");
    }
}

/// The folder a benchmark writes its stores to: `keep` (made if missing, and it must be empty), else `temporary`.
fn kept_or<'a>(keep: Option<&'a Path>, temporary: &'a tempfile::TempDir) -> &'a Path {
    match keep {
        Some(keep) => {
            std::fs::create_dir_all(keep).unwrap();
            assert!(std::fs::read_dir(keep).unwrap().next().is_none(), "{} is not empty", keep.display());
            keep
        }
        None => temporary.path(),
    }
}

/// Daily use on a store made by one `duban import` of `replies` generated documents (one template, four promises
/// each, numbered apart), and the SQLite baseline loaded with the same events.
fn daily_import(replies: usize, commands: usize, processes: usize, rounds: usize, keep: Option<&Path>) {
    let duban = std::env::current_exe().unwrap().with_file_name("duban");
    assert!(duban.exists(), "build the duban binary first: cargo build --release");
    let temporary = tempfile::tempdir().unwrap();
    let dir = kept_or(keep, &temporary);
    let documents = dir.join("documents");
    std::fs::create_dir(&documents).unwrap();
    let template = include_str!("../../ingest/samples/jiaoyu.txt");
    for number in 0..replies {
        let text = template
            .replace("示教〔2025〕9号", &format!("示教〔2025〕{}号", number + 100))
            .replace("第0087号", &format!("第{:04}号", number + 1000))
            .replace(
                "2. 拟于2026年上半年出台课后服务经费保障办法。",
                "2. 拟于2026年上半年出台课后服务经费保障办法。\n3. 年内完成课后服务质量评估。\n4. 拟于2026年底前建成课后服务管理平台。",
            );
        std::fs::write(documents.join(format!("d{number:05}.txt")), text).unwrap();
    }
    let store = dir.join("duban.db");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&duban)
            .arg("--store")
            .arg(&store)
            .args(args)
            .env("DUBAN_NOW", "2026-01-10T10:00:00+08:00")
            .env("DUBAN_ACTOR", "联络员")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    };
    run(&["init"]);
    let started = Instant::now();
    run(&["import", &documents.to_string_lossy()]);
    println!("daily-import: {replies} documents imported in {:.1} s", started.elapsed().as_secs_f64());
    let exported = run(&["export", "-"]);
    let log: Vec<duban_domain::Envelope> = exported
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty() && !line.starts_with(b"{\"trailer\""))
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    let (open, now) = daily::open_commitments(&log);
    println!("daily-import: {} events, {} open commitments", log.len(), open.len());
    let batches = engines::batches(log.clone(), 1000);
    // The baseline's bulk load writes its own file; duban's store is the one the import made.
    let _ = engines::sqlite(dir, &batches, log.len());
    daily::run(dir, &open, now, (commands, processes.min(commands), rounds), "one import");
}

/// Cold processes on the stores `store` built: each operation `pairs` times per engine, alternating which runs first;
/// each engine's median wall time, the per-pair ratio's median and range, the largest peak RSS. Then the single
/// command as users meet it: a whole process (start, open, append, fsync, exit) per fact, engines alternating.
fn cold(dir: &Path, shown: &str, picks: &[(ulid::Ulid, u32)], pairs: usize, pg: Option<&engines::Postgres>) {
    let duban = std::env::current_exe().unwrap().with_file_name("duban");
    assert!(duban.exists(), "build the duban binary first: cargo build --release");
    let bench = std::env::current_exe().unwrap();
    let store = dir.join("duban.db").to_string_lossy().to_string();
    let sqlite = dir.join("baseline.sqlite").to_string_lossy().to_string();
    let report = dir.join("report.csv").to_string_lossy().to_string();
    let sqlite_report = format!("2025|{}", dir.join("report-sqlite.csv").to_string_lossy());
    let organ = "示范区第7局";
    let duban_args = |args: &[&str]| -> Vec<String> {
        ["--store", store.as_str()].iter().chain(args).map(|arg| arg.to_string()).collect()
    };
    let pg_url = pg.map(|pg| pg.url().to_string_lossy().to_string());
    let on_pg = |args: &[String]| -> Option<Vec<String>> {
        let url = pg_url.as_ref()?;
        let mut args = args.to_vec();
        args[1] = url.clone();
        if let Some(out) = args.iter().position(|arg| arg == "--out") {
            args[out + 1] = dir.join("report-pg.csv").to_string_lossy().to_string();
        }
        Some(args)
    };
    let mut pg_rows: Vec<(&str, Vec<Triple>)> = Vec::new();
    let probe_args = |op: &str, arg: &str| -> Vec<String> {
        ["probe", "--db", sqlite.as_str(), "--op", op, "--arg", arg].iter().map(|a| a.to_string()).collect()
    };
    let operations: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "list overdue of one organ",
            duban_args(&["list", "--json", "--overdue", "--organ", organ]),
            probe_args("list", organ),
        ),
        ("list all (JSON)", duban_args(&["list", "--json"]), probe_args("list", "")),
        ("show one commitment", duban_args(&["show", shown, "--json"]), probe_args("show", shown)),
        (
            "as-of 2024-06-30: overdue then",
            duban_args(&["list", "--json", "--overdue", "--as-of", "2024-06-30"]),
            probe_args("as-of", "2024-06-30"),
        ),
        (
            "annual report 2025 (csv)",
            duban_args(&["report", "--year", "2025", "--format", "csv", "--force", "--out", &report]),
            probe_args("report", &sqlite_report),
        ),
        // The same work as the baseline's rebuild, which has no full-text index: the search index's own derivation
        // is timed by the search benchmark.
        ("full rebuild", duban_args(&["rebuild", "--skip-search"]), probe_args("rebuild", "")),
    ];
    summary_header(&format!("cold process, {pairs} alternated pairs (ms; peak RSS MB after)"));
    for (name, duban_argv, probe_argv) in operations {
        let mut times = Vec::new();
        let mut pg_times = Vec::new();
        let (mut duban_mb, mut sqlite_mb) = (0.0f64, 0.0f64);
        for pair in 0..pairs {
            let mut one = |first: bool| {
                if first {
                    let (seconds, mb) = timed(&duban, &duban_argv);
                    duban_mb = duban_mb.max(mb);
                    seconds * 1000.0
                } else {
                    let (seconds, mb) = timed(&bench, &probe_argv);
                    sqlite_mb = sqlite_mb.max(mb);
                    seconds * 1000.0
                }
            };
            let pg_argv = on_pg(&duban_argv);
            let on_postgres = || pg_argv.as_ref().map(|argv| timed(&duban, argv).0 * 1000.0);
            let (d, s, p) = if pair % 2 == 0 {
                let d = one(true);
                let s = one(false);
                (d, s, on_postgres())
            } else {
                let p = on_postgres();
                let s = one(false);
                (one(true), s, p)
            };
            times.push((d, s));
            if let Some(p) = p {
                pg_times.push((d, s, p));
            }
        }
        summary_row(name, &format!("{duban_mb:.0}/{sqlite_mb:.0} MB"), &times, false);
        if !pg_times.is_empty() {
            pg_rows.push((name, pg_times));
        }
    }
    // Whole processes, one fact each: `duban note` and the probe's `record` (the same steps), alternating.
    let mut times = Vec::new();
    let mut note_times = Vec::new();
    // A note: allowed on every commitment, open or closed (the picks include closed ones).
    for (number, (commitment, _)) in picks.iter().take(40.max(pairs)).enumerate() {
        let id = commitment.to_string();
        let number = 900_000 + number;
        let duban_argv = duban_args(&["note", &id, "--text", &format!("电话督办第{number}次，承办单位称按计划推进")]);
        let probe_argv = probe_args("record", &format!("{id}|note|{number}"));
        let run = |program: &Path, argv: &[String]| {
            let started = Instant::now();
            let output = std::process::Command::new(program)
                .args(argv)
                .env("DUBAN_NOW", "2026-07-01T10:00:00+08:00")
                .env("DUBAN_ACTOR", "联络员")
                .output()
                .unwrap();
            assert!(output.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&output.stderr));
            started.elapsed().as_secs_f64() * 1000.0
        };
        let pg_argv = on_pg(&duban_argv);
        let on_postgres = || pg_argv.as_ref().map(|argv| run(&duban, argv));
        let (d, s, p) = if number % 2 == 0 {
            let d = run(&duban, &duban_argv);
            let s = run(&bench, &probe_argv);
            (d, s, on_postgres())
        } else {
            let p = on_postgres();
            let s = run(&bench, &probe_argv);
            (run(&duban, &duban_argv), s, p)
        };
        times.push((d, s));
        if let Some(p) = p {
            note_times.push((d, s, p));
        }
    }
    summary_row("single command, whole process", "ms", &times, false);
    if !note_times.is_empty() {
        pg_rows.push(("single command, whole process", note_times));
    }
    if !pg_rows.is_empty() {
        pg_header(&format!("PostgreSQL, cold process, {pairs} runs in turn with the pairs above (ms)"));
        for (name, triples) in &pg_rows {
            pg_row(name, "ms", triples, false);
        }
    }
    println!(
        "store: store folder {:.0} MB; SQLite file {:.0} MB; load {:.2}",
        engines::size_of(&dir.join("duban.db")) as f64 / 1e6,
        engines::size_of(&dir.join("baseline.sqlite")) as f64 / 1e6,
        load()
    );
}

/// Runs a command once under `/usr/bin/time`: wall seconds and peak RSS in MB.
fn timed(program: &Path, args: &[String]) -> (f64, f64) {
    let started = Instant::now();
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%e %M"])
        .arg(program)
        .args(args)
        .env("DUBAN_NOW", "2026-07-01T10:00:00+08:00")
        .stdout(std::process::Stdio::null())
        .output()
        .expect("/usr/bin/time runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} {args:?} failed: {stderr}", program.display());
    // Wall time from here (`time` prints only hundredths), peak RSS from `time`.
    let seconds = started.elapsed().as_secs_f64();
    let kb: f64 = stderr
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    (seconds, kb / 1024.0)
}

fn report(events: usize, seed: u64, year: i32, keep: Option<PathBuf>) {
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let dir = keep.unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let reuse = dir.join("duban.db").exists();
    let (events, commitments) = if reuse {
        println!("report: reusing {}", dir.display());
        (0, 0)
    } else {
        let histories = generate::histories(seed, events);
        let log = generate::seal(&histories, duban_store::hash_of);
        drop(histories);
        let commitments = log.iter().filter(|e| matches!(e.event, duban_domain::Event::CommitmentMade(_))).count();
        let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join("events.jsonl")).unwrap());
        duban_store::write_export(log.iter().cloned().map(Ok), &mut file).unwrap();
        (log.len(), commitments)
    };
    println!(
        "report: generated {events} events, {commitments} commitments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let store_path = dir.join("duban.db");
    if !reuse {
        let started = Instant::now();
        let store = duban_store::SledStore::create(&store_path).unwrap();
        store.import_events(&dir.join("events.jsonl")).unwrap();
        println!("report: restored into a store in {:.1} s", started.elapsed().as_secs_f64());
    }
    let duban = std::env::current_exe().unwrap().with_file_name("duban");
    assert!(duban.exists(), "build the duban binary first: cargo build --release");
    let as_of = format!("{year}-12-31");
    let year = year.to_string();
    for format in ["json", "md", "csv", "html", "xlsx"] {
        let out = dir.join(format!("report.{format}"));
        let output = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(&duban)
            .args(["--store", &store_path.to_string_lossy(), "report", "--year", &year, "--as-of", &as_of])
            .args(["--format", format, "--force", "--out", &out.to_string_lossy()])
            .env("DUBAN_NOW", "2026-11-21T10:00:00+08:00")
            .output()
            .expect("/usr/bin/time runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let measured = stderr.lines().last().unwrap_or_default().to_string();
        let mut figures = measured.split_whitespace();
        let seconds: f64 = figures.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        let peak_kb: f64 = figures.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        assert!(output.status.success(), "duban report failed: {stderr}");
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        println!(
            "report: duban report --format {format}: {seconds:.2} s, peak RSS {:.0} MB, {:.1} MB written",
            peak_kb / 1024.0,
            size as f64 / 1e6
        );
    }
}

fn documents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut documents: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext != "json" && ext != "py"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&path).unwrap()))
        .collect();
    documents.sort();
    documents
}

fn parse(dir: Option<PathBuf>, seconds: f64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = dir.unwrap_or_else(|| {
        let seeds = root.join("../shared/seeds");
        if seeds.is_dir() {
            seeds
        } else {
            root.join("crates/ingest/samples")
        }
    });
    let documents = documents(&dir);
    assert!(!documents.is_empty(), "no documents in {}", dir.display());
    let bytes_per_round: usize = documents.iter().map(|(_, bytes)| bytes.len()).sum();
    // Warm up (lazy regexes, caches), then measure whole rounds over the set.
    for (name, bytes) in &documents {
        let _ = duban_ingest::parse(bytes, name);
    }
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut rounds = 0usize;
    let mut commitments = 0usize;
    while started.elapsed() < budget {
        for (name, bytes) in &documents {
            commitments += duban_ingest::parse(bytes, name).map_or(0, |parsed| parsed.commitments.len());
        }
        rounds += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let docs = rounds * documents.len();
    println!(
        "parse: {} documents from {} ({:.1} KiB on average)",
        documents.len(),
        dir.display(),
        bytes_per_round as f64 / documents.len() as f64 / 1024.0
    );
    println!(
        "parse: {docs} documents in {elapsed:.2} s on one core: {:.0} documents/s, {:.1} MB/s ({} commitments found)",
        docs as f64 / elapsed,
        (rounds * bytes_per_round) as f64 / elapsed / 1e6,
        commitments / rounds.max(1)
    );
}
