//! `duban show`: one commitment's status and its whole timeline.

use std::io::Write;

use duban_domain::{status, CommitmentState, Envelope, ReplyState};
use serde::Serialize;

use super::{refuse, Ctx};
use crate::output::{date_or_dash, table};
use crate::view::{proposal_text, CommitmentView, EventView, TimeTravel};

/// 查看一项承诺：状态、来源和完整时间线
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺编号（或至少 6 位的唯一前缀）
    pub id: String,
    #[command(flatten)]
    pub time: TimeTravel,
}

#[derive(Serialize)]
struct ShowView<'a> {
    #[serde(flatten)]
    commitment: CommitmentView,
    events: Vec<EventView<'a>>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let store = ctx.open()?;
    let id = store.resolve_commitment(&args.id)?;
    let horizon = args.time.horizon();
    let events: Vec<Envelope> = store.read_stream(&id)?.into_iter().filter(|e| horizon.admits(e)).collect();
    let state = CommitmentState::fold(&events);
    if state.made_on.is_none() {
        return refuse(format!("承诺 {id} 在所选时点尚未记录"));
    }
    // The reply's state as projected, unless an earlier moment is asked for: its events lie in chunks of their own.
    let reply = match state.reply {
        Some(reply) if horizon.is_everything() => store.reply(&reply)?.unwrap_or_else(|| ReplyState::fold(&[])),
        Some(reply) => ReplyState::fold(store.read_streams_for_fold(&[reply])?.iter().filter(|e| horizon.admits(e))),
        None => ReplyState::fold(&[]),
    };
    let on_date = args.time.on_date(ctx.today());
    let status = status(&state, on_date, args.time.policy());
    let short = store.short_id(&id)?;
    let view = CommitmentView::new(&state, Some(&reply), status, short.clone());
    if ctx.json {
        return ctx.print_json(&ShowView { commitment: view, events: events.iter().map(EventView::new).collect() });
    }
    let out = &mut ctx.out;
    writeln!(out, "承诺 {id}（{short}）")?;
    writeln!(out, "状态：{}（按 {on_date} 判断）", status.label())?;
    writeln!(out, "内容：{}", state.text)?;
    let co = if state.co_handlers.is_empty() {
        String::new()
    } else {
        format!("；会办：{}", state.co_handlers.join("、"))
    };
    writeln!(out, "责任单位：{}{co}", state.owner)?;
    let proposal = proposal_text(&reply);
    let proposal = if proposal.is_empty() { String::new() } else { format!("，答复 {proposal}") };
    writeln!(out, "来源：{} {}（签发 {}{proposal}）", reply.organ(), reply.doc_no(), date_or_dash(reply.signed_on()))?;
    writeln!(out, "作出：{}；期限：{}", date_or_dash(state.made_on), date_or_dash(state.due))?;
    if let Some(closure) = &state.closure {
        writeln!(out, "办结：{}（{}）", closure.outcome.label(), closure.on)?;
    }
    writeln!(out, "时间线：")?;
    let mut timeline = table(&["发生日期", "事件", "内容", "佐证", "记录人", "记录于", "日志"]);
    for envelope in &events {
        timeline.add_row(vec![
            envelope.occurred_on.to_string(),
            envelope.event.label().to_string(),
            crate::output::clip(&envelope.event.summary(), 50),
            envelope.event.evidence().join("、"),
            envelope.actor.clone(),
            envelope.recorded_at.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M").to_string(),
            format!("#{}", envelope.seq),
        ]);
    }
    writeln!(out, "{timeline}")?;
    Ok(())
}
