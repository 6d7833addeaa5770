//! The report as CSV: one row per commitment, UTF-8 with a byte-order mark so Excel opens it correctly.

use super::RenderError;
use crate::model::Report;

pub fn render(report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    out.write_all("\u{FEFF}".as_bytes())?;
    {
        let mut writer = ::csv::Writer::from_writer(&mut *out);
        let error = |e: ::csv::Error| RenderError::Csv(e.to_string());
        writer
            .write_record([
                "编号",
                "文号",
                "答复单位",
                "建议提案",
                "承诺内容",
                "位置",
                "责任单位",
                "状态",
                "状态代码",
                "作出日期",
                "期限",
                "最近进展",
                "办结日期",
                "期限变更次数",
                "往年结转",
                "ID",
            ])
            .map_err(error)?;
        report.details.prefetched(|details| -> Result<(), RenderError> {
            for d in details {
                let date = |date: Option<chrono::NaiveDate>| date.map(|d| d.to_string()).unwrap_or_default();
                let section = match d.section {
                    "next_steps" => "下一步工作",
                    "body" => "正文",
                    _ => "",
                };
                let number = format!("#{}", d.number);
                let fields = [
                    number.as_str(),
                    d.doc_no,
                    d.organ,
                    &d.proposal,
                    d.text,
                    section,
                    d.owner,
                    d.status_label,
                    d.status,
                    &date(d.made_on),
                    &date(d.due),
                    &date(d.last_progress_on),
                    &date(d.closed_on),
                    &d.due_changes.len().to_string(),
                    if d.carried_over { "是" } else { "否" },
                    d.id.as_str(),
                ];
                // Text from the register arrives in a spreadsheet as text, never as a formula.
                for field in fields {
                    writer.write_field(super::spreadsheet_safe(field).as_bytes()).map_err(error)?;
                }
                writer.write_record(None::<&[u8]>).map_err(error)?;
            }
            Ok(())
        })?;
        writer.flush()?;
    }
    Ok(())
}
