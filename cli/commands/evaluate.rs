//! `duban evaluate`: record the proposer's satisfaction with a reply, apart from whether its promises were kept.

use chrono::NaiveDate;
use duban_domain::{check_reply_event, Event, ReplyEvaluated, Satisfaction};

use super::{refuse, Ctx};
use crate::time::parse_date;

/// 记录代表委员对答复的评价（满意 / 基本满意 / 不满意），与承诺是否落实分开记录
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 答复编号（或至少 6 位的唯一前缀）
    pub reply: String,
    /// 评价：满意、基本满意、不满意（或 satisfied、basically-satisfied、dissatisfied）
    #[arg(long, value_name = "LEVEL", value_parser = parse_satisfaction)]
    pub satisfaction: Satisfaction,
    /// 评价日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
    /// 评价意见
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

fn parse_satisfaction(text: &str) -> Result<Satisfaction, String> {
    Satisfaction::parse(text).ok_or_else(|| format!("评价“{text}”无效：可选 满意、基本满意、不满意"))
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let store = ctx.open()?;
    let id = store.resolve_reply(&args.reply)?;
    let Some(reply) = store.reply(&id)? else { return refuse(format!("找不到答复 {id}")) };
    let today = ctx.today();
    let on = args.on.unwrap_or(today);
    let event = Event::ReplyEvaluated(ReplyEvaluated { satisfaction: args.satisfaction, comment: args.comment });
    check_reply_event(&reply, on, &event, today)?;
    let sealed = store.append(id, reply.version, vec![ctx.new_event(id, on, event)])?;
    let seq = sealed.last().map_or(0, |envelope| envelope.seq);
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "id": id.to_string(), "seq": seq, "satisfaction": args.satisfaction.code(),
        }));
    }
    writeln!(
        ctx.out,
        "已记录：答复 {} {} 评价为“{}”（{on}，日志 #{seq}）",
        reply.organ(),
        reply.doc_no(),
        args.satisfaction.label()
    )?;
    Ok(())
}
