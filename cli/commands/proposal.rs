//! `duban proposal …`: the handling of a suggestion or proposal (件) — 交办, 退办 and re-assignment, contact with
//! the proposer, linking its replies, class, disclosure, 回头看 — and the proposal register.

use chrono::NaiveDate;
use duban_app::{NewProposal, ProposalRecorded, ProposalRow, ProposalView};
use duban_domain::{
    ContactMethod, Disclosure, Event, Outcome, ProposalClassified, ProposalDisclosed, ProposalKind, ProposalReassigned,
    ProposalReviewed, ProposalStatus, ProposerContacted, ReplyClass,
};

use crate::output::{date_or_dash, fitted, table, Column, Give};
use crate::time::parse_date;
use crate::toolkit::{refuse, Ctx};
use crate::view::TimeTravel;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Add(Box<AddArgs>),
    List(ListArgs),
    Show(ShowArgs),
    Link(LinkArgs),
    Reassign(ReassignArgs),
    Contact(ContactArgs),
    Classify(ClassifyArgs),
    Disclose(DiscloseArgs),
    Review(ReviewArgs),
}

/// 交办一件建议或提案（主办、会办单位与答复期限），输出其编号
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// 类别：提案 或 建议
    #[arg(long, value_parser = parse_kind)]
    pub kind: ProposalKind,
    /// 会议主体（如 市政协、区人大）
    #[arg(long)]
    pub assembly: String,
    /// 届次（如 十四届三次会议）
    #[arg(long)]
    pub session: String,
    /// 案号（照写，保留前导 0）
    #[arg(long)]
    pub number: String,
    /// 案由（标题）
    #[arg(long)]
    pub title: String,
    /// 提出人（可多次给出）
    #[arg(long = "proposer", value_name = "NAME")]
    pub proposers: Vec<String>,
    /// 主办单位
    #[arg(long, value_name = "ORGAN")]
    pub lead: String,
    /// 会办单位（可多次给出）
    #[arg(long = "co", value_name = "ORGAN")]
    pub co_handlers: Vec<String>,
    /// 交办日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub assigned_on: Option<NaiveDate>,
    /// 答复期限（默认交办后三个月）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub reply_by: Option<NaiveDate>,
    /// 列为重点督办件
    #[arg(long)]
    pub key: bool,
    /// 领导领办：领办领导姓名
    #[arg(long, value_name = "NAME")]
    pub led_by: Option<String>,
    /// 闭会期间提出
    #[arg(long)]
    pub between_sessions: bool,
}

/// 列出建议提案：案号、案由、主办单位、答复日期、办理结果类别和办理状态
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// 只看某状态：办理中、逾期未复、已答复、重新办理、已评价
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub status: Option<ProposalStatus>,
    /// 只看某单位主办或会办的（简称、繁体、全角均可）
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 只看某年交办的
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i32>,
    /// 只看重点督办件
    #[arg(long)]
    pub key: bool,
    #[command(flatten)]
    pub time: TimeTravel,
}

/// 查看一件建议提案的全过程：交办、联系、答复与会办意见、分类、公开、评价、回头看，及答复中的承诺
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// 建议提案：编号（#5）、案号（1221号、十四届三次1221号）或 ID
    pub id: String,
    #[command(flatten)]
    pub time: TimeTravel,
}

/// 把一件答复（或会办意见）关联到它所答复的建议提案；主办单位的答复同时记下其办理结果类别和公开属性
#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub proposal: String,
    /// 答复：编号（#12）或 ID
    pub reply: String,
    /// 这是会办单位的会办意见（默认按答复的文种和主送单位判断）
    #[arg(long, conflicts_with = "lead")]
    pub co: bool,
    /// 这是主办单位的答复
    #[arg(long)]
    pub lead: bool,
}

/// 退办或调整承办单位：此后的主办、会办单位，须说明理由
#[derive(clap::Args, Debug)]
pub struct ReassignArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub id: String,
    /// 新的主办单位
    #[arg(long, value_name = "ORGAN")]
    pub lead: String,
    /// 新的会办单位（可多次给出；不给出即没有会办单位）
    #[arg(long = "co", value_name = "ORGAN")]
    pub co_handlers: Vec<String>,
    /// 原主办单位申请退办
    #[arg(long)]
    pub returned: bool,
    /// 理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

/// 记录承办单位在答复前与代表委员的联系（面商、电话、书面）
#[derive(clap::Args, Debug)]
pub struct ContactArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub id: String,
    /// 方式：面商、电话、书面
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub method: ContactMethod,
    /// 联系的单位（默认主办单位）
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 联系情况
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

/// 人工设定办理结果类别（A 解决采纳、B 正在解决或列入计划、C 留作参考），覆盖按答复措辞的判断
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub id: String,
    /// 类别：A、B、C，或办理结果的措辞（如 列入计划解决）
    #[arg(long, value_name = "CLASS", value_parser = parse_class)]
    pub class: ReplyClass,
    /// 理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

/// 记录答复的公开属性：主动公开、依申请公开、不予公开（不予公开须说明理由）
#[derive(clap::Args, Debug)]
pub struct DiscloseArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub id: String,
    /// 公开属性：主动公开、依申请公开、不予公开
    #[arg(long, value_name = "KIND", value_parser = parse_disclosure)]
    pub disclosure: Disclosure,
    /// 理由（不予公开时必填）
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

/// 回头看：复查往年答复（多为 B 类）的落实情况
#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// 建议提案：编号（#5）、案号或 ID
    pub id: String,
    /// 落实情况：已落实、部分落实、未落实
    #[arg(long, value_name = "OUTCOME", value_parser = parse_outcome)]
    pub outcome: Outcome,
    /// 复查情况
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// 复查日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

fn parse_kind(text: &str) -> Result<ProposalKind, String> {
    ProposalKind::parse(text).ok_or_else(|| format!("类别“{text}”无效：可选 提案 或 建议"))
}

fn parse_status(text: &str) -> Result<ProposalStatus, String> {
    ProposalStatus::parse(text)
        .ok_or_else(|| format!("状态“{text}”无效：可选 办理中、逾期未复、已答复、重新办理、已评价"))
}

fn parse_method(text: &str) -> Result<ContactMethod, String> {
    ContactMethod::parse(text).ok_or_else(|| format!("联系方式“{text}”无效：可选 面商、电话、书面"))
}

fn parse_class(text: &str) -> Result<ReplyClass, String> {
    ReplyClass::parse(text)
        .ok_or_else(|| format!("类别“{text}”无效：可选 A、B、C，或 解决采纳、列入计划、留作参考 等措辞"))
}

fn parse_disclosure(text: &str) -> Result<Disclosure, String> {
    Disclosure::parse(text).ok_or_else(|| format!("公开属性“{text}”无效：可选 主动公开、依申请公开、不予公开"))
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    Outcome::parse(text).ok_or_else(|| format!("落实情况“{text}”无效：可选 已落实、部分落实、未落实"))
}

pub fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add(args) => add(ctx, *args),
        Command::List(args) => list(ctx, args),
        Command::Show(args) => show(ctx, args),
        Command::Link(args) => {
            let co = if args.co {
                Some(true)
            } else if args.lead {
                Some(false)
            } else {
                None
            };
            let recorded = ctx.app()?.link_reply(&ctx.context()?, &args.proposal, &args.reply, co)?;
            confirm(ctx, &recorded)
        }
        Command::Reassign(args) => {
            let event = Event::ProposalReassigned(ProposalReassigned {
                lead: args.lead.trim().to_string(),
                co_handlers: args.co_handlers.iter().map(|co| co.trim().to_string()).collect(),
                returned: args.returned,
                reason: args.reason,
            });
            fact(ctx, &args.id, args.on, event)
        }
        Command::Contact(args) => {
            let app = ctx.app()?;
            let organ = match args.organ {
                Some(organ) => organ.trim().to_string(),
                None => app.proposal_now(&args.id)?.1.lead,
            };
            let event = Event::ProposerContacted(ProposerContacted { method: args.method, organ, note: args.note });
            let recorded = app.record_proposal(&ctx.context()?, &args.id, args.on, event, None)?;
            confirm(ctx, &recorded)
        }
        Command::Classify(args) => {
            let event = Event::ProposalClassified(ProposalClassified {
                class: args.class,
                wording: None,
                reason: Some(args.reason),
            });
            fact(ctx, &args.id, args.on, event)
        }
        Command::Disclose(args) => {
            let event =
                Event::ProposalDisclosed(ProposalDisclosed { disclosure: args.disclosure, reason: args.reason });
            fact(ctx, &args.id, args.on, event)
        }
        Command::Review(args) => {
            let event = Event::ProposalReviewed(ProposalReviewed { outcome: args.outcome, summary: args.summary });
            fact(ctx, &args.id, args.on, event)
        }
    }
}

fn fact(ctx: &mut Ctx, input: &str, on: Option<NaiveDate>, event: Event) -> anyhow::Result<()> {
    let recorded = ctx.app()?.record_proposal(&ctx.context()?, input, on, event, None)?;
    confirm(ctx, &recorded)
}

fn confirm(ctx: &mut Ctx, recorded: &ProposalRecorded) -> anyhow::Result<()> {
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "id": recorded.id.to_string(), "reference": format!("#{}", recorded.number), "seq": recorded.seq,
            "occurred_on": recorded.occurred_on, "status": recorded.status.code(), "also": recorded.also,
        }));
    }
    let also = if recorded.also.is_empty() {
        String::new()
    } else {
        format!("；同时记下：{}", recorded.also.join("；"))
    };
    writeln!(
        ctx.out,
        "已记录：建议提案 #{} {}（{}，日志第 {} 条）{also}；当前状态：{}",
        recorded.number,
        recorded.label,
        recorded.occurred_on,
        recorded.seq,
        recorded.status.label()
    )?;
    Ok(())
}

fn add(ctx: &mut Ctx, args: AddArgs) -> anyhow::Result<()> {
    let new = NewProposal {
        kind: args.kind,
        assembly: args.assembly,
        session: args.session,
        number: args.number,
        title: args.title,
        proposers: args.proposers,
        lead: args.lead,
        co_handlers: args.co_handlers,
        assigned_on: args.assigned_on.unwrap_or(ctx.today()),
        reply_by: args.reply_by,
        key: args.key,
        led_by: args.led_by,
        between_sessions: args.between_sessions,
    };
    let recorded = ctx.app()?.assign_proposal(&ctx.context()?, new)?;
    if ctx.json {
        return confirm(ctx, &recorded);
    }
    writeln!(ctx.out, "{}", recorded.id)?;
    writeln!(ctx.out, "已交办：建议提案 #{}（{}，日志第 {} 条）", recorded.number, recorded.occurred_on, recorded.seq)?;
    Ok(())
}

fn list(ctx: &mut Ctx, args: ListArgs) -> anyhow::Result<()> {
    let app = ctx.reader()?;
    let view = args.time.view(ctx.today());
    let organ = args.organ.as_deref().map(|organ| ctx.organ(organ));
    let mut rows = app.proposals(&view)?;
    rows.retain(|row| {
        let state = &row.state;
        args.status.is_none_or(|status| row.status == status)
            && (!args.key || state.assigned.as_ref().is_some_and(|a| a.key))
            && args.year.is_none_or(|year| state.assigned_on.is_some_and(|on| chrono::Datelike::year(&on) == year))
            && organ
                .as_ref()
                .is_none_or(|organ| organ.matches(&state.lead) || state.co_handlers.iter().any(|co| organ.matches(co)))
    });
    if ctx.json {
        let views: Vec<ProposalView> = rows.iter().map(ProposalView::new).collect();
        return ctx.print_json(&views);
    }
    if args.time.is_set() {
        writeln!(ctx.out, "{}", args.time.describe())?;
    }
    if rows.is_empty() {
        writeln!(ctx.out, "没有符合条件的建议提案（交办用 duban proposal add）")?;
        return Ok(());
    }
    let column = |header, give, cell: &dyn Fn(&ProposalRow) -> String| {
        Column::new(header, give, rows.iter().map(cell).collect())
    };
    let out = fitted(
        ctx.width,
        vec![
            column("编号", Give::Never, &|row| format!("#{}", row.state.number)),
            column("案号", Give::Clip(28), &|row| row.state.describe()),
            column("案由", Give::Rest(36), &|row| row.state.title().to_string()),
            column("主办单位", Give::Clip(20), &|row| row.state.lead.clone()),
            column("答复期限", Give::Never, &|row| date_or_dash(row.state.reply_by())).droppable(1),
            column("答复日期", Give::Never, &|row| date_or_dash(row.replied_on)),
            column("类别", Give::Never, &|row| row.state.class.map_or("—", ReplyClass::code).to_string()),
            column("状态", Give::Never, &|row| row.status.label().to_string()),
        ],
    );
    writeln!(ctx.out, "{out}")?;
    writeln!(ctx.out, "共 {} 件", rows.len())?;
    Ok(())
}

fn show(ctx: &mut Ctx, args: ShowArgs) -> anyhow::Result<()> {
    let view = args.time.view(ctx.today());
    let detail = ctx.reader()?.proposal(&args.id, &view)?;
    let state = &detail.row.state;
    if ctx.json {
        let events: Vec<duban_app::EventView> = detail.events.iter().map(duban_app::EventView::new).collect();
        let replies: Vec<serde_json::Value> = detail
            .replies
            .iter()
            .map(|(reply, lead, commitments)| {
                serde_json::json!({
                    "reply": duban_app::ReplyView::new(reply, commitments.len()),
                    "lead": lead,
                    "commitments": commitments.iter().map(|c| {
                        let status = duban_domain::status(c, view.on_date, view.policy);
                        let id = c.id.map(|id| id.to_string()).unwrap_or_default();
                        duban_app::CommitmentView::new(c, Some(reply), status, id, view.policy)
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let evaluations: Vec<serde_json::Value> = detail
            .evaluations
            .iter()
            .map(|(on, reply, s)| serde_json::json!({"on": on, "reply": reply.to_string(), "satisfaction": s.code()}))
            .collect();
        return ctx.print_json(&serde_json::json!({
            "proposal": ProposalView::new(&detail.row),
            "events": events,
            "replies": replies,
            "evaluations": evaluations,
        }));
    }
    let Some(assigned) = state.assigned.as_ref() else { return refuse("尚未交办") };
    let out = &mut ctx.out;
    writeln!(out, "建议提案 #{}（{}，短号 {}）", state.number, state.id.unwrap_or_default(), detail.row.short_id)?;
    writeln!(out, "案号：{}", state.describe())?;
    writeln!(out, "案由：{}", assigned.title)?;
    if !assigned.proposers.is_empty() {
        writeln!(out, "提出人：{}", assigned.proposers.join("、"))?;
    }
    let co = if state.co_handlers.is_empty() { "—".to_string() } else { state.co_handlers.join("、") };
    writeln!(out, "主办单位：{}；会办单位：{co}", state.lead)?;
    let mut marks = Vec::new();
    if assigned.key {
        marks.push("重点督办".to_string());
    }
    if let Some(leader) = &assigned.led_by {
        marks.push(format!("{leader}领办"));
    }
    if assigned.between_sessions {
        marks.push("闭会期间提出".to_string());
    }
    if !marks.is_empty() {
        writeln!(out, "标注：{}", marks.join("、"))?;
    }
    writeln!(
        out,
        "交办：{}；答复期限：{}；答复日期：{}",
        date_or_dash(state.assigned_on),
        date_or_dash(state.reply_by()),
        date_or_dash(detail.row.replied_on)
    )?;
    writeln!(
        out,
        "办理结果：{}；公开属性：{}；状态：{}",
        state.class.map_or("—", ReplyClass::label),
        state.disclosure.as_ref().map_or("—", |(d, _)| d.label()),
        detail.row.status.label()
    )?;
    // One timeline: the proposal's own facts and its replies' evaluations, by date.
    let reply_number =
        |id: &ulid::Ulid| detail.replies.iter().find(|(r, _, _)| r.id == Some(*id)).map_or(0, |(r, _, _)| r.number);
    let mut timeline: Vec<(NaiveDate, u64, String, String)> = detail
        .events
        .iter()
        .map(|e| {
            let summary = match &e.event {
                Event::ProposalAnswered(answer) => {
                    let reply = detail.replies.iter().find(|(r, _, _)| r.id == Some(answer.reply));
                    let (organ, doc_no) = reply.map_or(("", ""), |(r, _, _)| (r.organ(), r.doc_no()));
                    let kind = if answer.lead { "答复" } else { "会办意见" };
                    format!("{kind} #{} {organ} {doc_no}", reply_number(&answer.reply))
                }
                other => other.summary(),
            };
            (e.occurred_on, e.seq, e.event.label().to_string(), summary)
        })
        .collect();
    for (on, reply, satisfaction) in &detail.evaluations {
        let number = reply_number(reply);
        timeline.push((*on, u64::MAX, "代表委员评价".into(), format!("答复 #{number}：{}", satisfaction.label())));
    }
    timeline.sort_by_key(|(on, seq, _, _)| (*on, *seq));
    writeln!(out, "办理过程：")?;
    for (on, _, label, summary) in timeline {
        writeln!(out, "  {on}  {label}  {summary}")?;
    }
    for (reply, lead, commitments) in &detail.replies {
        writeln!(
            out,
            "{} #{}：{} {}（{}），承诺 {} 项",
            if *lead { "答复" } else { "会办意见" },
            reply.number,
            reply.organ(),
            reply.doc_no(),
            date_or_dash(reply.signed_on()),
            commitments.len()
        )?;
        if !commitments.is_empty() {
            let mut rows = table(&["编号", "状态", "期限", "承诺内容"]);
            for c in commitments {
                rows.add_row(vec![
                    format!("#{}", c.number),
                    duban_domain::status(c, view.on_date, view.policy).label().to_string(),
                    date_or_dash(c.due_on(view.policy)),
                    c.text.clone(),
                ]);
            }
            writeln!(out, "{rows}")?;
        }
    }
    Ok(())
}
