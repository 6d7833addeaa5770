//! File-driven tests: every sample document beside its expected reading (`samples/NAME.expected.json`).
//! `UPDATE_EXPECT=1 cargo test -p duban-ingest` rewrites the expectations; review the diff before committing.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The reading that matters, in a stable form: every field, and each commitment's text, section and due date.
fn reading(parsed: &duban_ingest::Parsed) -> Value {
    json!({
        "format": parsed.source.format,
        "encoding": parsed.source.encoding,
        "reply": parsed.reply,
        "commitments": parsed.commitments.iter().map(|c| json!({
            "text": c.text, "section": c.section, "due": c.due, "due_phrase": c.due_phrase,
        })).collect::<Vec<_>>(),
        "diagnostics": parsed.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
    })
}

fn check(name: &str) -> Value {
    let path = samples().join(name);
    let bytes = std::fs::read(&path).unwrap();
    let parsed = duban_ingest::parse(&bytes, name).unwrap();
    let got = reading(&parsed);
    let expected_path = samples().join(format!("{name}.expected.json"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    assert_eq!(got, expected, "{name} reads differently from {}", expected_path.display());
    // Every locator points at the commitment's text in the normalised document.
    let text: Vec<char> = parsed.source.text.chars().collect();
    for commitment in &parsed.commitments {
        let located: String = text[commitment.start as usize..commitment.end as usize].iter().collect();
        assert_eq!(located, commitment.text, "{name}: locator of {}", commitment.text);
    }
    got
}

#[test]
fn gbk_text_with_inline_items_under_next_steps() {
    let got = check("keji-gbk.txt");
    assert_eq!(got["encoding"], json!({"Legacy": "GBK"}));
    assert_eq!(got["reply"]["doc_no"], "示科委〔2025〕18号");
    assert_eq!(got["reply"]["disclosure"], "主动公开·全文");
    assert_eq!(got["reply"]["contact"]["name"], "周敏", "spaces inside names are dropped");
    assert_eq!(got["commitments"].as_array().unwrap().len(), 4);
    assert!(got["commitments"][0]["text"].as_str().unwrap().ends_with("最高100万元支持。"), "page break rejoined");
    assert_eq!(got["commitments"][3]["due"], "2026-06-30");
}

#[test]
fn web_page_with_chrome_and_body_promises() {
    let got = check("jiaotong.html");
    assert_eq!(got["format"], "html");
    assert_eq!(got["reply"]["organ"], "示范县交通运输局");
    assert_eq!(got["reply"]["doc_no"], "示交函〔2025〕27号", "from the page's 文号 cell");
    let texts = got["commitments"].to_string();
    assert!(!texts.contains("去年") && !texts.contains("感谢") && !texts.contains("ICP"), "{texts}");
}

#[test]
fn word_document_co_handler_opinion_with_bracketed_items() {
    let got = check("caizheng.docx");
    assert_eq!(got["format"], "docx");
    assert_eq!(got["reply"]["doc_type"], "会办意见");
    assert_eq!(got["reply"]["addressee"], "区科委");
    assert_eq!(got["reply"]["proposers"], json!(["陈晓", "林立"]));
    assert_eq!(got["commitments"].as_array().unwrap().len(), 2);
}

#[test]
fn numbered_items_in_a_closing_section() {
    let got = check("jiaoyu.txt");
    assert_eq!(got["reply"]["number"], "0087", "leading zeros kept");
    assert_eq!(got["reply"]["kind"], "建议");
    assert_eq!(got["commitments"].as_array().unwrap().len(), 3, "lead-in ending in a colon is not a promise");
}

#[test]
fn utf16_reply_with_missing_fields_gives_diagnostics() {
    let got = check("minzheng-utf16.txt");
    assert_eq!(got["encoding"], "Utf16Le");
    assert_eq!(got["reply"]["organ"], Value::Null);
    assert!(got["diagnostics"].as_array().unwrap().contains(&json!("missing_field")));
    assert_eq!(got["commitments"].as_array().unwrap().len(), 1);
}

#[test]
fn big5_traditional_script() {
    let got = check("tiyu-big5.txt");
    assert_eq!(got["encoding"], json!({"Legacy": "Big5"}));
    assert_eq!(got["reply"]["organ"], "示範市文化旅遊局", "values are quoted as written");
    assert_eq!(got["reply"]["doc_type"], "答复", "normalised fields are simplified");
    assert_eq!(got["reply"]["session"], "十届二次会议");
    assert_eq!(got["commitments"][0]["due"], "2024-12-31");
}

#[test]
fn every_sample_has_an_expected_reading() {
    for entry in std::fs::read_dir(samples()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !name.ends_with(".json") && !name.ends_with(".py") {
            assert!(samples().join(format!("{name}.expected.json")).exists(), "{name} has no expected reading");
        }
    }
}
