//! duban's benchmarks: `cargo run --release -p duban-bench -- parse` measures reply-parsing throughput on one core;
//! `-- report --events 1000000` builds the annual report over a generated history.

/// mimalloc: the store and the report allocate and free many small strings and vectors per event; glibc's allocator
/// spent a fifth of the time of a bulk append in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod engines;
mod generate;

use std::io::Write;
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
    /// Parse throughput: documents per second and MB per second on one core.
    Parse {
        /// Folder of reply documents (default: ../shared/seeds when present, else the bundled samples).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// duban's store beside a SQLite baseline: bulk append and full rebuild on the same generated history.
    Store {
        /// How many events to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Events per append call (per transaction).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
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
        Bench::Report { events, seed, year, dir } => report(events, seed, year, dir),
        Bench::Store { events, seed, batch } => store(events, seed, batch),
    }
}

fn store(events: usize, seed: u64, batch: usize) {
    let started = Instant::now();
    let histories = generate::histories(seed, events);
    let log = generate::seal(&histories, |_| String::new());
    drop(histories);
    let events = log.len();
    let batches = engines::batches(log, batch);
    println!(
        "store: {events} events in {} appends of up to {batch}, generated in {:.1} s",
        batches.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let duban = engines::duban(dir.path(), &batches, events);
    let sqlite = engines::sqlite(dir.path(), &batches, events);
    for (name, figures) in [("duban ", &duban), ("sqlite", &sqlite)] {
        println!(
            "store: {name}: bulk append {:>9.0} events/s, full rebuild {:>9.0} events/s, {:>5.0} bytes/event on disk",
            figures.append_per_second, figures.rebuild_per_second, figures.bytes_per_event
        );
    }
    println!(
        "store: duban ÷ sqlite: bulk append {:.2}, full rebuild {:.2}, bytes/event {:.2} (above 1 is better for the first two, below 1 for the last)",
        duban.append_per_second / sqlite.append_per_second,
        duban.rebuild_per_second / sqlite.rebuild_per_second,
        duban.bytes_per_event / sqlite.bytes_per_event
    );
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
        for envelope in &log {
            serde_json::to_writer(&mut file, envelope).unwrap();
            file.write_all(b"\n").unwrap();
        }
        file.flush().unwrap();
        (log.len(), commitments)
    };
    println!(
        "report: generated {events} events, {commitments} commitments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let store_path = dir.join("duban.db");
    if !reuse {
        let started = Instant::now();
        let store = duban_store::Store::create(&store_path).unwrap();
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
