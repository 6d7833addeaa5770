//! `duban show`: one commitment's status and its whole timeline.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use duban_app::{proposal_text, ShowView};
use duban_domain::{DueSource, Outcome};
use serde_json::Value;

use crate::output::{date_or_dash, table};
use crate::toolkit::Ctx;
use crate::view::TimeTravel;

/// 查看一项承诺：状态、来源和完整时间线
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    #[command(flatten)]
    pub time: TimeTravel,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let view = args.time.view(ctx.today());
    if let Some(server) = ctx.server.clone() {
        let query = args.time.query().join("&");
        let path = format!("/api/commitments/{}?{query}", crate::remote::encode(&args.id));
        let (value, text) = server.call_text("GET", &path, None)?;
        if ctx.json {
            return ctx.print_json_text(&text);
        }
        return render(ctx, &Shown::from_json(&value)?, view.on_date);
    }
    let detail = ctx.reader()?.commitment(&args.id, &view)?;
    if ctx.json {
        return ctx.print_json(&ShowView::new(&detail, view.policy));
    }
    render(ctx, &Shown::from_detail(&detail, view.policy), view.on_date)
}

/// What `show` prints, from a local read or from the server's `show --json`.
struct Shown {
    number: u64,
    id: String,
    short_id: String,
    reference: Option<String>,
    status_label: String,
    text: String,
    owner: String,
    co_handlers: Vec<String>,
    organ: String,
    doc_no: String,
    signed_on: Option<NaiveDate>,
    proposal: String,
    missing: Vec<String>,
    made_on: Option<NaiveDate>,
    due: Option<(NaiveDate, DueSource)>,
    closure: Option<(Outcome, NaiveDate)>,
    events: Vec<Entry>,
}

/// One line of the timeline.
struct Entry {
    occurred_on: NaiveDate,
    label: String,
    summary: String,
    evidence: Vec<String>,
    actor: String,
    recorded_at: DateTime<Utc>,
    seq: u64,
}

impl Shown {
    fn from_detail(detail: &duban_app::CommitmentDetail, policy: duban_domain::Policy) -> Shown {
        let (state, reply) = (&detail.state, &detail.reply);
        Shown {
            number: state.number,
            id: detail.id.to_string(),
            short_id: detail.short_id.clone(),
            reference: detail.reference.clone(),
            status_label: detail.status.label().to_string(),
            text: state.text.clone(),
            owner: state.owner.clone(),
            co_handlers: state.co_handlers.clone(),
            organ: reply.organ().to_string(),
            doc_no: reply.doc_no().to_string(),
            signed_on: reply.signed_on(),
            proposal: proposal_text(reply),
            missing: reply.missing().iter().map(|field| field.to_string()).collect(),
            made_on: state.made_on,
            due: state.due_under(policy),
            closure: state.closure.as_ref().map(|closure| (closure.outcome, closure.on)),
            events: detail
                .events
                .iter()
                .map(|envelope| Entry {
                    occurred_on: envelope.occurred_on,
                    label: envelope.event.label().to_string(),
                    summary: envelope.event.summary(),
                    evidence: envelope.event.evidence().to_vec(),
                    actor: envelope.actor.clone(),
                    recorded_at: envelope.recorded_at,
                    seq: envelope.seq,
                })
                .collect(),
        }
    }

    fn from_json(value: &Value) -> anyhow::Result<Shown> {
        let text = |value: &Value, name: &str| value[name].as_str().unwrap_or_default().to_string();
        let date = |value: &Value, name: &str| value[name].as_str().and_then(|d| d.parse().ok());
        let texts = |value: &Value, name: &str| -> Vec<String> {
            value[name].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(str::to_string).collect()
        };
        let due = match (date(value, "due"), value["due_source"].as_str()) {
            (Some(due), Some(source)) => Some((due, serde_json::from_value(Value::from(source))?)),
            _ => None,
        };
        let closure = match (value["outcome"].as_str().and_then(Outcome::parse), date(value, "closed_on")) {
            (Some(outcome), Some(on)) => Some((outcome, on)),
            _ => None,
        };
        let mut events = Vec::new();
        for event in value["events"].as_array().into_iter().flatten() {
            events.push(Entry {
                occurred_on: date(event, "occurred_on").ok_or_else(|| anyhow::anyhow!("服务器的回答中事件缺少日期"))?,
                label: text(event, "label"),
                summary: text(event, "summary"),
                evidence: texts(event, "evidence"),
                actor: text(event, "actor"),
                recorded_at: text(event, "recorded_at").parse()?,
                seq: event["seq"].as_u64().unwrap_or_default(),
            });
        }
        Ok(Shown {
            number: value["number"].as_u64().unwrap_or_default(),
            id: text(value, "id"),
            short_id: text(value, "short_id"),
            reference: value["reference"].as_str().map(str::to_string),
            status_label: text(value, "status_label"),
            text: text(value, "text"),
            owner: text(value, "owner"),
            co_handlers: texts(value, "co_handlers"),
            organ: text(value, "organ"),
            doc_no: text(value, "doc_no"),
            signed_on: date(value, "reply_signed_on"),
            proposal: text(value, "proposal"),
            missing: texts(value, "reply_missing"),
            made_on: date(value, "made_on"),
            due,
            closure,
            events,
        })
    }
}

fn render(ctx: &mut Ctx, shown: &Shown, on_date: NaiveDate) -> anyhow::Result<()> {
    let out = &mut ctx.out;
    let also = shown.reference.as_ref().map(|reference| format!("也可写作 {reference}，")).unwrap_or_default();
    writeln!(out, "承诺 #{}（{also}ID {}，短号 {}）", shown.number, shown.id, shown.short_id)?;
    writeln!(out, "状态：{}（按 {on_date} 判断）", shown.status_label)?;
    writeln!(out, "内容：{}", shown.text)?;
    let co = if shown.co_handlers.is_empty() {
        String::new()
    } else {
        format!("；会办：{}", shown.co_handlers.join("、"))
    };
    writeln!(out, "责任单位：{}{co}", shown.owner)?;
    let proposal = if shown.proposal.is_empty() { String::new() } else { format!("，答复 {}", shown.proposal) };
    writeln!(out, "来源：{} {}（签发 {}{proposal}）", shown.organ, shown.doc_no, date_or_dash(shown.signed_on))?;
    if !shown.missing.is_empty() {
        writeln!(out, "待补全：答复缺{}", shown.missing.join("、"))?;
    }
    let due = match shown.due {
        Some((due, source)) => format!("{due}（{}）", source.label()),
        None => "—".to_string(),
    };
    writeln!(out, "作出：{}；期限：{due}", date_or_dash(shown.made_on))?;
    if let Some((outcome, on)) = &shown.closure {
        writeln!(out, "办结：{}（{on}）", outcome.label())?;
    }
    writeln!(out, "时间线：")?;
    let mut timeline = table(&["发生日期", "事件", "内容", "佐证", "记录人", "记录于", "日志序号"]);
    for entry in &shown.events {
        timeline.add_row(vec![
            entry.occurred_on.to_string(),
            entry.label.clone(),
            crate::output::wrap(&entry.summary, 50),
            entry.evidence.join("、"),
            entry.actor.clone(),
            entry.recorded_at.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M").to_string(),
            entry.seq.to_string(),
        ]);
    }
    writeln!(out, "{timeline}")?;
    Ok(())
}
