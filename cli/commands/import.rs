//! `duban import`: read reply documents and record each as one atomic append (the reply and its commitments).
//! Idempotent: a document already imported is skipped; a different document under the same organ and number is
//! refused for a human to decide. One bad file never stops the batch, and nothing partial is written for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use duban_domain::{check_commitment_event, check_reply_event, CommitmentState, Event, ReplyState};
use duban_store::Store;
use serde::Serialize;
use ulid::Ulid;

use super::{refuse, Ctx};
use crate::output::{clip_start, table};

/// 导入答复文件：逐份登记答复及其中的承诺（每份文件一次原子写入）。已导入的文件跳过；同一单位同一文号但内容不同的文件拒绝导入，留待人工核对
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 文件或目录（目录中递归读取 .txt .html .htm .docx 文件）
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// 只解析和检查，不写入
    #[arg(long)]
    pub dry_run: bool,
}

/// File extensions read when walking a directory.
const EXTENSIONS: &[&str] = &["txt", "text", "html", "htm", "docx"];

/// Batches at least this large show a progress bar (when stderr is a terminal).
const PROGRESS_FROM: usize = 20;

#[derive(Serialize)]
struct FileOutcome {
    file: String,
    /// `imported`, `would_import` (dry run), `skipped` or `failed`.
    status: &'static str,
    reply_id: Option<String>,
    commitments: usize,
    reason: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    dry_run: bool,
    imported: usize,
    skipped: usize,
    failed: usize,
    commitments: usize,
    files: Vec<FileOutcome>,
}

/// What the store already holds, by content hash and by organ + document number.
struct Known {
    by_hash: HashMap<String, Ulid>,
    by_number: HashMap<(String, String), (Ulid, Option<String>)>,
}

impl Known {
    fn load(store: &Store) -> anyhow::Result<Known> {
        let mut known = Known { by_hash: HashMap::new(), by_number: HashMap::new() };
        for reply in store.replies()? {
            let (Some(id), Some(registered)) = (reply.id, reply.registered) else { continue };
            let hash = registered.source.map(|source| source.sha256);
            known.remember(id, &registered.organ, &registered.doc_no, hash);
        }
        Ok(known)
    }

    fn remember(&mut self, id: Ulid, organ: &str, doc_no: &str, hash: Option<String>) {
        if let Some(hash) = &hash {
            self.by_hash.insert(hash.clone(), id);
        }
        self.by_number.insert((organ.to_string(), doc_no.to_string()), (id, hash));
    }
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let files = collect(&args.paths)?;
    if files.is_empty() {
        return refuse("没有找到可导入的文件（.txt .html .htm .docx）");
    }
    let store = ctx.open()?;
    let mut known = Known::load(&store)?;
    let progress = indicatif::ProgressBar::new(files.len() as u64);
    if files.len() < PROGRESS_FROM {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut outcomes = Vec::with_capacity(files.len());
    // Many documents: the projection is written behind (every document is still durable when it is reported).
    store.write_behind(files.len() > 1)?;
    for file in &files {
        progress.set_message(file.display().to_string());
        let outcome = import_one(ctx, &store, &mut known, file, args.dry_run);
        outcomes.push(match outcome {
            Ok(outcome) => outcome,
            Err(reason) => failed(file, reason),
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    store.write_behind(false)?;
    let count = |status: &str| outcomes.iter().filter(|o| o.status == status).count();
    let summary = Summary {
        dry_run: args.dry_run,
        imported: count("imported") + count("would_import"),
        skipped: count("skipped"),
        failed: count("failed"),
        commitments: outcomes.iter().filter(|o| o.status != "skipped").map(|o| o.commitments).sum(),
        files: outcomes,
    };
    if ctx.json {
        ctx.print_json(&summary)?;
    } else {
        print_summary(ctx, &summary)?;
    }
    if summary.failed > 0 {
        return refuse(format!("{} 个文件未能导入（原因见上）", summary.failed));
    }
    Ok(())
}

fn failed(file: &Path, reason: String) -> FileOutcome {
    FileOutcome {
        file: file.display().to_string(),
        status: "failed",
        reply_id: None,
        commitments: 0,
        reason: Some(reason),
    }
}

/// Files named, and the readable files below directories named, in a stable order.
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return refuse(format!("找不到 {}", path.display()));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

fn import_one(ctx: &Ctx, store: &Store, known: &mut Known, file: &Path, dry_run: bool) -> Result<FileOutcome, String> {
    let parsed = super::parse::read(file).map_err(|error| format!("{error:#}"))?;
    let registration = parsed
        .registration()
        .map_err(|missing| format!("未找到{}，无法登记（可用 duban reply add 手工登记）", missing.join("、")))?;
    let outcome = |status, reply: Ulid, commitments, reason: Option<String>| FileOutcome {
        file: file.display().to_string(),
        status,
        reply_id: Some(reply.to_string()),
        commitments,
        reason,
    };
    if let Some(existing) = known.by_hash.get(&parsed.source.sha256) {
        return Ok(outcome("skipped", *existing, 0, Some("已导入过（内容相同）".into())));
    }
    let key = (registration.organ.clone(), registration.doc_no.clone());
    if let Some((existing, _)) = known.by_number.get(&key) {
        return Err(format!(
            "{} {} 已登记为答复 {existing}，但文件内容不同：请人工核对后处理",
            registration.organ, registration.doc_no
        ));
    }
    let today = ctx.today();
    let signed_on = registration.signed_on;
    let reply_id = Ulid::from_datetime(ctx.now.into());
    let reply_event = Event::ReplyRegistered(Box::new(registration.clone()));
    check_reply_event(&ReplyState::default(), signed_on, &reply_event, today).map_err(|error| error.to_string())?;
    let reply_state =
        ReplyState { id: Some(reply_id), version: 1, registered: Some(registration.clone()), evaluation: None };
    let mut batches = vec![(reply_id, 0, vec![ctx.new_event(reply_id, signed_on, reply_event)])];
    for made in parsed.commitments_made(reply_id) {
        let event = Event::CommitmentMade(Box::new(made));
        check_commitment_event(&CommitmentState::default(), &reply_state, signed_on, &event, today)
            .map_err(|error| format!("承诺无法登记：{error}"))?;
        let id = Ulid::from_datetime(ctx.now.into());
        batches.push((id, 0, vec![ctx.new_event(id, signed_on, event)]));
    }
    let commitments = batches.len() - 1;
    if dry_run {
        return Ok(outcome("would_import", reply_id, commitments, None));
    }
    store.append_streams(batches).map_err(|error| error.to_string())?;
    known.remember(reply_id, &registration.organ, &registration.doc_no, Some(parsed.source.sha256.clone()));
    let note = (commitments == 0).then(|| "未找到承诺事项".to_string());
    Ok(outcome("imported", reply_id, commitments, note))
}

fn print_summary(ctx: &mut Ctx, summary: &Summary) -> anyhow::Result<()> {
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
            outcome.reply_id.clone().unwrap_or_default(),
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
    Ok(())
}
