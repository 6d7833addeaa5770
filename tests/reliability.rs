//! Proofs that duban keeps data: crashes (SIGKILL at random moments), two processes on one store, old event
//! schemas, and bad input across every write command. docs/reliability.md states what these establish.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{folder_contents, Duban, Rng};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-1.jsonl")
}

/// Events written by schema version 1 (this fixture is never regenerated) load, verify to the same chain head, and
/// fold to the statuses they had.
#[test]
fn schema_1_events_still_load_and_fold() {
    let duban = Duban::new();
    let store = duban.dir.path().join("old.db");
    let restored = duban.run_in(&store, &["import-events", &fixture().to_string_lossy()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let verify: Value = serde_json::from_str(&duban.run_in(&store, &["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["head_hash"], "cd48346bba02be845646398147ace2d8bc50b85dd4857b104e31d4f5dbdd0075");
    let list: Value = serde_json::from_str(&duban.run_in(&store, &["list", "--json"]).stdout).unwrap();
    let status = |text: &str| {
        list.as_array().unwrap().iter().find(|r| r["text"].as_str().unwrap().contains(text)).unwrap()["status"].clone()
    };
    assert_eq!(status("概念验证中心"), "fulfilled");
    assert_eq!(status("线上对接平台"), "stalled", "due 2026-06-30, no progress since 2025-05-20, judged on 2026-01-10");
    let show: Value =
        serde_json::from_str(&duban.run_in(&store, &["show", "01JWMKF780CRH9B4XTXCPPY886", "--json"]).stdout).unwrap();
    let kinds: Vec<&str> = show["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CommitmentMade", "DueDateSet", "DueDateSet", "NoteAdded"]);
    assert_eq!(show["due"], "2026-06-30");
}

/// A second pinned fixture of schema 1 (never regenerated either), written by the CLI: with the first it holds every
/// event variant, so a change to any variant's stored form is caught here.
#[test]
fn every_event_variant_of_schema_1_still_loads_and_folds() {
    let variants = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-1-variants.jsonl");
    let schema_2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-2.jsonl");
    let schema_3 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-3.jsonl");
    let schema_4 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-4.jsonl");
    let mut tags = std::collections::BTreeSet::new();
    for (file, schema) in [(fixture(), 1), (variants.clone(), 1), (schema_2, 2), (schema_3, 3), (schema_4, 4)] {
        for line in std::fs::read_to_string(&file).unwrap().lines().filter(|line| !line.starts_with("{\"trailer\"")) {
            let event: Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["schema"], schema);
            tags.extend(event["event"].as_object().unwrap().keys().cloned());
        }
    }
    let all: std::collections::BTreeSet<String> =
        duban_domain::EventKind::ALL.iter().map(|kind| kind.tag().to_string()).collect();
    assert_eq!(tags, all, "the pinned fixtures hold one of every variant");

    let duban = Duban::new();
    let store = duban.dir.path().join("variants.db");
    let restored = duban.run_in(&store, &["import-events", &variants.to_string_lossy()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let verify: Value = serde_json::from_str(&duban.run_in(&store, &["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["head_hash"], "106142e47a592b3f87b1acf3ace06fdf518c7c226e40419811caf399eb34d914");
    let list: Value = serde_json::from_str(&duban.run_in(&store, &["list", "--json"]).stdout).unwrap();
    let row = |id: &str| list.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    let reassigned = row("01JWQ5VY80BGH3M95RXAV2STDN");
    assert_eq!(
        (reassigned["status"].as_str(), reassigned["owner"].as_str()),
        (Some("overdue"), Some("区交通委公交处"))
    );
    assert_eq!(reassigned["closed_on"], Value::Null, "reopened after its closure");
    assert_eq!(reassigned["co_handlers"][0], "区建管委");
    let dated = row("01JWQ5VY80D1JF77ADNJC3VPN6");
    // A first due date set by staff is not a change of one.
    assert_eq!((dated["due"].as_str(), dated["due_changes"].as_u64()), (Some("2026-06-30"), Some(0)));
    let dismissed = row("01JWQ5VY805TAX89HE7Y1SVGKC");
    assert_eq!(
        (dismissed["status"].as_str(), dismissed["dismissed_on"].as_str()),
        (Some("dismissed"), Some("2025-09-08"))
    );
    let replies: Value = serde_json::from_str(&duban.run_in(&store, &["reply", "list", "--json"]).stdout).unwrap();
    assert_eq!(replies[0]["satisfaction"], "basically_satisfied");
    assert_eq!(replies[0]["proposal"], "区人大 十七届五次会议 第0042号建议");
}

/// The pinned fixture of schema 2 (never regenerated): a reply registered without its 文号 and signing date (待补全),
/// corrected by `ReplyAmended`, a promise corrected by `CommitmentAmended`, written by the CLI. Its events must keep
/// their hashes and fold to the same answers for ever.
#[test]
fn schema_2_events_still_load_and_fold() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-2.jsonl");
    let duban = Duban::new();
    let store = duban.dir.path().join("schema2.db");
    let restored = duban.run_in(&store, &["import-events", &fixture.to_string_lossy()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let verify: Value = serde_json::from_str(&duban.run_in(&store, &["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["head_hash"], "cef8ac8f01517e21240f094e5580351e56cb9a822357f2b13b167f147feddf98");
    let first: Value =
        serde_json::from_str(std::fs::read_to_string(&fixture).unwrap().lines().next().unwrap()).unwrap();
    assert!(first["event"]["ReplyRegistered"]["signed_on"].is_null(), "registered without its signing date");
    let shown: Value =
        serde_json::from_str(&duban.run_in(&store, &["reply", "show", "01KEJPNMM04B9JX97BXXWQEXMF", "--json"]).stdout)
            .unwrap();
    assert_eq!(
        (shown["reply"]["doc_no"].as_str(), shown["reply"]["signed_on"].as_str(), shown["amendments"].as_u64()),
        (Some("示住建复〔2025〕45号"), Some("2025-06-20"), Some(1))
    );
    let before: Value = serde_json::from_str(
        &duban.run_in(&store, &["reply", "show", "01KEJPNMM04B9JX97BXXWQEXMF", "--json", "--known-at", "2"]).stdout,
    )
    .unwrap();
    assert_eq!(before["reply"]["missing"], serde_json::json!(["文号", "签发日期"]));
    let commitment: Value =
        serde_json::from_str(&duban.run_in(&store, &["show", "01KEJPNMM0GMSTS25CWQJ330B5", "--json"]).stdout).unwrap();
    assert!(commitment["text"].as_str().unwrap().ends_with("并同步推进加装电梯。"));
    assert_eq!(commitment["progress_reports"], 1);
}

/// The pinned fixture of schema 4 (never regenerated), written by the binary: a document uploaded on the web's
/// 文件导入 page and registered after its review (a title corrected, a due date given, a sentence dropped, a missed
/// promise added: `IntakeReviewed`), then a progress report with a PDF attached by `duban progress --attach`
/// (`EvidenceAttached`; the file itself is not in the export, only its hash).
#[test]
fn schema_4_events_still_load_and_fold() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-4.jsonl");
    let duban = Duban::new();
    let store = duban.dir.path().join("schema4.db");
    let restored = duban.run_in(&store, &["import-events", &fixture.to_string_lossy()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let verify: Value = serde_json::from_str(&duban.run_in(&store, &["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["head_hash"], "6faf02211a5b8fbd564445f033836472cced65ec7b1e63168ac85eb01bed5374");
    let shown = duban.run_in(&store, &["reply", "show", "#5"]);
    assert!(
        shown.stdout.contains("导入复核：改 2 处（标题、承诺 3 的期限），删去 1 条，补充 1 条（督办员"),
        "{}",
        shown.stdout
    );
    let list: Value =
        serde_json::from_str(&duban.run_in(&store, &["list", "--json", "--as-of", "2026-07-02"]).stdout).unwrap();
    let texts: Vec<&str> = list.as_array().unwrap().iter().map(|row| row["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 4, "three read and kept, one added: {texts:?}");
    assert!(!texts.iter().any(|text| text.contains("研究制定概念验证专项支持办法")), "the dropped one: {texts:?}");
    let added = list.as_array().unwrap().iter().find(|row| row["text"] == "年内举办科技成果转化对接会不少于4场。");
    assert_eq!(added.unwrap()["due"], "2026-12-31");
    let show: Value = serde_json::from_str(&duban.run_in(&store, &["show", "#7", "--json"]).stdout).unwrap();
    let attached = &show["events"][2]["data"]["EvidenceAttached"];
    assert_eq!(attached["file_name"], "验收报告.pdf");
    assert_eq!(attached["sha256"], "24daf9eefa598815b6b4d7c82b383cb701335bd5c0d1697653f5004a9e3cc089");
    assert_eq!(show["percent"], 50);
}

/// The pinned fixture of schema 3 (never regenerated), written by the CLI: a suggestion assigned, returned by a
/// co-handler and re-assigned, the proposer met, a 答复 and a 会办意见 linked on registration, the 答复 judged
/// 不满意, the re-handling's second 答复, the class overridden, the disclosure withheld, 回头看 a year later; and an
/// account created, changed, disabled and given a new password (whose hash is not in the file).
#[test]
fn schema_3_events_still_load_and_fold() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-3.jsonl");
    let duban = Duban::new();
    let store = duban.dir.path().join("schema3.db");
    let restored = duban.run_in(&store, &["import-events", &fixture.to_string_lossy()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let verify: Value = serde_json::from_str(&duban.run_in(&store, &["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["head_hash"], "4a54a6cd7e11110945d9a76e612432a09f0b51c506eedfb522862c9dc3ae23ad");
    let list: Value =
        serde_json::from_str(&duban.run_in(&store, &["proposal", "list", "--json", "--as-of", "2027-03-02"]).stdout)
            .unwrap();
    let proposal = &list[0];
    assert_eq!(
        (proposal["number"].as_str(), proposal["lead"].as_str(), proposal["co_handlers"][0].as_str()),
        (Some("45"), Some("示范县住房和城乡建设局"), Some("示范县发展和改革局"))
    );
    assert_eq!((proposal["replied_on"].as_str(), proposal["class"].as_str()), (Some("2026-03-20"), Some("B")));
    assert_eq!((proposal["disclosure"].as_str(), proposal["status"].as_str()), (Some("withheld"), Some("evaluated")));
    // Before the second reply, the proposal was being handled again.
    let before: Value =
        serde_json::from_str(&duban.run_in(&store, &["proposal", "list", "--json", "--as-of", "2026-05-01"]).stdout)
            .unwrap();
    assert_eq!(before[0]["status"], "rehandling");
    assert_eq!(before[0]["class"], "B", "as the first 答复's 办理结果 read");
    let shown: Value =
        serde_json::from_str(&duban.run_in(&store, &["proposal", "show", "#1", "--json"]).stdout).unwrap();
    assert_eq!(shown["replies"].as_array().unwrap().len(), 3);
    assert_eq!(shown["replies"][1]["lead"], false, "the 会办意见");
    let users: Value = serde_json::from_str(&duban.run_in(&store, &["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(
        (users[0]["name"].as_str(), users[0]["role"].as_str(), users[0]["disabled"].as_bool()),
        (Some("住建联络员"), Some("viewer"), Some(true))
    );
    assert_eq!(users[0]["password_set_on"], "2027-03-05");
    // The proposal's projection is what a refold of the log gives.
    let rebuilt: Value = serde_json::from_str(&duban.run_in(&store, &["rebuild", "--json"]).stdout).unwrap();
    assert_eq!(rebuilt["differences"], serde_json::json!([]));
}

#[test]
fn events_of_a_newer_schema_are_refused_not_misread() {
    let duban = Duban::new();
    let text = std::fs::read_to_string(fixture()).unwrap();
    let newer = text.replacen("\"schema\":1", "\"schema\":9", 1);
    std::fs::write(duban.dir.path().join("newer.jsonl"), newer).unwrap();
    let store = duban.dir.path().join("newer.db");
    let output = duban.run_in(&store, &["import-events", "newer.jsonl"]);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("模式版本 9"), "{}", output.stderr);
    assert!(!store.exists());
}

/// A reply document of its own (distinct number and content) with three commitments.
fn document(dir: &Path, number: usize) -> PathBuf {
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples/jiaoyu.txt"))
            .unwrap();
    let text = template
        .replace("示教〔2025〕9号", &format!("示教〔2025〕{}号", 1000 + number))
        .replace("第0087号", &format!("第{:04}号", 1000 + number));
    let path = dir.join(format!("doc-{number}.txt"));
    std::fs::write(&path, text).unwrap();
    path
}

enum Trial {
    Progress { marker: String },
    Import { doc_nos: Vec<String> },
}

/// Kills `duban` write commands and imports with SIGKILL at random moments; after every kill the store opens,
/// verifies, holds every acknowledged command fully, and holds nothing half.
#[test]
fn sigkill_at_random_moments_never_loses_or_halves_a_command() {
    const TRIALS: usize = 200;
    let duban = Duban::new();
    let reply =
        duban.ok(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-01"]);
    let commitments: Vec<String> =
        (0..3).map(|n| duban.ok(&["commit", "add", "--reply", &reply, "--text", &format!("承诺{n}")])).collect();
    let docs = duban.dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    // Kills land anywhere up to twice as long as a whole command takes on this machine (the median of three),
    // so that about as many commands are cut short as complete, on a fast machine or a slow one.
    let mut whole: Vec<Duration> = (0..3)
        .map(|n| {
            let started = Instant::now();
            duban.ok(&["progress", &commitments[0], "--summary", &format!("校准{n}")]);
            started.elapsed()
        })
        .collect();
    whole.sort();
    let window = (whole[1] * 2).as_micros().max(1) as u64;
    let (mut acknowledged, mut killed, mut next_document) = (0, 0, 0);
    let started = Instant::now();
    for trial in 0..TRIALS {
        let (args, expectation): (Vec<String>, Trial) = if rng.below(3) == 0 {
            let paths: Vec<PathBuf> = (0..3)
                .map(|_| {
                    next_document += 1;
                    document(&docs, next_document)
                })
                .collect();
            let doc_nos = (next_document - 2..=next_document).map(|n| format!("示教〔2025〕{}号", 1000 + n)).collect();
            let mut args = vec!["import".to_string()];
            args.extend(paths.iter().map(|p| p.to_string_lossy().to_string()));
            (args, Trial::Import { doc_nos })
        } else {
            let marker = format!("崩溃试验{trial}");
            let target = &commitments[rng.below(3) as usize];
            (vec!["progress".into(), target.clone(), "--summary".into(), marker.clone()], Trial::Progress { marker })
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("DUBAN_NOW", &duban.now)
            .env("DUBAN_STORE", duban.store())
            .env("DUBAN_ACTOR", "崩溃测试")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        let finished = child.try_wait().unwrap();
        let succeeded = match finished {
            Some(status) => status.success(),
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                false
            }
        };
        if succeeded {
            acknowledged += 1;
        }
        let verify = duban.run(&["verify", "--json"]);
        assert_eq!(
            verify.code, 0,
            "trial {trial}: the store does not verify after the kill: {}{}",
            verify.stdout, verify.stderr
        );
        let log: Vec<Value> = duban.export().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        match expectation {
            Trial::Progress { marker } => {
                let present =
                    log.iter().filter(|e| e["event"]["ProgressReported"]["summary"] == marker.as_str()).count();
                assert!(present <= 1, "trial {trial}: {marker} recorded {present} times");
                if succeeded {
                    assert_eq!(present, 1, "trial {trial}: acknowledged progress {marker} is missing");
                }
            }
            Trial::Import { doc_nos } => {
                let replies: HashMap<String, String> = log
                    .iter()
                    .filter_map(|e| {
                        Some((
                            e["event"]["ReplyRegistered"]["doc_no"].as_str()?.to_string(),
                            e["stream"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                for doc_no in &doc_nos {
                    match replies.get(doc_no) {
                        Some(reply) => {
                            let made =
                                log.iter().filter(|e| e["event"]["CommitmentMade"]["reply"] == reply.as_str()).count();
                            assert_eq!(made, 3, "trial {trial}: {doc_no} is half-present ({made} of 3 commitments)");
                        }
                        None => assert!(!succeeded, "trial {trial}: acknowledged import of {doc_no} is missing"),
                    }
                }
            }
        }
    }
    eprintln!(
        "crash harness: {TRIALS} trials in {:.1} s, kills within {} ms, {killed} killed mid-run, {acknowledged} acknowledged, every store verified",
        started.elapsed().as_secs_f64(),
        window / 1000
    );
    assert!(
        killed > 20 && acknowledged > 20,
        "the harness must both interrupt and complete commands ({killed} killed, {acknowledged} acknowledged)"
    );
}

/// Two duban processes on one store: the second gets the clear in-use error; the first finishes unharmed.
#[test]
fn a_second_process_is_refused_while_the_first_works() {
    let duban = Duban::new();
    let docs = duban.dir.path().join("many");
    std::fs::create_dir(&docs).unwrap();
    // Enough documents that the import holds the store well past the half second a second process waits for it.
    for number in 0..2000 {
        document(&docs, number);
    }
    // The first process must have opened the store before the second tries; on a busy machine it may need longer.
    for head_start in [150, 600, 2000] {
        let first = Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("DUBAN_NOW", &duban.now)
            .env("DUBAN_STORE", duban.store())
            .args(["import", &docs.to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(head_start));
        let second = duban.run(&["list"]);
        let first = first.wait_with_output().unwrap();
        let first_stderr = String::from_utf8_lossy(&first.stderr).to_string();
        if !first.status.success() && first_stderr.contains("正被另一个 duban 进程使用") && second.code == 0 {
            continue; // the probe came first: the import was the second process, refused cleanly; try again
        }
        assert!(first.status.success(), "the first process was harmed: {first_stderr}");
        if second.code == 0 {
            continue; // the import had already finished: nothing was shown; try again with a fresh store
        }
        assert_eq!(second.code, 2);
        assert!(second.stderr.contains("正被另一个 duban 进程使用"), "{}", second.stderr);
        assert_eq!(duban.json(&["reply", "list"]).as_array().unwrap().len(), 2000);
        assert_eq!(duban.json(&["verify"])["ok"], true);
        return;
    }
    panic!("no attempt showed a second process refused while the first worked");
}

/// Every write command, with every kind of bad input: a clear error, exit code 1, and a byte-identical store.
#[test]
fn bad_input_across_every_write_command_changes_nothing() {
    let duban = Duban::new();
    let reply =
        duban.ok(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-01"]);
    let open = duban.ok(&["commit", "add", "--reply", &reply, "--text", "进行中的承诺", "--due", "2025-12-31"]);
    let closed = duban.ok(&["commit", "add", "--reply", &reply, "--text", "已办结的承诺"]);
    let dismissed = duban.ok(&["commit", "add", "--reply", &reply, "--text", "已撤销的承诺"]);
    duban.ok(&["close", &closed, "--outcome", "fulfilled", "--on", "2025-10-01", "--summary", "办结"]);
    duban.ok(&["dismiss", &dismissed, "--reason", "误录"]);
    // A second reply, so that a short prefix is ambiguous among replies too (ids made at one instant share it).
    duban.ok(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕2号", "--signed-on", "2025-05-02"]);
    let before = duban.export();
    let ambiguous = open[..6].to_string();
    let long = "长".repeat(30_000);
    let bad_ids = ["01ZZZZZZZZZZ", "01JB", "not-an-id!", ambiguous.as_str(), ""];
    let bad_dates = ["2025-02-30", "2025/01/01", "", "2099-01-01", "2025-04-30", "昨天"];
    let bad_texts = ["", "   ", "响铃\u{7}", "转义\u{1b}[31m", long.as_str()];
    // Commands that name a commitment, with a text argument to vary.
    let templates: Vec<(Vec<&str>, usize)> = vec![
        (vec!["progress", "ID", "--summary", "TEXT"], 3),
        (vec!["close", "ID", "--outcome", "fulfilled", "--summary", "TEXT"], 5),
        (vec!["assign", "ID", "--owner", "新单位", "--reason", "TEXT"], 5),
        (vec!["note", "ID", "--text", "TEXT"], 3),
        (vec!["dismiss", "ID", "--reason", "TEXT"], 3),
        (vec!["due", "ID", "2026-06-30", "--reason", "TEXT"], 4),
    ];
    let mut cases: Vec<Vec<String>> = Vec::new();
    let own = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    for (template, text_at) in &templates {
        let with = |id: &str, text: &str| {
            let mut words = own(template);
            words[1] = id.to_string();
            words[*text_at] = text.to_string();
            words
        };
        for id in bad_ids {
            cases.push(with(id, "正常文字"));
        }
        for text in bad_texts {
            cases.push(with(&open, text));
        }
        for date in bad_dates {
            let mut words = with(&open, "正常文字");
            words.extend(["--on".to_string(), date.to_string()]);
            cases.push(words);
        }
        // Illegal transitions: nothing but notes and reopening after closure or dismissal.
        if template[0] != "note" {
            cases.push(with(&closed, "正常文字"));
            cases.push(with(&dismissed, "正常文字"));
        }
    }
    for id in [open.as_str(), "01ZZZZZZZZZZ"] {
        cases.push(own(&["reopen", id, "--reason", "重新打开"]));
    }
    cases.push(own(&["close", &open, "--outcome", "done", "--summary", "结果无效"]));
    cases.push(own(&["progress", &open, "--summary", "进度", "--percent", "101"]));
    cases.push(own(&["due", &open, "2025-12-31", "--reason", "同一期限"]));
    cases.push(own(&["due", &open, "2026-06-30"]));
    cases.push(own(&["due", &open, "2025-04-30", "--reason", "早于签发"]));
    cases.push(own(&["assign", &open, "--owner", "市测试局", "--reason", "未变"]));
    cases.push(own(&["dismiss", &open, "--reason", "重复", "--duplicate-of", &open]));
    for date in bad_dates {
        cases.push(own(&["evaluate", &reply, "--satisfaction", "满意", "--on", date]));
        cases.push(own(&["commit", "add", "--reply", &reply, "--text", "新承诺", "--on", date]));
    }
    // A due date may lie far ahead, but not before the reply was signed; a reply may be signed any day until today.
    for date in bad_dates.iter().filter(|d| **d != "2099-01-01") {
        cases.push(own(&["commit", "add", "--reply", &reply, "--text", "新承诺", "--due", date]));
    }
    for date in bad_dates.iter().filter(|d| **d != "2025-04-30") {
        cases.push(own(&["reply", "add", "--organ", "他局", "--doc-no", "他〔2025〕2号", "--signed-on", date]));
    }
    for text in bad_texts {
        cases.push(own(&["commit", "add", "--reply", &reply, "--text", text]));
        cases.push(own(&["reply", "add", "--organ", text, "--doc-no", "他〔2025〕3号", "--signed-on", "2025-05-01"]));
        cases.push(own(&["evaluate", &reply, "--satisfaction", "不满意", "--comment", text]));
    }
    for id in bad_ids {
        cases.push(own(&["evaluate", id, "--satisfaction", "满意"]));
        cases.push(own(&["commit", "add", "--reply", id, "--text", "新承诺"]));
    }
    cases.push(own(&["evaluate", &reply, "--satisfaction", "很满意"]));
    cases.push(own(&["commit", "add", "--reply", &open, "--text", "挂在承诺上"]));
    cases.push(own(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-01"]));
    cases.push(own(&[
        "reply",
        "add",
        "--organ",
        "他局",
        "--doc-no",
        "他〔2025〕4号",
        "--signed-on",
        "2025-05-01",
        "--kind",
        "意见",
    ]));
    let empty: Vec<String> = Vec::new();
    cases.push(empty);
    assert!(cases.len() > 150, "{} cases", cases.len());
    for case in &cases {
        let args: Vec<&str> = case.iter().map(String::as_str).collect();
        let output = duban.run(&args);
        assert_eq!(output.code, 1, "{args:?} should be refused (exit 1): {}", output.stderr);
        let message = output.stderr.trim();
        assert!(!message.is_empty() && !message.contains("panicked"), "{args:?}: {message}");
        assert!(output.stdout.is_empty(), "{args:?} printed {}", output.stdout);
    }
    assert_eq!(duban.export(), before, "some refused command changed the store");
}

/// Text over 1 MB cannot be passed as an argument (the OS refuses arguments over 128 KiB), but it can arrive in a
/// document: a reply whose promise is one 1.2 MB sentence is refused as a whole, and nothing is written.
#[test]
fn a_document_with_an_oversized_promise_is_refused_whole() {
    let duban = Duban::new();
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples/jiaoyu.txt"))
            .unwrap();
    let huge = format!("2. 拟于2026年上半年出台课后服务经费保障办法{}。", "并完善配套措施".repeat(60_000));
    let text = template.replace("2. 拟于2026年上半年出台课后服务经费保障办法。", &huge);
    assert!(text.len() > 1_000_000);
    std::fs::write(duban.dir.path().join("huge.txt"), text).unwrap();
    let before = duban.export();
    let output = duban.run(&["import", "huge.txt"]);
    assert_eq!(output.code, 1);
    assert!(output.stdout.contains("过长"), "{}", output.stdout);
    assert_eq!(duban.export(), before);
}

/// A command that only reads changes no byte of a store that the last command left healthy, and syncs nothing —
/// also after a bulk import, whose sled nodes are left for a writer to split. The first start after a write
/// finishes what the writer left, as stock sled does at every start (it advances the snapshot, written beside and
/// renamed — sparing that was tried and broke recovery after kills — and may zero space past the writer's last
/// write); it never touches a blob.
#[test]
fn read_commands_change_no_byte_of_the_store() {
    let duban = Duban::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples");
    let files: Vec<String> = ["keji-gbk.txt", "caizheng.docx", "jiaoyu.txt", "jiaotong.html", "tiyu-big5.txt"]
        .iter()
        .map(|name| samples.join(name).to_string_lossy().to_string())
        .collect();
    duban.ok(&[&["import"], &files.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    let many = duban.dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    let template = std::fs::read_to_string(samples.join("jiaoyu.txt")).unwrap();
    for number in 0..120 {
        let text = template
            .replace("示教〔2025〕9号", &format!("示教〔2025〕{}号", number + 100))
            .replace("第0087号", &format!("第{:04}号", number + 100));
        std::fs::write(many.join(format!("d{number:03}.txt")), text).unwrap();
    }
    duban.ok(&["import", &many.to_string_lossy()]);
    let list: Value = serde_json::from_str(&duban.ok(&["list", "--json"])).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let reads: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json", "--as-of", "2025-09-01"],
        vec!["show", &id],
        vec!["show", &id, "--as-of", "2026-01-01"],
        vec!["reply", "list"],
        vec!["log"],
        vec!["log", &id],
        vec!["verify"],
        vec!["export", "-"],
        vec!["report", "--year", "2025"],
        vec!["report", "--year", "2025", "--format", "csv"],
    ];
    let is_snapshot = |path: &PathBuf| path.file_name().unwrap().to_string_lossy().starts_with("snap.");
    for write in [vec!["progress", id.as_str(), "--summary", "推进"], vec!["note", id.as_str(), "--text", "电话督办"]]
    {
        duban.ok(&write);
        // The first start after a write finishes what the writer left, as stock sled does at every start: it
        // advances the snapshot, and may zero what lies beyond the writer's last write (a segment its garbage
        // collection freed). Blobs and the rest stay as they were.
        let before = folder_contents(&duban.store());
        duban.ok(&["list"]);
        let after = folder_contents(&duban.store());
        let kept = |files: &std::collections::BTreeMap<PathBuf, Vec<u8>>| -> Vec<(PathBuf, Vec<u8>)> {
            let sled_file = |path: &PathBuf| is_snapshot(path) || path.ends_with("db");
            files.iter().filter(|(path, _)| !sled_file(path)).map(|(p, b)| (p.clone(), b.clone())).collect()
        };
        assert!(kept(&before) == kept(&after), "the first read after {write:?} changed a blob or sled's conf");
        // Every read after that: not one byte.
        for read in &reads {
            let before = folder_contents(&duban.store());
            duban.ok(read);
            let after = folder_contents(&duban.store());
            assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "{read:?} after {write:?}");
            for (path, bytes) in &before {
                assert!(after[path] == *bytes, "{read:?} changed {} (after {write:?})", path.display());
            }
        }
    }
}

/// Runs `args` with SIGKILL after a random moment up to twice `whole`; says whether it finished by itself.
fn run_and_maybe_kill(duban: &Duban, store: &Path, args: &[&str], rng: &mut Rng, whole: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duban"))
        .env_clear()
        .env("DUBAN_NOW", &duban.now)
        .env("DUBAN_STORE", store)
        .env("DUBAN_ACTOR", "崩溃测试")
        .current_dir(duban.dir.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_micros(rng.below((whole * 2).as_micros().max(1) as u64)));
    match child.try_wait().unwrap() {
        Some(status) => status.success(),
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            false
        }
    }
}

/// How long a whole command takes here: the median of three.
fn whole_command(mut run: impl FnMut(usize)) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|n| {
            let started = Instant::now();
            run(n);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

/// `init` and `import-events` build the store beside its path and rename it into place: killed at any moment, they
/// leave nothing at the path (and the same command run again succeeds) or the whole store.
#[test]
fn killed_init_and_restore_leave_nothing_or_the_whole() {
    const TRIALS: usize = 100;
    let duban = Duban::new();
    // An export of some size to restore: the variants fixture's register, imported documents on top.
    let source = duban.dir.path().join("source.db");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples");
    let docs = duban.dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for number in 0..40 {
        document(&docs, number);
    }
    assert_eq!(duban.run_in(&source, &["init"]).code, 0);
    assert_eq!(duban.run_in(&source, &["import", &docs.to_string_lossy()]).code, 0);
    assert_eq!(duban.run_in(&source, &["import", &samples.join("keji-gbk.txt").to_string_lossy()]).code, 0);
    let export = duban.dir.path().join("events.jsonl");
    assert_eq!(duban.run_in(&source, &["export", &export.to_string_lossy()]).code, 0);
    let head = |store: &Path| -> Option<String> {
        let verify = duban.run_in(store, &["verify", "--json"]);
        (verify.code == 0).then(|| serde_json::from_str::<Value>(&verify.stdout).unwrap()["head_hash"].to_string())
    };
    let expected = head(&source).unwrap();
    let mut rng = Rng(0x1417_0000_5EED_0002);
    let (mut whole_runs, mut cut_short) = (0, 0);
    for (command, args) in [("init", vec!["init"]), ("import-events", vec!["import-events", "events.jsonl"])] {
        let scratch = duban.dir.path().join(format!("{command}-timing"));
        let whole = whole_command(|n| {
            let store = scratch.join(format!("{n}.db"));
            assert_eq!(duban.run_in(&store, &args).code, 0);
        });
        for trial in 0..TRIALS {
            let store = duban.dir.path().join(format!("{command}-{trial}.db"));
            if run_and_maybe_kill(&duban, &store, &args, &mut rng, whole) {
                whole_runs += 1;
            } else {
                cut_short += 1;
            }
            if store.exists() {
                // The whole store, never a part of one.
                let found = head(&store);
                assert!(
                    found.is_some(),
                    "{command} trial {trial}: a store that does not verify was left: {}",
                    duban.run_in(&store, &["verify"]).stderr
                );
                if command == "import-events" {
                    assert_eq!(found.as_deref(), Some(expected.as_str()), "{command} trial {trial}: a partial restore");
                }
            } else {
                // Nothing: the command runs again as if for the first time.
                let again = duban.run_in(&store, &args);
                assert_eq!(again.code, 0, "{command} trial {trial}: the retry was refused: {}", again.stderr);
                if command == "import-events" {
                    assert_eq!(head(&store).as_deref(), Some(expected.as_str()));
                }
            }
        }
    }
    eprintln!("init and import-events: {whole_runs} ran through, {cut_short} killed, none left a part");
    assert!(cut_short >= TRIALS / 2, "the kills landed inside the commands: {cut_short} of {}", 2 * TRIALS);
}

/// A daily backup, then damage, then the way back: the restored store holds the same events and the same head.
#[test]
fn backup_damage_and_restore_give_back_the_same_register() {
    let duban = Duban::new();
    let docs = duban.dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for number in 0..5 {
        document(&docs, number);
    }
    duban.ok(&["import", &docs.to_string_lossy()]);
    let list: Value = serde_json::from_str(&duban.ok(&["list", "--json"])).unwrap();
    duban.ok(&["progress", list[0]["id"].as_str().unwrap(), "--summary", "推进"]);
    let before = duban.export();
    let backup: Value = serde_json::from_str(&duban.ok(&["backup", "backups", "--json"])).unwrap();
    let file = backup["file"].as_str().unwrap().to_string();
    assert!(file.contains("backups/duban-"), "{file}");
    assert_eq!(backup["events"], 21);
    assert_eq!(duban.export(), before, "a backup changes nothing");
    // Damage: sled's data file zeroed. The store is refused; it is moved aside and the backup restored.
    let data = duban.store().join("db");
    let size = std::fs::metadata(&data).unwrap().len() as usize;
    std::fs::write(&data, vec![0u8; size]).unwrap();
    assert_ne!(duban.run(&["verify"]).code, 0, "the damaged store is refused");
    std::fs::rename(duban.store(), duban.dir.path().join("damaged.db")).unwrap();
    duban.ok(&["restore", &file]);
    assert_eq!(duban.export(), before, "the same events, hashes and order");
    let verify: Value = serde_json::from_str(&duban.ok(&["verify", "--json"])).unwrap();
    assert_eq!(verify["head_hash"], backup["head_hash"]);
    // A second backup in the same second is refused rather than overwriting the first.
    assert_eq!(duban.run(&["backup", "backups"]).code, 1);
}
