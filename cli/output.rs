//! Human output: aligned tables that count Chinese characters as two columns, and text clipped to a width.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use unicode_width::UnicodeWidthChar;

/// A borderless table with a header, aligned for CJK text.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for column in table.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Left);
    }
    table
}

/// Clips text to `width` terminal columns, ending with `…` when cut; line breaks become spaces.
pub fn clip(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    for (index, c) in chars.iter().enumerate() {
        let w = c.width().unwrap_or(0);
        let rest_fits = chars[index..].iter().map(|c| c.width().unwrap_or(0)).sum::<usize>() + used <= width;
        if !rest_fits && used + w + 1 > width {
            out.push('…');
            return out;
        }
        out.push(*c);
        used += w;
    }
    out
}

/// Clips text to `width` columns keeping its end (for paths, whose file name matters most).
pub fn clip_start(text: &str, width: usize) -> String {
    let reversed: String = text.chars().rev().collect();
    let clipped = clip(&reversed, width);
    clipped.chars().rev().collect()
}

/// A date or a dash.
pub fn date_or_dash(date: Option<chrono::NaiveDate>) -> String {
    date.map_or_else(|| "—".to_string(), |date| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_wide_characters_twice() {
        assert_eq!(clip("加快建设高质量概念验证平台", 10), "加快建设…");
        assert_eq!(clip("短句", 10), "短句");
        assert_eq!(clip("abc\n def", 20), "abc def");
        assert_eq!(clip("abcdefghij", 10), "abcdefghij");
        assert_eq!(clip_start("/long/path/to/keji-gbk.txt", 14), "…/keji-gbk.txt");
    }

    #[test]
    fn tables_align_chinese_columns() {
        let mut table = table(&["状态", "单位"]);
        table.add_row(vec!["推进中", "A"]);
        table.add_row(vec!["open", "B"]);
        let text = table.to_string();
        let column_of = |needle: char| {
            let line = text.lines().find(|line| line.contains(needle)).unwrap();
            line[..line.find(needle).unwrap()].chars().map(|c| c.width().unwrap_or(0)).sum::<usize>()
        };
        assert_eq!(column_of('A'), column_of('B'), "{text}");
    }
}
