//! `duban reply add`, `list`, `show` and `amend`: register a reply document by hand, see the registered replies and
//! one of them whole, and correct what a registration says.

use chrono::NaiveDate;
use duban_app::{proposal_text, ReplyView};
use duban_domain::{Contact, ProposalKind, ProposalRef, ReplyAmended, ReplyRegistered, ReplyState};

use crate::output::{fitted, table, Column, Give};
use crate::time::parse_date;
use crate::toolkit::Ctx;
use crate::view::TimeTravel;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Add(Box<AddArgs>),
    List(ListArgs),
    Show(ShowArgs),
    Amend(Box<AmendArgs>),
}

/// 查看一件答复：登记信息、来源、待补全项、更正记录和其中的承诺
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// 答复：编号（#12）、提案号（十四届三次1221号）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    #[command(flatten)]
    pub time: TimeTravel,
}

/// 更正答复的登记信息（读错或待补全的字段），须说明理由；原登记保留在日志中
#[derive(clap::Args, Debug)]
pub struct AmendArgs {
    /// 答复：编号（#12）、提案号（十四届三次1221号）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 答复单位
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 文号
    #[arg(long, value_name = "NO")]
    pub doc_no: Option<String>,
    /// 签发日期
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub signed_on: Option<NaiveDate>,
    /// 文种：答复 或 会办意见
    #[arg(long)]
    pub doc_type: Option<String>,
    /// 建议或提案的标题
    #[arg(long)]
    pub title: Option<String>,
    /// 办理结果
    #[arg(long)]
    pub result: Option<String>,
    /// 会议主体（如 市政协、区人大）
    #[arg(long)]
    pub assembly: Option<String>,
    /// 届次（如 十四届三次会议）
    #[arg(long)]
    pub session: Option<String>,
    /// 建议或提案编号
    #[arg(long)]
    pub number: Option<String>,
    /// 类别：提案 或 建议
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<ProposalKind>,
    /// 提出人（可多次给出；给出即替换全部提出人）
    #[arg(long = "proposer", value_name = "NAME")]
    pub proposers: Vec<String>,
    /// 更正理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// 登记一份答复（或会办意见），输出其编号
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// 答复单位（如 上海市科学技术委员会）
    #[arg(long, value_name = "ORGAN")]
    pub organ: String,
    /// 文号（如 沪科提复〔2025〕62号）
    #[arg(long, value_name = "NO")]
    pub doc_no: String,
    /// 签发日期
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub signed_on: NaiveDate,
    /// 建议或提案的标题
    #[arg(long)]
    pub title: Option<String>,
    /// 类别：提案 或 建议
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<ProposalKind>,
    /// 会议主体（如 市政协、区人大）
    #[arg(long)]
    pub assembly: Option<String>,
    /// 届次（如 十四届三次会议）
    #[arg(long)]
    pub session: Option<String>,
    /// 建议或提案编号（照写，保留前导 0）
    #[arg(long)]
    pub number: Option<String>,
    /// 提出人（可多次给出）
    #[arg(long = "proposer", value_name = "NAME")]
    pub proposers: Vec<String>,
    /// 办理结果（如 解决采纳、B）
    #[arg(long)]
    pub result: Option<String>,
    /// 公开属性
    #[arg(long)]
    pub disclosure: Option<String>,
    /// 文种：答复 或 会办意见
    #[arg(long)]
    pub doc_type: Option<String>,
    /// 会办意见的主送单位
    #[arg(long)]
    pub addressee: Option<String>,
    /// 印发日期
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub printed_on: Option<NaiveDate>,
    /// 联系人
    #[arg(long)]
    pub contact_name: Option<String>,
    /// 联系电话
    #[arg(long)]
    pub contact_phone: Option<String>,
    /// 抄送单位（可多次给出）
    #[arg(long = "cc", value_name = "ORGAN")]
    pub cc: Vec<String>,
    /// 所答复的建议提案（编号 #5、案号或 ID）：登记后即关联；不给出时按会议、届次、案号自动关联已交办的
    #[arg(long, value_name = "PROPOSAL")]
    pub proposal: Option<String>,
}

/// 列出已登记的答复
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// 只看某单位的答复（简称、繁体、全角均可）
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 只看某年签发的答复（未写签发日期的按登记日期）
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i32>,
    /// 只看某件建议提案的答复（编号，或会议、届次等文字）
    #[arg(long, value_name = "TEXT")]
    pub proposal: Option<String>,
    /// 只看待补全（缺答复单位、文号或签发日期）的答复
    #[arg(long)]
    pub incomplete: bool,
    #[command(flatten)]
    pub time: TimeTravel,
}

fn parse_kind(text: &str) -> Result<ProposalKind, String> {
    ProposalKind::parse(text).ok_or_else(|| format!("类别“{text}”无效：可选 提案 或 建议"))
}

pub fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add(args) => add(ctx, *args),
        Command::List(args) => list(ctx, args),
        Command::Show(args) => show(ctx, args),
        Command::Amend(args) => amend(ctx, *args),
    }
}

fn amend(ctx: &mut Ctx, args: AmendArgs) -> anyhow::Result<()> {
    let amended = ReplyAmended {
        organ: args.organ,
        doc_no: args.doc_no,
        signed_on: args.signed_on,
        doc_type: args.doc_type,
        title: args.title,
        result: args.result,
        assembly: args.assembly,
        session: args.session,
        number: args.number,
        kind: args.kind,
        proposers: (!args.proposers.is_empty()).then_some(args.proposers),
        reason: args.reason,
    };
    let what = amended.describe();
    let done = ctx.app()?.amend_reply(&ctx.context()?, &args.id, amended)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "id": done.id.to_string(), "seq": done.seq }));
    }
    writeln!(ctx.out, "已更正：答复 {}（{} {}）{what}（日志第 {} 条）", done.id, done.organ, done.doc_no, done.seq)?;
    Ok(())
}

fn show(ctx: &mut Ctx, args: ShowArgs) -> anyhow::Result<()> {
    let view = args.time.view(ctx.today());
    let detail = ctx.reader()?.reply(&args.id, &view)?;
    let reply = &detail.reply;
    if ctx.json {
        let commitments: Vec<duban_app::CommitmentView> = detail
            .commitments
            .iter()
            .map(|(state, status)| {
                let short = state.id.map(|id| id.to_string()).unwrap_or_default();
                duban_app::CommitmentView::new(state, Some(reply), *status, short, view.policy)
            })
            .collect();
        let events: Vec<duban_app::EventView> = detail.events.iter().map(duban_app::EventView::new).collect();
        return ctx.print_json(&serde_json::json!({
            "reply": ReplyView::new(reply, detail.commitments.len()),
            "source": reply.registered.as_ref().and_then(|r| r.source.as_ref()),
            "amendments": reply.amendments,
            "commitments": commitments,
            "events": events,
        }));
    }
    let out = &mut ctx.out;
    let registered = reply.registered.as_ref();
    let or_missing = |text: &str| if text.trim().is_empty() { "（待补全）".to_string() } else { text.to_string() };
    writeln!(out, "答复 #{}（{}，短号 {}）", reply.number, detail.id, detail.short_id)?;
    writeln!(out, "答复单位：{}", or_missing(reply.organ()))?;
    writeln!(out, "文号：{}", or_missing(reply.doc_no()))?;
    writeln!(out, "签发日期：{}", reply.signed_on().map_or_else(|| "（待补全）".to_string(), |d| d.to_string()))?;
    let proposal = proposal_text(reply);
    if !proposal.is_empty() {
        writeln!(out, "答复：{proposal}")?;
    }
    if let Some(title) = registered.and_then(|r| r.title.as_deref()) {
        writeln!(out, "标题：{title}")?;
    }
    if let Some(result) = registered.and_then(|r| r.result.as_deref()) {
        writeln!(out, "办理结果：{result}")?;
    }
    if let Some(source) = registered.and_then(|r| r.source.as_ref()) {
        writeln!(out, "来源文件：{}（SHA-256 {}）", source.file_name, &source.sha256[..source.sha256.len().min(12)])?;
    }
    let missing = reply.missing();
    if !missing.is_empty() {
        writeln!(out, "待补全：{}（可用 duban reply amend 补正）", missing.join("、"))?;
    }
    let amendments: Vec<&duban_domain::Envelope> =
        detail.events.iter().filter(|e| matches!(e.event, duban_domain::Event::ReplyAmended(_))).collect();
    if !amendments.is_empty() {
        writeln!(out, "更正记录：")?;
        for envelope in amendments {
            writeln!(
                out,
                "  {} {}（{}，日志第 {} 条）",
                envelope.occurred_on,
                envelope.event.summary(),
                envelope.actor,
                envelope.seq
            )?;
        }
    }
    // What the person who reviewed the document's reading changed before it was registered (the web's 文件导入).
    for envelope in detail.events.iter().filter(|e| matches!(e.event, duban_domain::Event::IntakeReviewed(_))) {
        writeln!(out, "导入复核：{}（{}，日志第 {} 条）", envelope.event.summary(), envelope.actor, envelope.seq)?;
    }
    let mut commitments = table(&["编号", "也可写作", "状态", "期限", "承诺内容"]);
    for (state, status) in &detail.commitments {
        let position =
            state.id.and_then(|id| duban_app::position_of(detail.commitments.iter().map(|(state, _)| state), &id));
        commitments.add_row(vec![
            format!("#{}", state.number),
            position.map(|p| duban_app::position_reference(reply.number, p)).unwrap_or_default(),
            status.label().to_string(),
            state.due_on(view.policy).map_or_else(|| "—".to_string(), |d| d.to_string()),
            state.text.clone(),
        ]);
    }
    writeln!(out, "承诺 {} 项：", detail.commitments.len())?;
    if !detail.commitments.is_empty() {
        writeln!(out, "{commitments}")?;
    }
    Ok(())
}

fn add(ctx: &mut Ctx, args: AddArgs) -> anyhow::Result<()> {
    let contact = (args.contact_name.is_some() || args.contact_phone.is_some()).then(|| Contact {
        name: args.contact_name,
        phone: args.contact_phone,
        ..Contact::default()
    });
    let registered = ReplyRegistered {
        doc_type: args.doc_type,
        organ: args.organ,
        doc_no: args.doc_no,
        proposal: ProposalRef { assembly: args.assembly, session: args.session, number: args.number, kind: args.kind },
        proposers: args.proposers,
        title: args.title,
        result: args.result,
        disclosure: args.disclosure,
        addressee: args.addressee,
        signed_on: Some(args.signed_on),
        printed_on: args.printed_on,
        contact,
        cc: args.cc,
        source: None,
    };
    let app = ctx.app()?;
    let context = ctx.context()?;
    // The proposal is checked before the reply is registered: a mistyped one writes nothing.
    let proposal = match &args.proposal {
        Some(input) => Some(app.proposal_now(input)?.0),
        None => None,
    };
    let id = app.register_reply(&context, registered)?;
    let linked = match proposal {
        Some(proposal) => Some(app.link_reply(&context, &proposal.to_string(), &id.to_string(), None)?),
        None => {
            let reply = app.reply_now(&id.to_string())?.1;
            match app.proposal_for(&reply)? {
                Some((proposal, _)) => Some(app.link_reply(&context, &proposal.to_string(), &id.to_string(), None)?),
                None => None,
            }
        }
    };
    if ctx.json {
        let proposal = linked.as_ref().map(|linked| linked.id.to_string());
        return ctx.print_json(&serde_json::json!({ "id": id.to_string(), "proposal": proposal }));
    }
    writeln!(ctx.out, "{id}")?;
    if let Some(linked) = linked {
        writeln!(ctx.out, "已关联到建议提案 #{}", linked.number)?;
    }
    Ok(())
}

fn list(ctx: &mut Ctx, args: ListArgs) -> anyhow::Result<()> {
    let app = ctx.reader()?;
    let filter = duban_app::ReplyFilter {
        organ: args.organ.as_deref().map(|organ| ctx.organ(organ)),
        year: args.year,
        proposal: args.proposal.clone(),
        incomplete: args.incomplete,
    };
    let mut rows = app.replies(&args.time.view(ctx.today()))?;
    rows.retain(|row| filter.keeps(&row.reply));
    if ctx.json {
        let views: Vec<ReplyView> = rows.iter().map(|row| ReplyView::new(&row.reply, row.commitments)).collect();
        return ctx.print_json(&views);
    }
    if args.time.is_set() {
        writeln!(ctx.out, "{}", args.time.describe())?;
    }
    let or_missing = |text: &str| if text.trim().is_empty() { "待补全".to_string() } else { text.to_string() };
    let column = |header, give, cell: &dyn Fn(&ReplyState) -> String| {
        Column::new(header, give, rows.iter().map(|row| cell(&row.reply)).collect())
    };
    let counts = Column::new("承诺", Give::Never, rows.iter().map(|row| row.commitments.to_string()).collect());
    let out = fitted(
        ctx.width,
        vec![
            column("编号", Give::Never, &|reply| format!("#{}", reply.number)),
            column("签发日期", Give::Never, &|reply| {
                reply.signed_on().map_or_else(|| "待补全".to_string(), |date| date.to_string())
            }),
            column("答复单位", Give::Clip(24), &|reply| or_missing(reply.organ())),
            column("文号", Give::Clip(24), &|reply| or_missing(reply.doc_no())).droppable(2),
            column("建议提案", Give::Rest(36), &|reply| proposal_text(reply)),
            column("办理结果", Give::Clip(12), &|reply| {
                reply.registered.as_ref().and_then(|r| r.result.clone()).unwrap_or_else(|| "—".into())
            })
            .droppable(0),
            column("评价", Give::Never, &|reply| reply.evaluation.map_or("—", |(_, s)| s.label()).to_string())
                .droppable(1),
            counts,
        ],
    );
    writeln!(ctx.out, "{out}")?;
    let incomplete = rows.iter().filter(|row| !row.reply.missing().is_empty()).count();
    if incomplete > 0 {
        writeln!(
            ctx.out,
            "共 {} 件答复，其中 {incomplete} 件待补全（文件中未找到答复单位、文号或签发日期）",
            rows.len()
        )?;
    } else {
        writeln!(ctx.out, "共 {} 件答复", rows.len())?;
    }
    Ok(())
}
