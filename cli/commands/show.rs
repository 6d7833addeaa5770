//! `duban show`: one commitment's status and its whole timeline.

use std::io::Write;

use duban_app::{proposal_text, ShowView};

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
    let detail = ctx.reader()?.commitment(&args.id, &view)?;
    let (state, reply, status, short) = (&detail.state, &detail.reply, detail.status, &detail.short_id);
    if ctx.json {
        return ctx.print_json(&ShowView::new(&detail, view.policy));
    }
    let out = &mut ctx.out;
    let also = detail.reference.as_ref().map(|reference| format!("也可写作 {reference}，")).unwrap_or_default();
    writeln!(out, "承诺 #{}（{also}ID {}，短号 {short}）", state.number, detail.id)?;
    writeln!(out, "状态：{}（按 {} 判断）", status.label(), view.on_date)?;
    writeln!(out, "内容：{}", state.text)?;
    let co = if state.co_handlers.is_empty() {
        String::new()
    } else {
        format!("；会办：{}", state.co_handlers.join("、"))
    };
    writeln!(out, "责任单位：{}{co}", state.owner)?;
    let proposal = proposal_text(reply);
    let proposal = if proposal.is_empty() { String::new() } else { format!("，答复 {proposal}") };
    writeln!(out, "来源：{} {}（签发 {}{proposal}）", reply.organ(), reply.doc_no(), date_or_dash(reply.signed_on()))?;
    let missing = reply.missing();
    if !missing.is_empty() {
        writeln!(out, "待补全：答复缺{}", missing.join("、"))?;
    }
    let due = match state.due_under(view.policy) {
        Some((due, source)) => format!("{due}（{}）", source.label()),
        None => "—".to_string(),
    };
    writeln!(out, "作出：{}；期限：{due}", date_or_dash(state.made_on))?;
    if let Some(closure) = &state.closure {
        writeln!(out, "办结：{}（{}）", closure.outcome.label(), closure.on)?;
    }
    writeln!(out, "时间线：")?;
    let mut timeline = table(&["发生日期", "事件", "内容", "佐证", "记录人", "记录于", "日志序号"]);
    for envelope in &detail.events {
        timeline.add_row(vec![
            envelope.occurred_on.to_string(),
            envelope.event.label().to_string(),
            crate::output::wrap(&envelope.event.summary(), 50),
            envelope.event.evidence().join("、"),
            envelope.actor.clone(),
            envelope.recorded_at.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M").to_string(),
            envelope.seq.to_string(),
        ]);
    }
    writeln!(out, "{timeline}")?;
    Ok(())
}
