//! The report as Markdown: the text staff paste into the report they hand upward.

use std::fmt::Write;

use super::{date_or_dash, handling_lines, handling_sections, percent, Section, Sink};
use crate::model::{GroupRow, Report};

/// Escapes text for a Markdown table cell.
/// Text from the register as Markdown shows it: no raw HTML (`<`, `>`, `&` as entities), no table breaks (`|`),
/// one line.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn row(out: &mut Sink, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn header(out: &mut Sink, titles: &[&str]) {
    let _ = writeln!(out, "| {} |", titles.join(" | "));
    let _ = writeln!(out, "|{}|", titles.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
}

/// A 件 section's sentences and table, under a heading of `level` with `title`.
fn section(out: &mut Sink, level: &str, title: &str, section: &Section) {
    let _ = writeln!(out, "\n{level} {title}\n");
    for line in &section.lines {
        let _ = writeln!(out, "{}\n", cell(line));
    }
    if section.rows.is_empty() {
        let _ = writeln!(out, "{}", section.empty);
        return;
    }
    header(out, &section.headers);
    for cells in &section.rows {
        row(out, &cells.iter().map(|text| cell(text)).collect::<Vec<_>>());
    }
}

fn groups(out: &mut Sink, first: &str, rows: &[GroupRow]) {
    let headings: Vec<&str> = std::iter::once(first).chain(GroupRow::HEADINGS).collect();
    header(out, &headings);
    for g in rows {
        let mut cells = vec![cell(&g.group)];
        cells.extend(g.counts().iter().map(|n| n.to_string()));
        cells.push(percent(g.fulfilment_rate));
        row(out, &cells);
    }
}

pub fn render(report: &Report, writer: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut sink = Sink::new(writer);
    let out = &mut sink;
    let o = &report.overview;
    let _ = writeln!(out, "# {}\n", report.title);
    let mut scope = vec![format!("截至 {}", report.as_of)];
    scope.extend(report.filters.organ.as_ref().map(|organ| format!("单位：{}", cell(organ))));
    scope.extend(report.filters.assembly.as_ref().map(|assembly| format!("会议：{}", cell(assembly))));
    let _ = writeln!(out, "{}\n", scope.join("；"));

    let sections = handling_sections(report);
    let _ = writeln!(out, "## 一、总体情况\n\n### 办理情况（件）\n");
    for line in handling_lines(report) {
        let _ = writeln!(out, "- {}", cell(&line));
    }
    let _ = writeln!(out, "\n### 承诺落实情况（项）\n");
    let _ =
        writeln!(out, "- 答复：本年度 {} 件；有承诺结转至本年度的往年答复 {} 件", o.replies, o.replies_carried_over);
    let _ = writeln!(
        out,
        "- 承诺：共 {} 项，其中本年度 {} 项，往年结转 {} 项",
        o.commitments, o.new_commitments, o.carried_over
    );
    let _ = writeln!(
        out,
        "- 到期承诺 {} 项，已落实 {} 项，落实率（办成率）{}；按期落实 {} 项，按期落实率 {}",
        o.due,
        o.fulfilled_due,
        percent(o.fulfilment_rate),
        o.on_time,
        percent(o.on_time_rate)
    );
    let _ = writeln!(out, "- 逾期后既无进展、也未调整期限或办结（悄然延期）：{} 项", o.silent_deferrals);
    let _ = writeln!(out, "- {}\n", o.due_sources.sentence());
    header(out, &["状态", "项数", "占比"]);
    for s in &o.by_status {
        row(out, &[s.label.to_string(), s.count.to_string(), percent(s.share)]);
    }
    let _ = writeln!(out, "\n### 按办理结果\n");
    header(out, &["办理结果", "答复", "承诺", "到期", "已落实", "落实率", "提示"]);
    for r in &o.by_result {
        let warning = if r.adopted_but_unfulfilled { "答复称已采纳，但有到期承诺未落实" } else { "" };
        row(
            out,
            &[
                cell(&r.result),
                r.replies.to_string(),
                r.commitments.to_string(),
                r.due.to_string(),
                r.fulfilled_due.to_string(),
                percent(r.fulfilment_rate),
                warning.to_string(),
            ],
        );
    }
    let s = &o.satisfaction;
    let _ = writeln!(out, "\n### 满意度与办成率\n");
    header(out, &["答复", "已评价", "满意", "基本满意", "不满意", "未评价", "满意率", "办成率"]);
    row(
        out,
        &[
            s.replies.to_string(),
            s.evaluated.to_string(),
            s.satisfied.to_string(),
            s.basically_satisfied.to_string(),
            s.dissatisfied.to_string(),
            s.not_evaluated.to_string(),
            percent(s.satisfaction_rate),
            percent(s.fulfilment_rate),
        ],
    );

    let _ = writeln!(out, "\n## 二、分单位情况");
    section(out, "###", sections[0].title, &sections[0]);
    let _ = writeln!(out, "\n### 承诺落实情况（按责任单位，项）\n");
    groups(out, "责任单位", &report.by_organ);
    for (number, at) in [("三", 1), ("四", 2), ("五", 3)] {
        section(out, "##", &format!("{number}、{}", sections[at].title), &sections[at]);
    }
    let _ = writeln!(out, "\n## 六、分会议、分类情况\n\n### 分会议\n");
    groups(out, "会议", &report.by_session);
    let _ = writeln!(out, "\n### 分类\n");
    groups(out, "类别", &report.by_kind);

    let _ = writeln!(out, "\n## 七、逾期及停滞事项\n");
    if report.attention.is_empty() {
        let _ = writeln!(out, "无。");
    } else {
        header(
            out,
            &["编号", "责任单位", "文号", "承诺内容", "状态", "期限", "最近进展", "逾期天数", "距最近进展天数"],
        );
        for a in &report.attention {
            row(
                out,
                &[
                    format!("#{}", a.number),
                    cell(&a.owner),
                    cell(&a.doc_no),
                    cell(&a.text),
                    a.status_label.to_string(),
                    date_or_dash(a.due),
                    date_or_dash(a.last_progress_on),
                    a.days_overdue.map_or("—".into(), |d| d.to_string()),
                    a.days_since_progress.map_or("—".into(), |d| d.to_string()),
                ],
            );
        }
    }

    section(out, "##", &format!("八、{}", sections[4].title), &sections[4]);
    let _ = writeln!(out, "\n## 九、承诺事项明细\n");
    report.details.prefetched(|details| {
        for (index, d) in details.enumerate() {
            let _ = writeln!(out, "### {}. {}\n", index + 1, cell(d.text));
            let carried = if d.carried_over { "（往年结转）" } else { "" };
            let _ = writeln!(out, "- 编号：#{}（ID {}）{carried}", d.number, d.id);
            let proposal = if d.proposal.is_empty() { String::new() } else { format!("（{}）", d.proposal) };
            let proposal = cell(&proposal);
            let _ = writeln!(out, "- 来源：{} {}{proposal}", cell(d.organ), cell(d.doc_no));
            let _ = writeln!(out, "- 责任单位：{}；状态：{}", cell(d.owner), d.status_label);
            let _ = writeln!(
                out,
                "- 作出：{}；期限：{}；办结：{}",
                date_or_dash(d.made_on),
                date_or_dash(d.due),
                date_or_dash(d.closed_on)
            );
            for change in &d.due_changes {
                let reason = change.reason.map_or(String::new(), |r| format!("，理由：{}", cell(r)));
                let _ = writeln!(
                    out,
                    "- 期限变更：{} 由 {} 改为 {}{reason}",
                    change.on,
                    date_or_dash(change.from),
                    change.to
                );
            }
            let _ = writeln!(out);
            header(out, &["日期", "事件", "内容", "佐证", "记录人", "日志"]);
            for t in &d.timeline {
                row(
                    out,
                    &[
                        t.date.to_string(),
                        t.label.to_string(),
                        cell(t.summary),
                        cell(&t.evidence.join("、")),
                        cell(t.actor),
                        format!("#{}", t.seq),
                    ],
                );
            }
            let _ = writeln!(out);
        }
    });

    let _ = writeln!(out, "## 十、审计提示\n");
    if report.audit.is_empty() {
        let _ = writeln!(out, "无。");
    }
    for hint in &report.audit {
        let _ = writeln!(out, "- #{}：{}", hint.number, cell(&hint.message));
    }
    let f = &report.footer;
    let _ = writeln!(out, "\n---\n");
    let _ = writeln!(
        out,
        "报告依据：发生于 {} 及以前的事实；登记簿截至日志 #{}，链头 `{}`。",
        f.as_of, f.known_seq, f.head_hash
    );
    let _ = writeln!(
        out,
        "核验：`duban verify --seq {} --head {}`；重现：`duban report --year {} --as-of {} --known-at {}`",
        f.known_seq, f.head_hash, report.year, f.as_of, f.known_seq
    );
    if let Some(at) = &f.generated_at {
        let _ = writeln!(out, "生成时间：{at}");
    }
    sink.finish()
}
