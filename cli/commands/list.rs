//! `duban list`: the commitments and their statuses, filtered the way staff ask (status, organ, year, overdue, near due).

use duban_app::{CommitmentView, ListFilter};
use duban_domain::Status;

use crate::output::{date_or_dash, fitted as table_fitted, wrap, Column, Give};
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
    pub(crate) fn filter(&self, ctx: &Ctx) -> ListFilter {
        ListFilter {
            statuses: self.status.clone(),
            active: self.active,
            overdue: self.overdue,
            due_within: self.due_within,
            organ: self.organ.as_deref().map(|organ| ctx.organ(organ)),
            year: self.year,
            proposal: self.proposal.clone(),
            order: duban_app::Order::Due,
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
fn wrapped(text: &str, width: Option<usize>) -> String {
    width.map_or_else(|| text.to_string(), |width| wrap(text, width))
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| {
        let codes: Vec<&str> = Status::ALL.iter().map(|status| status.code()).collect();
        format!("状态“{text}”无效：可选 {}", codes.join("、"))
    })
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let view = args.time.view(ctx.today());
    if let Some(server) = ctx.server.clone() {
        let (rows, text) = server.call_text("GET", &format!("/api/commitments?{}", args.query()), None)?;
        if ctx.json {
            return ctx.print_json_text(&text);
        }
        let lines = rows.as_array().into_iter().flatten().map(Line::from_json).collect::<anyhow::Result<Vec<_>>>()?;
        return render(ctx, &args, &view, &lines);
    }
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
    let lines: Vec<Line> = listing.rows.iter().map(|row| Line::from_row(row, view.policy)).collect();
    render(ctx, &args, &view, &lines)
}

/// One row of the table, from a local listing or from the server's `list --json`.
struct Line {
    number: u64,
    status: Status,
    owner: String,
    /// The due date, marked `*` when it is the policy's default.
    due: String,
    defaulted: bool,
    last_progress_on: Option<chrono::NaiveDate>,
    doc_no: String,
    text: String,
}

impl Line {
    fn from_row(row: &duban_app::ListRow, policy: duban_domain::Policy) -> Line {
        Line {
            number: row.state.number,
            status: row.status,
            owner: row.state.owner.clone(),
            due: due_text(&row.state, policy),
            defaulted: row.state.due.is_none() && row.state.due_on(policy).is_some(),
            last_progress_on: row.state.last_progress_on,
            doc_no: row.reply.as_ref().map(|r| r.doc_no().to_string()).unwrap_or_default(),
            text: row.state.text.clone(),
        }
    }

    fn from_json(value: &serde_json::Value) -> anyhow::Result<Line> {
        let text = |name: &str| value[name].as_str().unwrap_or_default().to_string();
        let date = |name: &str| value[name].as_str().and_then(|d| d.parse().ok());
        let defaulted = value["due_source"].as_str() == Some("policy");
        let due = match value["due"].as_str() {
            Some(due) if defaulted => format!("{due}*"),
            Some(due) => due.to_string(),
            None => "—".to_string(),
        };
        Ok(Line {
            number: value["number"].as_u64().unwrap_or_default(),
            status: Status::parse(&text("status")).ok_or_else(|| anyhow::anyhow!("服务器的回答中状态无效"))?,
            owner: text("owner"),
            due,
            defaulted,
            last_progress_on: date("last_progress_on"),
            doc_no: text("doc_no"),
            text: text("text"),
        })
    }
}

impl Args {
    /// The filters as the API's query parameters.
    pub(crate) fn query(&self) -> String {
        use crate::remote::encode;
        let mut query = Vec::new();
        if !self.status.is_empty() {
            let codes: Vec<&str> = self.status.iter().map(|status| status.code()).collect();
            query.push(format!("status={}", encode(&codes.join(","))));
        }
        if self.active {
            query.push("active=true".to_string());
        }
        if self.overdue {
            query.push("overdue=true".to_string());
        }
        if let Some(days) = self.due_within {
            query.push(format!("due_within={days}"));
        }
        if let Some(organ) = &self.organ {
            query.push(format!("organ={}", encode(organ)));
        }
        if let Some(year) = self.year {
            query.push(format!("year={year}"));
        }
        if let Some(proposal) = &self.proposal {
            query.push(format!("proposal={}", encode(proposal)));
        }
        query.extend(self.time.query());
        query.join("&")
    }
}

fn render(ctx: &mut Ctx, args: &Args, view: &duban_app::View, lines: &[Line]) -> anyhow::Result<()> {
    if args.time.is_set() {
        writeln!(ctx.out, "{}", args.time.describe())?;
    }
    let column =
        |header, give, cell: &dyn Fn(&Line) -> String| Column::new(header, give, lines.iter().map(cell).collect());
    let out = table_fitted(
        ctx.width,
        vec![
            column("编号", Give::Never, &|line| format!("#{}", line.number)),
            column("状态", Give::Never, &|line| line.status.label().to_string()),
            column("责任单位", Give::Clip(20), &|line| line.owner.clone()).droppable(2),
            column("期限", Give::Never, &|line| line.due.clone()),
            column("最近进展", Give::Never, &|line| date_or_dash(line.last_progress_on)).droppable(1),
            column("文号", Give::Clip(20), &|line| line.doc_no.clone()).droppable(0),
            column("承诺内容", Give::Rest(40), &|line| line.text.clone()),
        ],
    );
    if !lines.is_empty() {
        writeln!(ctx.out, "{out}")?;
        let defaulted = lines.iter().filter(|line| line.defaulted).count();
        if defaulted > 0 {
            let years = match view.policy.default_due_years {
                Some(0) => "当年年底".to_string(),
                Some(1) => "次年年底".to_string(),
                Some(years) => format!("第 {years} 年年底"),
                None => String::new(),
            };
            let note =
                format!("* 默认期限：答复未写期限的 {defaulted} 项承诺按作出后{years}跟踪（--default-due 可改）");
            writeln!(ctx.out, "{}", wrapped(&note, ctx.width))?;
        }
    }
    let mut counts: std::collections::BTreeMap<Status, usize> = std::collections::BTreeMap::new();
    for line in lines {
        *counts.entry(line.status).or_default() += 1;
    }
    let breakdown: Vec<String> = counts.iter().map(|(status, count)| format!("{} {count}", status.label())).collect();
    if breakdown.is_empty() {
        writeln!(ctx.out, "共 0 项承诺")?;
    } else {
        let total = format!("共 {} 项承诺（{}），状态按 {} 判断", lines.len(), breakdown.join("、"), view.on_date);
        writeln!(ctx.out, "{}", wrapped(&total, ctx.width))?;
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
                fixed_clock: true,
                json: true,
                out: &mut out,
                shared: Some(app.clone()),
                aliases: Vec::new(),
                width: None,
                server: None,
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
