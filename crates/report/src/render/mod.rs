//! Renderers: one per format, each a pure function of the report model.

mod charts;
mod csv;
mod html;
mod markdown;
#[cfg(feature = "xlsx")]
mod xlsx;

use crate::model::Report;

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
}

/// Renders the report in a format, as bytes ready to write.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Markdown => Ok(markdown::render(report).into_bytes()),
        Format::Html => Ok(html::render(report).into_bytes()),
        Format::Csv => csv::render(report),
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(report).expect("the report model always serializes");
            bytes.push(b'\n');
            Ok(bytes)
        }
        #[cfg(feature = "xlsx")]
        Format::Xlsx => xlsx::render(report),
        #[cfg(not(feature = "xlsx"))]
        Format::Xlsx => Err(RenderError::XlsxUnavailable),
    }
}

/// A rate as a percentage with one decimal, or a dash.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |rate| format!("{:.1}%", rate * 100.0))
}

pub(crate) fn date_or_dash(date: Option<chrono::NaiveDate>) -> String {
    date.map_or_else(|| "—".to_string(), |date| date.to_string())
}
