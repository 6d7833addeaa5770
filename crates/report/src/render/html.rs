//! The report as one self-contained HTML file: inline CSS and SVG, no scripts, no external requests; readable on
//! screen and printable on A4.

use std::fmt::Write;

use chrono::Datelike;

use html_escape::encode_text;

use super::charts::{activity_bars, colour, organ_bars, status_bars};
use super::{date_or_dash, handling_lines, handling_sections, percent, Section, Sink};
use crate::model::{GroupRow, Report};

const STYLE: &str = r#"
:root { --ink: #1f2933; --muted: #616e7c; --rule: #d9e2ec; --accent: #b71c1c; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px 32px; line-height: 1.6; font-size: 14px; }
h1 { font-size: 24px; text-align: center; color: var(--accent); border-bottom: 3px double var(--accent); padding-bottom: 12px; }
h2 { font-size: 18px; border-left: 5px solid var(--accent); padding-left: 10px; margin-top: 32px; }
h3 { font-size: 15px; margin: 20px 0 8px; }
.scope { text-align: center; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 14px; }
.card .number { font-size: 24px; font-weight: bold; }
.card .label { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid var(--rule); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.status { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; white-space: nowrap; }
.warn { color: var(--accent); font-weight: bold; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.chart { width: 100%; height: auto; max-width: 560px; }
.wide-chart { max-width: 760px; }
.chart .axis, .chart .legend { font-size: 12px; fill: var(--muted); }
.chart .value { font-size: 12px; fill: var(--ink); }
.chart .baseline { stroke: var(--rule); }
.detail { border-top: 1px solid var(--rule); padding-top: 8px; break-inside: avoid; }
.meta { color: var(--muted); font-size: 13px; margin: 0; }
footer { margin-top: 32px; border-top: 1px solid var(--rule); padding-top: 8px; color: var(--muted); font-size: 12px; }
footer p { margin: 2px 0; }
footer .check { font-size: 10px; word-break: break-all; }
.issuer { margin: 32px 0 0 auto; width: max-content; text-align: center; font-size: 15px; }
.issuer p { margin: 4px 0; }
.handling th { white-space: normal; min-width: 3.5em; }
.handling td.text { min-width: 6.5em; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
@page { size: A4; margin: 15mm 12mm 16mm;
  @bottom-right { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 9pt; color: #616e7c; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .charts { grid-template-columns: 1fr 1fr; }
  h2, h3 { break-after: avoid; }
  table, .detail { break-inside: auto; }
  tr { break-inside: avoid; }
  td { overflow-wrap: anywhere; }
  thead { display: table-header-group; }
  .issuer { break-before: avoid; break-inside: avoid; }
  footer { display: none; }
}
"#;

fn esc(text: &str) -> String {
    encode_text(text).to_string()
}

fn status_badge(code: &str, label: &str) -> String {
    format!(r#"<span class="status" style="background:{}">{}</span>"#, colour(code), label)
}

fn table_head(out: &mut Sink, titles: &[&str]) {
    out.push_str("<table><thead><tr>");
    for title in titles {
        let _ = write!(out, "<th>{title}</th>");
    }
    out.push_str("</tr></thead><tbody>");
}

/// A 件 section: its heading, sentences and table (cells that are counts or rates right-aligned).
fn section(out: &mut Sink, tag: &str, title: &str, section: &Section) {
    let _ = write!(out, "<{tag}>{}</{tag}>", esc(title));
    for line in &section.lines {
        let _ = write!(out, "<p>{}</p>", esc(line));
    }
    if section.rows.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(section.empty));
        return;
    }
    out.push_str(r#"<table class="handling"><thead><tr>"#);
    for title in &section.headers {
        let _ = write!(out, "<th>{title}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for cells in &section.rows {
        out.push_str("<tr>");
        for text in cells {
            let numeric = !text.is_empty()
                && text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '%' | '#' | '-' | '—'));
            let class = if numeric { r#" class="num""# } else { r#" class="text""# };
            let _ = write!(out, "<td{class}>{}</td>", esc(text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn groups(out: &mut Sink, first: &str, rows: &[GroupRow]) {
    let headings: Vec<&str> = std::iter::once(first).chain(GroupRow::HEADINGS).collect();
    table_head(out, &headings);
    for g in rows {
        let _ = write!(out, "<tr><td>{}</td>", esc(&g.group));
        for n in g.counts() {
            let _ = write!(out, r#"<td class="num">{n}</td>"#);
        }
        let _ = write!(out, r#"<td class="num">{}</td></tr>"#, percent(g.fulfilment_rate));
    }
    out.push_str("</tbody></table>");
}

pub fn render(report: &Report, writer: &mut dyn std::io::Write) -> std::io::Result<()> {
    let o = &report.overview;
    let mut sink = Sink::new(writer);
    let out = &mut sink;
    // Printed, every page carries the footer's check in its bottom margin, so the report never ends on a page
    // holding only a footer (the values are a date, a number and a hex hash: nothing to escape in a CSS string).
    let f = &report.footer;
    let printed_footer = format!(
        "@page {{ @bottom-left {{ content: \"依据 {} 及以前的事实 · 登记簿第 {} 条 · 核验：duban verify --seq {} --head {}\"; \
         font-size: 6.5pt; color: #616e7c; }} }}",
        f.as_of,
        f.known_seq,
        f.known_seq,
        f.head_hash.chars().filter(char::is_ascii_hexdigit).collect::<String>()
    );
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{STYLE}{printed_footer}</style></head><body>"#,
        esc(&report.title)
    );
    let _ = write!(out, "<h1>{}</h1>", esc(&report.title));
    let mut scope = vec![format!("截至 {}", report.as_of)];
    scope.extend(report.filters.organ.as_ref().map(|organ| format!("单位：{}", esc(organ))));
    scope.extend(report.filters.assembly.as_ref().map(|assembly| format!("会议：{}", esc(assembly))));
    let _ = write!(out, r#"<p class="scope">{}</p>"#, scope.join("；"));

    let sections = handling_sections(report);
    let m = &report.metrics;
    out.push_str("<h2>一、总体情况</h2><h3>办理情况（件）</h3><div class=\"cards\">");
    for (number, label) in [
        (m.proposals.to_string(), format!("承办建议提案（件）：建议 {}，提案 {}", m.suggestions, m.cppcc_proposals)),
        (percent(m.reply_rate), format!("办复率：已办复 {} 件", m.replied)),
        (
            percent(m.on_time_reply_rate),
            format!("按时办复率：按时 {} 件，应复 {} 件", m.replied_on_time, m.due_for_reply),
        ),
        (percent(m.basic_satisfaction_rate), format!("满意和基本满意率：已评价 {} 件", m.evaluated)),
    ] {
        let _ = write!(
            out,
            r#"<div class="card"><div class="number">{number}</div><div class="label">{label}</div></div>"#
        );
    }
    out.push_str("</div><ul>");
    for line in handling_lines(report) {
        let _ = write!(out, "<li>{}</li>", esc(&line));
    }
    out.push_str("</ul><h3>承诺落实情况（项）</h3><div class=\"cards\">");
    for (number, label) in [
        (o.replies.to_string(), "本年度答复（件）".to_string()),
        (o.commitments.to_string(), format!("承诺（项），其中往年结转 {}", o.carried_over)),
        (percent(o.fulfilment_rate), format!("落实率（办成率）：到期 {} 项，已落实 {} 项", o.due, o.fulfilled_due)),
        (percent(o.satisfaction.satisfaction_rate), format!("满意率：已评价 {} 件", o.satisfaction.evaluated)),
    ] {
        let _ = write!(
            out,
            r#"<div class="card"><div class="number">{number}</div><div class="label">{label}</div></div>"#
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        "<p>按期落实 {} 项，按期落实率 {}；逾期后既无进展、也未调整期限或办结（悄然延期）<span class=\"warn\">{}</span> 项。</p>",
        o.on_time,
        percent(o.on_time_rate),
        o.silent_deferrals
    );
    let _ = write!(out, "<p>{}。</p>", encode_text(&o.due_sources.sentence()));
    let _ = write!(
        out,
        r#"<div class="charts"><div><h3>状态分布</h3>{}</div><div><h3>每月进展与办结</h3>{}</div></div>"#,
        status_bars(&o.by_status),
        activity_bars(&report.activity)
    );
    table_head(out, &["状态", "项数", "占比"]);
    for s in &o.by_status {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            status_badge(s.status, s.label),
            s.count,
            percent(s.share)
        );
    }
    out.push_str("</tbody></table><h3>按办理结果</h3>");
    table_head(out, &["办理结果", "答复", "承诺", "到期", "已落实", "落实率", "提示"]);
    for r in &o.by_result {
        let warning = if r.adopted_but_unfulfilled {
            r#"<span class="warn">答复称已采纳，但有到期承诺未落实</span>"#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{warning}</td></tr>"#,
            esc(&r.result),
            r.replies,
            r.commitments,
            r.due,
            r.fulfilled_due,
            percent(r.fulfilment_rate)
        );
    }
    let s = &o.satisfaction;
    out.push_str("</tbody></table><h3>满意度与办成率</h3>");
    table_head(out, &["答复", "已评价", "满意", "基本满意", "不满意", "未评价", "满意率", "办成率"]);
    let _ = write!(out, "<tr>");
    for n in [s.replies, s.evaluated, s.satisfied, s.basically_satisfied, s.dissatisfied, s.not_evaluated] {
        let _ = write!(out, r#"<td class="num">{n}</td>"#);
    }
    let _ = write!(
        out,
        r#"<td class="num">{}</td><td class="num">{}</td></tr></tbody></table>"#,
        percent(s.satisfaction_rate),
        percent(s.fulfilment_rate)
    );

    out.push_str("<h2>二、分单位情况</h2>");
    section(out, "h3", sections[0].title, &sections[0]);
    out.push_str("<h3>承诺落实情况（按责任单位，项）</h3><div class=\"wide-chart\">");
    out.push_str(&organ_bars(&report.by_organ));
    out.push_str("</div>");
    groups(out, "责任单位", &report.by_organ);
    for (number, at) in [("三", 1), ("四", 2), ("五", 3)] {
        section(out, "h2", &format!("{number}、{}", sections[at].title), &sections[at]);
    }
    out.push_str("<h2>六、分会议、分类情况</h2><h3>分会议</h3>");
    groups(out, "会议", &report.by_session);
    out.push_str("<h3>分类</h3>");
    groups(out, "类别", &report.by_kind);

    out.push_str("<h2>七、逾期及停滞事项</h2>");
    if report.attention.is_empty() {
        out.push_str("<p>无。</p>");
    } else {
        table_head(
            out,
            &["编号", "责任单位", "文号", "承诺内容", "状态", "期限", "最近进展", "逾期天数", "距最近进展天数"],
        );
        for a in &report.attention {
            let _ = write!(
                out,
                r#"<tr><td class="num">#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                a.number,
                esc(&a.owner),
                esc(&a.doc_no),
                esc(&a.text),
                status_badge(a.status, a.status_label),
                date_or_dash(a.due),
                date_or_dash(a.last_progress_on),
                a.days_overdue.map_or("—".into(), |d| d.to_string()),
                a.days_since_progress.map_or("—".into(), |d| d.to_string())
            );
        }
        out.push_str("</tbody></table>");
    }

    section(out, "h2", &format!("八、{}", sections[4].title), &sections[4]);
    out.push_str("<h2>九、承诺事项明细</h2>");
    report.details.prefetched(|details| {
        for (index, d) in details.enumerate() {
        let carried = if d.carried_over { "（往年结转）" } else { "" };
        let _ = write!(
            out,
            r#"<div class="detail"><h3>{}. {} {}</h3>"#,
            index + 1,
            status_badge(d.status, d.status_label),
            esc(d.text)
        );
        let proposal = if d.proposal.is_empty() { String::new() } else { format!("（{}）", esc(&d.proposal)) };
        let _ = write!(
            out,
            r#"<p class="meta">来源：{} {}{proposal}；责任单位：{}；作出 {}，期限 {}，办结 {}{carried}；编号 #{}（<code>{}</code>）</p>"#,
            esc(d.organ),
            esc(d.doc_no),
            esc(d.owner),
            date_or_dash(d.made_on),
            date_or_dash(d.due),
            date_or_dash(d.closed_on),
            d.number,
            d.id
        );
        for change in &d.due_changes {
            let reason = change.reason.map_or(String::new(), |r| format!("，理由：{}", esc(r)));
            let _ = write!(
                out,
                r#"<p class="meta">期限变更：{} 由 {} 改为 {}{reason}</p>"#,
                change.on,
                date_or_dash(change.from),
                change.to
            );
        }
        table_head(out, &["日期", "事件", "内容", "佐证", "记录人", "日志"]);
        for t in &d.timeline {
            let _ = write!(
                out,
                r#"<tr><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">#{}</td></tr>"#,
                t.date,
                t.label,
                esc(t.summary),
                esc(&t.evidence.join("、")),
                esc(t.actor),
                t.seq
            );
        }
        out.push_str("</tbody></table></div>");
    }
    });

    out.push_str("<h2>十、审计提示</h2>");
    if report.audit.is_empty() {
        out.push_str("<p>无。</p>");
    } else {
        out.push_str("<ul>");
        for hint in &report.audit {
            let _ = write!(out, "<li>#{} {}</li>", hint.number, esc(&hint.message));
        }
        out.push_str("</ul>");
    }
    if let Some(issuer) = &report.issuer {
        // 落款: the office and the day it issues the report (the day it was generated, else the as-of date).
        let day: chrono::NaiveDate =
            f.generated_at.as_deref().and_then(|at| at.get(..10)).and_then(|d| d.parse().ok()).unwrap_or(f.as_of);
        let _ = write!(
            out,
            r#"<div class="issuer"><p>{}</p><p>{}年{}月{}日</p></div>"#,
            esc(issuer),
            day.year(),
            day.month(),
            day.day()
        );
    }
    let _ =
        write!(out, "<footer><p>本报告依据 {} 及以前发生的事实，登记簿截至第 {} 条记录。</p>", f.as_of, f.known_seq);
    let generated = f.generated_at.as_ref().map(|at| format!("生成于 {}；", esc(at))).unwrap_or_default();
    let _ = write!(
        out,
        r#"<p class="check">{generated}核验：<code>duban verify --seq {} --head {}</code>；重现：<code>duban report --year {} --as-of {} --known-at {}</code></p>"#,
        f.known_seq, f.head_hash, report.year, f.as_of, f.known_seq
    );
    out.push_str("</footer></body></html>\n");
    sink.finish()
}
