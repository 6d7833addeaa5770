//! `duban progress`: record a progress report on a commitment.

use chrono::NaiveDate;
use duban_domain::{Event, ProgressReported};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 报告进展：记录一项承诺的推进情况
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 进展发生的日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
    /// 进展情况
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// 佐证材料（文件名、文号、链接等；可多次给出）
    #[arg(long, value_name = "REF")]
    pub evidence: Vec<String>,
    /// 完成百分比（0–100）
    #[arg(long, value_name = "N")]
    pub percent: Option<u8>,
    /// 附件：作为佐证的文件（PDF、图片、Word、Excel，每个不超过 20 MB；可多次给出），按内容哈希保存在事件库中
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<std::path::PathBuf>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let event = Event::ProgressReported(ProgressReported {
        summary: args.summary,
        evidence: args.evidence,
        percent: args.percent,
    });
    let mut uploads = Vec::with_capacity(args.attach.len());
    for path in &args.attach {
        uploads.push(read_attachment(path)?);
    }
    record::commitment_fact_with_files(ctx, &args.id, args.on, event, &uploads)
}

/// Reads a file to attach: a regular file only, no larger than the limit (checked before reading).
fn read_attachment(path: &std::path::Path) -> anyhow::Result<duban_app::Upload> {
    use std::io::Read;
    let max = duban_app::DEFAULT_MAX_ATTACHMENT_BYTES;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => return crate::toolkit::refuse(format!("无法读取附件 {}：{error}", path.display())),
    };
    if !meta.is_file() {
        return crate::toolkit::refuse(format!("附件 {} 不是普通文件", path.display()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max as u64 + 1).read_to_end(&mut bytes)?;
    let file_name = path.file_name().map(|name| name.to_string_lossy().to_string()).unwrap_or_default();
    Ok(duban_app::Upload { file_name, bytes })
}
