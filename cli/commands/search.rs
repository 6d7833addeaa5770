//! `duban search`: find promises, replies and progress reports by their words — any two or more characters, single
//! characters, digits and 文号 fragments, across simplified and traditional script and full and half width.

use duban_app::{HitView, SearchKind, SearchRequest, Visible};

use crate::output::{fitted, Column, Give};
use crate::toolkit::{Ctx, UserError};

/// 按字词查找承诺、答复和进展（多个词须同时出现；引号内的短语按原样匹配；繁简体、全半角通用）
#[derive(clap::Args, Debug)]
#[group(id = "search")]
pub struct Args {
    /// 要找的字词，如 概念验证、"协同创新集市"、〔2025〕29
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// 最多列出多少条（按相关度排序）
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// 只找一类：commitment 承诺、reply 答复、progress 进展
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub kind: Option<SearchKind>,
    #[command(flatten)]
    pub list: super::list::Args,
}

fn parse_kind(text: &str) -> Result<SearchKind, String> {
    SearchKind::parse(text).ok_or_else(|| format!("类别“{text}”无效：可选 commitment、reply、progress"))
}

impl Args {
    fn query_text(&self) -> String {
        self.query.join(" ")
    }

    fn api_query(&self) -> String {
        use crate::remote::encode;
        let mut query = vec![format!("q={}", encode(&self.query_text())), format!("limit={}", self.limit)];
        if let Some(kind) = self.kind {
            query.push(format!("kind={}", kind.code()));
        }
        let rest = self.list.query();
        if !rest.is_empty() {
            query.push(rest);
        }
        query.join("&")
    }
}

/// The answer as both ways of running give it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Answer {
    pub total: usize,
    pub hits: Vec<HitView>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if args.limit == 0 {
        return Err(UserError("--limit 须至少为 1".to_string()).into());
    }
    let view = args.list.time.view(ctx.today());
    let answer = if let Some(server) = ctx.server.clone() {
        let (value, text) = server.call_text("GET", &format!("/api/search?{}", args.api_query()), None)?;
        if ctx.json {
            return ctx.print_json_text(&text);
        }
        serde_json::from_value::<Answer>(value)?
    } else {
        let app = ctx.reader()?;
        let request = SearchRequest {
            query: args.query_text(),
            kind: args.kind,
            limit: args.limit,
            filter: args.list.filter(ctx),
            keys: false,
        };
        let found = app.search(&request, &view, &Visible::everything())?;
        Answer { total: found.total, hits: found.hits.iter().map(HitView::new).collect() }
    };
    if ctx.json {
        return ctx.print_json(&answer);
    }
    if args.list.time.is_set() {
        writeln!(ctx.out, "{}", args.list.time.describe())?;
    }
    if answer.hits.is_empty() {
        writeln!(ctx.out, "没有找到“{}”", args.query_text())?;
        return Ok(());
    }
    let hits = &answer.hits;
    let column =
        |header, give, cell: &dyn Fn(&HitView) -> String| Column::new(header, give, hits.iter().map(cell).collect());
    let kind_label = |code: &str| SearchKind::parse(code).map_or(code.to_string(), |kind| kind.label().to_string());
    let table = fitted(
        ctx.width,
        vec![
            column("类别", Give::Never, &|hit| kind_label(&hit.kind)),
            column("编号", Give::Never, &|hit| hit.short_id.clone()),
            column("状态", Give::Never, &|hit| hit.status_label.clone().unwrap_or_else(|| "—".to_string())),
            column("日期", Give::Never, &|hit| hit.occurred_on.to_string()).droppable(0),
            column("摘录", Give::Rest(30), &|hit| hit.snippet.clone()),
        ],
    );
    writeln!(ctx.out, "{table}")?;
    let shown = hits.len();
    if answer.total > shown {
        writeln!(ctx.out, "共 {} 条，列出最相关的 {shown} 条（--limit 可调）", answer.total)?;
    } else {
        writeln!(ctx.out, "共 {} 条", answer.total)?;
    }
    Ok(())
}
