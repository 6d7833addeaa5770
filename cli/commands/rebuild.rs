//! `duban rebuild`: recompute the stream index, the status projection and the search index from the log and report
//! any difference.

use super::Ctx;

/// 由事件日志重新推算全部状态、流索引和搜索索引，并报告与现有数据的差异
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 不检查、不重建搜索索引，只重建状态投影和流索引（较快；搜索照常可用）
    #[arg(long)]
    skip_search: bool,
}

#[derive(serde::Serialize)]
struct Rebuilt<'a> {
    #[serde(flatten)]
    report: &'a duban_store::RebuildReport,
    search: Option<&'a duban_app::SearchRebuilt>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let (report, search) = ctx.app()?.rebuild(!args.skip_search)?;
    if ctx.json {
        return ctx.print_json(&Rebuilt { report: &report, search: search.as_ref() });
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
    let Some(search) = search else {
        writeln!(ctx.out, "搜索索引：未检查（--skip-search）")?;
        return Ok(());
    };
    let verdict = if search.differed == 0 {
        "与原有索引一致".to_string()
    } else {
        format!("原有索引有 {} 段缺失或不符，已重写", search.differed)
    };
    writeln!(
        ctx.out,
        "搜索索引：{} 段，{} 条文本（其中 {} 条原未入索引）；{verdict}",
        search.segments, search.documents, search.newly_indexed
    )?;
    Ok(())
}
