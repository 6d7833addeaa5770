//! The handling of proposals (件) end to end: 交办, linking on import and by hand, the lifecycle commands, their
//! refusals (which write nothing), and `duban stats` giving the report's own figures.

mod common;

use common::Duban;
use serde_json::Value;

const KEJI: &[u8] = include_bytes!("../crates/ingest/samples/keji-gbk.txt");

fn assign(duban: &Duban, number: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "proposal",
        "add",
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届五次会议",
        "--number",
        number,
        "--title",
        "关于加快建设概念验证中心的提案",
        "--proposer",
        "陈立",
        "--lead",
        "上海市示范区科学技术委员会",
        "--co",
        "上海市示范区财政局",
        "--assigned-on",
        "2025-02-20",
    ];
    args.extend_from_slice(extra);
    duban.json(&args)
}

#[test]
fn a_proposal_is_assigned_linked_on_import_and_listed_with_its_lifecycle() {
    let duban = Duban::new();
    let assigned = assign(&duban, "155201", &["--key"]);
    assert_eq!(assigned["reference"], "#1");
    std::fs::write(duban.dir.path().join("keji.txt"), KEJI).unwrap();
    let imported = duban.json(&["import", "keji.txt"]);
    assert_eq!(imported["files"][0]["proposal_number"], 1, "linked by assembly, session and number: {imported}");
    let list = duban.json(&["proposal", "list"]);
    let row = &list[0];
    for field in [
        "id",
        "kind",
        "assembly",
        "session",
        "number",
        "title",
        "lead",
        "co_handlers",
        "assigned_on",
        "reply_by",
        "replied_on",
        "class",
        "status",
    ] {
        assert!(row.get(field).is_some(), "proposal list --json lacks {field}");
    }
    assert_eq!((row["number"].as_str(), row["reply_by"].as_str()), (Some("155201"), Some("2025-05-20")));
    assert_eq!((row["replied_on"].as_str(), row["class"].as_str()), (Some("2025-05-20"), Some("A")), "采纳或解决");
    assert_eq!(row["status"], "replied");
    duban.ok(&["proposal", "contact", "155201号", "--method", "面商", "--on", "2025-04-01"]);
    let shown = duban.ok(&["proposal", "show", "十五届五次155201号"]);
    for expected in ["交办", "联系代表委员", "关联答复", "办理结果分类", "A类（解决采纳）", "承诺 4 项"]
    {
        assert!(shown.contains(expected), "show lacks {expected}:\n{shown}");
    }
    // The proposer's evaluation of the 答复 is the proposal's.
    let reply = duban.json(&["proposal", "show", "#1"])["replies"][0]["reply"]["id"].as_str().unwrap().to_string();
    duban.ok(&["evaluate", &reply, "--satisfaction", "不满意", "--on", "2025-06-01"]);
    assert_eq!(duban.json(&["proposal", "list"])[0]["status"], "rehandling");
    assert_eq!(duban.json(&["proposal", "list", "--status", "重新办理"]).as_array().unwrap().len(), 1);
    assert_eq!(duban.json(&["proposal", "list", "--as-of", "2025-05-31"])[0]["status"], "replied");
}

#[test]
fn refused_proposal_commands_write_nothing() {
    let duban = Duban::new();
    assign(&duban, "155201", &[]);
    let before = duban.export();
    let refusals: &[(&[&str], &str)] = &[
        (
            &[
                "proposal",
                "add",
                "--kind",
                "提案",
                "--assembly",
                "区政协",
                "--session",
                "十五届五次会议",
                "--number",
                "0155201",
                "--title",
                "重复",
                "--lead",
                "区科委",
            ],
            "不能重复交办",
        ),
        (&["proposal", "review", "#1", "--outcome", "已落实", "--summary", "建成"], "尚无主办单位的答复"),
        (&["proposal", "disclose", "#1", "--disclosure", "不予公开"], "--reason"),
        (&["proposal", "contact", "#1", "--method", "电话", "--on", "2025-01-01"], "早于"),
        (
            &[
                "proposal",
                "reassign",
                "#1",
                "--lead",
                "上海市示范区科学技术委员会",
                "--co",
                "上海市示范区财政局",
                "--reason",
                "x",
            ],
            "无需调整",
        ),
        (&["proposal", "contact", "#1", "--method", "飞鸽"], "联系方式"),
        (&["proposal", "show", "999号"], "找不到"),
        (&["proposal", "link", "#1", "#1", "--co", "--lead"], "--lead"),
        (
            &[
                "reply",
                "add",
                "--organ",
                "区科委",
                "--doc-no",
                "科〔2025〕1号",
                "--signed-on",
                "2025-05-01",
                "--proposal",
                "777号",
            ],
            "找不到",
        ),
        (
            &[
                "proposal",
                "add",
                "--kind",
                "提案",
                "--assembly",
                "区政协",
                "--session",
                "五次",
                "--number",
                "2",
                "--title",
                "t",
                "--lead",
                "区科委",
                "--assigned-on",
                "2025-05-01",
                "--reply-by",
                "2025-04-01",
            ],
            "早于交办日期",
        ),
    ];
    for (args, expected) in refusals {
        let output = duban.run(args);
        assert_eq!(output.code, 1, "{args:?}: {}", output.stdout);
        assert!(output.stderr.contains(expected), "{args:?}: {}", output.stderr);
    }
    assert_eq!(duban.export(), before, "a refused command writes nothing");
}

#[test]
fn a_second_reply_after_dissatisfaction_is_the_rehandling_and_stats_are_the_reports_figures() {
    let mut duban = Duban::new();
    duban.now = "2025-12-31T10:00:00+08:00".into();
    assign(&duban, "155201", &[]);
    let add_reply = |doc_no: &str, signed: &str, result: &str| {
        duban.json(&[
            "reply",
            "add",
            "--organ",
            "上海市示范区科学技术委员会",
            "--doc-no",
            doc_no,
            "--signed-on",
            signed,
            "--kind",
            "提案",
            "--assembly",
            "区政协",
            "--session",
            "十五届五次会议",
            "--number",
            "155201",
            "--result",
            result,
        ])
    };
    let first = add_reply("示科委〔2025〕18号", "2025-05-10", "列入计划");
    assert!(first["proposal"].is_string(), "linked by its reference: {first}");
    let first = first["id"].as_str().unwrap().to_string();
    duban.ok(&["evaluate", &first, "--satisfaction", "不满意", "--on", "2025-06-01"]);
    // After 不满意, the organ's next reply under another 文号 is a reply of its own, linked to the same proposal.
    let second = add_reply("示科委〔2025〕30号", "2025-08-01", "解决采纳");
    assert!(second["proposal"].is_string(), "{second}");
    duban.ok(&["evaluate", second["id"].as_str().unwrap(), "--satisfaction", "满意", "--on", "2025-08-20"]);
    let stats = duban.json(&["stats", "--year", "2025"]);
    let report = duban.json(&["report", "--year", "2025"]);
    assert_eq!(stats["metrics"], report["metrics"], "one module, one set of figures");
    let m = &stats["metrics"];
    assert_eq!((m["proposals"].as_u64(), m["replied"].as_u64(), m["rehandled"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(m["replied_on_time"], 1, "the first 答复 (05-10) was before the reply-by date (05-20)");
    assert_eq!((m["satisfied"].as_u64(), m["dissatisfied"].as_u64()), (Some(1), Some(0)), "the latest 答复's");
    assert_eq!(m["class_counts"]["A"], 1, "re-classed by the re-handling's 答复");
    let text = duban.ok(&["stats", "--year", "2025"]);
    assert!(text.contains("承办建议提案 1 件") && text.contains("办复率 100.0%"), "{text}");
}
