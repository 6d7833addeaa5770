//! `duban stats`: a year's handling figures (件 first, then 项) — the same figures, from the same module, as the
//! report's 总体情况 (docs/metrics.md defines each).

use chrono::NaiveDate;
use duban_app::ReportRequest;

use crate::time::{parse_date, KnownAt};
use crate::toolkit::Ctx;

/// 统计某年度的办理情况：承办件数、办复率、按时办复率、沟通率、满意率、办理结果分类、公开、回头看和承诺落实率
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 年度
    #[arg(long, value_name = "YYYY")]
    pub year: i32,
    /// 按某日的实际情况统计（默认该年 12 月 31 日；若今天更早则为今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// 按当时登记簿所知统计：某日（北京时间）结束前或某日志序号前记下的事件（默认：全部）
    #[arg(long, value_name = "DATE|SEQ")]
    pub known_at: Option<KnownAt>,
    /// 只统计某单位主办或会办的建议提案（及其为责任单位的承诺）
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 只统计某会议的（如 区政协、市人大）
    #[arg(long, value_name = "ASSEMBLY")]
    pub assembly: Option<String>,
    #[command(flatten)]
    pub policy: crate::view::PolicyArgs,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let request = ReportRequest {
        year: args.year,
        as_of: args.as_of,
        known: KnownAt::horizon(args.known_at),
        organ: args.organ.as_deref().map(|organ| ctx.organ(organ)),
        assembly: args.assembly.clone(),
        policy: args.policy.policy(),
        generated_at: None,
        issuer: None,
    };
    let report = ctx.reader()?.into_report(&request, ctx.today())?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "year": report.year, "as_of": report.as_of, "metrics": report.metrics,
            "known_seq": report.footer.known_seq,
        }));
    }
    writeln!(ctx.out, "{} 年度办理情况（截至 {}）", report.year, report.as_of)?;
    for line in duban_report::handling_lines(&report) {
        writeln!(ctx.out, "  {line}")?;
    }
    Ok(())
}
