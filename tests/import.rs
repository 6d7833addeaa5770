//! End-to-end tests of `duban parse` and `duban import`: idempotency, refusals, bad files, and the real seeds.

mod common;

use std::path::{Path, PathBuf};

use common::Duban;
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples")
}

fn sample(name: &str) -> String {
    samples().join(name).to_string_lossy().to_string()
}

fn files_by_status(summary: &Value, status: &str) -> usize {
    summary["files"].as_array().unwrap().iter().filter(|f| f["status"] == status).count()
}

#[test]
fn importing_the_same_document_twice_adds_nothing_the_second_time() {
    let duban = Duban::new();
    let first = duban.json(&["import", &sample("keji-gbk.txt"), &sample("caizheng.docx")]);
    assert_eq!(first["imported"], 2);
    assert_eq!(first["commitments"], 6);
    let before = duban.export();
    let second = duban.json(&["import", &sample("keji-gbk.txt"), &sample("caizheng.docx")]);
    assert_eq!((second["imported"].as_u64(), second["skipped"].as_u64()), (Some(0), Some(2)));
    assert_eq!(duban.export(), before, "nothing was appended");
    assert_eq!(duban.json(&["list"]).as_array().unwrap().len(), 6);
    let replies = duban.json(&["reply", "list"]);
    assert_eq!(replies.as_array().unwrap().len(), 2);
}

#[test]
fn a_changed_document_under_the_same_number_is_refused_and_nothing_changes() {
    let duban = Duban::new();
    duban.ok(&["import", &sample("jiaoyu.txt")]);
    let before = duban.export();
    let changed = std::fs::read_to_string(samples().join("jiaoyu.txt")).unwrap().replace("钱进", "钱多多");
    std::fs::write(duban.dir.path().join("changed.txt"), changed).unwrap();
    let output = duban.run(&["import", "changed.txt"]);
    assert_eq!(output.code, 1);
    assert!(output.stdout.contains("已登记为答复") && output.stdout.contains("人工核对"), "{}", output.stdout);
    assert!(output.stderr.contains("1 个文件未能导入"), "{}", output.stderr);
    assert_eq!(duban.export(), before);
}

#[test]
fn bad_files_fail_one_by_one_and_the_good_ones_still_land() {
    let duban = Duban::new();
    let dir = duban.dir.path().join("batch");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a-empty.txt"), b"").unwrap();
    std::fs::write(dir.join("b-garbage.txt"), (0..2048u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>())
        .unwrap();
    let huge = std::fs::File::create(dir.join("c-huge.txt")).unwrap();
    huge.set_len(50 * 1024 * 1024).unwrap();
    std::fs::write(dir.join("d-diary.txt"), "今天天气很好，我们去公园散步。".as_bytes()).unwrap();
    std::fs::copy(samples().join("jiaotong.html"), dir.join("e-good.html")).unwrap();
    std::fs::write(dir.join("f-notes.md"), "ignored: not a reply format").unwrap();
    let output = duban.run(&["--json", "import", "batch"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let summary: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(summary["files"].as_array().unwrap().len(), 5, "the .md file is not read from a directory");
    assert_eq!(files_by_status(&summary, "imported"), 1);
    assert_eq!(files_by_status(&summary, "failed"), 4);
    let reasons: Vec<String> =
        summary["files"].as_array().unwrap().iter().filter_map(|f| f["reason"].as_str().map(String::from)).collect();
    for expected in ["文件为空", "二进制", "文件过大", "不像答复文件"] {
        assert!(reasons.iter().any(|r| r.contains(expected)), "no reason mentions {expected}: {reasons:?}");
    }
    let log = duban.json(&["log"]);
    assert_eq!(log.as_array().unwrap().len(), 3, "only the good page: its reply and two commitments");
    assert_eq!(duban.json(&["verify"])["ok"], true);
}

#[test]
fn a_dry_run_writes_nothing() {
    let duban = Duban::new();
    let before = duban.export();
    let summary = duban.json(&["import", "--dry-run", &sample("jiaoyu.txt"), &sample("tiyu-big5.txt")]);
    assert_eq!(files_by_status(&summary, "would_import"), 2);
    assert_eq!(summary["commitments"], 4);
    assert_eq!(duban.export(), before);
}

#[test]
fn parse_prints_the_reading_and_writes_nothing() {
    let duban = Duban::new();
    let before = duban.export();
    let parsed = duban.json(&["parse", &sample("caizheng.docx")]);
    assert_eq!(parsed["reply"]["doc_type"], "会办意见");
    assert_eq!(parsed["commitments"].as_array().unwrap().len(), 2);
    assert!(parsed["diagnostics"].as_array().unwrap().is_empty());
    let human = duban.ok(&["parse", &sample("caizheng.docx")]);
    assert!(human.contains("承诺事项 2 项") && human.contains("区科委"), "{human}");
    assert_eq!(duban.export(), before);

    let mut broken =
        "张三委员：\n您提出的《关于示例的提案》收悉，现答复如下：\n下一步，我局将加快建设平台。\n".as_bytes().to_vec();
    broken.insert(5, 0xFF);
    std::fs::write(duban.dir.path().join("broken.txt"), broken).unwrap();
    let parsed = duban.json(&["parse", "broken.txt"]);
    assert!(parsed["diagnostics"].to_string().contains("invalid_utf8"), "{parsed}");
    let missing = duban.run(&["parse", "nope.txt"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("nope.txt"), "{}", missing.stderr);
}

/// A folder with a FIFO, a device and link loops named like documents: each is refused on its own, the import
/// finishes, and the real document in it lands.
#[test]
fn fifos_devices_and_link_loops_are_refused_one_by_one_and_never_hang_the_import() {
    let duban = Duban::new();
    let dir = duban.dir.path().join("hazards");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(samples().join("jiaoyu.txt"), dir.join("good.txt")).unwrap();
    let mkfifo = std::process::Command::new("mkfifo").arg(dir.join("pipe.txt")).status().unwrap();
    assert!(mkfifo.success());
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.txt")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::fs::create_dir(dir.join("a")).unwrap();
    std::os::unix::fs::symlink(dir.join("a"), dir.join("a").join("back")).unwrap();
    let output = duban.run(&["import", "--json", &dir.to_string_lossy()]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let summary: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(summary["imported"], 1, "{summary}");
    let failed: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|file| file["status"] == "failed")
        .map(|file| file["file"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2, "the FIFO and the device, each once: {failed:?}");
    assert!(failed.iter().all(|file| file.ends_with("pipe.txt") || file.ends_with("zero.txt")), "{failed:?}");
    assert!(summary.to_string().contains("不是普通文件"), "{summary}");
}

/// A `.docx` that inflates to gigabytes (a zip bomb: 2 MB of zeros and letters) is refused as that file's error,
/// before its text is worked on.
#[test]
fn a_zip_bomb_is_refused_as_its_own_error() {
    use std::io::Write;
    let duban = Duban::new();
    let path = duban.dir.path().join("bomb.docx");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("word/document.xml", deflated).unwrap();
    let paragraph = format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", "a".repeat(1 << 20));
    for _ in 0..64 {
        zip.write_all(paragraph.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20, "a small file");
    std::fs::copy(samples().join("jiaoyu.txt"), duban.dir.path().join("good.txt")).unwrap();
    let output = duban.run(&["import", "--json", "bomb.docx", "good.txt"]);
    assert_eq!(output.code, 1);
    let summary: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!((summary["imported"].as_u64(), summary["failed"].as_u64()), (Some(1), Some(1)), "{summary}");
    assert!(summary.to_string().contains("超过 32 MB"), "{summary}");
}

/// A reply copied from a web page, as many are: no 文号, no signing date, the organ only in the page's chrome.
const WEB_EXCERPT: &str = "首页 > 政务公开 > 建议提案办理\n发布机构：示范县住房和城乡建设局\n\
关于县十八届人大三次会议第45号建议的答复\n王强代表：\n您提出的《关于加快老旧小区改造的建议》收悉。现答复如下：\n\
我局高度重视。下一步，我局将于2026年底前完成城南片区12个老旧小区改造，并同步推进加装电梯工作。\n\
感谢您对住房和城乡建设工作的关心和支持。\n";

#[test]
fn a_reply_missing_its_number_and_date_is_imported_and_marked_incomplete() {
    let duban = Duban::new();
    std::fs::write(duban.dir.path().join("web.txt"), WEB_EXCERPT).unwrap();
    let summary = duban.json(&["import", "web.txt"]);
    assert_eq!((summary["imported"].as_u64(), summary["incomplete"].as_u64()), (Some(1), Some(1)), "{summary}");
    let file = &summary["files"][0];
    assert_eq!(file["missing"], serde_json::json!(["文号", "签发日期"]), "{summary}");
    assert!(file["reason"].as_str().unwrap().contains("待补全"));
    // The reply list and the promise show what is missing; the promise is followed up all the same.
    let replies = duban.json(&["reply", "list"]);
    assert_eq!(replies[0]["missing"], serde_json::json!(["文号", "签发日期"]));
    assert!(duban.ok(&["reply", "list"]).contains("待补全"));
    assert_eq!(duban.json(&["reply", "list", "--incomplete"]).as_array().unwrap().len(), 1);
    assert_eq!(duban.json(&["reply", "list", "--proposal", "45"]).as_array().unwrap().len(), 1);
    let list = duban.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["due"], "2026-12-31");
    assert!(duban.ok(&["show", &id]).contains("待补全：答复缺文号、签发日期"));
    duban.ok(&["progress", &id, "--summary", "已完成5个小区改造"]);
    // The report places it in the year it was recorded and lists it among the hints.
    let report: Value = serde_json::from_str(&duban.ok(&["report", "--year", "2026", "--format", "json"])).unwrap();
    assert_eq!(report["overview"]["replies"], 1, "{}", report["overview"]);
    assert!(report["audit"].to_string().contains("待补全"), "{}", report["audit"]);
    // The same document again is recognised by its content; a second reply to the same proposal by the same organ
    // (another document) is refused for a person to decide.
    let again = duban.json(&["import", "web.txt"]);
    assert_eq!(again["skipped"], 1);
    std::fs::write(duban.dir.path().join("web2.txt"), WEB_EXCERPT.replace("12个", "13个")).unwrap();
    let second = duban.run(&["import", "web2.txt"]);
    assert_eq!(second.code, 1, "{}", second.stdout);
    assert!(second.stdout.contains("人工核对"), "{}", second.stdout);
}

#[test]
fn staff_give_the_missing_fields_for_one_file() {
    let duban = Duban::new();
    std::fs::write(duban.dir.path().join("web.txt"), WEB_EXCERPT).unwrap();
    let summary = duban.json(&[
        "import",
        "web.txt",
        "--doc-no",
        "示住建复〔2025〕45号",
        "--signed-on",
        "2025-06-20",
        "--organ",
        "示范县住房和城乡建设局",
    ]);
    assert_eq!((summary["imported"].as_u64(), summary["incomplete"].as_u64()), (Some(1), Some(0)), "{summary}");
    let replies = duban.json(&["reply", "list"]);
    assert_eq!(
        (replies[0]["doc_no"].as_str(), replies[0]["signed_on"].as_str()),
        (Some("示住建复〔2025〕45号"), Some("2025-06-20"))
    );
    assert_eq!(replies[0]["missing"], serde_json::json!([]));
    // Fields given for one file cannot go to a batch; nothing is written.
    let before = duban.export();
    let batch = duban.run(&["import", &sample("jiaoyu.txt"), &sample("tiyu-big5.txt"), "--doc-no", "X〔2025〕1号"]);
    assert_eq!(batch.code, 1);
    assert!(batch.stderr.contains("只能用于一个文件"), "{}", batch.stderr);
    assert_eq!(duban.export(), before);
    let bad_date = duban.run(&["import", "web.txt", "--signed-on", "2025-13-01"]);
    assert_eq!(bad_date.code, 1);
}

#[test]
fn corrections_are_facts_shown_everywhere_and_hidden_before_they_happened() {
    let mut duban = Duban::new();
    std::fs::write(duban.dir.path().join("web.txt"), WEB_EXCERPT).unwrap();
    duban.ok(&["import", "web.txt"]);
    let reply = duban.json(&["reply", "list"])[0]["id"].as_str().unwrap().to_string();
    let commitment = duban.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    let before = duban.export();
    // Refused: nothing to correct, no reason, the same value.
    assert_eq!(duban.run(&["reply", "amend", &reply, "--reason", "补录"]).code, 1);
    assert_eq!(
        duban.run(&["reply", "amend", &reply, "--doc-no", "示住建复〔2025〕45号"]).code,
        1,
        "a reason is required"
    );
    assert_eq!(duban.run(&["commit", "amend", &commitment, "--reason", "无"]).code, 1);
    assert_eq!(duban.export(), before, "refused corrections write nothing");

    duban.now = "2026-02-10T09:00:00+08:00".into();
    duban.ok(&[
        "reply",
        "amend",
        &reply,
        "--doc-no",
        "示住建复〔2025〕45号",
        "--signed-on",
        "2025-06-20",
        "--reason",
        "补录纸质件",
    ]);
    let corrected = "下一步，我局将于2026年底前完成城南片区12个老旧小区改造，并同步推进加装电梯。";
    duban.ok(&["commit", "amend", &commitment, "--text", corrected, "--reason", "原文漏读后半句"]);
    let again = duban.run(&["reply", "amend", &reply, "--doc-no", "示住建复〔2025〕45号", "--reason", "重复"]);
    assert_eq!(again.code, 1, "the same value again is refused: {}", again.stderr);

    // Everywhere it is read: list, show, reply list and show, the report.
    let row = &duban.json(&["list"])[0];
    assert_eq!((row["doc_no"].as_str(), row["text"].as_str()), (Some("示住建复〔2025〕45号"), Some(corrected)));
    let replies = duban.json(&["reply", "list"]);
    assert_eq!(
        (replies[0]["signed_on"].as_str(), replies[0]["missing"].as_array().unwrap().len()),
        (Some("2025-06-20"), 0)
    );
    let shown = duban.ok(&["reply", "show", &reply]);
    assert!(shown.contains("更正记录") && shown.contains("补录纸质件") && !shown.contains("待补全："), "{shown}");
    let detail = duban.json(&["reply", "show", &reply]);
    assert_eq!(detail["amendments"], 1);
    let timeline = duban.json(&["show", &commitment]);
    let kinds: Vec<&str> = timeline["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CommitmentMade", "CommitmentAmended"]);
    // Signed in 2025 (as corrected), recorded in 2026: followed up in 2026's report, as carried over.
    let report = duban.ok(&["report", "--year", "2026", "--format", "csv"]);
    assert!(report.contains("示住建复〔2025〕45号") && report.contains("加装电梯"), "{report}");

    // Before they happened (as-of) or before they were known (known-at): as first read.
    for horizon in [["--as-of", "2026-01-31"], ["--known-at", "2026-01-31"]] {
        let mut argv = vec!["list"];
        argv.extend_from_slice(&horizon);
        let row = &duban.json(&argv)[0];
        assert_eq!(row["doc_no"], "", "{horizon:?}");
        assert_ne!(row["text"].as_str(), Some(corrected), "{horizon:?}");
        let mut argv = vec!["reply", "show", &reply];
        argv.extend_from_slice(&horizon);
        assert_eq!(duban.json(&argv)["reply"]["missing"], serde_json::json!(["文号", "签发日期"]), "{horizon:?}");
    }

    // A corrected copy of the document is recognised as the same reply and offered as an amendment.
    let copy = WEB_EXCERPT
        .replace("发布机构：示范县住房和城乡建设局\n", "发布机构：示范县住房和城乡建设局\n示住建复〔2025〕46号\n");
    std::fs::write(duban.dir.path().join("corrected.txt"), copy).unwrap();
    let output = duban.run(&["import", "corrected.txt"]);
    assert_eq!(output.code, 1);
    assert!(
        output.stdout.contains("duban reply amend") && output.stdout.contains("示住建复〔2025〕46号"),
        "{}",
        output.stdout
    );
    assert_eq!(duban.json(&["reply", "list"]).as_array().unwrap().len(), 1, "never a second reply");
}

#[test]
fn a_table_of_missing_fields_completes_a_batch() {
    let duban = Duban::new();
    let batch = duban.dir.path().join("batch");
    std::fs::create_dir(&batch).unwrap();
    std::fs::write(batch.join("a.txt"), WEB_EXCERPT).unwrap();
    std::fs::write(batch.join("b.txt"), WEB_EXCERPT.replace("第45号", "第46号")).unwrap();
    std::fs::write(
        duban.dir.path().join("fill.csv"),
        "\u{feff}file,doc_no,signed_on\na.txt,示住建复〔2025〕45号,2025-06-20\nb.txt,示住建复〔2025〕46号,\n",
    )
    .unwrap();
    let summary = duban.json(&["import", "batch", "--overrides", "fill.csv"]);
    assert_eq!((summary["imported"].as_u64(), summary["incomplete"].as_u64()), (Some(2), Some(1)), "{summary}");
    let mut replies: Vec<(String, Option<String>)> = duban
        .json(&["reply", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["doc_no"].as_str().unwrap().to_string(), r["signed_on"].as_str().map(String::from)))
        .collect();
    replies.sort();
    assert_eq!(
        replies,
        [
            ("示住建复〔2025〕45号".to_string(), Some("2025-06-20".to_string())),
            ("示住建复〔2025〕46号".to_string(), None)
        ]
    );
    // A malformed table is refused before anything is read, naming its row.
    std::fs::write(duban.dir.path().join("bad.csv"), "file,signed_on\nc.txt,2025-13-40\n").unwrap();
    let before = duban.export();
    let refused = duban.run(&["import", "batch", "--overrides", "bad.csv"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("第 2 行"), "{}", refused.stderr);
    assert_eq!(duban.export(), before);
}
