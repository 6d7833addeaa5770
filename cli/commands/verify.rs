//! `duban verify`: walk the hash chain and name the first broken event.

use duban_app::HeadCheck;

use crate::toolkit::Ctx;

/// 校验事件日志的哈希链：任何改动、删除、插入或调序都会在其日志序号处被发现。
/// 加 --seq 与 --head 可核验一份报告（页脚所载的日志序号与链头）确实出自本库
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 报告页脚所载的日志序号
    #[arg(long, value_name = "SEQ", requires = "head")]
    pub seq: Option<u64>,
    /// 报告页脚所载的链头哈希
    #[arg(long, value_name = "HASH", requires = "seq")]
    pub head: Option<String>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let footer = args.seq.zip(args.head.as_deref());
    let verified = ctx.reader()?.verify(footer)?;
    let report = &verified.report;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": report.broken.is_none(),
            "events": report.events,
            "head_seq": report.head.seq,
            "head_hash": report.head.hash,
            "broken_seq": report.broken.as_ref().map(|(seq, _)| seq),
            "reason": report.broken.as_ref().map(|(_, reason)| reason),
        }))?;
    } else if report.broken.is_none() {
        writeln!(ctx.out, "日志完整：共 {} 条事件，链头 #{} {}", report.events, report.head.seq, report.head.hash)?;
    }
    match &verified.head_check {
        Some(HeadCheck::Matches { seq }) if !ctx.json => {
            writeln!(ctx.out, "核验通过：日志第 {seq} 条事件的链头哈希与报告一致")?
        }
        Some(HeadCheck::Differs { seq, found, expected }) => {
            anyhow::bail!("核验失败：日志第 {seq} 条事件的哈希为 {found}，与报告所载 {expected} 不符")
        }
        Some(HeadCheck::Missing { seq, events }) => {
            anyhow::bail!("核验失败：本库只有 {events} 条事件，报告所依据的第 {seq} 条不存在")
        }
        _ => {}
    }
    match &report.broken {
        None => Ok(()),
        Some((seq, reason)) => {
            anyhow::bail!("日志在第 {seq} 条事件处断裂：{reason}（此前 {} 条事件完好）", report.events)
        }
    }
}
