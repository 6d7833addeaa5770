//! End-to-end tests of the `duban` binary: a temp dir, a cleared environment, and a pinned clock (`DUBAN_NOW`).

mod common;

use std::path::Path;

use common::Duban;
use serde_json::Value;

/// One reply with two commitments; returns (reply, first, second).
fn reply_with_two_commitments(duban: &Duban) -> (String, String, String) {
    let reply = duban.ok(&[
        "reply",
        "add",
        "--organ",
        "上海市科学技术委员会",
        "--doc-no",
        "沪科提复〔2025〕62号",
        "--signed-on",
        "2025-10-20",
        "--kind",
        "提案",
        "--assembly",
        "市政协",
        "--session",
        "十四届三次会议",
        "--number",
        "1221",
        "--proposer",
        "陈勇章",
        "--proposer",
        "王淳",
    ]);
    let first =
        duban.ok(&["commit", "add", "--reply", &reply, "--text", "加快建设高质量概念验证平台", "--due", "2026-06-30"]);
    let second = duban.ok(&["commit", "add", "--reply", &reply, "--text", "推动资本赋能科技成果转化"]);
    (reply, first, second)
}

fn status_of(list: &Value, id: &str) -> String {
    let row = list.as_array().unwrap().iter().find(|row| row["id"] == id).unwrap_or_else(|| panic!("{id} not listed"));
    row["status"].as_str().unwrap().to_string()
}

#[test]
fn a_reply_its_commitments_progress_and_closure() {
    let duban = Duban::new();
    let (reply, first, second) = reply_with_two_commitments(&duban);
    assert_eq!(reply.len(), 26, "reply add prints the new id: {reply}");
    let progress =
        duban.ok(&["progress", &first, "--on", "2025-11-01", "--summary", "完成平台选址", "--evidence", "会议纪要"]);
    assert!(progress.contains("推进中"), "{progress}");
    duban.ok(&[
        "close",
        &first,
        "--outcome",
        "fulfilled",
        "--on",
        "2025-12-20",
        "--summary",
        "平台已运行",
        "--evidence",
        "验收报告",
    ]);

    let list = duban.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(status_of(&list, &first), "fulfilled");
    assert_eq!(status_of(&list, &second), "open");
    let row = &list.as_array().unwrap().iter().find(|row| row["id"] == first.as_str()).unwrap();
    for field in ["id", "reply_id", "text", "owner", "due", "status", "status_label"] {
        assert!(row.get(field).is_some(), "list --json lacks {field}");
    }
    assert_eq!(row["reply_id"], reply.as_str());
    assert_eq!(row["owner"], "上海市科学技术委员会", "owner defaults to the replying organ");
    assert_eq!(row["due"], "2026-06-30");
    assert_eq!(row["status_label"], "已落实");

    let show = duban.json(&["show", &first]);
    assert_eq!(show["status"], "fulfilled");
    let kinds: Vec<&str> = show["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CommitmentMade", "ProgressReported", "Closed"]);
    assert_eq!(show["events"][1]["occurred_on"], "2025-11-01");
    assert_eq!(show["events"][1]["actor"], "王芳");
    assert_eq!(show["events"][2]["evidence"][0], "验收报告");

    let human = duban.ok(&["list"]);
    assert!(human.contains("已落实") && human.contains("待推进") && human.contains("共 2 项承诺"), "{human}");
    let shown = duban.ok(&["show", &first[..12]]);
    assert!(
        shown.contains("状态：已落实") && shown.contains("完成平台选址") && shown.contains("第1221号提案"),
        "{shown}"
    );
}

#[test]
fn as_of_a_date_between_progress_and_closure_shows_the_earlier_status() {
    let duban = Duban::new();
    let (_, first, _) = reply_with_two_commitments(&duban);
    duban.ok(&["progress", &first, "--on", "2025-11-01", "--summary", "完成平台选址"]);
    duban.ok(&["close", &first, "--outcome", "partially-fulfilled", "--on", "2025-12-20", "--summary", "一期建成"]);
    assert_eq!(status_of(&duban.json(&["list", "--as-of", "2025-12-01"]), &first), "in_progress");
    assert_eq!(status_of(&duban.json(&["list", "--as-of", "2025-10-20"]), &first), "open");
    assert_eq!(status_of(&duban.json(&["list", "--as-of", "2025-12-20"]), &first), "partially_fulfilled");
    let show = duban.json(&["show", &first, "--as-of", "2025-12-01"]);
    assert_eq!(show["status"], "in_progress");
    assert_eq!(show["events"].as_array().unwrap().len(), 2, "the closure had not happened yet");
    // The reply as of then is folded from its events, the reply now read from the projection: the same reply.
    let now = duban.json(&["show", &first]);
    for field in ["reply_id", "organ", "doc_no", "proposal"] {
        assert_eq!(show[field], now[field], "{field}");
    }
    assert_eq!(now["doc_no"], "沪科提复〔2025〕62号");
    assert!(now["proposal"].as_str().unwrap().contains("第1221号提案"), "{}", now["proposal"]);
    assert_eq!(status_of(&duban.json(&["list", "--as-of", "2026-07-01"]), &first), "partially_fulfilled");
    // Before the reply was signed the commitments did not exist.
    assert_eq!(duban.json(&["list", "--as-of", "2025-10-01"]).as_array().unwrap().len(), 0);
}

#[test]
fn known_at_hides_back_filled_facts_recorded_later() {
    let mut duban = Duban::new();
    let (_, first, _) = reply_with_two_commitments(&duban);
    // Recorded on 2026-02-03, about something that happened on 2025-11-01.
    duban.now = "2026-02-03T10:00:00+08:00".into();
    duban.ok(&["progress", &first, "--on", "2025-11-01", "--summary", "补录：完成平台选址"]);

    let then = duban.json(&["list", "--known-at", "2026-02-02", "--as-of", "2025-12-31"]);
    assert_eq!(status_of(&then, &first), "open", "the register did not know it yet");
    let now = duban.json(&["list", "--as-of", "2025-12-31"]);
    assert_eq!(status_of(&now, &first), "in_progress");
    let by_day = duban.json(&["show", &first, "--known-at", "2026-02-03"]);
    assert_eq!(by_day["events"].as_array().unwrap().len(), 2, "the end of that day includes it");

    let log = duban.json(&["log"]);
    let last_before = log.as_array().unwrap().len() as u64 - 1;
    let by_seq = duban.json(&["show", &first, "--known-at", &last_before.to_string()]);
    assert_eq!(by_seq["events"].as_array().unwrap().len(), 1);
}

#[test]
fn export_then_import_events_gives_the_same_register_and_chain_head() {
    let duban = Duban::new();
    let (reply, first, second) = reply_with_two_commitments(&duban);
    duban.ok(&["progress", &first, "--on", "2025-11-01", "--summary", "完成平台选址", "--percent", "40"]);
    duban.ok(&["due", &second, "2026-03-31"]);
    duban.ok(&["due", &second, "2026-09-30", "--reason", "资金延迟"]);
    duban.ok(&["evaluate", &reply, "--satisfaction", "基本满意", "--on", "2025-11-20"]);
    duban.ok(&["export", "events.jsonl"]);
    let lines = std::fs::read_to_string(duban.dir.path().join("events.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 8, "seven events and the trailer");
    assert!(lines.lines().all(|line| serde_json::from_str::<Value>(line).is_ok()));
    let trailer: Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(trailer["trailer"]["events"], 7);

    let restored = duban.dir.path().join("restored.db");
    let output = duban.run_in(&restored, &["import-events", "events.jsonl"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let list = |store: &Path| duban.run_in(store, &["list", "--json"]).stdout;
    assert_eq!(list(&restored), list(&duban.store()));
    let verify = |store: &Path| duban.run_in(store, &["verify", "--json"]).stdout;
    let original: Value = serde_json::from_str(&verify(&duban.store())).unwrap();
    assert_eq!(original["ok"], true);
    assert_eq!(verify(&restored), verify(&duban.store()), "same chain head");
    assert_eq!(duban.run_in(&restored, &["export", "-"]).stdout, duban.export());

    let again = duban.run_in(&restored, &["import-events", "events.jsonl"]);
    assert_eq!(again.code, 1, "a non-empty store is refused");
    assert!(again.stderr.contains("空事件库"), "{}", again.stderr);
}

#[test]
fn a_broken_event_file_creates_no_store() {
    let duban = Duban::new();
    std::fs::write(duban.dir.path().join("bad.jsonl"), "{\"not\": \"an event\"}\n").unwrap();
    let target = duban.dir.path().join("never.db");
    let output = duban.run_in(&target, &["import-events", "bad.jsonl"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("第 1 行"), "{}", output.stderr);
    assert!(!target.exists());
}

#[test]
fn every_rejected_command_leaves_the_store_unchanged() {
    let duban = Duban::new();
    let (reply, first, second) = reply_with_two_commitments(&duban);
    duban.ok(&["close", &first, "--outcome", "fulfilled", "--on", "2025-12-20", "--summary", "平台已运行"]);
    duban.ok(&["due", &second, "2026-03-31"]);
    let before = duban.export();
    let ambiguous = &first[..6];
    let long_text = "长".repeat(25_000);
    let rejected: Vec<(Vec<&str>, &str)> = vec![
        (vec!["progress", &first, "--summary", "再报进展"], "已于 2025-12-20 办结"),
        (vec!["close", &first, "--outcome", "not-fulfilled", "--summary", "再办结一次"], "办结"),
        (vec!["progress", &second, "--on", "2026-01-11", "--summary", "明天的事"], "晚于今天"),
        (vec!["progress", &second, "--on", "2025-10-04", "--summary", "承诺之前"], "早于承诺"),
        (vec!["progress", &second, "--on", "2025-02-30", "--summary", "无效日期"], "无效"),
        (vec!["progress", "01ZZZZZZ", "--summary", "无此承诺"], "找不到"),
        (vec!["progress", ambiguous, "--summary", "前缀不唯一"], "不唯一"),
        (vec!["progress", "01AB", "--summary", "前缀太短"], "至少 6 位"),
        (vec!["progress", &second, "--summary", "  "], "不能为空"),
        (vec!["progress", &second, "--summary", "响铃\u{7}"], "控制字符"),
        (vec!["progress", &second, "--summary", &long_text], "过长"),
        (vec!["progress", &second, "--summary", "超额", "--percent", "150"], "0–100"),
        (vec!["due", &second, "2026-09-30"], "须说明理由"),
        (vec!["due", &second, "2025-01-01", "--reason", "提前"], "早于答复的签发日期"),
        (vec!["reopen", &second, "--reason", "没有办结"], "尚未办结"),
        (vec!["assign", &second, "--owner", "上海市科学技术委员会", "--reason", "不变"], "无需调整"),
        (vec!["dismiss", &second, "--reason", "自我重复", "--duplicate-of", &second], "自身重复"),
        (vec!["close", &second, "--outcome", "done", "--summary", "结果无效"], "无效"),
        (vec!["commit", "add", "--reply", &reply, "--text", "期限太早", "--due", "2025-01-01"], "早于答复的签发日期"),
        (vec!["commit", "add", "--reply", &first, "--text", "不是答复"], "找不到"),
        (
            vec![
                "reply",
                "add",
                "--organ",
                "上海市科学技术委员会",
                "--doc-no",
                "沪科提复〔2025〕62号",
                "--signed-on",
                "2025-10-20",
            ],
            "已登记",
        ),
        (
            vec!["reply", "add", "--organ", "未来局", "--doc-no", "未〔2026〕1号", "--signed-on", "2026-02-01"],
            "晚于今天",
        ),
        (vec!["evaluate", &reply, "--satisfaction", "很好"], "无效"),
        (vec!["evaluate", &reply, "--satisfaction", "满意", "--on", "2025-10-01"], "早于答复"),
        (vec!["list", "--status", "finished"], "无效"),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, expected) in rejected {
        let output = duban.run(&args);
        assert_eq!(output.code, 1, "{args:?} should be refused: {}", output.stderr);
        assert!(output.stderr.contains(expected), "{args:?}: expected “{expected}” in: {}", output.stderr);
        assert!(output.stdout.is_empty(), "{args:?} printed: {}", output.stdout);
        assert_eq!(duban.export(), before, "{args:?} changed the store");
    }
}

#[test]
fn a_store_in_use_is_refused_clearly() {
    let duban = Duban::new();
    let holder = duban_store::open(&duban.store()).unwrap();
    let output = duban.run(&["list"]);
    if common::on_postgres() {
        // A database is shared by any number of processes: the command runs beside the other handle.
        assert_eq!(output.code, 0, "{}", output.stderr);
    } else {
        assert_eq!(output.code, 2);
        assert!(output.stderr.contains("正被另一个 duban 进程使用"), "{}", output.stderr);
    }
    drop(holder);
    duban.ok(&["list"]);
}

#[test]
fn commands_on_a_missing_store_say_so_and_create_nothing() {
    let duban = Duban::new();
    let missing = duban.dir.path().join("missing.db");
    let output = duban.run_in(&missing, &["list"]);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("没有 duban 事件库") && output.stderr.contains("duban init"), "{}", output.stderr);
    assert!(!missing.exists());
    let again = duban.run(&["init"]);
    assert_eq!(again.code, 1, "init refuses an existing store");
}

#[test]
fn filters_find_overdue_and_near_due_commitments() {
    let duban = Duban::new();
    let (_, first, second) = reply_with_two_commitments(&duban);
    duban.ok(&["due", &second, "2026-01-05"]);
    let overdue = duban.json(&["list", "--overdue"]);
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    assert_eq!(overdue[0]["id"], second.as_str());
    assert_eq!(duban.json(&["list", "--due-within", "30"]).as_array().unwrap().len(), 0);
    let near = duban.json(&["list", "--due-within", "200"]);
    assert_eq!(near.as_array().unwrap().len(), 1);
    assert_eq!(near[0]["id"], first.as_str());
    assert_eq!(duban.json(&["list", "--organ", "科学技术"]).as_array().unwrap().len(), 2);
    assert_eq!(duban.json(&["list", "--organ", "教育局"]).as_array().unwrap().len(), 0);
    assert_eq!(duban.json(&["list", "--year", "2025"]).as_array().unwrap().len(), 2);
    assert_eq!(duban.json(&["list", "--year", "2024"]).as_array().unwrap().len(), 0);
    assert_eq!(duban.json(&["list", "--proposal", "1221"]).as_array().unwrap().len(), 2);
    assert_eq!(duban.json(&["list", "--status", "逾期", "--status", "open"]).as_array().unwrap().len(), 2);
    duban.ok(&["dismiss", &first, "--reason", "误录"]);
    assert_eq!(duban.json(&["list", "--active"]).as_array().unwrap().len(), 1);
}

#[test]
fn reopen_reassign_note_and_log() {
    let duban = Duban::new();
    let (_, first, _) = reply_with_two_commitments(&duban);
    duban.ok(&["close", &first, "--outcome", "fulfilled", "--on", "2025-12-01", "--summary", "办结"]);
    duban.ok(&["note", &first, "--text", "回头看：运行正常"]);
    duban.ok(&["reopen", &first, "--reason", "复查发现未达标"]);
    duban.ok(&["assign", &first, "--owner", "上海市经济和信息化委员会", "--reason", "职能调整"]);
    let show = duban.json(&["show", &first]);
    assert_eq!(show["owner"], "上海市经济和信息化委员会");
    assert_eq!(show["status"], "open");
    let log = duban.json(&["log", &first]);
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(kinds, ["CommitmentMade", "Closed", "NoteAdded", "Reopened", "Reassigned"]);
    assert_eq!(duban.json(&["log", "--from", "3", "--limit", "2"]).as_array().unwrap().len(), 2);
    assert!(duban.ok(&["rebuild"]).contains("无差异"));
    assert!(duban.ok(&["verify"]).contains("日志完整"));
}

#[test]
fn help_and_usage_errors() {
    let duban = Duban::new();
    let help = duban.run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("督办") && help.stdout.contains("progress"), "{}", help.stdout);
    let usage = duban.run(&["progress"]);
    assert_eq!(usage.code, 1, "a usage error is the user's to fix");
}

#[test]
fn the_demo_builds_a_store_and_shows_every_kind_of_status() {
    let duban = Duban::at("2026-11-21T10:00:00+08:00");
    let output = duban.run(&["demo", "--dir", "demo"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    for label in ["待推进", "推进中", "停滞", "逾期", "已落实", "部分落实", "未落实", "已撤销"] {
        assert!(output.stdout.contains(label), "demo lacks {label}:\n{}", output.stdout);
    }
    let store = duban.dir.path().join("demo/duban.db");
    assert_eq!(duban.run_in(&store, &["verify"]).code, 0);
    // Running it again replaces its own directory, but never a foreign one.
    assert_eq!(duban.run(&["demo", "--dir", "demo"]).code, 0);
    std::fs::create_dir(duban.dir.path().join("mine")).unwrap();
    std::fs::write(duban.dir.path().join("mine/keep.txt"), "x").unwrap();
    assert_eq!(duban.run(&["demo", "--dir", "mine"]).code, 1);
    assert!(duban.dir.path().join("mine/keep.txt").exists());
}

/// What a terminal would obey is shown instead: a control sequence in an argument comes back escaped in the error,
/// and an actor's name carrying one is refused before anything is written.
#[test]
fn control_sequences_are_shown_not_obeyed_and_refused_as_actors() {
    let duban = Duban::new();
    let output = duban.run(&["show", "\u{1b}]0;pwned\u{7}01ABCD"]);
    assert_eq!(output.code, 1);
    assert!(!output.stderr.contains('\u{1b}') && !output.stderr.contains('\u{7}'), "{:?}", output.stderr);
    assert!(output.stderr.contains("\\u{1b}]0;pwned\\u{7}"), "{}", output.stderr);
    let reply =
        duban.ok(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-01"]);
    let before = duban.export();
    let output = duban.run(&["--actor", "王芳\u{1b}[2J", "commit", "add", "--reply", &reply, "--text", "建成平台"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("记录人含有控制字符（U+001B）"), "{}", output.stderr);
    assert_eq!(duban.export(), before, "nothing written");
}

/// A device named as the output is written to, never replaced by a regular file renamed over it.
#[test]
fn a_device_as_output_is_written_to_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let duban = Duban::new();
    duban.ok(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-01"]);
    duban.ok(&["export", "--force", "/dev/null"]);
    duban.ok(&["report", "--year", "2025", "--format", "csv", "--out", "/dev/null", "--force"]);
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device(), "/dev/null is still a device");
    let full = duban.run(&["export", "--force", "/dev/full"]);
    assert_eq!(full.code, 2, "a full device is a write fault: {}", full.stderr);
    assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
}

/// An export cut short is a valid log, only shorter: its trailer is what says so. A file without it, or whose
/// trailer disagrees with what precedes it, is refused and no store is made.
#[test]
fn a_truncated_export_is_refused_and_creates_no_store() {
    let duban = Duban::new();
    let (_reply, first, _second) = reply_with_two_commitments(&duban);
    duban.ok(&["progress", &first, "--on", "2025-11-01", "--summary", "完成平台选址"]);
    duban.ok(&["export", "events.jsonl"]);
    let text = std::fs::read_to_string(duban.dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let without_trailer = lines[..lines.len() - 1].join("\n") + "\n";
    let cut_short = lines[..2].join("\n") + "\n";
    let wrong_trailer = format!("{}\n{}\n", lines[..2].join("\n"), lines[lines.len() - 1]);
    for (name, content, expected) in [
        ("no-trailer", without_trailer, "没有结尾记录"),
        ("cut-short", cut_short, "没有结尾记录"),
        ("wrong-trailer", wrong_trailer, "文件不完整或被改动"),
    ] {
        std::fs::write(duban.dir.path().join(format!("{name}.jsonl")), content).unwrap();
        let store = duban.dir.path().join(format!("{name}.db"));
        let output = duban.run_in(&store, &["import-events", &format!("{name}.jsonl")]);
        assert_eq!(output.code, 1, "{name}: {}", output.stderr);
        assert!(output.stderr.contains(expected), "{name}: {}", output.stderr);
        assert!(!store.exists(), "{name}: no store made");
    }
}

/// An export edited and re-hashed — a sound chain with a sound trailer — still cannot bring in what no command would
/// have accepted: restoring checks every fact against the states before it, as its command did.
#[test]
fn a_rehashed_export_with_a_refused_fact_is_refused() {
    let duban = Duban::new();
    let (_reply, first, _second) = reply_with_two_commitments(&duban);
    duban.ok(&["close", &first, "--outcome", "fulfilled", "--on", "2025-12-01", "--summary", "已办结"]);
    duban.ok(&["export", "events.jsonl"]);
    let text = std::fs::read_to_string(duban.dir.path().join("events.jsonl")).unwrap();
    let mut events: Vec<duban_domain::Envelope> = text
        .lines()
        .filter(|line| !line.starts_with("{\"trailer\""))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // Progress on the closed commitment, appended and chained as a forger would.
    let closed = events.last().unwrap().clone();
    let mut forged = closed.clone();
    forged.seq += 1;
    forged.version += 1;
    forged.id = ulid::Ulid::from_parts(closed.id.timestamp_ms() + 1, 7);
    forged.event = duban_domain::Event::ProgressReported(duban_domain::ProgressReported {
        summary: "办结后又报进展".into(),
        evidence: vec![],
        percent: None,
    });
    forged.prev_hash = closed.hash.clone();
    forged.hash = duban_store::hash_of(&forged);
    events.push(forged);
    let mut out = Vec::new();
    duban_store::write_export(events.into_iter().map(Ok), &mut out).unwrap();
    std::fs::write(duban.dir.path().join("forged.jsonl"), out).unwrap();
    let store = duban.dir.path().join("forged.db");
    let output = duban.run_in(&store, &["import-events", "forged.jsonl"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("不能记录"), "{}", output.stderr);
    assert!(!store.exists(), "nothing written");
}

/// Imports the bundled sample replies (one of each format); returns the store's commitments as `list --json` gives them.
fn imported_samples(duban: &Duban) -> Value {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples");
    let files: Vec<String> = ["keji-gbk.txt", "caizheng.docx", "jiaoyu.txt", "jiaotong.html", "tiyu-big5.txt"]
        .iter()
        .map(|name| samples.join(name).to_string_lossy().to_string())
        .collect();
    duban.ok(&[&["import"], &files.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    duban.json(&["list"])
}

#[test]
fn organs_are_found_as_people_type_them() {
    let duban = Duban::new();
    let all = imported_samples(&duban);
    let organs_of = |args: &[&str]| -> Vec<String> {
        let mut argv = vec!["list"];
        argv.extend_from_slice(args);
        let rows = duban.json(&argv);
        let mut organs: Vec<String> =
            rows.as_array().unwrap().iter().map(|row| row["organ"].as_str().unwrap().to_string()).collect();
        organs.dedup();
        organs
    };
    assert!(all.as_array().unwrap().iter().any(|row| row["organ"] == "示範市文化旅遊局"));
    // Simplified as typed, traditional as written.
    assert_eq!(organs_of(&["--organ", "文化旅游"]), ["示範市文化旅遊局"]);
    // A short form, written out by the built-in table.
    assert_eq!(organs_of(&["--organ", "区科委"]), ["上海市示范区科学技术委员会"]);
    assert_eq!(organs_of(&["--organ", "教育局"]), ["上海市示范区教育局"]);
    // The reply list takes the same filters.
    let replies = duban.json(&["reply", "list", "--organ", "区科委"]);
    assert_eq!(replies.as_array().unwrap().len(), 1);
    assert_eq!(replies[0]["organ"], "上海市示范区科学技术委员会");
    assert_eq!(duban.json(&["reply", "list", "--organ", "文化旅游"]).as_array().unwrap().len(), 1);
    assert_eq!(duban.json(&["reply", "list", "--year", "2024"]).as_array().unwrap().len(), 1);
    assert!(duban.json(&["reply", "list", "--incomplete"]).as_array().unwrap().is_empty());
    // An office's own short forms.
    let table = duban.dir.path().join("aliases.txt");
    std::fs::write(&table, "# 本区简称\n示范教育=上海市示范区教育局\n").unwrap();
    let table = table.to_string_lossy().to_string();
    assert_eq!(organs_of(&["--aliases", &table, "--organ", "示范教育"]), ["上海市示范区教育局"]);
    assert!(organs_of(&["--organ", "示范教育"]).is_empty(), "not without the table");
    // A table that cannot be read is refused, naming the line.
    std::fs::write(duban.dir.path().join("bad.txt"), "示范教育\n").unwrap();
    let bad = duban.dir.path().join("bad.txt").to_string_lossy().to_string();
    let refused = duban.run(&["--aliases", &bad, "list"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("第 1 行"), "{}", refused.stderr);
}

#[test]
fn every_promise_has_a_due_date_and_says_where_it_came_from() {
    let duban = Duban::new();
    let all = imported_samples(&duban);
    let rows = all.as_array().unwrap();
    assert!(rows.len() >= 10);
    let source = |row: &Value| row["due_source"].as_str().unwrap_or("none").to_string();
    assert!(rows.iter().all(|row| row["due"].is_string()), "the default policy dates every promise");
    assert!(rows.iter().any(|row| source(row) == "text"), "dates read from the replies");
    assert!(rows.iter().any(|row| source(row) == "policy"), "and defaults where they name none");
    let defaulted = rows.iter().find(|row| source(row) == "policy").unwrap();
    let id = defaulted["id"].as_str().unwrap().to_string();
    let made: chrono::NaiveDate = defaulted["made_on"].as_str().unwrap().parse().unwrap();
    use chrono::Datelike;
    assert_eq!(defaulted["due"].as_str().unwrap(), format!("{}-12-31", made.year() + 1));
    assert!(duban.ok(&["show", &id]).contains("默认期限"));
    // The policy is the office's: the same year, or none.
    let same_year = duban.json(&["show", &id, "--default-due", "0"]);
    assert_eq!(same_year["due"].as_str().unwrap(), format!("{}-12-31", made.year()));
    let none = duban.json(&["show", &id, "--default-due", "none"]);
    assert!(none["due"].is_null() && none["due_source"].is_null());
    assert_eq!(duban.run(&["list", "--default-due", "soon"]).code, 1);
    // Staff win: a due date set by hand says so.
    duban.ok(&["due", &id, "2027-06-30"]);
    let set = duban.json(&["show", &id]);
    assert_eq!((set["due"].as_str(), set["due_source"].as_str()), (Some("2027-06-30"), Some("staff")));
    // The report counts each source.
    let report: Value = serde_json::from_str(&duban.ok(&["report", "--year", "2025", "--format", "json"])).unwrap();
    let sources = &report["overview"]["due_sources"];
    assert!(sources["text"].as_u64().unwrap() > 0 && sources["policy"].as_u64().unwrap() > 0, "{sources}");
    assert!(duban.ok(&["report", "--year", "2025"]).contains("期限来源"));
}

/// `list` fits the width it is given: ids never cut, the promise's text clipped, columns dropped when narrow.
#[test]
fn list_fits_the_width_it_is_given() {
    use unicode_width::UnicodeWidthStr;
    let duban = Duban::at("2026-11-21T10:00:00+08:00");
    assert_eq!(duban.run(&["demo", "--dir", "demo"]).code, 0);
    let store = duban.dir.path().join("demo/duban.db");
    let listed: Value = serde_json::from_str(&duban.run_in(&store, &["list", "--json"]).stdout).unwrap();
    let numbers: Vec<String> =
        listed.as_array().unwrap().iter().map(|row| format!("#{}", row["number"].as_u64().unwrap())).collect();
    for width in [80usize, 60, 40, 140] {
        let output = duban.run_in(&store, &["list", "--width", &width.to_string()]);
        assert_eq!(output.code, 0, "{}", output.stderr);
        for line in output.stdout.lines() {
            assert!(line.width() <= width, "{width} columns, a line of {}:\n{line}", line.width());
        }
        for number in &numbers {
            assert!(
                output.stdout.split_whitespace().any(|word| word == number),
                "{number} whole at {width}:\n{}",
                output.stdout
            );
        }
    }
    // Without a terminal and without --width, nothing is squeezed: the text shows as it did.
    let wide = duban.run_in(&store, &["list"]).stdout;
    assert!(wide.lines().any(|line| line.width() > 80), "{wide}");
    // --json never prints anything but JSON, whatever the width.
    let json = duban.run_in(&store, &["list", "--json", "--width", "40"]).stdout;
    assert!(serde_json::from_str::<Value>(&json).is_ok());
}

/// `duban completions bash` is a script bash accepts, and it completes subcommands.
#[test]
fn bash_completion_completes_subcommands() {
    let duban = Duban::new();
    let script = duban.ok(&["completions", "bash"]);
    let path = duban.dir.path().join("duban.bash");
    std::fs::write(&path, &script).unwrap();
    let check = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; _duban duban '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2]
        );
        let output = std::process::Command::new("bash").arg("-c").arg(program).env_clear().output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let offered = complete("duban li");
    assert_eq!(offered.trim(), "list", "{offered}");
    let offered = complete("duban re");
    for name in ["reply", "reopen", "rebuild", "report", "restore"] {
        assert!(offered.lines().any(|line| line == name), "{name} in {offered}");
    }
    let offered = complete("duban list --ov");
    assert!(offered.lines().any(|line| line == "--overdue"), "{offered}");
    // And the man page is made from the same definition.
    let man = duban.ok(&["man"]);
    assert!(man.starts_with(".ie") && man.contains("duban list") && man.contains("只看逾期的"), "{}", &man[..200]);
}

/// `report --json` prints the report model as JSON; asking for JSON and Markdown at once is refused.
#[test]
fn report_json_means_json() {
    let duban = Duban::new();
    reply_with_two_commitments(&duban);
    let output = duban.run(&["report", "--year", "2025", "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let report: Value = serde_json::from_str(&output.stdout).expect("JSON, not Markdown");
    assert_eq!(report["year"], 2025);
    let contradiction = duban.run(&["report", "--year", "2025", "--json", "--format", "md"]);
    assert_eq!(contradiction.code, 1);
    assert!(contradiction.stderr.contains("矛盾") && contradiction.stdout.is_empty(), "{}", contradiction.stderr);
}

/// A promise recorded by mistake is withdrawn from the day it was made (unless a date is given), so that views of
/// earlier dates stop counting it; any other dismissal is dated today.
#[test]
fn a_mistaken_record_is_dismissed_from_the_day_it_was_made() {
    let duban = Duban::new();
    let (_, first, second) = reply_with_two_commitments(&duban);
    duban.ok(&["dismiss", &first, "--reason", "误录"]);
    duban.ok(&["dismiss", &second, "--reason", "政策调整，不再推进"]);
    let then = duban.json(&["list", "--as-of", "2025-11-01"]);
    assert_eq!(status_of(&then, &first), "dismissed", "withdrawn from the day it was made");
    assert_eq!(status_of(&then, &second), "open", "dismissed only from today");
    let shown = duban.json(&["show", &first]);
    assert_eq!(shown["dismissed_on"], "2025-10-20");
}

/// `--json` prints JSON and nothing else, whatever the command; a command whose output cannot be JSON refuses it.
#[test]
fn json_means_only_json() {
    let duban = Duban::at("2026-11-21T10:00:00+08:00");
    let demo = duban.run(&["demo", "--dir", "demo", "--json"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let summary: Value = serde_json::from_str(&demo.stdout).expect("the demo's summary is JSON");
    assert!(summary["commitments"].as_u64().unwrap() > 10);
    let store = duban.dir.path().join("demo/duban.db");
    let first = duban.run_in(&store, &["list", "--json"]).stdout;
    let first: Value = serde_json::from_str(&first).unwrap();
    let number = format!("#{}", first[0]["number"]);
    for args in [
        vec!["list"],
        vec!["reply", "list"],
        vec!["show", number.as_str()],
        vec!["log", number.as_str()],
        vec!["verify"],
        vec!["report", "--year", "2025"],
        vec!["note", number.as_str(), "--text", "电话督办"],
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let output = duban.run_in(&store, &with_json);
        assert_eq!(output.code, 0, "{args:?}: {}", output.stderr);
        assert!(serde_json::from_str::<Value>(&output.stdout).is_ok(), "{args:?} printed: {}", output.stdout);
    }
    for args in [vec!["completions", "bash", "--json"], vec!["man", "--json"]] {
        let output = duban.run_in(&store, &args);
        assert_eq!(output.code, 1, "{args:?}");
        assert!(output.stdout.is_empty() && output.stderr.contains("不能加 --json"), "{args:?}: {}", output.stderr);
    }
}

/// `search` on the bundled samples: words in a promise, a reply's organ typed in simplified script for a
/// traditional-script reply, a progress summary; an amended text is found by its new words only, and by its old ones
/// as known before the amendment; an empty query is refused.
#[test]
fn search_finds_promises_replies_and_progress_by_their_words() {
    let mut duban = Duban::new();
    let all = imported_samples(&duban);
    let rows = all.as_array().unwrap();
    let first = &rows[0];
    let id = first["id"].as_str().unwrap().to_string();
    let text: Vec<char> = first["text"].as_str().unwrap().chars().collect();
    let phrase: String = text[2..8.min(text.len())].iter().collect();
    let hits = |duban: &Duban, args: &[&str]| -> Vec<(String, String)> {
        let found = duban.json(&[&["search"], args].concat());
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| (hit["kind"].as_str().unwrap().to_string(), hit["id"].as_str().unwrap().to_string()))
            .collect()
    };
    assert!(hits(&duban, &[&phrase]).contains(&("commitment".to_string(), id.clone())), "{phrase}");
    // The traditional-script reply, by its organ in simplified characters; and full-width digits.
    let organ = hits(&duban, &["文化旅游局", "--kind", "reply"]);
    assert_eq!(organ.len(), 1, "{organ:?}");
    duban.now = "2026-03-01T10:00:00+08:00".into();
    duban.ok(&["progress", &id, "--on", "2026-02-27", "--summary", "完成第三方评估并形成整改清单"]);
    assert_eq!(hits(&duban, &["第三方评估"]), [("progress".to_string(), id.clone())]);
    assert_eq!(hits(&duban, &["整改  評估"]), [("progress".to_string(), id.clone())], "two words, traditional");
    assert!(hits(&duban, &["\"整改 评估\""]).is_empty(), "a quoted phrase matches as written");
    // Amended: the new words find it, the old ones do not — except as known before the amendment.
    duban.now = "2026-03-02T10:00:00+08:00".into();
    duban.ok(&["commit", "amend", &id, "--text", "建成全市统一的概念验证服务平台", "--reason", "读错"]);
    assert_eq!(hits(&duban, &["统一的概念验证"]), [("commitment".to_string(), id.clone())]);
    let old = hits(&duban, &[&phrase, "--kind", "commitment"]);
    assert!(!old.contains(&("commitment".to_string(), id.clone())), "{old:?}");
    let before = hits(&duban, &[&phrase, "--kind", "commitment", "--known-at", "2026-03-01T12:00:00+08:00"]);
    assert!(before.contains(&("commitment".to_string(), id.clone())), "{before:?}");
    // Filters of list apply.
    let status = first["status"].as_str().unwrap();
    let other = if status == "overdue" { "fulfilled" } else { "overdue" };
    assert!(hits(&duban, &["统一的概念验证", "--status", other]).is_empty());
    // Refused, naming the problem, exit 1.
    let refused = duban.run(&["search", " "]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("搜索词为空"), "{}", refused.stderr);
    // `--skip-search` leaves the index alone (the projection's check is the same); rebuild then derives the index
    // and finds it as the writes left it.
    let skipped = duban.json(&["rebuild", "--skip-search"]);
    assert!(skipped["search"].is_null() && skipped["differences"] == serde_json::json!([]), "{skipped}");
    assert!(duban.ok(&["rebuild", "--skip-search"]).contains("搜索索引：未检查"));
    let rebuilt = duban.json(&["rebuild"]);
    assert_eq!(rebuilt["search"]["differed"], 0, "{rebuilt}");
    assert_eq!(rebuilt["search"]["newly_indexed"], rebuilt["search"]["documents"], "{rebuilt}");
    let again = duban.json(&["rebuild"]);
    assert_eq!((&again["search"]["differed"], &again["search"]["newly_indexed"]), (&0.into(), &0.into()), "{again}");
    assert_eq!(hits(&duban, &["统一的概念验证"]), [("commitment".to_string(), id.clone())], "from the stored index");
}

/// `progress --attach`: a file is kept by its hash beside the store and named by a fact appended with the report; a
/// file whose content is not what its name says, a folder or a missing file is refused and nothing is written.
#[test]
fn progress_attaches_files_checked_by_their_content() {
    let duban = Duban::new();
    let reply =
        duban.ok(&["reply", "add", "--organ", "区科委", "--doc-no", "科〔2025〕1号", "--signed-on", "2025-06-01"]);
    let promise = duban.ok(&["commit", "add", "--reply", &reply, "--text", "年底前建成平台", "--due", "2025-12-31"]);
    let dir = duban.dir.path();
    std::fs::write(dir.join("验收.pdf"), b"%PDF-1.7\nproof\n").unwrap();
    std::fs::write(dir.join("假的.pdf"), b"<html>not a pdf</html>").unwrap();
    std::fs::write(dir.join("说明.txt"), b"text").unwrap();
    let events = || {
        let shown: Value = serde_json::from_str(&duban.ok(&["show", &promise, "--json"])).unwrap();
        shown["events"].as_array().unwrap().len()
    };
    for (file, says) in [
        ("假的.pdf", "文件名与内容不符"),
        ("说明.txt", "类型不受支持"),
        ("无此文件.pdf", "无法读取附件"),
        (".", "不是普通文件"),
    ] {
        let path = dir.join(file).to_string_lossy().to_string();
        let refused = duban.run(&["progress", &promise, "--summary", "完成", "--attach", &path]);
        assert_eq!(refused.code, 1, "{file}: {}", refused.stderr);
        assert!(refused.stderr.contains(says), "{file}: {}", refused.stderr);
    }
    assert_eq!(events(), 1, "nothing written");
    let path = dir.join("验收.pdf").to_string_lossy().to_string();
    let done = duban.run(&["progress", &promise, "--summary", "完成", "--attach", &path, "--attach", &path]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let shown: Value = serde_json::from_str(&duban.ok(&["show", &promise, "--json"])).unwrap();
    let kinds: Vec<&str> = shown["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CommitmentMade", "ProgressReported", "EvidenceAttached", "EvidenceAttached"]);
    let sha = shown["events"][2]["data"]["EvidenceAttached"]["sha256"].as_str().unwrap().to_string();
    let store = duban_store::open(&duban.store()).unwrap();
    assert_eq!(store.file(&sha).unwrap().as_deref(), Some(&b"%PDF-1.7\nproof\n"[..]), "kept by its hash");
    assert_eq!(store.file_hashes().unwrap(), std::slice::from_ref(&sha), "once");
    drop(store);
    if !common::on_postgres() {
        let kept = duban.store().join("files").join(&sha[..2]).join(&sha);
        assert_eq!(std::fs::read(kept).unwrap(), b"%PDF-1.7\nproof\n", "in the store's files/ folder");
    }
    assert_eq!(duban.run(&["verify"]).code, 0);
}
