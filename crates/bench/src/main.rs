//! duban's benchmarks: `cargo run --release -p duban-bench -- parse` measures reply-parsing throughput on one core.

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
}

fn main() {
    match Cli::parse().bench {
        Bench::Parse { dir, seconds } => parse(dir, seconds),
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
