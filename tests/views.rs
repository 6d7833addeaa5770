//! The read model's answers on the demo store, pinned: `list`, `show`, `reply list` and the report through every
//! combination of `--as-of` and `--known-at` that matters. The fixture was first written by the binary that read
//! through four separate code paths before the application core held the one read model (commit 4710bf9), which
//! showed that the split changed no answer; since then it changes only with a deliberate change of answers, written
//! by `cargo test --test views -- --ignored write_the_fixture` and reviewed in its diff (issue 16: every promise has a
//! due date, from the reply's text, staff or the default policy, and says which).
//!
//! The demo's ids are random (the clock is pinned, the random half of a ULID is not), so ids, short ids and hashes
//! are blanked, and rows whose order fell to their ids (equal due dates) are compared as sets.

mod common;

use std::path::Path;

use common::Duban;
use serde_json::Value;

/// The horizons asked about: none; three as-of dates; cuts by log position (the demo records everything at one
/// instant, so a cut by date is all or nothing); and both at once.
const HORIZONS: &[&[&str]] = &[
    &[],
    &["--as-of", "2025-06-30"],
    &["--as-of", "2025-12-31"],
    &["--as-of", "2026-06-30"],
    &["--known-at", "10"],
    &["--known-at", "25"],
    &["--known-at", "40"],
    &["--known-at", "2026-11-15"],
    &["--known-at", "2026-11-14"],
    &["--as-of", "2025-12-31", "--known-at", "30"],
];

/// Commitments shown one by one, found by their text.
const SHOWN: &[&str] = &["概念验证专项支持办法", "社區健身點", "孵化器提质行动", "东片区环线"];

/// Report requests: year and horizon.
const REPORTS: &[&[&str]] = &[
    &["--year", "2025"],
    &["--year", "2025", "--as-of", "2025-06-30"],
    &["--year", "2025", "--known-at", "30"],
    &["--year", "2026"],
    &["--year", "2024", "--known-at", "20"],
];

/// Every answer of the binary at `duban` on a demo store made by it, normalized.
fn answers(duban_binary: &Path) -> Value {
    let duban = Duban::new();
    let run = |args: &[&str]| -> (i32, Value) {
        let output = std::process::Command::new(duban_binary)
            .env_clear()
            .env("DUBAN_NOW", "2026-11-15T10:00:00+08:00")
            .env("DUBAN_ACTOR", "王芳")
            .env("DUBAN_STORE", duban.dir.path().join("demo/duban.db"))
            .current_dir(duban.dir.path())
            .args(args)
            .output()
            .unwrap();
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8(output.stdout).unwrap();
        (code, serde_json::from_str(&stdout).unwrap_or(Value::String(String::from_utf8(output.stderr).unwrap())))
    };
    let (code, _) = run(&["demo", "--dir", "demo"]);
    assert_eq!(code, 0, "the demo builds");
    let mut answers = serde_json::Map::new();
    let (_, all) = run(&["list", "--json"]);
    let id_of = |needle: &str| -> String {
        let rows = all.as_array().unwrap();
        let row = rows.iter().find(|row| row["text"].as_str().unwrap().contains(needle)).expect(needle);
        row["id"].as_str().unwrap().to_string()
    };
    for horizon in HORIZONS {
        let key = if horizon.is_empty() { "now".to_string() } else { horizon.join(" ") };
        let (code, list) = run(&[&["list", "--json"], *horizon].concat());
        answers.insert(format!("list {key}"), serde_json::json!({ "code": code, "answer": list }));
        for needle in SHOWN {
            let (code, show) = run(&[&["show", &id_of(needle), "--json"], *horizon].concat());
            answers.insert(format!("show {needle} {key}"), serde_json::json!({ "code": code, "answer": show }));
        }
    }
    let (code, replies) = run(&["reply", "list", "--json"]);
    answers.insert("reply list".into(), serde_json::json!({ "code": code, "answer": replies }));
    for request in REPORTS {
        let (code, report) = run(&[&["report", "--format", "json"], *request].concat());
        answers.insert(format!("report {}", request.join(" ")), serde_json::json!({ "code": code, "answer": report }));
    }
    normalize(Value::Object(answers))
}

/// Blanks what depends on the random half of ids (ids, short ids, hashes), and sorts arrays of objects.
fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(key, _)| key != "short_id").map(|(key, value)| (key, normalize(value))).collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(normalize).collect();
            if items.iter().all(Value::is_object) {
                items.sort_by_key(|item| item.to_string());
            }
            Value::Array(items)
        }
        Value::String(text) => Value::String(blank_ids(&text)),
        other => other,
    }
}

/// Replaces every run of 26 ULID characters with `<id>` and of 64 hex digits with `<hash>`.
fn blank_ids(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    while at < chars.len() {
        let run = chars[at..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if run == 0 {
            out.push(chars[at]);
            at += 1;
            continue;
        }
        let word: String = chars[at..at + run].iter().collect();
        let is_ulid =
            run == 26 && word.starts_with('0') && word.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        let is_hash = run == 64 && word.chars().all(|c| c.is_ascii_hexdigit());
        out.push_str(if is_ulid {
            "<id>"
        } else if is_hash {
            "<hash>"
        } else {
            &word
        });
        at += run;
    }
    out
}

#[test]
fn the_read_model_gives_the_answers_it_gave_before_on_the_demo_store() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-views.json");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let actual = answers(Path::new(env!("CARGO_BIN_EXE_duban")));
    let (expected, actual) = (expected.as_object().unwrap(), actual.as_object().unwrap());
    assert_eq!(expected.keys().collect::<Vec<_>>(), actual.keys().collect::<Vec<_>>());
    for (key, value) in expected {
        assert_eq!(&actual[key], value, "{key}");
    }
    // The fixture is not vacuous: time travel changes answers, and some views refuse.
    assert_ne!(expected["list now"], expected["list --as-of 2025-06-30"]);
    assert_ne!(expected["list now"], expected["list --known-at 25"]);
    assert_eq!(expected["list --known-at 2026-11-14"]["answer"], serde_json::json!([]));
    assert!(expected.values().any(|answer| answer["code"] == 1), "a commitment not yet recorded is refused");
}

/// Rewrites the fixture from this binary's answers (run by hand, never by CI: the diff is the review).
#[test]
#[ignore = "rewrites tests/fixtures/demo-views.json; run by hand after a deliberate change of answers"]
fn write_the_fixture() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-views.json");
    let actual = answers(Path::new(env!("CARGO_BIN_EXE_duban")));
    std::fs::write(&fixture, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
}

#[test]
fn ids_and_hashes_are_blanked_and_nothing_else() {
    assert_eq!(blank_ids("承诺 01JWQ5VY80BGH3M95RXAV2STDN 已记录"), "承诺 <id> 已记录");
    assert_eq!(blank_ids(&"ab".repeat(32)), "<hash>");
    assert_eq!(blank_ids("示科委〔2025〕18号 2025-12-31"), "示科委〔2025〕18号 2025-12-31");
}
