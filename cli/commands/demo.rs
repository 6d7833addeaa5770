//! `duban demo`: build a store from the project's own sample reply documents and a believable follow-up history,
//! then show the statuses. Every step goes through the commands staff use (`import`, `progress`, `close`, …), so
//! the demo exercises the real parser and the real checks.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Datelike;
use clap::Parser;
use duban_app::App;
use duban_domain::Horizon;

use super::{Cli, Command};
use crate::toolkit::{refuse, Ctx};

/// 演示：导入项目自带的样例答复文件，补录一段跟踪记录，并列出各项承诺的状态
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 演示数据目录（会重建其中的演示事件库）
    #[arg(long, value_name = "DIR", default_value = "duban-demo")]
    pub dir: PathBuf,
}

/// Marks a directory as the demo's own, so that re-running the demo may replace it and nothing else.
const MARKER: &str = ".duban-demo";

/// The latest business date in the sample history: the demo needs "today" on or after it.
const LAST_SAMPLE_DATE: &str = "2026-10-30";

/// The bundled documents: a GBK text, a web page, a Word document, a numbered list, a Big5 traditional-script reply.
const DOCUMENTS: &[(&str, &[u8])] = &[
    ("keji-gbk.txt", include_bytes!("../../crates/ingest/samples/keji-gbk.txt")),
    ("caizheng.docx", include_bytes!("../../crates/ingest/samples/caizheng.docx")),
    ("jiaoyu.txt", include_bytes!("../../crates/ingest/samples/jiaoyu.txt")),
    ("jiaotong.html", include_bytes!("../../crates/ingest/samples/jiaotong.html")),
    ("tiyu-big5.txt", include_bytes!("../../crates/ingest/samples/tiyu-big5.txt")),
];

/// Follow-up history: (document number, commitment index in the document, command words after the id).
/// `@N` stands for the id of commitment N of the same document.
const HISTORY: &[(&str, usize, &[&str])] = &[
    ("示科委〔2025〕18号", 0, &["progress", "--on", "2025-08-15", "--summary", "办法征求意见稿完成"]),
    (
        "示科委〔2025〕18号",
        0,
        &[
            "close",
            "--outcome",
            "fulfilled",
            "--on",
            "2025-11-30",
            "--summary",
            "《示范区概念验证专项支持办法》印发实施",
            "--evidence",
            "示科委规〔2025〕3号",
        ],
    ),
    (
        "示科委〔2025〕18号",
        1,
        &["progress", "--on", "2025-07-15", "--summary", "完成首家中心选址与运营方遴选", "--percent", "30"],
    ),
    (
        "示科委〔2025〕18号",
        1,
        &[
            "progress",
            "--on",
            "2025-10-20",
            "--summary",
            "首家中心揭牌运营，第二家进入装修",
            "--percent",
            "70",
            "--evidence",
            "揭牌活动新闻稿",
        ],
    ),
    (
        "示科委〔2025〕18号",
        1,
        &[
            "close",
            "--outcome",
            "fulfilled",
            "--on",
            "2025-12-18",
            "--summary",
            "两家中心均已投入运营",
            "--evidence",
            "示科委〔2025〕41号验收报告",
        ],
    ),
    ("示科委〔2025〕18号", 2, &["due", "2026-03-31", "--on", "2025-06-01"]),
    ("示科委〔2025〕18号", 2, &["progress", "--on", "2025-09-10", "--summary", "平台完成开发测试"]),
    (
        "示科委〔2025〕18号",
        3,
        &["dismiss", "--on", "2025-06-05", "--reason", "与同一答复中制定扶持办法的承诺重复", "--duplicate-of", "@0"],
    ),
    (
        "示财〔2025〕12号",
        0,
        &["due", "2026-03-31", "--on", "2025-05-15", "--reason", "区级预算提前下达，经商定提前至一季度"],
    ),
    ("示财〔2025〕12号", 0, &["progress", "--on", "2026-01-20", "--summary", "2026年区级预算已安排1200万元"]),
    (
        "示财〔2025〕12号",
        0,
        &[
            "close",
            "--outcome",
            "fulfilled",
            "--on",
            "2026-02-28",
            "--summary",
            "资金已拨付到位",
            "--evidence",
            "示财〔2026〕5号",
        ],
    ),
    ("示财〔2025〕12号", 1, &["progress", "--on", "2025-09-01", "--summary", "完成风险补偿资金池方案初稿"]),
    ("示教〔2025〕9号", 0, &["progress", "--on", "2025-09-01", "--summary", "全区38所小学开始试行"]),
    (
        "示教〔2025〕9号",
        0,
        &[
            "close",
            "--outcome",
            "fulfilled",
            "--on",
            "2025-10-15",
            "--summary",
            "38所小学全部开设课后延时服务",
            "--evidence",
            "区教育局2025年秋季课后服务统计表",
        ],
    ),
    ("示教〔2025〕9号", 1, &["progress", "--on", "2026-03-01", "--summary", "办法征求意见稿已完成"]),
    ("示教〔2025〕9号", 1, &["due", "2026-12-31", "--on", "2026-05-20", "--reason", "需与区财政局会签，顺延至年底"]),
    (
        "示教〔2025〕9号",
        1,
        &["progress", "--on", "2026-10-15", "--summary", "已提交区政府常务会议审议", "--percent", "80"],
    ),
    ("示教〔2025〕9号", 2, &["progress", "--on", "2025-11-01", "--summary", "两所新建学校设计方案已纳入"]),
    ("示教〔2025〕9号", 2, &["progress", "--on", "2026-09-20", "--summary", "三所改扩建学校完成方案审查"]),
    ("示交函〔2025〕27号", 0, &["progress", "--on", "2025-09-15", "--summary", "完成东片区客流调查"]),
    (
        "示交函〔2025〕27号",
        0,
        &[
            "close",
            "--outcome",
            "partially-fulfilled",
            "--on",
            "2026-01-10",
            "--summary",
            "环线已开通试运行，沿线站点配套尚未完成",
            "--evidence",
            "示交〔2026〕2号",
        ],
    ),
    ("示交函〔2025〕27号", 1, &["due", "2026-06-30", "--on", "2025-07-10"]),
    ("示交函〔2025〕27号", 1, &["note", "--on", "2026-07-08", "--text", "电话督办：客运站改造待年度资金下达"]),
    ("示文旅函〔2024〕15號", 0, &["progress", "--on", "2024-11-20", "--summary", "已建成社区健身点6处"]),
    (
        "示文旅函〔2024〕15號",
        0,
        &["close", "--outcome", "not-fulfilled", "--on", "2025-01-10", "--summary", "年内建成8处，未达10处目标"],
    ),
];

/// Evaluations by the proposers: (document number, date, satisfaction).
const EVALUATIONS: &[(&str, &str, &str)] = &[
    ("示科委〔2025〕18号", "2025-06-30", "满意"),
    ("示教〔2025〕9号", "2025-07-05", "基本满意"),
    ("示交函〔2025〕27号", "2025-08-01", "不满意"),
];

/// The proposals (件) the sample replies answer, assigned before the replies arrive so that `import` links them,
/// and two more: one of 2024 answered by a reply entered by hand, one never answered. Command words after
/// `proposal add`.
const PROPOSALS: &[&[&str]] = &[
    &[
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届五次会议",
        "--number",
        "155201",
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
        "--key",
    ],
    &[
        "--kind",
        "建议",
        "--assembly",
        "区人大",
        "--session",
        "十七届四次会议",
        "--number",
        "0087",
        "--title",
        "关于做好小学课后服务的建议",
        "--proposer",
        "刘敏",
        "--lead",
        "上海市示范区教育局",
        "--assigned-on",
        "2025-03-01",
        "--led-by",
        "王副区长",
    ],
    &[
        "--kind",
        "建议",
        "--assembly",
        "县人大",
        "--session",
        "十八届三次会议",
        "--number",
        "27",
        "--title",
        "关于改善东片区公交接驳的建议",
        "--proposer",
        "赵刚",
        "--lead",
        "示范县交通运输局",
        "--assigned-on",
        "2025-03-10",
        "--between-sessions",
    ],
    &[
        "--kind",
        "建议",
        "--assembly",
        "市人大",
        "--session",
        "十届二次会议",
        "--number",
        "15",
        "--title",
        "关于增设社区健身点的建议",
        "--proposer",
        "孙红",
        "--lead",
        "示範市文化旅遊局",
        "--assigned-on",
        "2024-03-01",
    ],
    &[
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届四次会议",
        "--number",
        "140512",
        "--title",
        "关于建设区级科技金融服务平台的提案",
        "--proposer",
        "钱明",
        "--lead",
        "上海市示范区科学技术委员会",
        "--assigned-on",
        "2024-02-20",
    ],
    &[
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届五次会议",
        "--number",
        "155388",
        "--title",
        "关于支持科技企业人才安居的提案",
        "--proposer",
        "吴芳",
        "--lead",
        "上海市示范区科学技术委员会",
        "--co",
        "上海市示范区财政局",
        "--assigned-on",
        "2025-09-01",
    ],
    &[
        "--kind",
        "建议",
        "--assembly",
        "区人大",
        "--session",
        "十七届四次会议",
        "--number",
        "0102",
        "--title",
        "关于在东片区增设国际学校的建议",
        "--proposer",
        "郑洁",
        "--lead",
        "上海市示范区教育局",
        "--assigned-on",
        "2025-03-01",
    ],
];

/// The handling after the replies: (proposal number, command words after `proposal`, then the proposal's id).
const HANDLING: &[(&str, &[&str])] = &[
    ("155201", &["contact", "--method", "面商", "--on", "2025-04-08", "--note", "走访概念验证中心选址"]),
    ("0087", &["contact", "--method", "电话", "--on", "2025-05-06"]),
    ("0087", &["disclose", "--disclosure", "依申请公开", "--on", "2025-06-10"]),
    ("27", &["disclose", "--disclosure", "不予公开", "--reason", "涉及线路调整尚未决策", "--on", "2025-07-01"]),
    ("27", &["classify", "--class", "B", "--reason", "答复称正在研究，按正在解决归类", "--on", "2025-07-02"]),
    ("15", &["classify", "--class", "B", "--reason", "答复称列入年度计划", "--on", "2024-09-02"]),
    ("15", &["review", "--outcome", "未落实", "--summary", "年内建成8处，未达10处目标", "--on", "2025-03-15"]),
    ("140512", &["review", "--outcome", "已落实", "--summary", "科技金融服务平台已上线运行", "--on", "2025-06-20"]),
    ("155388", &["contact", "--method", "电话", "--on", "2025-10-10"]),
];

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if ctx.today() < LAST_SAMPLE_DATE.parse()? {
        return refuse(format!("演示数据的最后日期是 {LAST_SAMPLE_DATE}，今天（{}）早于它", ctx.today()));
    }
    prepare_dir(&args.dir)?;
    let samples = args.dir.join("samples");
    std::fs::create_dir_all(&samples)?;
    for (name, bytes) in DOCUMENTS {
        std::fs::write(samples.join(name), bytes)?;
    }
    let store_path = args.dir.join("duban.db");
    let app = App::create(&store_path)?;
    let step = |words: &[&str]| -> anyhow::Result<String> {
        let mut out = Vec::new();
        let mut step_ctx = Ctx {
            store_path: store_path.clone(),
            actor: "演示".into(),
            now: ctx.now,
            fixed_clock: ctx.fixed_clock,
            json: false,
            out: &mut out,
            shared: Some(app.clone()),
            aliases: ctx.aliases.clone(),
            width: ctx.width,
            server: None,
        };
        let cli = Cli::try_parse_from([&["duban"], words].concat())?;
        super::dispatch(&mut step_ctx, cli.command).with_context(|| format!("演示步骤失败：{}", words.join(" ")))?;
        Ok(String::from_utf8(out)?.trim().to_string())
    };
    for words in PROPOSALS {
        step(&[&["proposal", "add"], *words].concat())?;
    }
    step(&["import", &samples.to_string_lossy()])?;
    // The 2024 proposal answered by a reply entered by hand, its promise kept in 2025.
    let reply = step(&[
        "reply",
        "add",
        "--organ",
        "上海市示范区科学技术委员会",
        "--doc-no",
        "示科委〔2024〕21号",
        "--signed-on",
        "2024-05-15",
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届四次会议",
        "--number",
        "140512",
        "--proposer",
        "钱明",
        "--title",
        "关于建设区级科技金融服务平台的提案",
        "--result",
        "列入计划解决",
        "--disclosure",
        "主动公开",
    ])?;
    let reply = reply.lines().next().unwrap_or_default().to_string();
    let platform = step(&[
        "commit",
        "add",
        "--reply",
        &reply,
        "--text",
        "2025年上半年建成区级科技金融服务平台。",
        "--due",
        "2025-06-30",
    ])?;
    step(&[
        "close",
        &platform,
        "--outcome",
        "fulfilled",
        "--on",
        "2025-06-10",
        "--summary",
        "平台上线运行",
        "--evidence",
        "示科委〔2025〕33号",
    ])?;
    // A 2025 suggestion kept for reference (C类), answered without promises.
    step(&[
        "reply",
        "add",
        "--organ",
        "上海市示范区教育局",
        "--doc-no",
        "示教〔2025〕14号",
        "--signed-on",
        "2025-05-28",
        "--kind",
        "建议",
        "--assembly",
        "区人大",
        "--session",
        "十七届四次会议",
        "--number",
        "0102",
        "--proposer",
        "郑洁",
        "--title",
        "关于在东片区增设国际学校的建议",
        "--result",
        "留作参考",
        "--disclosure",
        "主动公开",
    ])?;
    for (number, words) in HANDLING {
        let id = format!("{number}号");
        step(&[&["proposal", words[0], &id], &words[1..]].concat())?;
    }
    let ids = imported_commitments(&app)?;
    let commitment = |doc_no: &str, index: usize| -> anyhow::Result<String> {
        ids.iter()
            .find(|(number, _)| number == doc_no)
            .and_then(|(_, list)| list.get(index).cloned())
            .with_context(|| format!("样例 {doc_no} 中没有第 {} 项承诺", index + 1))
    };
    for (doc_no, index, words) in HISTORY {
        let id = commitment(doc_no, *index)?;
        let mut resolved = vec![words[0].to_string(), id];
        for word in &words[1..] {
            resolved.push(match word.strip_prefix('@') {
                Some(n) => commitment(doc_no, n.parse()?)?,
                None => word.to_string(),
            });
        }
        step(&resolved.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    for (doc_no, on, satisfaction) in EVALUATIONS {
        let reply_id = reply_id(&app, doc_no)?;
        step(&["evaluate", &reply_id, "--on", on, "--satisfaction", satisfaction])?;
    }
    // A reply entered by hand, too recent to have moved.
    let reply = step(&[
        "reply",
        "add",
        "--organ",
        "上海市示范区科学技术委员会",
        "--doc-no",
        "示科委〔2026〕7号",
        "--signed-on",
        "2026-10-30",
        "--kind",
        "提案",
        "--assembly",
        "区政协",
        "--session",
        "十五届六次会议",
        "--number",
        "160032",
        "--proposer",
        "周宁",
        "--title",
        "关于提升科技企业孵化器服务能级的提案",
        "--result",
        "B",
    ])?;
    step(&[
        "commit",
        "add",
        "--reply",
        &reply,
        "--text",
        "计划于2027年一季度启动科技企业孵化器提质行动。",
        "--due",
        "2027-03-31",
    ])?;
    std::fs::write(args.dir.join(MARKER), "duban demo\n")?;
    let year = (ctx.today().year() - 1).to_string();
    let report_path = args.dir.join(format!("report-{year}.html"));
    if ctx.json {
        step(&["report", "--year", &year, "--format", "html", "--out", &report_path.to_string_lossy()])?;
        let listing = app.list(&duban_app::ListFilter::default(), &duban_app::View::now(ctx.today()))?;
        let statuses: std::collections::BTreeMap<&str, usize> =
            listing.counts().into_iter().map(|(status, count)| (status.code(), count)).collect();
        return ctx.print_json(&serde_json::json!({
            "store": store_path, "samples": samples, "report": report_path,
            "commitments": listing.rows.len(), "statuses": statuses,
        }));
    }
    writeln!(ctx.out, "演示事件库已建立：{}（样例答复文件见 {}）\n", store_path.display(), samples.display())?;
    let Command::List(list) = Cli::try_parse_from(["duban", "list"])?.command else {
        unreachable!("list parses as list")
    };
    let mut list_ctx = Ctx {
        store_path: store_path.clone(),
        actor: ctx.actor.clone(),
        now: ctx.now,
        fixed_clock: ctx.fixed_clock,
        json: false,
        out: &mut *ctx.out,
        shared: Some(app.clone()),
        aliases: ctx.aliases.clone(),
        width: ctx.width,
        server: None,
    };
    super::list::run(&mut list_ctx, list)?;
    // The annual report of the last complete year, as staff would hand it upward.
    step(&["report", "--year", &year, "--format", "html", "--out", &report_path.to_string_lossy()])?;
    writeln!(ctx.out, "\n{year} 年度跟踪报告（HTML）：{}", report_path.display())?;
    writeln!(ctx.out, "接着可以试试：duban --store {} show <编号>", store_path.display())?;
    Ok(())
}

/// Each imported document's number with its commitments' ids, in the order they stand in the document.
fn imported_commitments(app: &App) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let families = app.families(Horizon::ALL, |reply, commitments| (reply.cloned(), commitments.to_vec()))?;
    let mut result = Vec::new();
    for (reply, commitments) in families {
        let Some(reply) = reply else { continue };
        // 编号 follows the order they were recorded in: the order they stand in the document.
        let mut ordered: Vec<(u64, String)> =
            commitments.iter().filter_map(|commitment| Some((commitment.number, commitment.id?.to_string()))).collect();
        ordered.sort();
        result.push((reply.doc_no().to_string(), ordered.into_iter().map(|(_, id)| id).collect()));
    }
    Ok(result)
}

fn reply_id(app: &App, doc_no: &str) -> anyhow::Result<String> {
    let families = app.families(Horizon::ALL, |reply, _| reply.cloned())?;
    let reply = families.into_iter().flatten().find(|reply| reply.doc_no() == doc_no);
    reply.and_then(|reply| reply.id).map(|id| id.to_string()).with_context(|| format!("样例 {doc_no} 未导入"))
}

/// Empties the demo directory if it is the demo's own; refuses to touch anything else.
fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let is_empty = std::fs::read_dir(dir)?.next().is_none();
        if !is_empty && !dir.join(MARKER).exists() {
            return refuse(format!("{} 已存在且不是 duban 演示目录；请用 --dir 指定其他目录", dir.display()));
        }
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}
