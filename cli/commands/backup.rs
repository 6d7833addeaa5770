//! `duban backup` and `duban restore`: a verified copy of the whole register, and a new store made from one.

use std::path::PathBuf;

use crate::toolkit::{refuse, Ctx};

/// 备份：把整个登记簿（全部事件及其哈希链）写成 DIR 中的一个备份文件，写完再读回逐条校验。可每日运行；只读打开事件库
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// 备份目录（不存在则新建）
    pub dir: PathBuf,
}

/// 由备份文件还原：新建 --store 指定的事件库（或替换其中的空库），整份文件先校验；中途中断则目标保持原样
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// duban backup 写下的备份文件（或 duban export 的导出文件）
    pub file: PathBuf,
}

pub fn backup(ctx: &mut Ctx, args: BackupArgs) -> anyhow::Result<()> {
    if args.dir.exists() && !args.dir.is_dir() {
        return refuse(format!("{} 不是目录", args.dir.display()));
    }
    let made = ctx.reader()?.backup(&args.dir, ctx.now)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "file": made.file, "events": made.events, "head_seq": made.head.seq, "head_hash": made.head.hash,
            "bytes": made.bytes, "files": made.files, "files_copied": made.files_copied,
        }));
    }
    writeln!(
        ctx.out,
        "已备份 {} 条事件到 {}（{:.1} MB，已读回校验）；链头 #{} {}",
        made.events,
        made.file.display(),
        made.bytes as f64 / 1e6,
        made.head.seq,
        made.head.hash
    )?;
    if made.files > 0 {
        let folder = args.dir.join("files");
        writeln!(ctx.out, "附件 {} 个在 {}（本次复制 {} 个）", made.files, folder.display(), made.files_copied)?;
    }
    Ok(())
}

pub fn restore(ctx: &mut Ctx, args: RestoreArgs) -> anyhow::Result<()> {
    let restored = duban_app::App::restore(&ctx.store_path, &args.file)?;
    let (count, head, files) = (restored.events, restored.head, restored.files);
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "events": count, "head_seq": head.seq, "head_hash": head.hash,
            "files": files.copied, "missing_files": files.missing,
        }));
    }
    writeln!(
        ctx.out,
        "已由 {} 还原 {count} 条事件到 {}；链头 #{} {}",
        args.file.display(),
        ctx.store_path.display(),
        head.seq,
        head.hash
    )?;
    if files.copied > 0 {
        writeln!(ctx.out, "附件 {} 个已由备份的 files 文件夹取回", files.copied)?;
    }
    if !files.missing.is_empty() {
        eprintln!(
            "duban: 注意：{} 个附件不在 {} 旁的 files 文件夹中（或已损坏），事件完整，但这些附件无法下载：{}",
            files.missing.len(),
            args.file.display(),
            files.missing.join("、")
        );
    }
    Ok(())
}
