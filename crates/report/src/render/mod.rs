//! Renderers: one per format, each a pure function of the report model.

mod charts;
mod csv;
mod html;
mod markdown;
#[cfg(feature = "xlsx")]
mod xlsx;

use std::io::Write;

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
