//! duban's annual follow-up report (年度跟踪报告) and audit views: a pure, deterministic model built from the event log,
//! and renderers for Markdown, HTML, CSV, JSON and Excel. No store access: the caller passes the events.
//!
//! Same log and same parameters → the same model; the text formats (md, csv, json) are byte-identical, and HTML and
//! Excel differ only in the generation time written into the footer.

mod audit;
mod build;
mod facts;
mod metrics;
mod model;
mod render;

pub use build::{build, Builder, Params};
pub use metrics::{handling, ClassCounts, ClassRow, DisclosureCounts, Handling, Metrics, RegisterRow, Scope, UnitRow};
pub use model::*;
pub use render::{handling_lines, render, render_to, table_csv, table_xlsx, Cell, Format, RenderError};

#[cfg(test)]
mod tests;
