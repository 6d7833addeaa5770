//! `duban export`: the whole log as JSON Lines, one complete event per line.

use std::path::PathBuf;

use std::io::Write;

use crate::toolkit::{check_writable, is_special, Ctx};

/// 导出全部事件（JSON Lines，每行一条完整事件），可用 import-events 还原
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 输出文件；`-` 表示标准输出
    pub file: PathBuf,
    /// 覆盖已存在的文件
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let app = ctx.reader()?;
    if args.file.as_os_str() == "-" {
        app.export(&mut ctx.out)?;
        return Ok(());
    }
    check_writable(&args.file, args.force)?;
    if is_special(&args.file) {
        // A device or FIFO is written to, never replaced.
        let mut target = std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(&args.file)?);
        let (count, head) = app.export(&mut target)?;
        target.flush()?;
        if ctx.json {
            return ctx.print_json(&serde_json::json!({
                "file": args.file, "events": count, "head_seq": head.seq, "head_hash": head.hash,
            }));
        }
        writeln!(ctx.out, "已导出 {count} 条事件到 {}；链头 #{} {}", args.file.display(), head.seq, head.hash)?;
        return Ok(());
    }
    // Written beside the target and renamed, so a failed export never leaves a truncated file under its name.
    let partial = args.file.with_extension("partial");
    let (count, head) = {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        let exported = app.export(&mut file)?;
        file.into_inner().map_err(|error| error.into_error())?.sync_all()?;
        exported
    };
    std::fs::rename(&partial, &args.file)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "file": args.file, "events": count, "head_seq": head.seq, "head_hash": head.hash,
        }));
    }
    writeln!(ctx.out, "已导出 {count} 条事件到 {}；链头 #{} {}", args.file.display(), head.seq, head.hash)?;
    Ok(())
}
