//! References people say aloud (`#37`, `#12/2`, `1221号/2`): every command that takes an id takes them, and they
//! stay the same after an export and `import-events`.

mod common;

use common::Duban;
use serde_json::Value;

fn rows(list: &Value) -> &Vec<Value> {
    list.as_array().unwrap()
}

/// Registers proposal 1221's reply (and a second reply to proposal 1221 of another session) with two promises.
fn register(duban: &Duban) -> (String, String, String) {
    let reply_to = |session: &str, doc_no: &str| {
        duban.ok(&[
            "reply",
            "add",
            "--organ",
            "上海市科学技术委员会",
            "--doc-no",
            doc_no,
            "--signed-on",
            "2025-10-20",
            "--kind",
            "提案",
            "--assembly",
            "市政协",
            "--session",
            session,
            "--number",
            "1221",
        ])
    };
    let reply = reply_to("十四届三次会议", "沪科提复〔2025〕62号");
    let first = duban.ok(&["commit", "add", "--reply", &reply, "--text", "加快建设高质量概念验证平台"]);
    let second = duban.ok(&["commit", "add", "--reply", &reply, "--text", "推动资本赋能科技成果转化"]);
    reply_to("十四届二次会议", "沪科提复〔2024〕11号");
    (reply, first, second)
}

fn id_of(duban: &Duban, reference: &str) -> String {
    duban.json(&["show", reference])["id"].as_str().unwrap().to_string()
}

#[test]
fn a_promise_is_reached_by_its_number_by_its_replys_number_and_by_its_proposal() {
    let duban = Duban::new();
    let (reply, first, second) = register(&duban);
    let list = duban.json(&["list"]);
    let number_of = |id: &str| rows(&list).iter().find(|row| row["id"] == id).unwrap()["number"].as_u64().unwrap();
    let (n1, n2) = (number_of(&first), number_of(&second));
    assert!(n1 > 0 && n2 > n1, "numbers follow the order of recording: {n1}, {n2}");

    assert_eq!(id_of(&duban, &format!("#{n2}")), second);
    assert_eq!(id_of(&duban, &format!("＃{n1}")), first, "a full-width sign works too");
    let replies = duban.json(&["reply", "list"]);
    let reply_number =
        rows(&replies).iter().find(|row| row["id"] == reply.as_str()).unwrap()["number"].as_u64().unwrap();
    assert_eq!(id_of(&duban, &format!("#{reply_number}/2")), second);
    let shown = duban.json(&["show", &second]);
    assert_eq!(shown["reference"], format!("#{reply_number}/2"), "show says how else to name it");
    assert!(duban.ok(&["show", &second]).contains(&format!("也可写作 #{reply_number}/2")));
    assert_eq!(id_of(&duban, "十四届三次1221号/2"), second);
    assert_eq!(id_of(&duban, "十四屆三次 1221號/2"), second, "traditional characters and spaces too");
    assert_eq!(id_of(&duban, "市政协十四届三次会议第1221号提案/1"), first);

    // A fact recorded by number lands on that promise.
    duban.ok(&["progress", &format!("#{n1}"), "--summary", "完成平台选址"]);
    assert_eq!(duban.json(&["show", &first])["progress_reports"], 1);

    // Ambiguous, wrong-kind and unknown references are refused with the way on, and nothing is written.
    let before = duban.export();
    let refused = |args: &[&str], needle: &str| {
        let output = duban.run(args);
        assert_eq!(output.code, 1, "{args:?}: {}", output.stderr);
        assert!(output.stderr.contains(needle), "{args:?}: {}", output.stderr);
    };
    refused(&["show", "1221号/2"], "对应 2 件答复");
    refused(&["show", &format!("#{reply_number}")], "这里要的是承诺");
    refused(&["note", "#999", "--text", "x"], "没有编号 #999");
    refused(&["show", &format!("#{reply_number}/3")], "只有 2 项承诺");
    let progress_seq = duban.json(&["show", &first])["events"][1]["seq"].as_u64().unwrap();
    refused(&["show", &format!("#{progress_seq}")], "不是答复或承诺的编号");
    assert_eq!(duban.export(), before);
}

#[test]
fn numbers_survive_export_and_import_events() {
    let duban = Duban::new();
    register(&duban);
    duban.ok(&["export", "events.jsonl"]);
    let restored = duban.dir.path().join("restored.db");
    assert_eq!(duban.run_in(&restored, &["import-events", "events.jsonl"]).code, 0);
    let numbers = |store: &std::path::Path| -> Vec<(String, u64)> {
        let list: Value = serde_json::from_str(&duban.run_in(store, &["list", "--json"]).stdout).unwrap();
        rows(&list).iter().map(|row| (row["id"].as_str().unwrap().into(), row["number"].as_u64().unwrap())).collect()
    };
    let original = numbers(&duban.store());
    assert_eq!(original.len(), 2);
    assert_eq!(numbers(&restored), original);
    let shown = duban.run_in(&restored, &["show", &format!("#{}", original[1].1)]);
    assert!(shown.stdout.contains(&original[1].0), "{}", shown.stdout);
}

#[test]
fn promises_imported_in_the_same_millisecond_each_have_a_short_reference() {
    let duban = Duban::new();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/ingest/samples/keji-gbk.txt");
    duban.ok(&["import", sample.to_str().unwrap()]);
    let list = duban.json(&["list"]);
    let ids: Vec<&str> = rows(&list).iter().map(|row| row["id"].as_str().unwrap()).collect();
    assert!(ids.len() >= 2, "the sample holds several promises");
    assert!(ids.iter().all(|id| id[..10] == ids[0][..10]), "made in the same millisecond: {ids:?}");
    for row in rows(&list) {
        let reference = format!("#{}", row["number"]);
        assert!(reference.chars().count() <= 6, "{reference}");
        assert_eq!(id_of(&duban, &reference), row["id"].as_str().unwrap());
    }
    // The human list shows the numbers.
    let human = duban.ok(&["list"]);
    assert!(human.contains(&format!("#{}", rows(&list)[0]["number"])), "{human}");
}
