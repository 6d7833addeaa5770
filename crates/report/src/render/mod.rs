//! Renderers: one per format, each a pure function of the report model.

mod charts;
mod csv;
mod html;
mod markdown;
mod table;
#[cfg(feature = "xlsx")]
mod xlsx;

use std::io::Write;

pub use table::{table_csv, table_xlsx, Cell};

use crate::model::Report;

/// Whether a spreadsheet would take a cell starting so for a formula (OWASP's list: `=`, `+`, `-`, `@`, tab, CR).
/// A promise text like `=HYPERLINK(…)` or `=cmd|…` must arrive in Excel as text.
pub(crate) fn formula_risk(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A CSV field made safe to open in a spreadsheet: one that could be read as a formula gets a leading `'`, which
/// spreadsheets show as marking text.
pub(crate) fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if formula_risk(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "xlsx" | "excel" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }

    /// Whether the format carries the generation time (and so is reproducible only up to it).
    pub fn stamps_generation_time(self) -> bool {
        matches!(self, Format::Html | Format::Xlsx)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("this build of duban has no Excel output (built without the `xlsx` feature)")]
    XlsxUnavailable,
    #[error("writing the Excel file failed: {0}")]
    Xlsx(String),
    #[error("writing CSV failed: {0}")]
    Csv(String),
    #[error("writing the report failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Renders the report in a format into a writer, streaming: the rendered document is never held whole.
pub fn render_to(report: &Report, format: Format, out: &mut dyn Write) -> Result<(), RenderError> {
    match format {
        Format::Markdown => markdown::render(report, out)?,
        Format::Html => html::render(report, out)?,
        Format::Csv => csv::render(report, out)?,
        Format::Json => {
            // Compact, as `export` is: a report over a million events is 175 MB this way and 254 MB indented, and
            // what reads it is a program (`jq .` indents it for a person).
            serde_json::to_writer(&mut *out, report).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        #[cfg(feature = "xlsx")]
        Format::Xlsx => out.write_all(&xlsx::render(report)?)?,
        #[cfg(not(feature = "xlsx"))]
        Format::Xlsx => return Err(RenderError::XlsxUnavailable),
    }
    out.flush()?;
    Ok(())
}

/// Renders the report in a format, as bytes.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Vec::new();
    render_to(report, format, &mut bytes)?;
    Ok(bytes)
}

/// Text written with `write!` is gathered and passed on to the writer in large pieces; the first I/O error is kept
/// and returned by `finish`.
pub(crate) struct Sink<'a> {
    buffer: String,
    out: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl<'a> Sink<'a> {
    const FLUSH_AT: usize = 64 * 1024;

    pub fn new(out: &'a mut dyn Write) -> Self {
        Sink { buffer: String::with_capacity(Self::FLUSH_AT * 2), out, error: None }
    }

    pub fn push_str(&mut self, text: &str) {
        self.buffer.push_str(text);
        if self.buffer.len() >= Self::FLUSH_AT {
            self.drain();
        }
    }

    fn drain(&mut self) {
        if self.error.is_none() {
            if let Err(error) = self.out.write_all(self.buffer.as_bytes()) {
                self.error = Some(error);
            }
        }
        self.buffer.clear();
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.drain();
        match self.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl std::fmt::Write for Sink<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

/// A rate as a percentage with one decimal, or a dash.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |rate| format!("{:.1}%", rate * 100.0))
}

pub(crate) fn date_or_dash(date: Option<chrono::NaiveDate>) -> String {
    date.map_or_else(|| "—".to_string(), |date| date.to_string())
}

/// One of the report's 件 sections, as every format shows it: a heading, sentences, and a table (its rows as text;
/// numbers are numbers in the spreadsheet). Written once here, so that Markdown, HTML and Excel say the same.
pub(crate) struct Section {
    /// The heading without its number (each format numbers it in place).
    pub title: &'static str,
    /// The sheet's name in the workbook, when the section has one of its own.
    pub sheet: Option<&'static str>,
    pub lines: Vec<String>,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// What to say when the table has no rows.
    pub empty: &'static str,
}

fn count(n: usize) -> String {
    n.to_string()
}

/// The overview of 件: one sentence per group of figures (docs/metrics.md defines each).
pub fn handling_lines(report: &Report) -> Vec<String> {
    let m = &report.metrics;
    let mut lines = vec![
        format!(
            "承办建议提案 {} 件：人大代表建议 {} 件，政协提案 {} 件；主办 {} 件，会办 {} 件；闭会期间提出 {} 件；退办后重新交办 {} 件。",
            m.proposals, m.suggestions, m.cppcc_proposals, m.lead, m.co, m.between_sessions, m.returned
        ),
        format!(
            "已办复 {} 件，办复率 {}；应在期限内答复 {} 件，按时办复 {} 件，按时办复率 {}。",
            m.replied,
            percent(m.reply_rate),
            m.due_for_reply,
            m.replied_on_time,
            percent(m.on_time_reply_rate)
        ),
        format!(
            "答复前与代表委员沟通联系 {} 件，沟通率 {}；其中面商（见面）{} 件，见面率 {}。",
            m.contacted,
            percent(m.contact_rate),
            m.met,
            percent(m.meeting_rate)
        ),
        format!(
            "代表委员评价 {} 件：满意 {} 件，基本满意 {} 件，不满意 {} 件；满意率 {}，满意和基本满意率 {}；重新办理 {} 件。",
            m.evaluated,
            m.satisfied,
            m.basically_satisfied,
            m.dissatisfied,
            percent(m.satisfaction_rate),
            percent(m.basic_satisfaction_rate),
            m.rehandled
        ),
        format!(
            "办理结果：A类（解决采纳）{} 件，B类（正在解决或列入计划）{} 件，C类（留作参考）{} 件{}。",
            m.class_counts.a,
            m.class_counts.b,
            m.class_counts.c,
            if m.class_counts.unclassified > 0 {
                format!("，未分类 {} 件", m.class_counts.unclassified)
            } else {
                String::new()
            }
        ),
    ];
    if !m.by_assembly.is_empty() {
        let parts: Vec<String> = m.by_assembly.iter().map(|(assembly, n)| format!("{assembly} {n} 件")).collect();
        lines.insert(1, format!("按会议：{}。", parts.join("，")));
    }
    let d = &m.disclosure_counts;
    let reasons = if m.withheld_reasons.is_empty() {
        String::new()
    } else {
        format!("（理由：{}）", m.withheld_reasons.join("；"))
    };
    lines.push(format!(
        "上网公开（主动公开）{} 件，依申请公开 {} 件，不予公开 {} 件{reasons}。",
        d.active, d.on_request, d.withheld
    ));
    lines.push(format!("重点督办件 {} 件，领导领办件 {} 件。", m.key, m.led));
    lines.push(format!(
        "回头看：往年 B 类 {} 件，本年度复查 {} 件，已落实 {} 件，B类落实率 {}。",
        m.b_class_earlier,
        m.b_class_reviewed,
        m.b_class_fulfilled,
        percent(m.b_class_fulfilment_rate)
    ));
    lines.push(format!(
        "答复承诺 {} 项，到期 {} 项，已落实 {} 项，落实率 {}。",
        m.commitments,
        m.commitments_due,
        m.commitments_fulfilled,
        percent(m.fulfilment_rate)
    ));
    lines
}

/// 分单位（件）, 分类, 回头看, 重点督办件 and the register, in that order.
pub(crate) fn handling_sections(report: &Report) -> Vec<Section> {
    let h = &report.handling;
    let units = Section {
        title: "分单位办理情况（件）",
        sheet: None,
        lines: Vec::new(),
        headers: vec![
            "单位",
            "主办",
            "会办",
            "已办复",
            "办复率",
            "按时办复",
            "按时办复率",
            "已评价",
            "满意和基本满意率",
            "到期承诺",
            "已落实",
            "落实率",
        ],
        rows: h
            .units
            .iter()
            .map(|u| {
                vec![
                    u.organ.clone(),
                    count(u.lead),
                    count(u.co),
                    count(u.replied),
                    percent(u.reply_rate),
                    count(u.replied_on_time),
                    percent(u.on_time_reply_rate),
                    count(u.evaluated),
                    percent(u.basic_satisfaction_rate),
                    count(u.commitments_due),
                    count(u.commitments_fulfilled),
                    percent(u.fulfilment_rate),
                ]
            })
            .collect(),
        empty: "本年度无交办的建议提案。",
    };
    let classes = Section {
        title: "办理结果分类",
        sheet: Some("分类"),
        lines: vec!["类别按答复的办理结果措辞归类（docs/metrics.md 的对照表），可由工作人员更正。".to_string()],
        headers: vec!["类别", "件数", "占已办复", "承诺（项）", "已落实（项）"],
        rows: h
            .classes
            .iter()
            .map(|c| {
                vec![
                    c.label.to_string(),
                    count(c.proposals),
                    percent(c.share),
                    count(c.commitments),
                    count(c.commitments_fulfilled),
                ]
            })
            .collect(),
        empty: "无。",
    };
    let lookback = Section {
        title: "回头看（往年 B 类答复落实情况）",
        sheet: Some("回头看"),
        lines: vec![format!(
            "往年 B 类 {} 件，本年度复查 {} 件，已落实 {} 件，B类落实率 {}。",
            report.metrics.b_class_earlier,
            report.metrics.b_class_reviewed,
            report.metrics.b_class_fulfilled,
            percent(report.metrics.b_class_fulfilment_rate)
        )],
        headers: vec!["编号", "案号", "案由", "主办单位", "答复日期", "复查日期", "复查结论", "承诺落实"],
        rows: h
            .lookback
            .iter()
            .map(|r| {
                vec![
                    format!("#{}", r.number),
                    r.case.clone(),
                    r.title.clone(),
                    r.lead.clone(),
                    date_or_dash(r.replied_on),
                    date_or_dash(r.reviewed_on),
                    r.review.unwrap_or("—").to_string(),
                    r.fulfilment(),
                ]
            })
            .collect(),
        empty: "本年度尚无回头看记录。",
    };
    let key = Section {
        title: "重点督办件与领导领办件",
        sheet: None,
        lines: Vec::new(),
        headers: vec!["编号", "案号", "案由", "主办单位", "领办", "答复日期", "类别", "承诺落实", "评价"],
        rows: h
            .key_proposals
            .iter()
            .map(|r| {
                vec![
                    format!("#{}", r.number),
                    r.case.clone(),
                    r.title.clone(),
                    r.lead.clone(),
                    r.led_by.clone().unwrap_or_else(|| "—".into()),
                    date_or_dash(r.replied_on),
                    r.class.unwrap_or("—").to_string(),
                    r.fulfilment(),
                    r.satisfaction.unwrap_or("未评价").to_string(),
                ]
            })
            .collect(),
        empty: "无。",
    };
    let register = Section {
        title: "建议提案办理登记表",
        sheet: Some("登记表"),
        lines: Vec::new(),
        headers: vec![
            "编号",
            "案号",
            "案由",
            "提出人",
            "主办单位",
            "会办单位",
            "答复日期",
            "办复类别",
            "落实情况",
            "评价",
        ],
        rows: h
            .register
            .iter()
            .map(|r| {
                vec![
                    format!("#{}", r.number),
                    r.case.clone(),
                    r.title.clone(),
                    r.proposers.join("、"),
                    r.lead.clone(),
                    if r.co_handlers.is_empty() { "—".to_string() } else { r.co_handlers.join("、") },
                    date_or_dash(r.replied_on),
                    r.class.unwrap_or("—").to_string(),
                    r.fulfilment(),
                    r.satisfaction.unwrap_or("未评价").to_string(),
                ]
            })
            .collect(),
        empty: "本年度无交办的建议提案。",
    };
    vec![units, classes, lookback, key, register]
}
