//! Fuzz target: a restore of mutated events, re-chained so that the hash checks pass, must never panic — the
//! events reach the domain's checks, the write path and the fold (`cargo fuzz run restore`; seed it with
//! `tests/fixtures/*.jsonl`). Lines that do not parse as events are dropped; the rest are renumbered and re-hashed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut events: Vec<duban_domain::Envelope> =
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let mut previous = duban_store::GENESIS.to_string();
    for (index, envelope) in events.iter_mut().enumerate() {
        envelope.seq = index as u64 + 1;
        envelope.prev_hash = previous;
        envelope.hash = duban_store::hash_of(envelope);
        previous = envelope.hash.clone();
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("events.jsonl");
    let mut out = Vec::new();
    duban_store::write_export(events.into_iter().map(Ok), &mut out).expect("writing to memory");
    std::fs::write(&file, out).expect("writing the export");
    if let Ok((store, _)) = duban_store::SledStore::restore(&dir.path().join("restored.db"), &file) {
        let _ = store.verify();
        let _ = store.rebuild();
    }
});
