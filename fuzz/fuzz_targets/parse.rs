//! Fuzz target: the reply parser must never panic, whatever the bytes (`cargo fuzz run parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = duban_ingest::parse(data, "fuzz.txt") {
        // Locators must point inside the normalised text.
        let length = parsed.source.text.chars().count() as u32;
        for commitment in &parsed.commitments {
            assert!(commitment.start <= commitment.end && commitment.end <= length);
        }
        let _ = parsed.registration();
    }
});
