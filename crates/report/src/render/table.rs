//! One table as a file to download: the web app's "export this view" (CSV or an Excel workbook of one sheet). Text
//! from the register arrives as text, never as a formula; dates and numbers as such.

use chrono::NaiveDate;

use super::RenderError;

/// A cell of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Date(Option<NaiveDate>),
    Number(f64),
}

/// The table as CSV (UTF-8 with a byte-order mark, which Excel needs to read Chinese).
pub fn table_csv(headers: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, RenderError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = ::csv::Writer::from_writer(&mut out);
        writer.write_record(headers).map_err(|e| RenderError::Csv(e.to_string()))?;
        for row in rows {
            let fields: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => super::spreadsheet_safe(text).into_owned(),
                    Cell::Date(date) => date.map(|d| d.to_string()).unwrap_or_default(),
                    Cell::Number(number) => number.to_string(),
                })
                .collect();
            writer.write_record(&fields).map_err(|e| RenderError::Csv(e.to_string()))?;
        }
        writer.flush()?;
    }
    Ok(out)
}

/// The table as an Excel workbook of one sheet named `sheet`: a bold frozen header with an autofilter.
#[cfg(feature = "xlsx")]
pub fn table_xlsx(sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, RenderError> {
    use chrono::Datelike;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| RenderError::Xlsx(e.to_string());
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let quoted = Format::new().set_quote_prefix();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet).map_err(failed)?;
    for (col, title) in headers.iter().enumerate() {
        worksheet.write_string_with_format(0, col as u16, *title, &header).map_err(failed)?;
    }
    for (at, row) in rows.iter().enumerate() {
        let r = at as u32 + 1;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Text(text) if super::formula_risk(text) => {
                    worksheet.write_string_with_format(r, c, text, &quoted).map_err(failed)?;
                }
                Cell::Text(text) => {
                    worksheet.write_string(r, c, text).map_err(failed)?;
                }
                Cell::Date(Some(day)) => {
                    let value = ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day() as u8)
                        .map_err(failed)?;
                    worksheet.write_datetime_with_format(r, c, value, &date).map_err(failed)?;
                }
                Cell::Date(None) => {}
                Cell::Number(number) => {
                    worksheet.write_number(r, c, *number).map_err(failed)?;
                }
            }
        }
    }
    worksheet.set_freeze_panes(1, 0).map_err(failed)?;
    if !headers.is_empty() {
        worksheet.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1).map_err(failed)?;
    }
    worksheet.autofit();
    workbook.save_to_buffer().map_err(failed)
}

/// Without the `xlsx` feature there is no Excel output.
#[cfg(not(feature = "xlsx"))]
pub fn table_xlsx(_sheet: &str, _headers: &[&str], _rows: &[Vec<Cell>]) -> Result<Vec<u8>, RenderError> {
    Err(RenderError::XlsxUnavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_table_keeps_formulas_out_and_dates_as_dates() {
        let rows = vec![vec![
            Cell::Text("=HYPERLINK(\"http://x\")".into()),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 31)),
            Cell::Number(3.0),
        ]];
        let csv = String::from_utf8(table_csv(&["内容", "期限", "编号"], &rows).unwrap()).unwrap();
        assert_eq!(csv, "\u{feff}内容,期限,编号\n\"'=HYPERLINK(\"\"http://x\"\")\",2026-01-31,3\n");
        #[cfg(feature = "xlsx")]
        {
            let xlsx = table_xlsx("承诺", &["内容", "期限", "编号"], &rows).unwrap();
            assert_eq!(&xlsx[..2], b"PK", "a zip (xlsx) file");
        }
    }
}
