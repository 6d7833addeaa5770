//! Inline SVG charts for the HTML report: status distribution, per-organ stacked bars, monthly activity.
//! Plain shapes and text only; no scripts, no external references.

use std::fmt::Write;

use html_escape::encode_text;

use crate::model::{GroupRow, MonthActivity, StatusCount};

/// A colour per status code, the same in every chart and table.
pub fn colour(status: &str) -> &'static str {
    match status {
        "open" => "#9e9e9e",
        "in_progress" => "#1e88e5",
        "pending_review" => "#8e24aa",
        "stalled" => "#fb8c00",
        "overdue" => "#e53935",
        "fulfilled" => "#43a047",
        "partially_fulfilled" => "#9ccc65",
        "not_fulfilled" => "#6d4c41",
        _ => "#90a4ae",
    }
}

/// Horizontal bars, one per status.
pub fn status_bars(statuses: &[StatusCount]) -> String {
    let max = statuses.iter().map(|s| s.count).max().unwrap_or(0).max(1);
    let (label_width, bar_width, row_height) = (80.0, 380.0, 26.0);
    let height = row_height * statuses.len() as f64 + 10.0;
    let mut svg = format!(r#"<svg class="chart" viewBox="0 0 540 {height}" role="img" aria-label="状态分布">"#);
    for (index, status) in statuses.iter().enumerate() {
        let y = 5.0 + index as f64 * row_height;
        let width = bar_width * status.count as f64 / max as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text><rect x="{label_width}" y="{}" width="{width:.1}" height="18" fill="{}"/><text x="{:.1}" y="{}" class="value">{}</text>"#,
            label_width - 6.0,
            y + 14.0,
            status.label,
            y + 1.0,
            colour(status.status),
            label_width + width + 6.0,
            y + 14.0,
            status.count
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One stacked bar per organ: fulfilled, partial, not fulfilled, open, overdue, stalled, dismissed.
pub fn organ_bars(rows: &[GroupRow]) -> String {
    let max = rows.iter().map(|r| r.made).max().unwrap_or(0).max(1);
    let (label_width, bar_width, row_height) = (200.0, 320.0, 26.0);
    let height = row_height * rows.len() as f64 + 40.0;
    let mut svg =
        format!(r#"<svg class="chart" viewBox="0 0 560 {height}" role="img" aria-label="分单位承诺落实情况">"#);
    for (index, row) in rows.iter().enumerate() {
        let y = 5.0 + index as f64 * row_height;
        let name: String = row.group.chars().take(14).collect();
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            label_width - 6.0,
            y + 14.0,
            encode_text(&name)
        );
        let mut x = label_width;
        for (count, status) in [
            (row.fulfilled, "fulfilled"),
            (row.partially_fulfilled, "partially_fulfilled"),
            (row.not_fulfilled, "not_fulfilled"),
            (row.open, "in_progress"),
            (row.overdue, "overdue"),
            (row.stalled, "stalled"),
            (row.dismissed, "dismissed"),
        ] {
            let width = bar_width * count as f64 / max as f64;
            if count > 0 {
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{}" width="{width:.1}" height="18" fill="{}"/>"#,
                    y + 1.0,
                    colour(status)
                );
            }
            x += width;
        }
        let _ = write!(svg, r#"<text x="{:.1}" y="{}" class="value">{}</text>"#, x + 6.0, y + 14.0, row.made);
    }
    let legend_y = height - 18.0;
    let mut x = 10.0;
    for (label, status) in [
        ("已落实", "fulfilled"),
        ("部分落实", "partially_fulfilled"),
        ("未落实", "not_fulfilled"),
        ("待推进/推进中", "in_progress"),
        ("逾期", "overdue"),
        ("停滞", "stalled"),
        ("已撤销", "dismissed"),
    ] {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{legend_y}" width="10" height="10" fill="{}"/><text x="{}" y="{}" class="legend">{label}</text>"#,
            colour(status),
            x + 14.0,
            legend_y + 9.0
        );
        x += 14.0 + 13.0 * label.chars().count() as f64 + 12.0;
    }
    svg.push_str("</svg>");
    svg
}

/// Progress reports and closures per month.
pub fn activity_bars(months: &[MonthActivity]) -> String {
    let max = months.iter().map(|m| m.progress.max(m.closures)).max().unwrap_or(0).max(1);
    let (chart_height, column) = (140.0, 42.0);
    let width = 40.0 + column * months.len().max(1) as f64;
    let mut svg = format!(r#"<svg class="chart" viewBox="0 0 {width} 200" role="img" aria-label="每月进展与办结">"#);
    let _ = write!(
        svg,
        r#"<line x1="30" y1="{}" x2="{width}" y2="{}" class="baseline"/>"#,
        chart_height + 10.0,
        chart_height + 10.0
    );
    for (index, month) in months.iter().enumerate() {
        let x = 36.0 + index as f64 * column;
        for (offset, count, fill) in [(0.0, month.progress, "#1e88e5"), (16.0, month.closures, "#43a047")] {
            let height = chart_height * count as f64 / max as f64;
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="14" height="{height:.1}" fill="{fill}"/>"#,
                x + offset,
                chart_height + 10.0 - height
            );
            if count > 0 {
                let _ = write!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" class="value" text-anchor="middle">{count}</text>"#,
                    x + offset + 7.0,
                    chart_height + 6.0 - height
                );
            }
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" class="axis" text-anchor="middle">{}月</text>"#,
            x + 15.0,
            chart_height + 28.0,
            month.month[5..].trim_start_matches('0')
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="36" y="185" width="10" height="10" fill="#1e88e5"/><text x="50" y="194" class="legend">进展报告</text><rect x="120" y="185" width="10" height="10" fill="#43a047"/><text x="134" y="194" class="legend">办结</text>"##
    );
    svg.push_str("</svg>");
    svg
}
