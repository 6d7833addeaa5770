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
    for expected in ["文件为空", "二进制", "文件过大", "未找到答复单位"] {
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
