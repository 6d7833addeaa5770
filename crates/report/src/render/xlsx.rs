//! The report as an Excel workbook: sheets 总体情况, 分单位（件）, 分类, 回头看, 登记表, 分单位（项）, 逾期停滞, 明细, with
//! a styled and frozen header row, autofilters, sensible widths, real dates and numbers (not text), and print setup
//! (A4 landscape, one page wide, the header row repeated on every page).

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use std::fmt::Write;

use super::RenderError;
use crate::model::{Detail, GroupRow, Report};

struct Styles {
    header: Format,
    date: Format,
    percent: Format,
    wrap: Format,
    title: Format,
    /// For text a spreadsheet would take for a formula: kept as text even when edited (Excel's quote prefix).
    quoted: Format,
}

/// Writes text that people typed or documents held: as text, with Excel's quote prefix when it starts like a formula.
fn text(sheet: &mut Worksheet, row: u32, col: u16, value: impl AsRef<str>, styles: &Styles) -> Result<(), XlsxError> {
    let value = value.as_ref();
    if super::formula_risk(value) {
        sheet.write_string_with_format(row, col, value, &styles.quoted)?;
    } else {
        sheet.write_string(row, col, value)?;
    }
    Ok(())
}

fn excel_date(date: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8)
}

fn header(sheet: &mut Worksheet, row: u32, titles: &[(&str, f64)], styles: &Styles) -> Result<(), XlsxError> {
    for (col, (title, width)) in titles.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *title, &styles.header)?;
        sheet.set_column_width(col as u16, *width)?;
    }
    Ok(())
}

/// A date in a column formatted for dates (see [`column_formats`]).
fn date_cell(sheet: &mut Worksheet, row: u32, col: u16, date: Option<NaiveDate>) -> Result<(), XlsxError> {
    if let Some(date) = date {
        sheet.write_datetime(row, col, excel_date(date)?)?;
    }
    Ok(())
}

/// Formats set once per column rather than on every cell: cells written without a format take their column's, and
/// a hundred thousand rows no longer look their format up cell by cell.
fn column_formats(sheet: &mut Worksheet, dates: &[u16], wrapped: &[u16], styles: &Styles) -> Result<(), XlsxError> {
    for col in dates {
        sheet.set_column_format(*col, &styles.date)?;
    }
    for col in wrapped {
        sheet.set_column_format(*col, &styles.wrap)?;
    }
    Ok(())
}

fn rate_cell(sheet: &mut Worksheet, row: u32, col: u16, rate: Option<f64>, styles: &Styles) -> Result<(), XlsxError> {
    if let Some(rate) = rate {
        sheet.write_number_with_format(row, col, rate, &styles.percent)?;
    }
    Ok(())
}

fn finish_table(sheet: &mut Worksheet, last_row: u32, last_col: u16) -> Result<(), XlsxError> {
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row.max(1), last_col)?;
    Ok(())
}

fn overview(workbook: &mut Workbook, report: &Report, styles: &Styles) -> Result<(), XlsxError> {
    let o = &report.overview;
    let sheet = workbook.add_worksheet().set_name("总体情况")?;
    header(sheet, 0, &[("项目", 34.0), ("数值", 14.0), ("占比", 10.0)], styles)?;
    let mut row = 1;
    let m = &report.metrics;
    let n = |count: usize| count as f64;
    let figures: Vec<(&str, f64, Option<f64>)> = vec![
        ("承办建议提案（件）", n(m.proposals), None),
        ("其中：人大代表建议", n(m.suggestions), None),
        ("其中：政协提案", n(m.cppcc_proposals), None),
        ("主办", n(m.lead), None),
        ("会办", n(m.co), None),
        ("闭会期间提出", n(m.between_sessions), None),
        ("已办复（件）", n(m.replied), m.reply_rate),
        ("按时办复（件）", n(m.replied_on_time), m.on_time_reply_rate),
        ("答复前沟通联系（件）", n(m.contacted), m.contact_rate),
        ("其中面商（件）", n(m.met), m.meeting_rate),
        ("代表委员已评价（件）", n(m.evaluated), None),
        ("满意", n(m.satisfied), m.satisfaction_rate),
        ("满意和基本满意", n(m.satisfied + m.basically_satisfied), m.basic_satisfaction_rate),
        ("重新办理", n(m.rehandled), None),
        ("A类（解决采纳）", n(m.class_counts.a), None),
        ("B类（正在解决或列入计划）", n(m.class_counts.b), None),
        ("C类（留作参考）", n(m.class_counts.c), None),
        ("上网公开（主动公开）", n(m.disclosed), None),
        ("依申请公开", n(m.disclosure_counts.on_request), None),
        ("不予公开", n(m.disclosure_counts.withheld), None),
        ("重点督办件", n(m.key), None),
        ("领导领办件", n(m.led), None),
        ("回头看：往年 B 类", n(m.b_class_earlier), None),
        ("回头看：本年度复查", n(m.b_class_reviewed), None),
        ("回头看：已落实", n(m.b_class_fulfilled), m.b_class_fulfilment_rate),
        ("本年度答复（件）", o.replies as f64, None),
        ("有承诺结转的往年答复（件）", o.replies_carried_over as f64, None),
        ("承诺（项）", o.commitments as f64, None),
        ("其中：本年度承诺", o.new_commitments as f64, None),
        ("其中：往年结转", o.carried_over as f64, None),
        ("到期承诺", o.due as f64, None),
        ("到期承诺中已落实", o.fulfilled_due as f64, o.fulfilment_rate),
        ("按期落实", o.on_time as f64, o.on_time_rate),
        ("悄然延期（逾期后无进展、未调整期限）", o.silent_deferrals as f64, None),
        ("期限答复所定", o.due_sources.text as f64, None),
        ("期限人工设定", o.due_sources.staff as f64, None),
        ("默认期限（答复未写期限）", o.due_sources.policy as f64, None),
        ("已评价答复", o.satisfaction.evaluated as f64, None),
        (
            "满意或基本满意",
            (o.satisfaction.satisfied + o.satisfaction.basically_satisfied) as f64,
            o.satisfaction.satisfaction_rate,
        ),
    ];
    for (label, value, share) in figures {
        text(sheet, row, 0, label, styles)?;
        sheet.write_number(row, 1, value)?;
        rate_cell(sheet, row, 2, share, styles)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "状态", &styles.header)?;
    sheet.write_string_with_format(row, 1, "项数", &styles.header)?;
    sheet.write_string_with_format(row, 2, "占比", &styles.header)?;
    for status in &o.by_status {
        row += 1;
        text(sheet, row, 0, status.label, styles)?;
        sheet.write_number(row, 1, status.count as f64)?;
        rate_cell(sheet, row, 2, status.share, styles)?;
    }
    row += 2;
    let f = &report.footer;
    sheet.write_string_with_format(row, 0, &report.title, &styles.title)?;
    sheet.write_string(
        row + 1,
        0,
        format!("截至 {}；登记簿截至日志 #{}，链头 {}", f.as_of, f.known_seq, f.head_hash),
    )?;
    if let Some(at) = &f.generated_at {
        sheet.write_string(row + 2, 0, format!("生成时间：{at}"))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    print_setup(sheet, false)
}

/// A4, one page wide, the header row on every page; wide tables in landscape.
fn print_setup(sheet: &mut Worksheet, landscape: bool) -> Result<(), XlsxError> {
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    if landscape {
        sheet.set_landscape();
    }
    Ok(())
}

/// A 件 section as a sheet: counts as numbers, rates as percentages, dates as dates, the rest as (safe) text.
fn section_sheet(
    workbook: &mut Workbook,
    name: &str,
    section: &super::Section,
    styles: &Styles,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet().set_name(name)?;
    let titles: Vec<(&str, f64)> = section
        .headers
        .iter()
        .map(|title| {
            let width = match *title {
                "案号" => 30.0,
                "案由" => 40.0,
                "单位" | "主办单位" | "会办单位" | "提出人" => 22.0,
                "答复日期" | "复查日期" => 12.0,
                "类别" if section.rows.first().is_some_and(|row| row[0].chars().count() > 3) => 26.0,
                _ => 11.0,
            };
            (*title, width)
        })
        .collect();
    header(sheet, 0, &titles, styles)?;
    for (index, cells) in section.rows.iter().enumerate() {
        let row = index as u32 + 1;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            if let Ok(number) = cell.parse::<f64>() {
                sheet.write_number(row, col, number)?;
            } else if let Some(rate) = cell.strip_suffix('%').and_then(|rate| rate.parse::<f64>().ok()) {
                sheet.write_number_with_format(row, col, rate / 100.0, &styles.percent)?;
            } else if let Ok(date) = cell.parse::<NaiveDate>() {
                sheet.write_datetime_with_format(row, col, excel_date(date)?, &styles.date)?;
            } else {
                text(sheet, row, col, cell, styles)?;
            }
        }
    }
    finish_table(sheet, section.rows.len() as u32, titles.len() as u16 - 1)?;
    print_setup(sheet, titles.len() > 6)
}

fn organs(workbook: &mut Workbook, rows: &[GroupRow], styles: &Styles) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet().set_name("分单位（项）")?;
    let widths = [30.0, 8.0, 8.0, 9.0, 8.0, 13.0, 8.0, 8.0, 8.0, 8.0, 9.0];
    let titles: Vec<(&str, f64)> = std::iter::once("责任单位").chain(GroupRow::HEADINGS).zip(widths).collect();
    header(sheet, 0, &titles, styles)?;
    for (index, g) in rows.iter().enumerate() {
        let row = index as u32 + 1;
        text(sheet, row, 0, &g.group, styles)?;
        for (col, n) in g.counts().into_iter().enumerate() {
            sheet.write_number(row, col as u16 + 1, n as f64)?;
        }
        rate_cell(sheet, row, 10, g.fulfilment_rate, styles)?;
    }
    finish_table(sheet, rows.len() as u32, titles.len() as u16 - 1)?;
    print_setup(sheet, true)
}

fn attention(workbook: &mut Workbook, report: &Report, styles: &Styles) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?.set_name("逾期停滞")?;
    let titles = [
        ("责任单位", 26.0),
        ("文号", 20.0),
        ("承诺内容", 60.0),
        ("状态", 8.0),
        ("期限", 12.0),
        ("最近进展", 12.0),
        ("逾期天数", 10.0),
        ("距最近进展天数", 14.0),
        ("编号", 9.0),
    ];
    header(sheet, 0, &titles, styles)?;
    column_formats(sheet, &[4, 5], &[2], styles)?;
    for (index, a) in report.attention.iter().enumerate() {
        let row = index as u32 + 1;
        text(sheet, row, 0, &a.owner, styles)?;
        text(sheet, row, 1, &a.doc_no, styles)?;
        text(sheet, row, 2, &a.text, styles)?;
        text(sheet, row, 3, a.status_label, styles)?;
        text(sheet, row, 8, format!("#{}", a.number), styles)?;
        date_cell(sheet, row, 4, a.due)?;
        date_cell(sheet, row, 5, a.last_progress_on)?;
        if let Some(days) = a.days_overdue {
            sheet.write_number(row, 6, days as f64)?;
        }
        if let Some(days) = a.days_since_progress {
            sheet.write_number(row, 7, days as f64)?;
        }
    }
    finish_table(sheet, report.attention.len() as u32, titles.len() as u16 - 1)?;
    print_setup(sheet, true)
}

fn details(workbook: &mut Workbook, report: &Report, styles: &Styles) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?.set_name("明细")?;
    let titles = [
        ("编号", 9.0),
        ("文号", 20.0),
        ("答复单位", 24.0),
        ("建议提案", 28.0),
        ("承诺内容", 60.0),
        ("责任单位", 24.0),
        ("状态", 9.0),
        ("作出日期", 12.0),
        ("期限", 12.0),
        ("最近进展", 12.0),
        ("办结日期", 12.0),
        ("期限变更次数", 12.0),
        ("往年结转", 9.0),
        ("进展与办结记录", 60.0),
        ("ID", 28.0),
    ];
    header(sheet, 0, &titles, styles)?;
    column_formats(sheet, &[7, 8, 9, 10], &[4, 13], styles)?;
    // The rows are put together on a second thread (each detail and its timeline's text) while this one writes
    // the cells: a hundred thousand rows take about a second either way.
    fn with_timeline(d: Detail) -> (Detail, String) {
        let mut timeline = String::new();
        for (index, t) in d.timeline.iter().skip(1).enumerate() {
            let separator = if index == 0 { "" } else { "\n" };
            let _ = write!(timeline, "{separator}{} {}：{}", t.date, t.label, t.summary);
        }
        (d, timeline)
    }
    report.details.prefetched_as(with_timeline, |rows| {
        for (index, (d, timeline)) in rows.enumerate() {
            let row = index as u32 + 1;
            text(sheet, row, 0, format!("#{}", d.number), styles)?;
            text(sheet, row, 1, d.doc_no, styles)?;
            text(sheet, row, 2, d.organ, styles)?;
            text(sheet, row, 3, &d.proposal, styles)?;
            text(sheet, row, 4, d.text, styles)?;
            text(sheet, row, 5, d.owner, styles)?;
            text(sheet, row, 6, d.status_label, styles)?;
            date_cell(sheet, row, 7, d.made_on)?;
            date_cell(sheet, row, 8, d.due)?;
            date_cell(sheet, row, 9, d.last_progress_on)?;
            date_cell(sheet, row, 10, d.closed_on)?;
            sheet.write_number(row, 11, d.due_changes.len() as f64)?;
            text(sheet, row, 12, if d.carried_over { "是" } else { "否" }, styles)?;
            text(sheet, row, 13, &timeline, styles)?;
            text(sheet, row, 14, &d.id, styles)?;
        }
        Ok::<(), XlsxError>(())
    })?;
    finish_table(sheet, report.details.len() as u32, titles.len() as u16 - 1)?;
    print_setup(sheet, true)
}

pub fn render(report: &Report) -> Result<Vec<u8>, RenderError> {
    let build = || -> Result<Vec<u8>, XlsxError> {
        let styles = Styles {
            header: Format::new().set_bold().set_background_color(Color::RGB(0xDCE6F1)).set_border(FormatBorder::Thin),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            percent: Format::new().set_num_format("0.0%"),
            wrap: Format::new().set_text_wrap(),
            title: Format::new().set_bold().set_font_size(13),
            quoted: Format::new().set_quote_prefix().set_text_wrap(),
        };
        let mut workbook = Workbook::new();
        // The two long sheets are written row by row to temporary files instead of being held (a million-event
        // report has a hundred thousand detail rows), and compressed quickly: most of the time went to deflate.
        workbook.set_zip_compression_level(1);
        // The file's own creation date is the report's, so that two runs differ only in the generation time shown.
        let created = excel_date(report.as_of)?;
        workbook.set_properties(&DocProperties::new().set_title(&report.title).set_creation_datetime(&created));
        overview(&mut workbook, report, &styles)?;
        let sections = super::handling_sections(report);
        section_sheet(&mut workbook, "分单位（件）", &sections[0], &styles)?;
        for section in &sections {
            if let Some(name) = section.sheet {
                section_sheet(&mut workbook, name, section, &styles)?;
            }
        }
        organs(&mut workbook, &report.by_organ, &styles)?;
        attention(&mut workbook, report, &styles)?;
        details(&mut workbook, report, &styles)?;
        workbook.save_to_buffer()
    };
    build().map_err(|error| RenderError::Xlsx(error.to_string()))
}
