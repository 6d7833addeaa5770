//! Human output: aligned tables that count Chinese characters as two columns, and text clipped or wrapped to a width.

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

/// How a column of a [`Fitted`] table gives way when the width is short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Give {
    /// Never cut (ids, numbers, dates, statuses).
    Never,
    /// Clipped with `…`, to at most this many columns, and to less when short (never narrower than its header).
    Clip(usize),
    /// The one column that takes whatever width is left (the promise's text); clipped to this many columns when
    /// there is no width to fit.
    Rest(usize),
}

/// A column before it is fitted: its header, how it gives way, and, if it may be left out when the width is short,
/// its turn to go (lower goes first).
pub struct Column {
    pub header: &'static str,
    pub give: Give,
    pub drop: Option<u8>,
    pub cells: Vec<String>,
}

impl Column {
    pub fn new(header: &'static str, give: Give, cells: Vec<String>) -> Column {
        Column { header, give, drop: None, cells }
    }

    /// This column may be left out at a narrow width, in turn `order` (lower goes first).
    pub fn droppable(mut self, order: u8) -> Column {
        self.drop = Some(order);
        self
    }
}

/// A table fitted to `width` terminal columns (`None`: no limit; clipped columns keep their own maximum). Columns
/// that never give way are shown whole; droppable ones go, in turn, while the rest would not fit; clipped ones then
/// share what is left, the `Rest` column last. What cannot fit at all overflows rather than cut an id.
pub fn fitted(width: Option<usize>, mut columns: Vec<Column>) -> Table {
    /// A space either side of every cell.
    const PADDING: usize = 2;
    /// The narrowest a clipped column gets: a four-character header.
    const NARROWEST: usize = 8;
    let natural = |column: &Column| {
        column.cells.iter().map(|cell| text_width(cell)).chain([text_width(column.header)]).max().unwrap_or(0)
    };
    let wanted = |column: &Column| match column.give {
        Give::Never => natural(column),
        Give::Clip(max) => natural(column).min(max).max(text_width(column.header)),
        Give::Rest(max) if width.is_none() => natural(column).min(max).max(text_width(column.header)),
        Give::Rest(_) => natural(column).max(text_width(column.header)),
    };
    let floor = |column: &Column| NARROWEST.max(text_width(column.header));
    let mut limits: Vec<usize> = columns.iter().map(wanted).collect();
    if let Some(width) = width {
        loop {
            let total: usize =
                columns.iter().map(|c| if c.give == Give::Never { natural(c) } else { floor(c) }).sum::<usize>()
                    + PADDING * columns.len();
            let comfortable: usize = limits.iter().sum::<usize>() + PADDING * columns.len();
            let droppable = columns.iter().enumerate().filter_map(|(at, c)| c.drop.map(|order| (order, at))).min();
            // Drop while even the narrowest layout would not fit, or the text would be squeezed below 24 columns.
            let rest_at_most = width.saturating_sub(
                columns
                    .iter()
                    .zip(&limits)
                    .filter(|(c, _)| !matches!(c.give, Give::Rest(_)))
                    .map(|(_, w)| *w)
                    .sum::<usize>()
                    + PADDING * columns.len(),
            );
            let squeezed =
                columns.iter().any(|c| matches!(c.give, Give::Rest(_))) && rest_at_most < 24 && comfortable > width;
            match droppable {
                Some((_, at)) if total > width || squeezed => {
                    columns.remove(at);
                    limits.remove(at);
                }
                _ => break,
            }
        }
        let fixed: usize = columns.iter().filter(|c| c.give == Give::Never).map(natural).sum();
        let mut left = width.saturating_sub(fixed + PADDING * columns.len());
        let flexible = columns.iter().filter(|c| c.give != Give::Never).count().max(1);
        for (column, limit) in columns.iter().zip(limits.iter_mut()) {
            if let Give::Clip(_) = column.give {
                *limit = (*limit).min((left / flexible).max(floor(column))).max(floor(column));
                left = left.saturating_sub(*limit);
            }
        }
        for (column, limit) in columns.iter().zip(limits.iter_mut()) {
            if matches!(column.give, Give::Rest(_)) {
                *limit = left.max(floor(column));
            }
        }
    }
    let mut table = table(&columns.iter().map(|column| column.header).collect::<Vec<_>>());
    let rows = columns.first().map_or(0, |column| column.cells.len());
    for row in 0..rows {
        table.add_row(
            columns
                .iter()
                .zip(&limits)
                .map(|(column, limit)| match column.give {
                    Give::Never => column.cells[row].clone(),
                    _ => clip(&column.cells[row], *limit),
                })
                .collect::<Vec<_>>(),
        );
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

/// Wraps text at `width` terminal columns (a Chinese character is two), never cutting it: the lines of a table cell.
pub fn wrap(text: &str, width: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(flat.len() + flat.len() / width.max(1));
    let mut used = 0;
    for c in flat.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && used > 0 {
            out.push('\n');
            used = 0;
        }
        out.push(c);
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

/// The terminal's width in columns, when standard output is a terminal.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills the `winsize` it is given and touches nothing else.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let asked = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (asked == 0 && size.ws_col >= 40).then_some(size.ws_col as usize)
}

/// The width of text in terminal columns (a Chinese character is two).
pub fn text_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
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
    fn wrapping_keeps_every_character() {
        let text = "下一步，我局将于2026年底前完成城南片区12个老旧小区改造，并同步推进加装电梯工作。";
        let wrapped = wrap(text, 20);
        assert_eq!(wrapped.replace('\n', ""), text, "nothing cut");
        assert!(wrapped.lines().count() >= 4);
        assert!(wrapped.lines().all(|line| line.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>() <= 20));
        assert_eq!(wrap("短句", 20), "短句");
    }

    #[test]
    fn fitted_tables_drop_in_turn_clip_the_rest_and_never_cut_an_id() {
        let columns = || {
            vec![
                Column::new("编号", Give::Never, vec!["#123456".into(), "#7".into()]),
                Column::new("文号", Give::Clip(20), vec!["沪科提复〔2025〕62号".into(), "—".into()]).droppable(0),
                Column::new("单位", Give::Clip(20), vec!["上海市科学技术委员会".into(), "区科委".into()]).droppable(1),
                Column::new(
                    "内容",
                    Give::Rest(30),
                    vec!["加快建设高质量概念验证平台，推动资本赋能科技成果转化".into(), "短".into()],
                ),
            ]
        };
        let widths = |table: &Table| table.to_string().lines().map(text_width).max().unwrap_or(0);
        for width in [40, 50, 60, 80] {
            let table = fitted(Some(width), columns());
            let text = table.to_string();
            assert!(widths(&table) <= width, "{width}:\n{text}");
            assert!(text.contains("#123456"), "{width}:\n{text}");
        }
        let narrow = fitted(Some(40), columns()).to_string();
        assert!(!narrow.contains("文号") && !narrow.contains("单位"), "dropped in turn:\n{narrow}");
        let wide = fitted(Some(120), columns()).to_string();
        assert!(wide.contains("沪科提复〔2025〕62号") && wide.contains("推动资本赋能科技成果转化"), "{wide}");
        // Without a width, each clipped column keeps its own maximum.
        let free = fitted(None, columns()).to_string();
        assert!(free.contains("沪科提复〔2025〕62号") && free.contains('…') && !free.contains("成果转化"), "{free}");
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

/// Writes human output with control characters made visible: stored text (an actor's name, a restored event) must
/// not move the cursor, recolour or retitle the terminal, or reorder what is shown. C0 and C1 controls other than
/// line breaks and tabs, and the bidirectional overrides, are written as `\u{…}`; bytes that are not UTF-8 as
/// `\x…`. A character cut between two writes is held until the next.
pub struct Escaping<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> Escaping<W> {
    pub fn new(inner: W) -> Self {
        Escaping { inner, pending: Vec::new() }
    }

    fn escape(&mut self, text: &str) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in text.char_indices() {
            let shown = c.is_control() && !matches!(c, '\n' | '\t' | '\r')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if shown {
                self.inner.write_all(&text.as_bytes()[start..at])?;
                write!(self.inner, "\\u{{{:x}}}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        self.inner.write_all(&text.as_bytes()[start..])
    }
}

impl<W: std::io::Write> std::io::Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let mut rest = std::mem::take(&mut self.pending);
        let mut at = 0;
        loop {
            match std::str::from_utf8(&rest[at..]) {
                Ok(text) => {
                    self.escape(text)?;
                    break;
                }
                Err(error) => {
                    let valid = std::str::from_utf8(&rest[at..at + error.valid_up_to()]).expect("checked");
                    self.escape(valid)?;
                    at += error.valid_up_to();
                    match error.error_len() {
                        Some(len) => {
                            for byte in &rest[at..at + len] {
                                write!(self.inner, "\\x{byte:02x}")?;
                            }
                            at += len;
                        }
                        None => {
                            // An incomplete character at the end: kept for the next write.
                            self.pending = rest.split_off(at);
                            break;
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for byte in pending {
            write!(self.inner, "\\x{byte:02x}")?;
        }
        self.inner.flush()
    }
}

/// Text made safe for a terminal (see [`Escaping`]).
pub fn terminal_safe(text: &str) -> String {
    let mut out = Escaping::new(Vec::new());
    std::io::Write::write_all(&mut out, text.as_bytes()).expect("writing to memory");
    std::io::Write::flush(&mut out).expect("writing to memory");
    String::from_utf8(out.inner).expect("escaped text is UTF-8")
}

#[cfg(test)]
mod escaping_tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn control_characters_and_overrides_are_shown_not_obeyed() {
        assert_eq!(terminal_safe("王芳\u{1b}[2J\u{7}"), "王芳\\u{1b}[2J\\u{7}");
        assert_eq!(terminal_safe("a\u{202e}b\u{9b}c"), "a\\u{202e}b\\u{9b}c");
        assert_eq!(terminal_safe("行一\n\t行二"), "行一\n\t行二");
    }

    #[test]
    fn a_character_cut_between_writes_is_kept_whole_and_bad_bytes_are_shown() {
        let mut out = Escaping::new(Vec::new());
        let text = "督办".as_bytes();
        out.write_all(&text[..2]).unwrap();
        out.write_all(&text[2..]).unwrap();
        out.write_all(&[0xFF, b'x']).unwrap();
        out.flush().unwrap();
        assert_eq!(String::from_utf8(out.inner).unwrap(), "督办\\xffx");
    }
}
