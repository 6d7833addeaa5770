//! Fuzz target: checking an event export (what `import-events` reads first) must never panic, whatever the bytes
//! (`cargo fuzz run import_events`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = duban_store::check_export(std::io::Cursor::new(data));
});
