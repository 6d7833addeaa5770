//! `duban demo`: build a store from the project's own sample replies and a believable follow-up history, then show
//! the statuses. Every step goes through the same commands staff use, so the demo exercises the real checks.

use std::path::PathBuf;

use clap::Parser;

use super::{refuse, Cli, Ctx};

/// 演示：用项目自带的样例答复和跟踪记录建立一个事件库，并列出各项承诺的状态
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

/// One sample reply: its `reply add` arguments, and per commitment its `commit add` arguments and follow-up steps.
struct SampleReply {
    reply: &'static [&'static str],
    evaluation: Option<(&'static str, &'static str)>,
    commitments: &'static [(&'static [&'static str], &'static [&'static [&'static str]])],
}

const SAMPLES: &[SampleReply] = &[
    SampleReply {
        reply: &[
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
            "--proposer",
            "陈晓",
            "--proposer",
            "林立",
            "--title",
            "关于加快建设概念验证中心的提案",
            "--result",
            "采纳或解决",
            "--doc-type",
            "答复",
        ],
        evaluation: Some(("2025-06-30", "满意")),
        commitments: &[
            (
                &["--text", "年内建成2家区级概念验证中心，对入驻项目实行里程碑式管理。", "--due", "2025-12-31"],
                &[
                    &["progress", "--on", "2025-07-15", "--summary", "完成首家中心选址与运营方遴选", "--percent", "30"],
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
                ],
            ),
            (
                &["--text", "搭建科技成果转化线上对接平台，每季度发布一批企业技术需求清单。", "--due", "2026-03-31"],
                &[&["progress", "--on", "2025-09-10", "--summary", "平台完成开发测试"]],
            ),
            (&["--text", "研究制定科技成果转化专项扶持办法。", "--section", "body"], &[]),
        ],
    },
    SampleReply {
        reply: &[
            "--organ",
            "上海市示范区教育局",
            "--doc-no",
            "示教〔2025〕9号",
            "--signed-on",
            "2025-06-10",
            "--kind",
            "建议",
            "--assembly",
            "区人大",
            "--session",
            "十七届四次会议",
            "--number",
            "0087",
            "--proposer",
            "王敏",
            "--title",
            "关于增加中小学课后服务供给的建议",
            "--result",
            "B",
        ],
        evaluation: Some(("2025-07-05", "基本满意")),
        commitments: &[
            (
                &["--text", "2025年秋季学期起在全区小学全面推行课后延时服务。", "--due", "2025-09-30"],
                &[
                    &["progress", "--on", "2025-09-01", "--summary", "全区38所小学开始试行"],
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
                ],
            ),
            (
                &["--text", "拟于2026年上半年出台课后服务经费保障办法。", "--due", "2026-06-30"],
                &[
                    &["progress", "--on", "2026-03-01", "--summary", "办法征求意见稿已完成"],
                    &["due", "2026-12-31", "--on", "2026-05-20", "--reason", "需与区财政局会签，顺延至年底"],
                    &["progress", "--on", "2026-10-15", "--summary", "已提交区政府常务会议审议", "--percent", "80"],
                ],
            ),
            (
                &["--text", "新建、改扩建学校同步规划课后服务功能场所。"],
                &[
                    &["progress", "--on", "2025-11-01", "--summary", "两所新建学校设计方案已纳入"],
                    &["progress", "--on", "2026-09-20", "--summary", "三所改扩建学校完成方案审查"],
                ],
            ),
        ],
    },
    SampleReply {
        reply: &[
            "--organ",
            "上海市示范区交通委员会",
            "--doc-no",
            "示交〔2025〕33号",
            "--signed-on",
            "2025-06-25",
            "--kind",
            "提案",
            "--assembly",
            "区政协",
            "--session",
            "十五届五次会议",
            "--number",
            "155318",
            "--proposer",
            "赵启明",
            "--title",
            "关于优化社区公交微循环的提案",
            "--result",
            "部分采纳或解决",
        ],
        evaluation: Some(("2025-08-01", "不满意")),
        commitments: &[
            (
                &["--text", "年底前新辟2条社区微循环公交线路。", "--due", "2025-12-31"],
                &[
                    &["progress", "--on", "2025-09-15", "--summary", "完成线路客流调查"],
                    &[
                        "close",
                        "--outcome",
                        "partially-fulfilled",
                        "--on",
                        "2026-01-10",
                        "--summary",
                        "新辟1条线路，另1条因道路施工暂缓",
                        "--evidence",
                        "示交〔2026〕2号",
                    ],
                ],
            ),
            (
                &[
                    "--text",
                    "会同区建管委在2026年6月底前完成沿线候车亭改造。",
                    "--due",
                    "2026-06-30",
                    "--co-handler",
                    "上海市示范区建设和管理委员会",
                ],
                &[&["note", "--on", "2026-07-08", "--text", "电话督办：建管委称待年度资金下达"]],
            ),
            (
                &["--text", "年底前新辟两条社区微循环公交线路"],
                &[&["dismiss", "--on", "2025-07-01", "--reason", "与同一答复中的承诺重复登记", "--duplicate-of", "@0"]],
            ),
        ],
    },
    SampleReply {
        reply: &[
            "--organ",
            "上海市示范区财政局",
            "--doc-no",
            "示财〔2025〕12号",
            "--signed-on",
            "2025-05-10",
            "--kind",
            "提案",
            "--assembly",
            "区政协",
            "--session",
            "十五届五次会议",
            "--number",
            "155201",
            "--proposer",
            "陈晓",
            "--doc-type",
            "会办意见",
            "--addressee",
            "上海市示范区科学技术委员会",
        ],
        evaluation: None,
        commitments: &[(
            &["--text", "将在2026年区级预算中统筹安排概念验证中心建设资金。", "--due", "2026-03-31"],
            &[
                &["progress", "--on", "2026-01-20", "--summary", "2026年区级预算已安排1200万元"],
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
            ],
        )],
    },
    SampleReply {
        reply: &[
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
        ],
        evaluation: None,
        commitments: &[(&["--text", "计划于2027年一季度启动科技企业孵化器提质行动。", "--due", "2027-03-31"], &[])],
    },
];

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if ctx.today() < LAST_SAMPLE_DATE.parse()? {
        return refuse(format!("演示数据的最后日期是 {LAST_SAMPLE_DATE}，今天（{}）早于它", ctx.today()));
    }
    prepare_dir(&args.dir)?;
    let store_path = args.dir.join("duban.db");
    let store_text = store_path.to_string_lossy().to_string();
    let now = ctx.now.to_rfc3339();
    let step = |words: &[&str]| -> anyhow::Result<String> {
        let mut argv = vec!["duban", "--store", &store_text, "--actor", "演示", "--now", &now];
        argv.extend_from_slice(words);
        let mut out = Vec::new();
        super::run(Cli::try_parse_from(argv)?, &mut out)?;
        Ok(String::from_utf8(out)?.trim().to_string())
    };
    step(&["init"])?;
    let (mut replies, mut commitments, mut events) = (0, 0, 0);
    for sample in SAMPLES {
        let reply = step(&[&["reply", "add"], sample.reply].concat())?;
        replies += 1;
        if let Some((on, satisfaction)) = sample.evaluation {
            step(&["evaluate", &reply, "--on", on, "--satisfaction", satisfaction])?;
            events += 1;
        }
        let mut made: Vec<String> = Vec::new();
        for (commit_args, history) in sample.commitments {
            let id = step(&[&["commit", "add", "--reply", &reply], *commit_args].concat())?;
            commitments += 1;
            for fact in *history {
                // `@N` names the N-th commitment of this reply (for --duplicate-of).
                let resolved: Vec<&str> = fact
                    .iter()
                    .map(|word| {
                        word.strip_prefix('@')
                            .and_then(|n| made.get(n.parse::<usize>().ok()?))
                            .map_or(*word, |id| id.as_str())
                    })
                    .collect();
                let (command, rest) = resolved.split_first().expect("a step names its command");
                step(&[&[*command, &id], rest].concat())?;
                events += 1;
            }
            made.push(id);
        }
    }
    std::fs::write(args.dir.join(MARKER), "duban demo\n")?;
    writeln!(
        ctx.out,
        "演示事件库已建立：{}（答复 {replies} 件，承诺 {commitments} 项，跟踪记录 {events} 条）\n",
        store_path.display()
    )?;
    super::run(Cli::try_parse_from(["duban", "--store", &store_text, "--now", &now, "list"])?, ctx.out)?;
    writeln!(ctx.out, "\n接着可以试试：duban --store {} show <编号>", store_path.display())?;
    Ok(())
}

/// Empties the demo directory if it is the demo's own; refuses to touch anything else.
fn prepare_dir(dir: &std::path::Path) -> anyhow::Result<()> {
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
