//! `duban rebuild`: recompute the stream index and the status projection from the log and report any difference.

use super::Ctx;

/// 由事件日志重新推算全部状态和流索引，并报告与现有状态投影的差异
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(ctx: &mut Ctx, _args: Args) -> anyhow::Result<()> {
    let report = ctx.app()?.rebuild()?;
    if ctx.json {
        return ctx.print_json(&report);
    }
    writeln!(
        ctx.out,
        "已由 {} 条事件重新推算：答复 {} 件，承诺 {} 项",
        report.events, report.replies, report.commitments
    )?;
    if report.differences.is_empty() {
        writeln!(ctx.out, "与原有状态投影一致，无差异")?;
    } else {
        writeln!(ctx.out, "已修正 {} 处差异：", report.differences.len())?;
        for difference in &report.differences {
            let kind = match difference.kind {
                "missing" => "投影缺失",
                "extra" => "投影多余",
                "index" => "流索引不符",
                _ => "投影不符",
            };
            writeln!(ctx.out, "  {} {kind}", difference.id)?;
        }
    }
    Ok(())
}
