//! `duban evaluate`: record the proposer's satisfaction with a reply, apart from whether its promises were kept.

use chrono::NaiveDate;
use duban_domain::Satisfaction;

use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 记录代表委员对答复的评价（满意 / 基本满意 / 不满意），与承诺是否落实分开记录
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 答复：编号（#12）、提案号（十四届三次1221号）或 ID（至少 6 位的唯一前缀）
    pub reply: String,
    /// 评价：满意、基本满意、不满意（或 satisfied、basically_satisfied、dissatisfied；“_”也可写作“-”）
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
    let evaluated = ctx.app()?.evaluate(&ctx.context()?, &args.reply, args.on, args.satisfaction, args.comment)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "id": evaluated.id.to_string(), "seq": evaluated.seq, "satisfaction": args.satisfaction.code(),
        }));
    }
    writeln!(
        ctx.out,
        "已记录：答复 {} {} 评价为“{}”（{}，日志第 {} 条）",
        evaluated.organ,
        evaluated.doc_no,
        args.satisfaction.label(),
        evaluated.on,
        evaluated.seq
    )?;
    Ok(())
}
