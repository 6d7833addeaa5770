//! Damage to a store's files: flipped bits, zeroed runs, truncations and deleted files, on every file of a store.
//! Whatever the damage, a command answers: never a panic (exit code 101) or a signal, never a hang, and never a
//! wrong answer given as right (exit 0 with other rows than the undamaged store's). It may refuse (exit 1 or 2),
//! naming the damage and the way out. The counts are printed. `list`, `verify` and `search` (whose index is files of
//! its own, in `derived/`) are asked.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{copy_folder, files, Duban, Rng};

/// Runs the binary on `store` for at most ten seconds: its exit code (`None` if killed by a signal) and output, or
/// `Err` if it hung.
fn run(duban: &Duban, store: &Path, args: &[&str]) -> Result<(Option<i32>, Vec<u8>), ()> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duban"))
        .env_clear()
        .env("DUBAN_NOW", &duban.now)
        .env("DUBAN_STORE", store)
        .env("DUBAN_ACTOR", "测试")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
        bytes
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Ok((status.code(), reader.join().unwrap()));
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            child.wait().unwrap();
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn damaged_stores_never_panic_hang_or_answer_wrongly() {
    const TRIALS: u64 = 300;
    let duban = Duban::new();
    let docs = duban.dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples/jiaoyu.txt"))
            .unwrap();
    for number in 0..60 {
        let text = template
            .replace("示教〔2025〕9号", &format!("示教〔2025〕{}号", number + 100))
            .replace("第0087号", &format!("第{:04}号", number + 100));
        std::fs::write(docs.join(format!("d{number:03}.txt")), text).unwrap();
    }
    duban.ok(&["import", &docs.to_string_lossy()]);
    let rows: serde_json::Value = serde_json::from_str(&duban.ok(&["list", "--json"])).unwrap();
    let id = rows[0]["id"].as_str().unwrap().to_string();
    for number in 0..5 {
        duban.ok(&["progress", &id, "--summary", &format!("进展{number}")]);
    }
    // Long reports of text that does not compress away, enough to fill a log chunk: a full chunk is kept in a file
    // of its own (chunks/), so that damage reaches one too.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for number in 0..16 {
        let text: String = (0..6000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from_u32(0x4E00 + (state % 20_000) as u32).unwrap()
            })
            .collect();
        duban.ok(&["progress", &id, "--summary", &format!("长进展{number}：{text}")]);
    }
    assert!(duban.store().join("chunks").read_dir().unwrap().next().is_some(), "the log has a chunk file");
    duban.ok(&["list"]);
    // The search index as files of its own (derived/), so that damage reaches them too.
    duban.ok(&["rebuild"]);
    assert!(duban.store().join("derived").read_dir().unwrap().next().is_some(), "the index has segment files");
    let good = duban.run(&["list", "--json"]).stdout.into_bytes();
    let search = ["search", "课后延时服务", "--json"];
    let found = duban.run(&search).stdout.into_bytes();
    assert!(String::from_utf8_lossy(&found).contains("课后延时服务"), "the undamaged store finds it");
    let base = duban.store();
    let mut rng = Rng(0xDA4A_6E00_0000_0003);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for trial in 0..TRIALS {
        let store = duban.dir.path().join(format!("damaged-{trial}.db"));
        copy_folder(&base, &store);
        let mut all = Vec::new();
        files(&store, &mut all);
        all.sort();
        let file = &all[rng.below(all.len() as u64) as usize];
        let size = std::fs::metadata(file).unwrap().len();
        let kind = ["flip", "zero", "truncate", "delete"][rng.below(4) as usize];
        match kind {
            "delete" => std::fs::remove_file(file).unwrap(),
            "truncate" => std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(rng.below(size)).unwrap(),
            _ if size > 0 => {
                let mut bytes = std::fs::read(file).unwrap();
                let at = rng.below(size) as usize;
                if kind == "flip" {
                    bytes[at] ^= 1 << rng.below(8);
                } else {
                    let end = (at + 1 + rng.below(4096) as usize).min(bytes.len());
                    bytes[at..end].fill(0);
                }
                std::fs::write(file, bytes).unwrap();
            }
            _ => {}
        }
        let name = file.strip_prefix(&store).unwrap().display().to_string();
        for args in [&["list", "--json"][..], &["verify", "--json"][..], &search[..]] {
            let expected = match args[0] {
                "list" => Some(&good),
                "search" => Some(&found),
                _ => None,
            };
            let outcome = match run(&duban, &store, args) {
                Err(()) => "hang".to_string(),
                Ok((None, _)) | Ok((Some(101), _)) => "panic or signal".to_string(),
                Ok((Some(0), out)) if expected.is_some_and(|expected| out != *expected) => {
                    "wrong answer, exit 0".to_string()
                }
                Ok((Some(code), _)) => format!("exit {code}"),
            };
            if outcome.starts_with('h') || outcome.starts_with('p') || outcome.starts_with('w') {
                failures.push(format!("trial {trial}: {kind} {name}: {} → {outcome}", args[0]));
            }
            *counts.entry(format!("{} {outcome}", args[0])).or_default() += 1;
        }
        std::fs::remove_dir_all(&store).unwrap();
    }
    eprintln!("damage: {TRIALS} trials: {counts:?}");
    assert!(failures.is_empty(), "{} of {TRIALS} trials went wrong: {failures:#?}", failures.len());
}
