//! What whole commands ask of the kernel, traced with strace: a read writes and syncs nothing; a write syncs what it
//! acknowledges and little else; every blob file sled writes is synced, with its folder, before any command that
//! wrote it reports success (vendor/sled/DUBAN.md, change 4). Traced, not timed.
//!
//! These need strace, which a plain machine may not have: ignored by `cargo test`, run by `.ci/run` (which installs
//! strace) with `--ignored`. They fail, never skip, when strace is missing there.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Duban;

/// Runs `args` under `strace -f -y` (each descriptor printed with its path) and returns the trace's lines.
fn traced(duban: &Duban, args: &[&str]) -> Vec<String> {
    let trace = duban.dir.path().join("trace.txt");
    let output = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=openat,write,pwrite64,fsync,fdatasync,rename,unlink,unlinkat", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_duban"))
        .args(args)
        .env_clear()
        .env("DUBAN_NOW", &duban.now)
        .env("DUBAN_ACTOR", "王芳")
        .env("DUBAN_STORE", duban.store())
        .current_dir(duban.dir.path())
        .output()
        .expect("strace runs (apt-get install strace)");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    std::fs::read_to_string(&trace).unwrap().lines().map(str::to_string).collect()
}

/// Lines of the trace that touch the store: a call on a descriptor inside it, or a path inside it.
fn touching_store(lines: &[String], store: &Path) -> Vec<String> {
    let store = store.to_string_lossy().to_string();
    lines.iter().filter(|line| line.contains(&store)).cloned().collect()
}

fn calls<'a>(lines: &'a [String], name: &str) -> Vec<&'a String> {
    let needle = format!(" {name}(");
    lines.iter().filter(|line| line.contains(&needle)).collect()
}

fn imported() -> (Duban, String) {
    let duban = Duban::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples");
    let files: Vec<String> = ["keji-gbk.txt", "caizheng.docx", "jiaoyu.txt", "jiaotong.html"]
        .iter()
        .map(|name| samples.join(name).to_string_lossy().to_string())
        .collect();
    duban.ok(&[&["import"], &files.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    let list: serde_json::Value = serde_json::from_str(&duban.ok(&["list", "--json"])).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    (duban, id)
}

#[test]
#[ignore = "needs strace: run by .ci/run with --ignored"]
fn a_read_writes_and_syncs_nothing_in_the_store() {
    let (duban, id) = imported();
    duban.ok(&["note", &id, "--text", "电话督办"]);
    // The first start after a write advances sled's snapshot (decision 0010); the reads after it are traced.
    duban.ok(&["list"]);
    for read in [vec!["list"], vec!["show", &id], vec!["list", "--json", "--as-of", "2025-09-01"], vec!["verify"]] {
        let lines = touching_store(&traced(&duban, &read), &duban.store());
        for call in ["write", "pwrite64", "fsync", "fdatasync", "rename", "unlink", "unlinkat"] {
            let found = calls(&lines, call);
            assert!(found.is_empty(), "{read:?} called {call} in the store: {found:?}");
        }
        // sled opens its data file read-write (and with O_CREAT) to lock it; nothing may be truncated or made.
        let made: Vec<&String> = calls(&lines, "openat")
            .into_iter()
            .filter(|line| line.contains("O_TRUNC") || line.contains("O_EXCL") || line.contains("O_WRONLY"))
            .collect();
        assert!(made.is_empty(), "{read:?} opened files to replace or make: {made:?}");
    }
}

#[test]
#[ignore = "needs strace: run by .ci/run with --ignored"]
fn a_write_syncs_the_data_file_after_its_last_write_and_then_records_the_head() {
    let (duban, id) = imported();
    duban.ok(&["list"]);
    let lines = touching_store(&traced(&duban, &["note", &id, "--text", "电话督办"]), &duban.store());
    let data = format!("{}>", duban.store().join("db").display());
    let position = |predicate: &dyn Fn(&String) -> bool| lines.iter().rposition(predicate);
    let last_data_write = position(&|line| line.contains(" pwrite64(") && line.contains(&data)).expect("a write");
    let data_sync = (last_data_write..lines.len())
        .find(|&at| lines[at].contains(" fsync(") && lines[at].contains(&data))
        .unwrap_or_else(|| panic!("the data file is synced after its last write:\n{}", lines.join("\n")));
    let head = duban.store().join("acknowledged");
    let head = format!("{}>", head.display());
    let head_write = position(&|line| line.contains(" pwrite64(") && line.contains(&head)).expect("the head written");
    let head_sync = position(&|line| line.contains(" fdatasync(") && line.contains(&head)).expect("the head synced");
    assert!(head_write > data_sync && head_sync > head_write, "the head is recorded once the data is durable");
    // No folder listed, and few syncs: the snapshot (written after the previous command), its folder, the data file
    // (here, and by sled as it closes), the head.
    let syncs = calls(&lines, "fsync").len() + calls(&lines, "fdatasync").len();
    assert!(syncs <= 5, "{syncs} syncs:\n{}", lines.join("\n"));
}

#[test]
#[ignore = "needs strace: run by .ci/run with --ignored"]
fn every_blob_file_is_synced_with_its_folder_before_the_command_succeeds() {
    let (duban, id) = imported();
    // Notes of text that does not compress, ~45 KB each: the log's chunk fills within a few commands and goes to a
    // blob file (sled keeps large values out of its segments).
    let mut seed = 11u32;
    let mut blobs_seen = Vec::new();
    for round in 0..12 {
        let text: String = (0..15_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                char::from_u32(0x4E00 + (seed >> 8) % 20_000).unwrap()
            })
            .collect();
        let lines = traced(&duban, &["note", &id, "--text", &text]);
        let blobs = duban.store().join("blobs");
        let blobs_dir = format!("{}>", blobs.display());
        let created: Vec<PathBuf> = calls(&lines, "openat")
            .into_iter()
            .filter(|line| line.contains("O_CREAT") && line.contains(&format!("\"{}/", blobs.display())))
            .filter_map(|line| line.split('"').nth(1).map(PathBuf::from))
            .collect();
        for blob in &created {
            let name = format!("{}>", blob.display());
            let synced = calls(&lines, "fsync").iter().any(|line| line.contains(&name));
            assert!(synced, "round {round}: {} written and never synced", blob.display());
            let folder = calls(&lines, "fsync").iter().any(|line| line.contains(&blobs_dir));
            assert!(folder, "round {round}: the blobs folder is not synced after {}", blob.display());
        }
        blobs_seen.extend(created);
    }
    assert!(!blobs_seen.is_empty(), "the notes made no blob file: the test did not test");
    duban.ok(&["verify"]);
}
