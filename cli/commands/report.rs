//! `duban report`: the annual follow-up report (年度跟踪报告), from the log as it was known, on an as-of date.

use std::path::PathBuf;

use chrono::NaiveDate;
use duban_app::ReportRequest;
use duban_report::{render_to, Format};

use crate::background::BackgroundFile;
use crate::time::{parse_date, KnownAt};
use crate::toolkit::{check_writable, is_special, refuse, Ctx};

/// 生成年度跟踪报告：本年度答复中的承诺，加上往年结转、1 月 1 日仍未办结的承诺
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 报告年度
    #[arg(long, value_name = "YYYY")]
    pub year: i32,
    /// 按某日的实际情况统计（默认该年 12 月 31 日；若今天更早则为今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// 按当时登记簿所知统计：某日（北京时间）结束前或某日志序号前记下的事件（默认：全部）
    #[arg(long, value_name = "DATE|SEQ")]
    pub known_at: Option<KnownAt>,
    /// 只统计责任单位或答复单位包含此文字的承诺
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 只统计答复此会议的（如 区政协、市人大）
    #[arg(long, value_name = "ASSEMBLY")]
    pub assembly: Option<String>,
    /// 格式：md、html、xlsx、csv、json（报告模型，紧凑的一行 JSON）；默认 md，加 --json 时为 json
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// 输出文件（md、csv、json 默认输出到屏幕；xlsx 必须指定）
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// 落款单位（印在报告末尾，连同日期），如“区人民政府办公室”
    #[arg(long, value_name = "ORGAN")]
    pub issuer: Option<String>,
    /// 覆盖已存在的输出文件
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub policy: crate::view::PolicyArgs,
}

fn parse_format(text: &str) -> Result<Format, String> {
    Format::parse(text).ok_or_else(|| format!("格式“{text}”无效：可选 md、html、xlsx、csv、json"))
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    // `--json` asks for JSON on the screen: the report model, unless a file of another format is asked for.
    let format = match args.format {
        Some(format) if ctx.json && args.out.is_none() && format != Format::Json => {
            return refuse(format!(
                "--json 与 --format {} 矛盾：要 JSON 请去掉 --format，或用 --out 写入文件",
                format.extension()
            ));
        }
        Some(format) => format,
        None if ctx.json => Format::Json,
        None => Format::Markdown,
    };
    let request = ReportRequest {
        year: args.year,
        as_of: args.as_of,
        known: KnownAt::horizon(args.known_at),
        organ: args.organ.as_deref().map(|organ| ctx.organ(organ)),
        assembly: args.assembly.clone(),
        policy: args.policy.policy(),
        generated_at: format.stamps_generation_time().then_some(ctx.now),
        issuer: args.issuer.clone(),
    };
    let as_of = request.as_of(ctx.today())?;
    if format == Format::Xlsx && args.out.is_none() {
        return refuse("xlsx 格式须用 --out 指定输出文件");
    }
    if let Some(out) = &args.out {
        check_writable(out, args.force)?;
    }
    let report = ctx.reader()?.into_report(&request, ctx.today())?;
    match &args.out {
        None => render_to(&report, format, &mut ctx.out)?,
        Some(path) if is_special(path) => {
            // A device or FIFO is written to, never replaced.
            let mut target = std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
            render_to(&report, format, &mut target)?;
            std::io::Write::flush(&mut target)?;
        }
        Some(path) => {
            // Written beside the target and renamed: a failed run never leaves half a report under its name.
            let partial = path.with_extension(format!("{}.partial", format.extension()));
            let mut file = BackgroundFile::new(std::fs::File::create(&partial)?);
            let rendered = render_to(&report, format, &mut file);
            let written = file.finish();
            // The writing thread's error (a full disk) explains a rendering error that followed it.
            let file = written?;
            rendered?;
            file.sync_all()?;
            std::fs::rename(&partial, path)?;
            if ctx.json {
                return ctx.print_json(&serde_json::json!({
                    "file": path, "year": args.year, "as_of": as_of, "commitments": report.overview.commitments,
                    "known_seq": report.footer.known_seq, "head_hash": report.footer.head_hash,
                }));
            }
            writeln!(
                ctx.out,
                "已生成 {} 年度跟踪报告：{}（承诺 {} 项，截至 {as_of}，登记簿截至日志第 {} 条）",
                args.year,
                path.display(),
                report.overview.commitments,
                report.footer.known_seq
            )?;
        }
    }
    Ok(())
}
