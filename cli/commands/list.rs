//! `duban list`: the commitments and their statuses, filtered the way staff ask (status, organ, year, overdue, near due).

use duban_app::{CommitmentView, ListFilter};
use duban_domain::Status;

use crate::output::{clip, date_or_dash, table, text_width, wrap};
use crate::toolkit::Ctx;
use crate::view::TimeTravel;

/// 列出承诺及其状态（默认读取当前状态投影，不回放日志）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 只看这些状态（可多次给出）：open 待推进、in_progress 推进中、stalled 停滞、overdue 逾期、fulfilled 已落实、
    /// partially_fulfilled 部分落实、not_fulfilled 未落实、dismissed 已撤销（“_”也可写作“-”，也可写中文）
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

impl Args {
    fn filter(&self, ctx: &Ctx) -> ListFilter {
        ListFilter {
            statuses: self.status.clone(),
            active: self.active,
            overdue: self.overdue,
            due_within: self.due_within,
            organ: self.organ.as_deref().map(|organ| ctx.organ(organ)),
            year: self.year,
            proposal: self.proposal.clone(),
        }
    }
}

/// A due date as the list shows it: a default one marked as such (`2026-12-31*`, explained under the table).
fn due_text(state: &duban_domain::CommitmentState, policy: duban_domain::Policy) -> String {
    match state.due_under(policy) {
        Some((due, duban_domain::DueSource::Policy)) => format!("{due}*"),
        Some((due, _)) => due.to_string(),
        None => "—".to_string(),
    }
}

/// A line of text wrapped to the width, if there is one.
fn fitted(text: &str, width: Option<usize>) -> String {
    width.map_or_else(|| text.to_string(), |width| wrap(text, width))
}

/// One row of the human list before it is fitted to the width.
struct Cells<'a> {
    number: String,
    status: &'static str,
    owner: &'a str,
    due: String,
    progress: String,
    doc_no: &'a str,
    text: &'a str,
}

/// Which columns the list shows and how wide the clipped ones are: 编号, 状态 and 期限 are never cut; at a narrow
/// width 文号, then 最近进展, make way for the promise's text.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    progress: bool,
    /// 0: not shown.
    doc_no: usize,
    /// 0: not shown.
    owner: usize,
    text: usize,
}

impl Layout {
    /// Padding each column takes in the table (a space either side).
    const PADDING: usize = 2;

    fn fit(width: Option<usize>, cells: &[Cells]) -> Layout {
        let Some(width) = width else { return Layout { progress: true, doc_no: 20, owner: 20, text: 40 } };
        let widest = |header: &str, each: &dyn Fn(&Cells) -> usize| {
            cells.iter().map(each).chain([text_width(header)]).max().unwrap_or(0)
        };
        let fixed = widest("编号", &|c| text_width(&c.number))
            + widest("状态", &|c| text_width(c.status))
            + widest("期限", &|c| text_width(&c.due));
        let progress_width = widest("最近进展", &|c| text_width(&c.progress));
        let owner_wanted = widest("责任单位", &|c| text_width(c.owner)).min(20);
        let doc_wanted = widest("文号", &|c| text_width(c.doc_no)).min(20);
        // A clipped column is never narrower than its header (8 columns: four Chinese characters).
        const HEADER: usize = 8;
        let choices = [(true, true, true), (true, false, true), (false, false, true), (false, false, false)];
        for (index, (progress, doc_no, owner_shown)) in choices.into_iter().enumerate() {
            let columns = 3 + usize::from(owner_shown) + 1 + usize::from(progress) + usize::from(doc_no);
            let taken = fixed + Layout::PADDING * columns + if progress { progress_width } else { 0 };
            let rest = width.saturating_sub(taken);
            let owner = if owner_shown { (rest / 4).clamp(HEADER, 20).min(owner_wanted.max(HEADER)) } else { 0 };
            let doc = if doc_no { (rest / 5).clamp(HEADER, 20).min(doc_wanted.max(HEADER)) } else { 0 };
            let text = rest.saturating_sub(owner + doc);
            if text >= 24 || (index == choices.len() - 2 && text >= HEADER) || index == choices.len() - 1 {
                return Layout { progress, doc_no: doc, owner, text: text.max(HEADER) };
            }
        }
        unreachable!("the last choice always returns")
    }
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| {
        let codes: Vec<&str> = Status::ALL.iter().map(|status| status.code()).collect();
        format!("状态“{text}”无效：可选 {}", codes.join("、"))
    })
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let view = args.time.view(ctx.today());
    let app = ctx.reader()?;
    let listing = app.list(&args.filter(ctx), &view)?;
    if ctx.json {
        let views: Vec<CommitmentView> = listing
            .rows
            .iter()
            .map(|row| {
                CommitmentView::new(&row.state, row.reply.as_deref(), row.status, row.short_id.clone(), view.policy)
            })
            .collect();
        return ctx.print_json(&views);
    }
    if args.time.is_set() {
        writeln!(ctx.out, "{}", args.time.describe())?;
    }
    let cells: Vec<Cells> = listing
        .rows
        .iter()
        .map(|row| Cells {
            number: format!("#{}", row.state.number),
            status: row.status.label(),
            owner: &row.state.owner,
            due: due_text(&row.state, view.policy),
            progress: date_or_dash(row.state.last_progress_on),
            doc_no: row.reply.as_ref().map_or("", |reply| reply.doc_no()),
            text: &row.state.text,
        })
        .collect();
    let layout = Layout::fit(ctx.width, &cells);
    let mut header = vec!["编号", "状态"];
    if layout.owner > 0 {
        header.push("责任单位");
    }
    header.push("期限");
    if layout.progress {
        header.push("最近进展");
    }
    if layout.doc_no > 0 {
        header.push("文号");
    }
    header.push("承诺内容");
    let mut out = table(&header);
    for cell in &cells {
        let mut row = vec![cell.number.clone(), cell.status.to_string()];
        if layout.owner > 0 {
            row.push(clip(cell.owner, layout.owner));
        }
        row.push(cell.due.clone());
        if layout.progress {
            row.push(cell.progress.clone());
        }
        if layout.doc_no > 0 {
            row.push(clip(cell.doc_no, layout.doc_no));
        }
        row.push(clip(cell.text, layout.text));
        out.add_row(row);
    }
    if !listing.rows.is_empty() {
        writeln!(ctx.out, "{out}")?;
        let defaulted = listing
            .rows
            .iter()
            .filter(|row| row.state.due.is_none() && row.state.due_on(view.policy).is_some())
            .count();
        if defaulted > 0 {
            let years = match view.policy.default_due_years {
                Some(0) => "当年年底".to_string(),
                Some(1) => "次年年底".to_string(),
                Some(years) => format!("第 {years} 年年底"),
                None => String::new(),
            };
            let note =
                format!("* 默认期限：答复未写期限的 {defaulted} 项承诺按作出后{years}跟踪（--default-due 可改）");
            writeln!(ctx.out, "{}", fitted(&note, ctx.width))?;
        }
    }
    let counts = listing.counts();
    let breakdown: Vec<String> = counts.iter().map(|(status, count)| format!("{} {count}", status.label())).collect();
    if breakdown.is_empty() {
        writeln!(ctx.out, "共 0 项承诺")?;
    } else {
        let total =
            format!("共 {} 项承诺（{}），状态按 {} 判断", listing.rows.len(), breakdown.join("、"), view.on_date);
        writeln!(ctx.out, "{}", fitted(&total, ctx.width))?;
    }
    Ok(())
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
        let app = duban_app::App::open(&path).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 4, 0, 0).unwrap();
        let list_json = |argv: &[&str]| {
            let mut out = Vec::new();
            let mut ctx = Ctx {
                store_path: path.clone(),
                actor: "测试".into(),
                now,
                json: true,
                out: &mut out,
                shared: Some(app.clone()),
                aliases: Vec::new(),
                width: None,
            };
            let Command::List(args) = Cli::parse_from(argv).command else { unreachable!() };
            run(&mut ctx, args).unwrap();
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        let rows = list_json(&["duban", "list"]);
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[0]["status"], "overdue");
        assert_eq!(app.store().events_read(), 0, "list must not replay the log");

        // Time travel, by contrast, folds the log.
        let rows = list_json(&["duban", "list", "--as-of", "2025-06-01"]);
        assert_eq!(rows[0]["status"], "open");
        assert_eq!(app.store().events_read(), 3);
    }
}
