//! `duban import`: read reply documents and record each as one atomic append (the use case is the application's;
//! this shows progress and the summary).

use std::path::PathBuf;

use duban_app::{collect_documents, ImportOptions, ImportSummary, Overrides};

use crate::output::{clip_start, table};
use crate::toolkit::{refuse, Ctx};

/// 导入答复文件：逐份登记答复及其中的承诺（每份文件一次原子写入）。缺答复单位、文号或签发日期的答复照样登记，标为“待补全”；
/// 已导入的文件跳过；同一单位同一文号但内容不同的文件拒绝导入，留待人工核对
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 文件或目录（目录中递归读取 .txt .html .htm .docx 文件）
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// 只解析和检查，不写入
    #[arg(long)]
    pub dry_run: bool,
    /// 答复单位（代替文件中读到的；以下各项只能用于单个文件）
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 文号
    #[arg(long, value_name = "DOC_NO")]
    pub doc_no: Option<String>,
    /// 签发日期（YYYY-MM-DD）
    #[arg(long, value_name = "DATE", value_parser = crate::time::parse_date)]
    pub signed_on: Option<chrono::NaiveDate>,
    /// 会议（市政协、区人大……）
    #[arg(long, value_name = "ASSEMBLY")]
    pub assembly: Option<String>,
    /// 届次（十四届三次会议）
    #[arg(long, value_name = "SESSION")]
    pub session: Option<String>,
    /// 建议或提案编号
    #[arg(long, value_name = "NUMBER")]
    pub number: Option<String>,
    /// 批量补全表（CSV：file 列为文件名，另可有 organ、doc_no、signed_on、assembly、session、number 列）
    #[arg(long, value_name = "CSV")]
    pub overrides: Option<PathBuf>,
}

/// Batches at least this large show a progress bar (when stderr is a terminal).
const PROGRESS_FROM: usize = 20;

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let files = collect_documents(&args.paths)?;
    if files.is_empty() {
        return refuse("没有找到可导入的文件（.txt .html .htm .docx）");
    }
    let app = ctx.app()?;
    let progress = indicatif::ProgressBar::new(files.len() as u64);
    if files.len() < PROGRESS_FROM {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut started = 0;
    let overrides = Overrides {
        organ: args.organ.clone(),
        doc_no: args.doc_no.clone(),
        signed_on: args.signed_on,
        assembly: args.assembly.clone(),
        session: args.session.clone(),
        number: args.number.clone(),
    };
    let per_file = match &args.overrides {
        None => Default::default(),
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|error| crate::toolkit::UserError(format!("读不了补全表 {}：{error}", path.display())))?;
            Overrides::from_csv(&bytes)?
        }
    };
    let options = ImportOptions { dry_run: args.dry_run, overrides, per_file };
    let summary = app.import(&ctx.context()?, &files, options, &mut |file| {
        if started > 0 {
            progress.inc(1);
        }
        started += 1;
        progress.set_message(file.display().to_string());
    });
    progress.finish_and_clear();
    let summary = summary?;
    if ctx.json {
        ctx.print_json(&summary)?;
    } else {
        print_summary(ctx, &summary)?;
    }
    if let Some(stopped) = &summary.stopped {
        anyhow::bail!("导入在写入状态投影时出错（已导入的文件均已落盘，下次打开时补齐）：{stopped}");
    }
    if summary.failed > 0 {
        return refuse(format!("{} 个文件未能导入（原因见上）", summary.failed));
    }
    Ok(())
}

fn print_summary(ctx: &mut Ctx, summary: &ImportSummary) -> anyhow::Result<()> {
    let mut out = table(&["文件", "结果", "答复编号", "承诺", "说明"]);
    for outcome in &summary.files {
        let status = match outcome.status {
            "imported" => "已导入",
            "would_import" => "可导入",
            "skipped" => "已跳过",
            _ => "失败",
        };
        out.add_row(vec![
            clip_start(&outcome.file, 40),
            status.to_string(),
            outcome.reply_number.map(|number| format!("#{number}")).unwrap_or_default(),
            outcome.commitments.to_string(),
            outcome.reason.clone().unwrap_or_default(),
        ]);
    }
    writeln!(ctx.out, "{out}")?;
    let verb = if summary.dry_run { "可导入（未写入）" } else { "导入" };
    writeln!(
        ctx.out,
        "{verb} {} 份（承诺 {} 项），跳过 {} 份，失败 {} 份",
        summary.imported, summary.commitments, summary.skipped, summary.failed
    )?;
    if summary.incomplete > 0 {
        writeln!(
            ctx.out,
            "其中 {} 份答复待补全（缺答复单位、文号或签发日期，见“说明”；`duban reply list` 中标出）。导入前可用 --organ、--doc-no、--signed-on 为单个文件指定",
            summary.incomplete
        )?;
    }
    Ok(())
}
