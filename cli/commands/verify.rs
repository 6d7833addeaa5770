//! `duban verify`: walk the hash chain and name the first broken event.

use super::Ctx;

/// 校验事件日志的哈希链：任何改动、删除、插入或调序都会在其日志序号处被发现
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(ctx: &mut Ctx, _args: Args) -> anyhow::Result<()> {
    let store = ctx.open()?;
    let report = store.verify()?;
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
    match report.broken {
        None => Ok(()),
        Some((seq, reason)) => {
            anyhow::bail!("日志在第 {seq} 条事件处断裂：{reason}（此前 {} 条事件完好）", report.events)
        }
    }
}
