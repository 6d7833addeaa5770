//! `duban list`: the commitments and their statuses, filtered the way staff ask (status, organ, year, overdue, near due).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Datelike;
use duban_domain::{status, CommitmentState, ReplyState, Status};
use duban_store::Store;
use ulid::Ulid;

use super::Ctx;
use crate::output::{clip, date_or_dash, table};
use crate::view::{map_families, proposal_text, short_ids, CommitmentView, TimeTravel};

/// 列出承诺及其状态（默认读取当前状态投影，不回放日志）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 只看这些状态（可多次给出）：open 待推进、in-progress 推进中、stalled 停滞、overdue 逾期、fulfilled 已落实、
    /// partially-fulfilled 部分落实、not-fulfilled 未落实、dismissed 已撤销
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub status: Vec<Status>,
    /// 只看仍需跟踪的（待推进、推进中、停滞、逾期）
    #[arg(long)]
    pub active: bool,
    /// 只看逾期的
    #[arg(long)]
    pub overdue: bool,
    /// 只看期限在 N 天内到期、尚未办结的（临期提醒）
    #[arg(long, value_name = "DAYS")]
    pub due_within: Option<u32>,
    /// 责任单位或答复单位包含此文字
    #[arg(long, value_name = "ORGAN")]
    pub organ: Option<String>,
    /// 答复签发年份
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,
    /// 建议提案编号（如 1221），或其会议、届次中的文字
    #[arg(long, value_name = "REF")]
    pub proposal: Option<String>,
    #[command(flatten)]
    pub time: TimeTravel,
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| {
        let codes: Vec<&str> = Status::ALL.iter().map(|status| status.code()).collect();
        format!("状态“{text}”无效：可选 {}", codes.join("、"))
    })
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let store = ctx.open()?;
    list(ctx, &store, &args)
}

impl Args {
    fn keeps(
        &self,
        state: &CommitmentState,
        reply: Option<&ReplyState>,
        status: Status,
        on_date: chrono::NaiveDate,
    ) -> bool {
        let registered = reply.and_then(|reply| reply.registered.as_ref());
        (self.status.is_empty() || self.status.contains(&status))
            && (!self.active || status.is_active())
            && (!self.overdue || status == Status::Overdue)
            && self.due_within.is_none_or(|days| {
                status.is_active()
                    && state.due.is_some_and(|due| due >= on_date && (due - on_date).num_days() <= i64::from(days))
            })
            && self.organ.as_ref().is_none_or(|organ| {
                state.owner.contains(organ.as_str()) || registered.is_some_and(|r| r.organ.contains(organ.as_str()))
            })
            && self.year.is_none_or(|year| registered.is_some_and(|r| r.signed_on.year() == year))
            && self.proposal.as_ref().is_none_or(|wanted| {
                let wanted = wanted.trim();
                registered.is_some_and(|r| {
                    r.proposal.number.as_deref() == Some(wanted)
                        || reply.is_some_and(|reply| proposal_text(reply).contains(wanted))
                })
            })
    }
}

/// Lists from an open store: without time travel this reads only the projection.
pub fn list(ctx: &mut Ctx, store: &Store, args: &Args) -> anyhow::Result<()> {
    let on_date = args.time.on_date(ctx.today());
    let policy = args.time.policy();
    // Family by family (on two threads): only the rows that pass the filters are kept, each reply once.
    let families = map_families(store, args.time.horizon(), |reply, commitments| {
        let reply = reply.map(Arc::new);
        let mut ids: Vec<Ulid> = reply.as_ref().and_then(|reply| reply.id).into_iter().collect();
        let mut rows = Vec::new();
        for state in commitments {
            ids.extend(state.id);
            let status = status(&state, on_date, policy);
            if args.keeps(&state, reply.as_deref(), status, on_date) {
                rows.push((state, reply.clone(), status));
            }
        }
        (rows, ids)
    })?;
    let mut rows: Vec<(CommitmentState, Option<Arc<ReplyState>>, Status)> = Vec::new();
    let mut ids: Vec<Ulid> = Vec::new();
    for (family_rows, family_ids) in families {
        rows.extend(family_rows);
        ids.extend(family_ids);
    }
    rows.sort_by_key(|(state, _, _)| (state.due.is_none(), state.due, state.id));
    ids.sort_unstable();
    let short = short_ids(&ids);
    let rows: Vec<(&CommitmentState, Option<&ReplyState>, Status)> =
        rows.iter().map(|(state, reply, status)| (state, reply.as_deref(), *status)).collect();
    if ctx.json {
        let views: Vec<CommitmentView> = rows
            .iter()
            .map(|(state, reply, status)| {
                CommitmentView::new(state, *reply, *status, state.id.map(|id| short(&id)).unwrap_or_default())
            })
            .collect();
        return ctx.print_json(&views);
    }
    if args.time.as_of.is_some() || args.time.known_at.is_some() {
        writeln!(ctx.out, "{}", horizon_line(args))?;
    }
    let mut out = table(&["编号", "状态", "责任单位", "期限", "最近进展", "文号", "承诺内容"]);
    for (state, reply, status) in &rows {
        out.add_row(vec![
            state.id.map(|id| short(&id)).unwrap_or_default(),
            status.label().to_string(),
            clip(&state.owner, 20),
            date_or_dash(state.due),
            date_or_dash(state.last_progress_on),
            reply.map(|reply| clip(reply.doc_no(), 20)).unwrap_or_default(),
            clip(&state.text, 40),
        ]);
    }
    if !rows.is_empty() {
        writeln!(ctx.out, "{out}")?;
    }
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for (_, _, status) in &rows {
        *counts.entry(*status).or_default() += 1;
    }
    let breakdown: Vec<String> = counts.iter().map(|(status, count)| format!("{} {count}", status.label())).collect();
    if breakdown.is_empty() {
        writeln!(ctx.out, "共 0 项承诺")?;
    } else {
        writeln!(ctx.out, "共 {} 项承诺（{}），状态按 {on_date} 判断", rows.len(), breakdown.join("、"))?;
    }
    Ok(())
}

/// Says which time-travel cut the listing shows.
pub fn horizon_line(args: &Args) -> String {
    let mut parts = Vec::new();
    if let Some(date) = args.time.as_of {
        parts.push(format!("按 {date} 当日的实际情况"));
    }
    match args.time.known_at {
        Some(crate::time::KnownAt::Instant(instant)) => parts.push(format!(
            "按登记簿截至 {} 所记",
            instant.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M")
        )),
        Some(crate::time::KnownAt::Seq(seq)) => parts.push(format!("按登记簿截至日志 #{seq} 所记")),
        None => {}
    }
    parts.join("，")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use clap::Parser;

    use super::*;
    use crate::commands::{Cli, Command};

    fn run_cli(store_path: &std::path::Path, args: &[&str]) -> String {
        let mut argv = vec!["duban", "--store", store_path.to_str().unwrap(), "--now", "2026-01-10", "--actor", "测试"];
        argv.extend_from_slice(args);
        let mut out = Vec::new();
        crate::commands::run(Cli::parse_from(argv), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// `list` reads the status projection, never the log: not one event is decoded.
    #[test]
    fn list_reads_the_projection_not_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duban.db");
        run_cli(&path, &["init"]);
        let reply = run_cli(
            &path,
            &["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-29"],
        );
        for text in ["建成平台", "出台办法"] {
            run_cli(&path, &["commit", "add", "--reply", reply.trim(), "--text", text, "--due", "2025-12-31"]);
        }
        let store = Store::open(&path).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 4, 0, 0).unwrap();
        let list_json = |argv: &[&str]| {
            let mut out = Vec::new();
            let mut ctx = Ctx {
                store_path: path.clone(),
                actor: "测试".into(),
                now,
                json: true,
                out: &mut out,
                shared_store: None,
            };
            let Command::List(args) = Cli::parse_from(argv).command else { unreachable!() };
            list(&mut ctx, &store, &args).unwrap();
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        let rows = list_json(&["duban", "list"]);
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[0]["status"], "overdue");
        assert_eq!(store.events_read(), 0, "list must not replay the log");

        // Time travel, by contrast, folds the log.
        let rows = list_json(&["duban", "list", "--as-of", "2025-06-01"]);
        assert_eq!(rows[0]["status"], "open");
        assert_eq!(store.events_read(), 3);
    }
}
