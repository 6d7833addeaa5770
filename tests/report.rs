//! End-to-end tests of `duban report` and of verifying a report's footer against its store.

mod common;

use common::Duban;
use serde_json::Value;

/// A store with two replies, history in 2025, some of it recorded in 2026.
fn store() -> Duban {
    let mut duban = Duban::new();
    duban.now = "2026-01-20T09:00:00+08:00".into();
    let reply = duban.ok(&[
        "reply",
        "add",
        "--organ",
        "上海市示范区科学技术委员会",
        "--doc-no",
        "示科委〔2025〕18号",
        "--signed-on",
        "2025-05-20",
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届五次会议",
        "--number",
        "155201",
        "--result",
        "解决采纳",
    ]);
    let first =
        duban.ok(&["commit", "add", "--reply", &reply, "--text", "年内建成概念验证中心", "--due", "2025-12-31"]);
    // A second promise, due and never fulfilled: the fulfilment rate is one half.
    duban.ok(&["commit", "add", "--reply", &reply, "--text", "搭建线上对接平台", "--due", "2025-09-30"]);
    duban.ok(&["progress", &first, "--on", "2025-07-15", "--summary", "完成选址"]);
    duban.ok(&[
        "close",
        &first,
        "--outcome",
        "fulfilled",
        "--on",
        "2025-12-18",
        "--summary",
        "已运营",
        "--evidence",
        "验收报告",
    ]);
    duban.ok(&["evaluate", &reply, "--satisfaction", "满意", "--on", "2025-06-30"]);
    duban
}

fn report(duban: &Duban, extra: &[&str]) -> String {
    let mut args = vec!["report", "--year", "2025", "--as-of", "2025-12-31"];
    args.extend_from_slice(extra);
    let output = duban.run(&args);
    assert_eq!(output.code, 0, "{args:?}: {}", output.stderr);
    output.stdout
}

fn footer(duban: &Duban) -> (u64, String) {
    let json: Value = serde_json::from_str(&report(duban, &["--format", "json"])).unwrap();
    (json["footer"]["known_seq"].as_u64().unwrap(), json["footer"]["head_hash"].as_str().unwrap().to_string())
}

#[test]
fn the_same_store_and_date_give_byte_identical_text_reports() {
    let mut duban = store();
    for format in ["md", "csv", "json"] {
        let first = report(&duban, &["--format", format]);
        duban.now = "2026-03-01T10:00:00+08:00".into();
        assert_eq!(report(&duban, &["--format", format]), first, "{format} changed between runs");
        duban.now = "2026-01-20T09:00:00+08:00".into();
    }
    let markdown = report(&duban, &["--format", "md"]);
    assert!(markdown.contains("落实率（办成率）50.0%") && markdown.contains("答复称已采纳"), "{markdown}");
}

#[test]
fn html_and_xlsx_differ_only_in_the_generation_time() {
    let mut duban = store();
    duban.ok(&["report", "--year", "2025", "--as-of", "2025-12-31", "--format", "html", "--out", "a.html"]);
    duban.ok(&["report", "--year", "2025", "--as-of", "2025-12-31", "--format", "xlsx", "--out", "a.xlsx"]);
    duban.now = "2026-03-01T10:00:00+08:00".into();
    duban.ok(&["report", "--year", "2025", "--as-of", "2025-12-31", "--format", "html", "--out", "b.html"]);
    duban.ok(&["report", "--year", "2025", "--as-of", "2025-12-31", "--format", "xlsx", "--out", "b.xlsx"]);
    let read = |name: &str| std::fs::read_to_string(duban.dir.path().join(name)).unwrap();
    let (a, b) = (read("a.html"), read("b.html"));
    assert_ne!(a, b);
    assert_eq!(a.replace("2026-01-20 09:00:00", "T"), b.replace("2026-03-01 10:00:00", "T"));
    assert!(!a.contains("http") && !a.contains("<script"), "self-contained");
    let unzip = |name: &str| -> Vec<(String, Vec<u8>)> {
        let mut archive = zip_entries(&duban.dir.path().join(name));
        archive.sort();
        archive
    };
    let (a, b) = (unzip("a.xlsx"), unzip("b.xlsx"));
    assert_eq!(a.len(), b.len());
    for ((name_a, data_a), (name_b, data_b)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        let (text_a, text_b) = (String::from_utf8_lossy(data_a), String::from_utf8_lossy(data_b));
        assert_eq!(text_a.replace("2026-01-20 09:00:00", "T"), text_b.replace("2026-03-01 10:00:00", "T"), "{name_a}");
    }
    let again = duban.run(&["report", "--year", "2025", "--format", "html", "--out", "b.html"]);
    assert_eq!(again.code, 1, "an existing report is not overwritten without --force");
}

/// The entries of a zip file (an .xlsx), read with the zip crate the workspace already uses.
fn zip_entries(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut entry = archive.by_index(index).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (entry.name().unwrap().to_string(), data)
        })
        .collect()
}

#[test]
fn a_report_rerun_at_its_known_sequence_is_identical_after_more_events() {
    let mut duban = store();
    let first = report(&duban, &["--format", "md"]);
    let (seq, head) = footer(&duban);
    // Later, someone back-fills 2025 history and records new facts.
    duban.now = "2026-02-10T09:00:00+08:00".into();
    let list = duban.json(&["list"]);
    let open = list.as_array().unwrap().iter().find(|r| r["status"] != "fulfilled").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    duban.ok(&["progress", &open, "--on", "2025-11-01", "--summary", "补录进展"]);
    assert_ne!(report(&duban, &["--format", "md"]), first, "the back-filled fact changes the current report");
    let again = report(&duban, &["--format", "md", "--known-at", &seq.to_string()]);
    assert_eq!(again, first, "the report as known at its footer's sequence number is reproduced exactly");
    // The footer still verifies against the grown store.
    let verified = duban.run(&["verify", "--seq", &seq.to_string(), "--head", &head]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(verified.stdout.contains("核验通过"));
}

#[test]
fn a_footer_does_not_verify_against_an_altered_or_shorter_store() {
    let duban = store();
    let (seq, head) = footer(&duban);
    let wrong_hash = duban.run(&["verify", "--seq", &seq.to_string(), "--head", &"0".repeat(64)]);
    assert_eq!(wrong_hash.code, 2);
    assert!(wrong_hash.stderr.contains("不符"), "{}", wrong_hash.stderr);

    // A store restored from an export missing the last events (and given a trailer that says so) holds fewer.
    let export = duban.export();
    let shorter: Vec<&str> = export.lines().take(seq as usize - 1).collect();
    std::fs::write(duban.dir.path().join("short.jsonl"), exported(&shorter.join("\n"))).unwrap();
    let short_store = duban.dir.path().join("short.db");
    assert_eq!(duban.run_in(&short_store, &["import-events", "short.jsonl"]).code, 0);
    let fewer = duban.run_in(&short_store, &["verify", "--seq", &seq.to_string(), "--head", &head]);
    assert_eq!(fewer.code, 2);
    assert!(fewer.stderr.contains("不存在"), "{}", fewer.stderr);

    // A store rebuilt from an export in which an earlier event was altered (and re-chained) has another head.
    let altered = export.replacen("完成选址", "完成验收", 1);
    let rechained = rechain(&altered);
    std::fs::write(duban.dir.path().join("altered.jsonl"), rechained).unwrap();
    let altered_store = duban.dir.path().join("altered.db");
    let restored = duban.run_in(&altered_store, &["import-events", "altered.jsonl"]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let mismatch = duban.run_in(&altered_store, &["verify", "--seq", &seq.to_string(), "--head", &head]);
    assert_eq!(mismatch.code, 2, "an altered history cannot reproduce the head hash");
}

/// The events of an export's lines (a trailer among them left out), written as an export with its own trailer.
fn exported(lines: &str) -> String {
    let events: Vec<duban_domain::Envelope> = lines
        .lines()
        .filter(|line| !line.starts_with("{\"trailer\""))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut out = Vec::new();
    duban_store::write_export(events.into_iter().map(Ok), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Recomputes every hash of an export, as a forger would: the chain is internally sound, the head differs.
fn rechain(export: &str) -> String {
    let mut previous = duban_store::GENESIS.to_string();
    let mut out = String::new();
    for line in export.lines().filter(|line| !line.starts_with("{\"trailer\"")) {
        let mut envelope: duban_domain::Envelope = serde_json::from_str(line).unwrap();
        envelope.prev_hash = previous;
        envelope.hash = duban_store::hash_of(&envelope);
        previous = envelope.hash.clone();
        out.push_str(&serde_json::to_string(&envelope).unwrap());
        out.push('\n');
    }
    exported(&out)
}

#[test]
fn report_arguments_are_checked() {
    let duban = store();
    assert_eq!(duban.run(&["report", "--year", "2025", "--format", "pdf"]).code, 1);
    assert_eq!(duban.run(&["report", "--year", "2025", "--format", "xlsx"]).code, 1, "xlsx needs --out");
    assert_eq!(duban.run(&["report", "--year", "2025", "--as-of", "2024-12-31"]).code, 1);
    assert_eq!(duban.run(&["report", "--year", "12"]).code, 1);
}

#[test]
fn the_demo_ends_with_the_html_report() {
    let duban = Duban::at("2026-11-21T10:00:00+08:00");
    let output = duban.run(&["demo", "--dir", "demo"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let path = duban.dir.path().join("demo/report-2025.html");
    assert!(output.stdout.contains("report-2025.html"), "{}", output.stdout);
    let html = std::fs::read_to_string(path).unwrap();
    assert!(html.contains("2025年度建议提案办理和答复承诺跟踪报告") && html.contains("<svg"));
    // Every 件 section of the demo's report has something to show.
    let store = duban.dir.path().join("demo/duban.db");
    let report = duban.run_in(&store, &["report", "--year", "2025", "--json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    let m = &report["metrics"];
    for figure in [
        "proposals",
        "lead",
        "co",
        "between_sessions",
        "key",
        "led",
        "replied",
        "replied_on_time",
        "contacted",
        "met",
        "evaluated",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
        "rehandled",
        "disclosed",
        "b_class_earlier",
        "b_class_reviewed",
        "b_class_fulfilled",
        "commitments",
        "commitments_due",
        "commitments_fulfilled",
    ] {
        assert!(m[figure].as_u64().is_some_and(|n| n > 0), "the demo's {figure} is {}", m[figure]);
    }
    for class in ["A", "B", "C"] {
        assert!(m["class_counts"][class].as_u64().is_some_and(|n| n > 0), "no class {class} in the demo");
    }
    assert!(m["disclosure_counts"].as_object().unwrap().values().all(|n| n.as_u64() > Some(0)));
    for section in ["units", "classes", "lookback", "key_proposals", "register"] {
        assert!(!report[section].as_array().unwrap().is_empty(), "the demo's {section} is empty");
    }
    for heading in ["三、办理结果分类", "四、回头看", "五、重点督办件与领导领办件", "八、建议提案办理登记表"]
    {
        assert!(html.contains(heading), "the demo's report lacks {heading}");
    }
}

/// A commitment closed in 2024 and reopened, after the fact, on a date before 2025: the report lets go of it when the
/// log reaches 2025, finds it carried over at the end, and reads its stream again for its whole timeline.
#[test]
fn a_commitment_reopened_after_the_fact_is_carried_over_with_its_history() {
    let mut duban = Duban::new();
    duban.now = "2024-10-01T09:00:00+08:00".into();
    let reply = duban.ok(&[
        "reply",
        "add",
        "--organ",
        "示范区发展改革委",
        "--doc-no",
        "示发改〔2024〕3号",
        "--signed-on",
        "2024-05-10",
        "--kind",
        "建议",
        "--assembly",
        "区人大",
        "--session",
        "十七届四次会议",
        "--number",
        "0031",
    ]);
    let promise = duban.ok(&["commit", "add", "--reply", &reply, "--text", "建成共享停车平台", "--due", "2024-09-30"]);
    duban.ok(&["close", &promise, "--outcome", "fulfilled", "--on", "2024-09-28", "--summary", "已上线"]);
    duban.now = "2025-02-10T09:00:00+08:00".into();
    duban.ok(&["reopen", &promise, "--on", "2024-12-20", "--reason", "复查未达标"]);
    duban.ok(&["progress", &promise, "--on", "2025-02-10", "--summary", "重新招标"]);

    let json: Value = serde_json::from_str(&report(&duban, &["--format", "json"])).unwrap();
    assert_eq!(json["overview"]["carried_over"], 1);
    let timeline: Vec<&str> =
        json["details"][0]["timeline"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["CommitmentMade", "Closed", "Reopened", "ProgressReported"]);
}
